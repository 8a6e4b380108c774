"""``envelope s3 rewrap|presign``, ``envelope decrypt-url`` and ``s3 get --range`` on moto."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Run, fails, ok_json
from tests.cli.test_imports import _loaded
from tests.moto_server import MotoServer, boto3_client, moto_env, moto_server

__all__ = ["moto_env", "moto_server"]

DATA = os.urandom(200_000) + b"the end"


@pytest.fixture
def s3(moto_env: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_env.url)
    client = boto3_client(moto_env, "s3")
    client.create_bucket(Bucket="bkt")
    return client


def _key(envelope: Run) -> str:
    arn: str = ok_json(envelope("key", "create", "--json"))["KeyMetadata"]["Arn"]
    return arn


def _put(envelope: Run, url: str, key: str, *options: str) -> None:
    result = envelope("s3", "put", "-", url, "--key", key, *options, input=DATA)
    assert result.returncode == 0, result.stderr.decode()


def test_rewrap_a_prefix_after_rotation(envelope: Run, s3: Any, tmp_path: Path) -> None:
    key, stranger = _key(envelope), _key(envelope)
    for i in range(5):
        _put(envelope, f"s3://bkt/batch/o{i}", stranger if i == 3 else key,
             *(["--instruction-file"] if i == 1 else []))
    before = {i: s3.head_object(Bucket="bkt", Key=f"batch/o{i}") for i in range(5)}
    assert envelope("key", "rotate", key).returncode == 0

    dry = envelope("s3", "rewrap", "s3://bkt/batch/", "--key", key, "--dry-run")
    assert dry.returncode == 1
    assert "would rewrap 4 of 6 object(s)" in dry.stderr.decode()
    assert all(s3.head_object(Bucket="bkt", Key=f"batch/o{i}")["Metadata"]
               == before[i]["Metadata"] for i in range(5))

    result = envelope("s3", "rewrap", "s3://bkt/batch/", "--key", key, "--json")
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    summary = json.loads(result.stdout)
    assert (summary["Rewrapped"], summary["Skipped"], summary["Failed"]) == (4, 1, 1)
    assert [f["Key"] for f in summary["Failures"]] == ["batch/o3"]
    assert "rewrapped 4 of 6 object(s) under s3://bkt/batch/; skipped 1, failed 1" in stderr
    assert "failed s3://bkt/batch/o3: S3NoMatchingKeyError" in stderr
    assert stderr.rstrip().endswith("could not be rewrapped; each was left as it was")
    for i in range(5):
        after = s3.head_object(Bucket="bkt", Key=f"batch/o{i}")
        assert after["ETag"] == before[i]["ETag"]
        assert (after["Metadata"] == before[i]["Metadata"]) == (i in (1, 3))
        got = envelope("s3", "get", f"s3://bkt/batch/o{i}", "-o", "-",
                       "--key", stranger if i == 3 else key)
        assert got.returncode == 0 and got.stdout == DATA


def test_rewrap_one_object_to_another_key(envelope: Run, s3: Any) -> None:
    first, second = _key(envelope), _key(envelope)
    _put(envelope, "s3://bkt/doc", first, "-c", "team=x")
    result = envelope("s3", "rewrap", "s3://bkt/doc", "--to", second, "--key", first, "--json")
    assert result.returncode == 0, result.stderr.decode()
    done = json.loads(result.stdout)
    assert (done["Status"], done["KeyIdBefore"], done["KeyIdAfter"]) == ("rewrapped", first, second)
    assert f"rewrapped s3://bkt/doc (V3, copy, kms+context -> kms+context {second})" in (
        result.stderr.decode()
    )
    assert envelope("key", "disable", first).returncode == 0
    got = envelope("s3", "get", "s3://bkt/doc", "-o", "-", "--key", second, "-c", "team=x")
    assert got.returncode == 0 and got.stdout == DATA
    fails(envelope("s3", "rewrap", "s3://bkt/doc"), "give --key KEY")
    fails(envelope("s3", "rewrap", "s3://bkt/nothing-here/", "--key", second),
          "no object under s3://bkt/nothing-here/")
    fails(envelope("s3", "rewrap", "bkt/doc", "--key", second), "s3://BUCKET")


def test_presign_and_decrypt_url(envelope: Run, s3: Any, tmp_path: Path) -> None:
    key = _key(envelope)
    _put(envelope, "s3://bkt/o", key, "-c", "a=b")
    _put(envelope, "s3://bkt/i", key, "--instruction-file")
    [url] = envelope("s3", "presign", "s3://bkt/o", "--expires", "120").stdout.decode().split()
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.read()[: len(DATA)] != DATA  # a plain GET: ciphertext only
    target = tmp_path / "out"
    result = envelope("decrypt-url", url, "-o", str(target), "-c", "a=b", "--key", key)
    assert result.returncode == 0, result.stderr.decode()
    assert target.read_bytes() == DATA and target.stat().st_mode & 0o777 == 0o600
    fails(envelope("decrypt-url", url, "-o", str(tmp_path / "bad"), "-c", "a=c"),
          "S3EncryptionContextError")
    assert not (tmp_path / "bad").exists()

    signed = ok_json(envelope("s3", "presign", "s3://bkt/i", "--json"))
    assert signed["InstructionUrl"]
    lines = envelope("s3", "presign", "s3://bkt/i").stdout.decode().split()
    assert len(lines) == 2
    got = envelope("decrypt-url", lines[0], "--instruction-url", lines[1], "-o", "-")
    assert got.returncode == 0, got.stderr.decode()
    assert got.stdout == DATA
    fails(envelope("decrypt-url", lines[0], "-o", "-"), "instruction file")

    [short] = envelope("s3", "presign", "s3://bkt/o", "--expires", "1").stdout.decode().split()
    time.sleep(2.1)
    fails(envelope("decrypt-url", short, "-o", str(tmp_path / "late"), "-c", "a=b"),
          "S3PresignedUrlError", "expired")
    assert not (tmp_path / "late").exists()
    fails(envelope("decrypt-url", "file:///etc/passwd", "-o", "-"), "http")
    # decrypt-url needs no S3 client: boto3 is never loaded for it.
    assert "boto3" not in _loaded("decrypt-url", url, "-o", str(target), "-c", "a=b")


def test_get_range_needs_the_opt_in(envelope: Run, s3: Any, tmp_path: Path) -> None:
    key = _key(envelope)
    _put(envelope, "s3://bkt/o", key)
    target = tmp_path / "part"
    fails(envelope("s3", "get", "s3://bkt/o", "-o", str(target), "--range", "10-99"),
          "not authenticated", "--allow-unauthenticated")
    assert not target.exists()
    result = envelope("s3", "get", "s3://bkt/o", "-o", str(target), "--range", "10-99",
                      "--allow-unauthenticated")
    assert result.returncode == 0, result.stderr.decode()
    assert target.read_bytes() == DATA[10:100]
    tail = envelope("s3", "get", "s3://bkt/o", "-o", "-", "--range", f"{len(DATA) - 7}-",
                    "--allow-unauthenticated")
    assert tail.returncode == 0 and tail.stdout == b"the end"
    for bad in ("a-b", "5", "-5"):
        fails(envelope("s3", "get", "s3://bkt/o", "-o", "-", "--range", bad,
                       "--allow-unauthenticated"), "--range")
    fails(envelope("s3", "get", "s3://bkt/o", "-o", "-", "--range", f"{len(DATA)}-",
                   "--allow-unauthenticated"), "not satisfiable")
