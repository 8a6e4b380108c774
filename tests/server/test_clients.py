"""Real AWS clients against ``envelope serve``: the AWS CLI and aws-encryption-sdk's KMS provider.

Nothing here knows it talks to envelope: each client is pointed at the server with an endpoint
URL and signs with a principal's access key, as it would against AWS KMS.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Run, envelope
from tests.serve_server import REGION, EnvelopeServer

__all__ = ["envelope"]  # fixture

ROOT = Path(__file__).resolve().parents[2]
AWS_CLI = ROOT / ".venv-awscli" / "bin" / "aws"


def client_env(server: EnvelopeServer, tmp_path: Path) -> dict[str, str]:
    """Only what a user would set: the endpoint, the access key, the region; no config files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(server.credentials())
    env.update({
        "AWS_ENDPOINT_URL_KMS": server.url,
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "ENVELOPE_HOME": str(server.home),
    })  # fmt: skip
    return env


# --- the AWS CLI (awscli v1 pins botocore exactly, so it lives in its own venv) ------------------


@pytest.fixture
def aws(serve_env: EnvelopeServer, tmp_path: Path) -> Any:
    if not AWS_CLI.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{AWS_CLI} is missing: make builds it (make .venv-awscli/bin/aws)")
        pytest.skip(reason="the AWS CLI venv is not built: make .venv-awscli/bin/aws")
    env = client_env(serve_env, tmp_path)

    def run(*args: str, binary_out: Path | None = None) -> Any:
        result = subprocess.run(
            [str(AWS_CLI), "kms", *args, "--endpoint-url", serve_env.url, "--output", "json"],
            capture_output=True, env=env, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr.decode()
        return json.loads(result.stdout) if result.stdout.strip() else None

    return run


def test_aws_cli_create_encrypt_decrypt_generate(aws: Any, tmp_path: Path) -> None:
    key = aws("create-key", "--description", "from the AWS CLI")["KeyMetadata"]
    assert key["Description"] == "from the AWS CLI" and key["KeyState"] == "Enabled"
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"attack at dawn\n")
    sealed = aws("encrypt", "--key-id", key["Arn"], "--plaintext", f"fileb://{secret}",
                 "--encryption-context", "purpose=cli")  # fmt: skip
    assert sealed["KeyId"] == key["Arn"]
    blob = tmp_path / "blob.bin"
    blob.write_bytes(base64.b64decode(sealed["CiphertextBlob"]))
    opened = aws("decrypt", "--ciphertext-blob", f"fileb://{blob}",
                 "--encryption-context", "purpose=cli")  # fmt: skip
    assert base64.b64decode(opened["Plaintext"]) == b"attack at dawn\n"
    data_key = aws("generate-data-key", "--key-id", key["KeyId"], "--key-spec", "AES_256")
    assert len(base64.b64decode(data_key["Plaintext"])) == 32
    blob.write_bytes(base64.b64decode(data_key["CiphertextBlob"]))
    assert aws("decrypt", "--ciphertext-blob", f"fileb://{blob}")["Plaintext"] == data_key[
        "Plaintext"
    ]
    listed = aws("list-keys")["Keys"]
    assert [k["KeyId"] for k in listed] == [key["KeyId"]]


def test_aws_cli_sees_kms_errors(serve_env: EnvelopeServer, tmp_path: Path) -> None:
    if not AWS_CLI.exists():
        pytest.skip(reason="the AWS CLI venv is not built: make .venv-awscli/bin/aws")
    result = subprocess.run(
        [str(AWS_CLI), "kms", "describe-key", "--key-id", "alias/missing",
         "--endpoint-url", serve_env.url],
        capture_output=True, env=client_env(serve_env, tmp_path), timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert b"NotFoundException" in result.stderr


# --- aws-encryption-sdk's own KMS master key provider ---------------------------------------------


def esdk_provider(arn: str, env: dict[str, str]) -> Any:
    import aws_encryption_sdk
    import botocore.session

    session = botocore.session.Session()
    for name in ("AWS_ENDPOINT_URL_KMS", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert env[name]
    return aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[arn],
                                                            botocore_session=session)


def test_esdk_decrypts_what_envelope_encrypted(
    serve_env: EnvelopeServer, envelope: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aws_encryption_sdk

    env = client_env(serve_env, tmp_path)
    arn = serve_env.client().create_key()["KeyMetadata"]["Arn"]
    plain = tmp_path / "report.csv"
    plain.write_bytes(b"id,total\n1,9.99\n" * 1000)
    made = envelope("encrypt", str(plain), "-o", str(tmp_path / "report.env"), "--key", arn,
                    "-c", "team=finance", env={"ENVELOPE_HOME": str(serve_env.home)})  # fmt: skip
    assert made.returncode == 0, made.stderr
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    client = aws_encryption_sdk.EncryptionSDKClient()
    result, header = client.decrypt(source=(tmp_path / "report.env").read_bytes(),
                                    key_provider=esdk_provider(arn, env))  # fmt: skip
    assert result == plain.read_bytes()
    assert header.encryption_context["team"] == "finance"


def test_envelope_decrypts_what_the_esdk_encrypted(
    serve_env: EnvelopeServer, envelope: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aws_encryption_sdk

    env = client_env(serve_env, tmp_path)
    arn = serve_env.client().create_key()["KeyMetadata"]["Arn"]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    plaintext = os.urandom(200_000)
    message, _ = aws_encryption_sdk.EncryptionSDKClient().encrypt(
        source=plaintext, key_provider=esdk_provider(arn, env),
        encryption_context={"purpose": "interop"},
    )  # fmt: skip
    (tmp_path / "msg.env").write_bytes(message)
    opened = envelope("decrypt", str(tmp_path / "msg.env"), "-o", str(tmp_path / "msg.out"),
                      "-c", "purpose=interop",
                      env={"ENVELOPE_HOME": str(serve_env.home), "ENVELOPE_KMS": "local"})
    assert opened.returncode == 0, opened.stderr
    assert (tmp_path / "msg.out").read_bytes() == plaintext
    assert REGION in arn
