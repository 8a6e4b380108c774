"""S3 put+get: plain boto3, envelope and the official S3 Encryption Client, one run, moto's S3.

Each client runs in a process of its own (``s3_driver.py``; the official client in .venv-s3ec,
whose pins clash with ours), so each reports its own peak RSS. A round is one put_object and one
get_object of the whole object through moto's server on 127.0.0.1 (KMS on moto too); the time
includes a line of IPC per round, the same for the three. Sizes 1, 16 and 64 MiB under ``make
bench`` (the peak-memory chart plots them); the smoke run of ``make test`` runs every case at
1 MiB.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import boto3
import pytest
from botocore.config import Config
from convention import quick, tag
from pytest_benchmark.fixture import BenchmarkFixture
from test_bench_aws import moto_url

__all__ = ["moto_url"]

ROOT = Path(__file__).resolve().parents[1]
DRIVER = Path(__file__).with_name("s3_driver.py")
MIB = 1024 * 1024
ROUNDS = {1 * MIB: 10, 16 * MIB: 4, 64 * MIB: 3}
CLIENTS = {
    "boto3": ("boto3 (plain)", "limit"),
    "envelope": ("envelope", "subject"),
    "envelope-stream": ("envelope-stream", "subject"),
    "official": ("official S3EC", "peer"),
}


@pytest.fixture(scope="module")
def setup(moto_url: str) -> tuple[str, str]:
    """A bucket and a KMS key on moto: (bucket, key ARN)."""
    options: dict[str, Any] = {
        "endpoint_url": moto_url,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", config=Config(s3={"addressing_style": "path"}), **options).create_bucket(
        Bucket=bucket
    )
    arn = boto3.client("kms", **options).create_key()["KeyMetadata"]["Arn"]
    return bucket, arn


class _Driver:
    def __init__(self, client: str, url: str, bucket: str, arn: str, size: int) -> None:
        python = sys.executable
        if client == "official":
            python = str(ROOT / ".venv-s3ec" / "bin" / "python")
            if not Path(python).exists():
                pytest.fail("the official client's venv is missing: make .venv-s3ec/installed")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
        self.process = subprocess.Popen(
            [python, str(DRIVER), client, url, arn, bucket, str(size)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        self._in: IO[str] = self.process.stdin  # type: ignore[assignment]
        self._out: IO[str] = self.process.stdout  # type: ignore[assignment]

    def round(self) -> None:
        self._in.write("round\n")
        self._in.flush()
        assert self._out.readline().strip() == "ok", "the driver failed"

    def peak_rss(self) -> int:
        self._in.write("quit\n")
        self._in.flush()
        peak = int(self._out.readline())
        self.process.wait(timeout=60)
        return peak


@pytest.fixture
def driver(request: pytest.FixtureRequest, moto_url: str, setup: tuple[str, str]) -> Iterator[Any]:
    made: list[_Driver] = []

    def make(client: str, size: int) -> _Driver:
        made.append(_Driver(client, moto_url, *setup, size))
        return made[-1]

    yield make
    for d in made:
        if d.process.poll() is None:
            d.process.kill()
            d.process.wait()


@pytest.mark.parametrize("size", list(ROUNDS), ids=[f"{n // MIB}MiB" for n in ROUNDS])
@pytest.mark.parametrize("client", list(CLIENTS))
def test_put_get(
    benchmark: BenchmarkFixture, driver: Any, client: str, size: int, request: pytest.FixtureRequest
) -> None:
    impl, role = CLIENTS[client]
    tag(benchmark, area="s3", case=f"put+get {size // MIB} MiB", impl=impl, role=role,
        nbytes=2 * size, x=size)  # fmt: skip
    run = driver(client, MIB if quick(request.config) else size)
    run.round()  # warm-up: connections, imports, the first data key
    benchmark.pedantic(run.round, rounds=ROUNDS[size], iterations=1)
    peak = run.peak_rss()
    benchmark.extra_info["figures"] = {"peak RSS (MB)": round(peak / 1e6, 1)}
    print(f"\n{client} {size // MIB} MiB: peak RSS {peak / 1e6:.1f} MB")
