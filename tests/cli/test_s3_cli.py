"""``envelope s3 put|get|head`` against moto's S3 (and KMS) server on 127.0.0.1."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Run, fails, ok_json
from tests.moto_server import MotoServer, boto3_client, moto_env, moto_server

__all__ = ["moto_env", "moto_server"]

DATA = os.urandom(300_000) + b"the end"


@pytest.fixture
def s3(moto_env: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_env.url)
    client = boto3_client(moto_env, "s3")
    client.create_bucket(Bucket="bkt")
    return client


@pytest.fixture
def key(envelope: Run) -> str:
    arn: str = ok_json(envelope("key", "create", "--json"))["KeyMetadata"]["Arn"]
    return arn


def test_put_get_head_round_trip(envelope: Run, s3: Any, key: str, tmp_path: Path) -> None:
    source, target = tmp_path / "data.bin", tmp_path / "out.bin"
    source.write_bytes(DATA)
    result = envelope("s3", "put", str(source), "s3://bkt/dir/data.bin", "--key", key,
                      "-c", "app=cli", "-c", "team=x")
    assert result.returncode == 0, result.stderr.decode()
    stored = s3.get_object(Bucket="bkt", Key="dir/data.bin")
    assert stored["Body"].read()[:64] != DATA[:64] and stored["Metadata"]["x-amz-c"] == "115"

    info = ok_json(envelope("s3", "head", "s3://bkt/dir/data.bin", "--json"))
    assert info["Format"] == "V3" and info["WrappingAlgorithm"] == "kms+context"
    assert info["EncryptionContext"] == {"app": "cli", "team": "x", "aws:x-amz-cek-alg": "115"}
    assert (info["Size"], info["PlaintextSize"]) == (len(DATA) + 16, len(DATA))
    text = envelope("s3", "head", "s3://bkt/dir/data.bin").stdout.decode()
    assert "S3 Encryption Client V3" in text and "app=cli" in text

    result = envelope("s3", "get", "s3://bkt/dir/data.bin", "-o", str(target),
                      "-c", "app=cli", "-c", "team=x")
    assert result.returncode == 0, result.stderr.decode()
    assert target.read_bytes() == DATA
    assert target.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("options", [["--format", "v2"], ["--instruction-file"]])
def test_pipes_v2_and_instruction_files(
    envelope: Run, s3: Any, key: str, options: list[str]
) -> None:
    result = envelope("s3", "put", "-", "s3://bkt/p", "--key", key, *options, input=DATA)
    assert result.returncode == 0, result.stderr.decode()
    listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="bkt")["Contents"])
    assert listed == (["p", "p.instruction"] if "--instruction-file" in options else ["p"])
    got = envelope("s3", "get", "s3://bkt/p", "-o", "-", "--key", key)
    assert got.returncode == 0, got.stderr.decode()
    assert got.stdout == DATA


def test_failures_leave_no_output(envelope: Run, s3: Any, key: str, tmp_path: Path) -> None:
    envelope("s3", "put", "-", "s3://bkt/o", "--key", key, "-c", "a=b", input=DATA)
    target = tmp_path / "out"
    fails(envelope("s3", "get", "s3://bkt/o", "-o", str(target), "-c", "a=c"),
          "S3EncryptionContextError", "different ['a']")
    # A flipped byte: no file, and nothing on stdout either (the pipe gets only verified data).
    raw = s3.get_object(Bucket="bkt", Key="o")
    body = bytearray(raw["Body"].read())
    body[1000] ^= 1
    s3.put_object(Bucket="bkt", Key="o", Body=bytes(body), Metadata=raw["Metadata"])
    fails(envelope("s3", "get", "s3://bkt/o", "-o", str(target), "-c", "a=b"),
          "S3AuthenticationError", "tag check failed")
    piped = envelope("s3", "get", "s3://bkt/o", "-o", "-", "-c", "a=b")
    fails(piped, "S3AuthenticationError")
    assert piped.stdout == b""
    assert list(tmp_path.iterdir()) == [tmp_path / "envelope-home"]
    fails(envelope("s3", "get", "s3://bkt/none", "-o", str(target)), "S3 NoSuchKey")
    fails(envelope("s3", "head", "s3://nobucket/x"), "S3 404")
    fails(envelope("s3", "get", "bkt/o", "-o", str(target)), "s3://BUCKET/KEY")
    fails(envelope("s3", "put", "-", "s3://bkt/o", "--key", key, "--format", "v1"), "--format")
    fails(envelope("s3", "put", "-", "s3://bkt/o", "--key", key, "-c", "aws:x-amz-cek-alg=1"),
          "reserved")


def test_strict_key(envelope: Run, s3: Any, key: str, tmp_path: Path) -> None:
    other = ok_json(envelope("key", "create", "--json"))["KeyMetadata"]["Arn"]
    envelope("s3", "put", "-", "s3://bkt/o", "--key", key, input=b"x")
    fails(envelope("s3", "get", "s3://bkt/o", "-o", str(tmp_path / "o"), "--key", other),
          "S3NoMatchingKeyError", "IncorrectKeyException")
    assert not (tmp_path / "o").exists()


def test_aws_backend_needs_key_or_discovery(
    envelope: Run, s3: Any, moto_env: MotoServer, tmp_path: Path
) -> None:
    env = {"ENVELOPE_KMS": "aws", "AWS_ENDPOINT_URL_KMS": moto_env.url}
    arn = ok_json(envelope("key", "create", "--json", env=env))["KeyMetadata"]["Arn"]
    put = envelope("s3", "put", "-", "s3://bkt/o", "--key", arn, input=DATA, env=env)
    assert put.returncode == 0, put.stderr.decode()
    fails(envelope("s3", "get", "s3://bkt/o", "-o", "-", env=env), "--key")
    for extra in (["--key", arn], ["--discovery"]):
        got = envelope("s3", "get", "s3://bkt/o", "-o", "-", *extra, env=env)
        assert got.returncode == 0 and got.stdout == DATA, got.stderr.decode()
    assert json.loads(envelope("s3", "head", "s3://bkt/o", "--json").stdout)["Format"] == "V3"


def test_refuses_a_terminal(envelope: Run, s3: Any) -> None:
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "envelope_cli", "s3", "get", "s3://bkt/o", "-o", "-"],
            stdout=follower, stderr=subprocess.PIPE, timeout=60,
        )
    finally:
        os.close(leader)
        os.close(follower)
    assert result.returncode == 1 and b"terminal" in result.stderr
