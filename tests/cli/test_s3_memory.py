"""``envelope s3 put`` and ``get`` of 1 GiB through moto's S3 each stay under 150 MB RSS."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Run, ok_json
from tests.moto_server import MotoServer, boto3_client, moto_env, moto_server

__all__ = ["moto_env", "moto_server"]

SIZE = int(os.environ.get("ENVELOPE_S3_MEMORY_BYTES", 1024**3))
CHUNK = 1024**2
LIMIT = 150 * 1000**2

# A fresh interpreter runs the command as its only child and reports that child's peak RSS, so
# no other process of the test run (moto's server included) counts towards the figure.
MEASURE = """
import resource, subprocess, sys
code = subprocess.call([sys.executable, "-m", "envelope_cli", *sys.argv[1:]])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
sys.exit(code)
"""


def _peak_rss(*args: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, *args], capture_output=True, timeout=900
    )
    assert result.returncode == 0, result.stderr.decode()
    return int(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_one_gib_put_and_get_in_constant_memory(
    envelope: Run, moto_env: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_env.url)
    s3: Any = boto3_client(moto_env, "s3")
    s3.create_bucket(Bucket="big")
    key = ok_json(envelope("key", "create", "--json"))["KeyMetadata"]["Arn"]
    source, target = tmp_path / "big", tmp_path / "big.out"
    block = os.urandom(CHUNK)
    digest = hashlib.sha256()
    with source.open("wb") as handle:
        for i in range(SIZE // CHUNK):
            chunk = i.to_bytes(8, "big") + block[8:]  # no two chunks alike
            handle.write(chunk)
            digest.update(chunk)
    try:
        put_peak = _peak_rss("s3", "put", str(source), "s3://big/object", "--key", key)
        source.unlink()
        assert s3.head_object(Bucket="big", Key="object")["ContentLength"] == SIZE + 16
        get_peak = _peak_rss("s3", "get", "s3://big/object", "-o", str(target))
        check = hashlib.sha256()
        with target.open("rb") as handle:
            while block := handle.read(CHUNK):
                check.update(block)
        assert check.digest() == digest.digest()
    finally:
        for path in (source, target):
            path.unlink(missing_ok=True)
        s3.delete_object(Bucket="big", Key="object")
    print(f"peak RSS: put {put_peak / 1e6:.1f} MB, get {get_peak / 1e6:.1f} MB")
    assert put_peak < LIMIT, f"put peaked at {put_peak / 1e6:.1f} MB"
    assert get_peak < LIMIT, f"get peaked at {get_peak / 1e6:.1f} MB"
