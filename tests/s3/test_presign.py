"""Pre-signed reads: the URL alone yields ciphertext; the keys' holder decrypts it over HTTP."""

from __future__ import annotations

import contextlib
import io
import os
import socket
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from envelope import KmsKey, RawAesKey
from envelope.errors import (
    S3AuthenticationError,
    S3MetadataError,
    S3PresignedUrlError,
)
from envelope.s3 import EncryptedS3Client, PresignedGet
from envelope.s3 import metadata as md
from envelope.s3.content import encrypt_bytes
from tests.moto_server import MotoServer, free_port
from tests.s3.presign_gate import PresignGate

DATA = os.urandom(1024 * 1024 + 3)
CONTEXT = {"tenant": "t1"}


@pytest.fixture
def gate(moto_env: MotoServer) -> Iterator[PresignGate]:
    """S3's pre-signed URL check (moto has none) on a port of its own, in front of moto."""
    gate = PresignGate(moto_env.url)
    yield gate
    gate.stop()


@pytest.fixture
def presigner(gate: PresignGate, local_key: KmsKey) -> EncryptedS3Client:
    """An EncryptedS3Client whose S3 endpoint is the gate, so its URLs are checked."""
    import boto3
    from botocore.config import Config

    s3 = boto3.client(
        "s3",
        endpoint_url=gate.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(s3={"addressing_style": "path"}),
    )
    return EncryptedS3Client(s3, keys=local_key)


def _plain_get(url: str) -> tuple[bytes, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read(), {k.lower(): v for k, v in response.headers.items()}


def _tamper(url: str, name: str, value: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query[name] = value
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


@pytest.mark.parametrize("instruction_file", [False, True], ids=["headers", "instruction-file"])
def test_the_url_yields_ciphertext_and_the_keys_the_plaintext(
    s3: Any, bucket: str, local_key: KmsKey, presigner: EncryptedS3Client, instruction_file: bool
) -> None:
    EncryptedS3Client(s3, keys=local_key, instruction_file=instruction_file).put_object(
        Bucket=bucket, Key="report", Body=DATA, EncryptionContext=CONTEXT
    )
    signed = presigner.presign_get(bucket, "report", ExpiresIn=300)
    assert (signed.instruction_url is not None) == instruction_file
    assert "Signature" not in repr(signed) and "Signature" in signed.url

    body, headers = _plain_get(signed.url)
    assert len(body) == len(DATA) + 16 and body != DATA[: len(body)]
    assert all(DATA[i : i + 32] not in body for i in range(0, len(DATA) - 32, 65_536))
    assert ("x-amz-meta-x-amz-3" in headers) != instruction_file
    if instruction_file:  # the instruction file holds the wrapped key, not the data key
        instruction, _ = _plain_get(str(signed.instruction_url))
        assert b"x-amz-3" in instruction and len(instruction) < 2000

    assert presigner.decrypt_url(signed, EncryptionContext=CONTEXT) == DATA
    sink = io.BytesIO()
    presigner.download_url(
        signed.url,
        sink,
        InstructionUrl=signed.instruction_url,
        EncryptionContext=CONTEXT,
    )
    assert sink.getvalue() == DATA
    if instruction_file:
        with pytest.raises(S3MetadataError, match="instruction file"):
            presigner.decrypt_url(signed.url, EncryptionContext=CONTEXT)


def test_tampered_and_expired_urls(
    s3: Any, bucket: str, local_key: KmsKey, presigner: EncryptedS3Client
) -> None:
    EncryptedS3Client(s3, keys=local_key).put_object(Bucket=bucket, Key="o", Body=b"secret")
    signed = presigner.presign_get(bucket, "o", ExpiresIn=300)
    signature = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(signed.url).query))["Signature"]
    tampered = {
        "signature": _tamper(signed.url, "Signature", "A" + signature[1:]),
        "expiry": _tamper(signed.url, "Expires", str(int(time.time()) + 10**6)),
        "key": signed.url.replace("/o?", "/p?"),
    }
    EncryptedS3Client(s3, keys=local_key).put_object(Bucket=bucket, Key="p", Body=b"other")
    for name, url in tampered.items():
        with pytest.raises(S3PresignedUrlError, match="403 SignatureDoesNotMatch") as caught:
            presigner.decrypt_url(url)
        assert signature not in str(caught.value), name  # the signature is never echoed
        with pytest.raises(urllib.error.HTTPError):  # and S3 (the gate) refused it
            _plain_get(url)

    short = presigner.presign_get(bucket, "o", ExpiresIn=1)
    assert presigner.decrypt_url(short) == b"secret"
    time.sleep(2.1)
    with pytest.raises(S3PresignedUrlError, match="expired"):
        presigner.decrypt_url(short)
    with pytest.raises(urllib.error.HTTPError, match="403"):  # S3 says so too
        _plain_get(short.url)


