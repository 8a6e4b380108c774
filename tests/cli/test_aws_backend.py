"""The real ``envelope`` CLI on AwsKmsKeyService against moto; the local path stays boto3-free."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import boto3

from tests.cli.conftest import Run, fails, ok_json
from tests.moto_server import MotoServer, free_port, moto_env, moto_server

__all__ = ["moto_env", "moto_server"]  # fixtures, imported to be registered here

PLAINTEXT = os.urandom(100_000) + b"the end"


def _aws(server: MotoServer) -> dict[str, str]:
    return {"ENVELOPE_KMS": "aws", "AWS_ENDPOINT_URL_KMS": server.url}


def test_key_create_goes_to_moto(envelope: Run, moto_env: MotoServer, _isolated_home: Path) -> None:
    meta = ok_json(envelope("key", "create", "--json", env=_aws(moto_env)))["KeyMetadata"]
    assert meta["Arn"] == f"arn:aws:kms:us-east-1:123456789012:key/{meta['KeyId']}"
    moto = boto3.client("kms", endpoint_url=moto_env.url, region_name="us-east-1")
    assert moto.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["Arn"] == meta["Arn"]
    assert not _isolated_home.exists()  # the local keystore was never opened


def test_encrypt_decrypt_file(envelope: Run, moto_env: MotoServer, tmp_path: Path) -> None:
    env = _aws(moto_env)
    arn = ok_json(envelope("key", "create", "--json", env=env))["KeyMetadata"]["Arn"]
    source = tmp_path / "plain.bin"
    source.write_bytes(PLAINTEXT)
    sealed = tmp_path / "plain.bin.env"
    result = envelope(
        "encrypt", str(source), "-o", str(sealed), "--key", arn, "-c", "app=cli", env=env
    )
    assert result.returncode == 0, result.stderr.decode()
    assert PLAINTEXT[:64] not in sealed.read_bytes()
    info = ok_json(envelope("inspect", str(sealed), "--json"))
    assert arn in str(info)
    opened = tmp_path / "opened.bin"
    result = envelope("decrypt", str(sealed), "-o", str(opened), "--key", arn, env=env)
    assert result.returncode == 0, result.stderr.decode()
    assert opened.read_bytes() == PLAINTEXT
    # The same message is no use to the local backend: its key lives in moto only.
    again = tmp_path / "again.bin"
    fails(envelope("decrypt", str(sealed), "-o", str(again), env={"ENVELOPE_KMS": "local"}))
    assert not again.exists()


def test_kms_option_selects_aws(envelope: Run, moto_env: MotoServer) -> None:
    env = {"AWS_ENDPOINT_URL_KMS": moto_env.url}
    meta = ok_json(envelope("--kms", "aws", "key", "create", "--json", env=env))["KeyMetadata"]
    moto = boto3.client("kms", endpoint_url=moto_env.url, region_name="us-east-1")
    assert [k["KeyId"] for k in moto.list_keys()["Keys"]] == [meta["KeyId"]]


def test_unreachable_endpoint_is_one_clear_error(envelope: Run, moto_env: MotoServer) -> None:
    env = {"ENVELOPE_KMS": "aws", "AWS_ENDPOINT_URL_KMS": f"http://127.0.0.1:{free_port()}"}
    stderr = fails(envelope("key", "create", "--json", env=env), "cannot reach the KMS endpoint")
    assert "testing" not in stderr  # no credential in the message


def _imports(*args: str, env: dict[str, str], cwd: Path) -> str:
    """stderr of ``python -X importtime -m envelope_cli ARGS``: one line per imported module."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "envelope_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr


def test_local_encrypt_never_imports_boto3(tmp_path: Path, moto_env: MotoServer) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ENVELOPE_KMS"}
    source = tmp_path / "plain.bin"
    source.write_bytes(b"local only")
    arn = ok_json(
        subprocess.run(
            [sys.executable, "-m", "envelope_cli", "key", "create", "--json"],
            capture_output=True,
            env=env,
            timeout=300,
        )
    )["KeyMetadata"]["Arn"]
    log = _imports(
        "encrypt", str(source), "-o", str(tmp_path / "out.env"), "--key", arn, env=env, cwd=tmp_path
    )
    assert "envelope.message" in log  # the probe sees the imports of the real command
    assert "boto3" not in log and "botocore" not in log
    # The control: with the AWS backend the same probe does see boto3.
    aws_log = _imports("key", "list", "--json", env={**env, **_aws(moto_env)}, cwd=tmp_path)
    assert "boto3" in aws_log
