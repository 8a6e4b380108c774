"""``envelope serve`` as a command: where it listens, its access log, and a graceful SIGTERM."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import signal
import socket
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from envelope.keys.local import LocalKeyService
from tests.cli.conftest import Run, envelope, fails
from tests.serve_server import EnvelopeServer
from tests.server.conftest import Raw

__all__ = ["envelope"]  # fixture


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::"])
def test_refuses_non_loopback_without_the_flag(envelope: Run, host: str) -> None:
    result = envelope("serve", "--host", host, "--port", "4599")
    assert result.returncode == 2
    assert b"--allow-remote" in result.stderr


def test_port_in_use_is_a_clear_error(serve_env: EnvelopeServer, envelope: Run) -> None:
    fails(envelope("serve", "--port", str(serve_env.port)), "cannot listen on 127.0.0.1")


def test_refuses_the_aws_backend(envelope: Run) -> None:
    fails(envelope("--kms", "aws", "serve", "--port", "4599"), "local keystore")


def test_access_log_names_what_happened_and_nothing_secret(tmp_path: Path) -> None:
    with EnvelopeServer(tmp_path / "home", args=("--log-requests",)) as server:
        kms = server.client()
        key = kms.create_key()["KeyMetadata"]["Arn"]
        data_key = kms.generate_data_key(KeyId=key, KeySpec="AES_256",
                                         EncryptionContext={"tenant": "context-value-9"})
        kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"],
                    EncryptionContext={"tenant": "context-value-9"})  # fmt: skip
        with pytest.raises(kms.exceptions.NotFoundException):
            kms.describe_key(KeyId="alias/absent")
    text = server.log_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    by_operation = {line["operation"]: line for line in lines}
    assert by_operation["GenerateDataKey"]["key"] == key
    assert by_operation["Decrypt"]["key"] == key  # from the result: Decrypt named no key
    assert by_operation["Decrypt"]["principal"] == server.arn
    assert by_operation["Decrypt"]["status"] == 200 and by_operation["Decrypt"]["error"] is None
    assert by_operation["DescribeKey"]["error"] == "NotFoundException"
    assert all(line["latency_ms"] >= 0 for line in lines)
    for secret in (
        base64.b64encode(data_key["Plaintext"]).decode(),
        base64.b64encode(data_key["CiphertextBlob"]).decode(),
        data_key["Plaintext"].hex(),
        server.secret_access_key,
        "context-value-9",
    ):
        assert secret not in text


def test_sigterm_finishes_requests_in_flight(tmp_path: Path) -> None:
    """SIGTERM arrives while a CreateKey's body is still on its way: the request completes."""
    server = EnvelopeServer(tmp_path / "home").start()
    raw = Raw(server)
    body = b'{"Description": "' + b"d" * 1000 + b'"}'
    head = f"POST / HTTP/1.1\r\nHost: {raw.netloc}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in raw.signed_headers("TrentService.CreateKey", body).items()
    ) + f"Content-Length: {len(body)}\r\n\r\n"
    host, port = raw.netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head.encode() + body[:500])
        time.sleep(0.5)  # the worker is now reading the body
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert not server.healthy()  # no new connections once stopping
        sock.sendall(body[500:])
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
        head_part, _, rest = answer.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head_part.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))  # fmt: skip
        while len(rest) < length:
            rest += sock.recv(65536)
    assert head_part.startswith(b"HTTP/1.1 200"), head_part
    key_id = json.loads(rest)["KeyMetadata"]["KeyId"]
    # The one SIGTERM is enough: wait for the server to finish by itself (a second signal
    # during its shutdown would be a different test).
    process = server.process
    assert process is not None
    assert process.wait(timeout=60) == 0, server.log_text()
    server.process = None
    with LocalKeyService(server.home) as local:  # the keystore is whole and has the key
        assert local.describe_key(key_id=key_id).key_metadata.description == "d" * 1000


def test_tls(tmp_path: Path) -> None:
    """--tls-cert/--tls-key serve HTTPS; a client that trusts the certificate talks KMS over it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    args = ("--tls-cert", str(cert_path), "--tls-key", str(key_path))
    with EnvelopeServer(tmp_path / "home", args=args, tls_ca=cert_path) as server:
        assert server.url.startswith("https://")
        kms = server.client()
        arn = kms.create_key()["KeyMetadata"]["Arn"]
        blob = kms.encrypt(KeyId=arn, Plaintext=b"over tls")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"over tls"