def test_hostile_urls_and_objects(
    s3: Any, bucket: str, local_key: KmsKey, presigner: EncryptedS3Client
) -> None:
    for url in ("file:///etc/passwd", "ftp://127.0.0.1/x", "not a url", ""):
        with pytest.raises(S3PresignedUrlError, match="http"):
            presigner.decrypt_url(url)
    with pytest.raises(S3PresignedUrlError, match="cannot fetch"):
        presigner.decrypt_url(f"http://127.0.0.1:{free_port()}/b/k")
    s3.put_object(Bucket=bucket, Key="plain", Body=b"plain text")
    with pytest.raises(S3MetadataError, match="not encrypted"):
        presigner.presign_get(bucket, "plain")
    for bad in (0, 7 * 24 * 3600 + 1):
        with pytest.raises(S3PresignedUrlError, match="604800"):
            presigner.presign_get(bucket, "plain", ExpiresIn=bad)
    # A plain object behind a URL: no S3EC metadata, one clear error.
    url = presigner.s3_client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "plain"}, ExpiresIn=60
    )
    with pytest.raises(S3MetadataError):
        presigner.decrypt_url(url)
    # Damaged ciphertext behind a valid URL: the tag fails, and nothing reaches the sink.
    EncryptedS3Client(s3, keys=local_key).put_object(Bucket=bucket, Key="o", Body=DATA)
    got = s3.get_object(Bucket=bucket, Key="o")
    body = bytearray(got["Body"].read())
    body[500] ^= 0x80
    s3.put_object(Bucket=bucket, Key="o", Body=bytes(body), Metadata=got["Metadata"])
    signed = presigner.presign_get(bucket, "o")
    sink = io.BytesIO()
    with pytest.raises(S3AuthenticationError):
        presigner.download_url(signed, sink)
    assert sink.getvalue() == b""
    with pytest.raises(S3AuthenticationError):
        presigner.decrypt_url(signed)


def test_presigned_get_text_forms() -> None:
    signed = PresignedGet("https://b.s3.amazonaws.com/k?X-Amz-Signature=abc", None, 60)
    assert str(signed) == signed.url
    assert "abc" not in repr(signed)
    assert signed.to_dict()["ExpiresIn"] == 60


# --- hostile URLs and servers, no S3 needed ------------------------------------------------------

SIGNATURE = "X-Amz-Signature=5ec12e7deadbeef"
_AES = RawAesKey("s3", "aes", os.urandom(32))


def _object() -> tuple[dict[str, str], bytes, bytes]:
    """A raw-AES S3EC object made in memory: its metadata, ciphertext and plaintext."""
    client = EncryptedS3Client(None, keys=_AES)
    prepared = client.prepare(None)
    plaintext = os.urandom(100_000)
    return md.encode(prepared.meta), encrypt_bytes(prepared.key, plaintext), plaintext


class Hostile:
    """A loopback HTTP server that answers every connection with ``answer(request)``: bytes, or
    a list of bytes to send and seconds to wait."""

    def __init__(self, answer: Any) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/bucket/key?{SIGNATURE}"
        self.answer = answer
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                request = conn.recv(65536)
                answer = self.answer(request)
                with contextlib.suppress(OSError):
                    for part in answer if isinstance(answer, list) else [answer]:
                        if isinstance(part, bytes):
                            conn.sendall(part)
                        else:
                            time.sleep(part)

    def close(self) -> None:
        self.sock.close()


def _response(metadata: dict[str, str], body: bytes, extra: str = "") -> bytes:
    head = "".join(f"x-amz-meta-{k}: {v}\r\n" for k, v in metadata.items())
    return (f"HTTP/1.1 200 OK\r\n{head}{extra}Content-Length: {len(body)}\r\n\r\n").encode() + body


@pytest.fixture
def instruction_only() -> Iterator[str]:
    """A server whose object keeps its metadata in an instruction file (V3 object-only keys)."""
    metadata, body, _ = _object()
    on_object = {k: v for k, v in metadata.items() if k in md.V3_OBJECT_ONLY}
    server = Hostile(lambda _: _response(on_object, body))
    yield server.url
    server.close()


@pytest.mark.parametrize(
    "url",
    [
        f"http://127.0.0.1/a b?{SIGNATURE}",
        f"http://127.0.0.1/k?{SIGNATURE} x",
        f"http://127.0.0.1/k?{SIGNATURE}\r\nX-Injected: 1",
        f"http://127.0.0.1:port/k?{SIGNATURE}",
        f"http://127.0.0.1:99999/k?{SIGNATURE}",
        f"http://[::1/k?{SIGNATURE}",
        f"http://\u0130stanbul.example/k?{SIGNATURE}",
        f"http://{'a' * 300}.example/k?{SIGNATURE}",
        f"http://127.0.0.1/k?Expires=99999999999999999&Signature={SIGNATURE}",
        f"http://user:pa55word@127.0.0.1:1/k?{SIGNATURE}",
    ],
    ids=["space-in-path", "space-in-query", "crlf", "port-name", "port-range", "ipv6", "idn",
         "long-label", "expires-overflow", "userinfo"],
)  # fmt: skip
def test_malformed_urls_are_one_clear_error_without_the_signature(
    url: str, instruction_only: str
) -> None:
    """Before, http.client's InvalidURL (its text holding the whole query, signature included),
    ValueError, UnicodeError and OSError escaped as they were: the CLI printed a traceback; and
    a URL's user:password stayed in the error text."""
    client = EncryptedS3Client(None, keys=_AES)
    for call in (
        lambda: client.decrypt_url(url, timeout=5),
        lambda: client.download_url(url, io.BytesIO(), timeout=5),
        lambda: client.decrypt_url(instruction_only, InstructionUrl=url, timeout=5),
    ):
        with pytest.raises(S3PresignedUrlError) as caught:
            call()
        text = f"{caught.value} {caught.value.__cause__!r} {caught.value.__context__!r}"
        assert "5ec12e7" not in text and "pa55word" not in text


def test_servers_that_do_not_speak_http_or_stall() -> None:
    metadata, body, plaintext = _object()
    answers = {
        "not-http": lambda _: b"\x00\xffnonsense\r\n\r\n",
        "101-headers": lambda _: b"HTTP/1.1 200 OK\r\n" + b"x-a: b\r\n" * 101 + b"\r\n",
        "long-header": lambda _: b"HTTP/1.1 200 OK\r\nx-a: " + b"b" * 70_000 + b"\r\n\r\n",
        "bad-redirect": lambda _: (
            b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1/a b?" + SIGNATURE.encode()
            + b"\r\nContent-Length: 0\r\n\r\n"
        ),
    }  # fmt: skip
    client = EncryptedS3Client(None, keys=_AES)
    for name, answer in answers.items():
        server = Hostile(answer)
        try:
            sink = io.BytesIO()
            with pytest.raises(S3PresignedUrlError) as caught:
                client.download_url(server.url, sink, timeout=5)
            assert "5ec12e7" not in str(caught.value), name
            assert sink.getvalue() == b"", name
        finally:
            server.close()
    # A server that stops sending in the middle of the body: a timeout, reported as such.
    whole = _response(metadata, body)
    stall = Hostile(lambda _: [whole[: -len(body) // 2], 3.0])
    try:
        sink = io.BytesIO()
        with pytest.raises(S3PresignedUrlError, match="timed out"):
            client.download_url(stall.url, sink, timeout=1)
        assert sink.getvalue() == b""
    finally:
        stall.close()
    good = Hostile(lambda _: _response(metadata, body))
    try:
        assert client.decrypt_url(good.url) == plaintext
    finally:
        good.close()


def test_repeated_metadata_headers_are_refused() -> None:
    """Two ``x-amz-meta-x-amz-3`` headers (any case): one reader may take the first, another the
    last. boto3 joins them with a comma (and base64 then fails); here the last silently won."""
    metadata, body, _ = _object()
    client = EncryptedS3Client(None, keys=_AES)
    for extra in (
        f"x-amz-meta-x-amz-3: {metadata['x-amz-3']}\r\n",
        f"X-Amz-Meta-X-Amz-3: {metadata['x-amz-3']}\r\n",
        "X-AMZ-META-X-AMZ-D: AAAA\r\n",
    ):
        server = Hostile(lambda _, extra=extra: _response(metadata, body, extra))
        try:
            with pytest.raises(S3MetadataError, match="more than once"):
                client.decrypt_url(server.url)
        finally:
            server.close()
    # And a metadata map (what boto3 hands over) with one key in two spellings.
    doubled = {**metadata, "X-Amz-3": metadata["x-amz-3"]}
    with pytest.raises(S3MetadataError, match="more than once"):
        md.decode(doubled)
