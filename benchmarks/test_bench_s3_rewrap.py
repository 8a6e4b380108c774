"""Rewrap in place versus download, decrypt, re-encrypt and upload, on moto's S3 and KMS.

One run, one object of SIZE (64 MiB under ``make bench``, 12 MiB in the smoke run of
``make test``), uploaded in 8 MiB parts with a KMS key on moto, the key rotated. Each round moves
the object's data key to the newest key version:

- ``rewrap`` of an object with its metadata in headers, uploaded in 8 MiB parts: ReEncrypt,
  then UploadPartCopy onto itself in its own part layout, which keeps the ETag (moto copies the
  body itself, and reads the whole object for each part it copies);
- ``rewrap`` of the same uploaded with one PutObject: one CopyObject onto itself;
- ``rewrap`` of an object with an instruction file: ReEncrypt, then one PutObject of the
  instruction file;
- ``re-encrypt``: ``download_file`` (decrypt, verify) then ``upload_file`` (a new data key) of
  an object of the same layout (multipart, one part, instruction file).

A counting relay between the client and moto measures the bytes the client sent and received
in one round of each; they are printed and kept in the benchmark's extra_info.
"""

from __future__ import annotations

import os
import tempfile
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from convention import quick, tag
from pytest_benchmark.fixture import BenchmarkFixture
from test_bench_aws import moto_url
from wire import CountingRelay

from envelope import AwsKmsKeyService, KmsKey
from envelope.s3 import EncryptedS3Client

__all__ = ["moto_url"]

MIB = 1024 * 1024
MULTIPART, ONE_PART, INSTRUCTION = "headers, 8 MiB parts", "headers, one part", "instruction file"
# layout -> (object key, upload ExtraArgs)
LAYOUTS: dict[str, tuple[str, dict[str, Any]]] = {
    MULTIPART: ("headers", {}),
    ONE_PART: ("one-part", {}),
    INSTRUCTION: ("instruction", {"InstructionFile": True}),
}


@pytest.fixture(scope="module")
def relay(moto_url: str) -> Iterator[CountingRelay]:
    parts = urllib.parse.urlsplit(moto_url)
    relay = CountingRelay(str(parts.hostname), int(parts.port or 80))
    yield relay
    relay.close()


@pytest.fixture(scope="module")
def world(relay: CountingRelay, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """The client (S3 and KMS through the relay), a bucket, a rotated key, a source file."""
    size = 12 * MIB if quick(request.config) else 64 * MIB
    options: dict[str, Any] = {
        "endpoint_url": relay.url,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    s3 = boto3.client(
        "s3", config=Config(s3={"addressing_style": "path"}, max_pool_connections=16), **options
    )
    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    kms = AwsKmsKeyService(boto3.client("kms", **options))
    arn = kms.create_key().key_metadata.arn
    client = EncryptedS3Client(s3, keys=KmsKey(kms, arn), part_size=8 * MIB)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "source"
        with source.open("wb") as handle:
            for _ in range(size // MIB):
                handle.write(os.urandom(MIB))
        whole = EncryptedS3Client(s3, keys=KmsKey(kms, arn), multipart_threshold=2 * size)
        uploaders = {}
        for layout, (key, extra) in LAYOUTS.items():
            uploader = whole if layout == ONE_PART else client
            uploaders[layout] = uploader
            for name in (key, f"reupload-{key}"):
                uploader.upload_file(str(source), bucket, name, ExtraArgs=dict(extra))
        kms.rotate_key_on_demand(key_id=arn)
        yield {"client": client, "uploaders": uploaders, "bucket": bucket, "size": size,
               "folder": Path(folder)}  # fmt: skip
    kms.close()


def _download_reupload(world: dict[str, Any], layout: str) -> None:
    key, extra = LAYOUTS[layout]
    client, bucket = world["uploaders"][layout], world["bucket"]
    target = world["folder"] / "plain"
    client.download_file(bucket, f"reupload-{key}", str(target))
    client.upload_file(str(target), bucket, f"reupload-{key}", ExtraArgs=dict(extra))
    target.unlink()


@pytest.mark.parametrize("impl", ["rewrap", "re-encrypt"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_rewrap_versus_reupload(
    benchmark: BenchmarkFixture, relay: CountingRelay, world: dict[str, Any], layout: str,
    impl: str,
) -> None:  # fmt: skip
    client, bucket, size = world["client"], world["bucket"], world["size"]
    tag(benchmark, area="rewrap", case=f"S3 object {size // MIB} MiB, {layout}", impl=impl,
        role="subject" if impl == "rewrap" else "peer", ops=1)  # fmt: skip
    key = LAYOUTS[layout][0]
    if impl == "re-encrypt":
        run = lambda: _download_reupload(world, layout)  # noqa: E731
    else:
        run = lambda: client.rewrap_object(bucket, key)  # noqa: E731
    before = client.s3_client.head_object(Bucket=bucket, Key=key)["ETag"]
    relay.reset()
    run()  # one round counted on the wire (also the warm-up)
    sent, received = relay.reset()
    benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info.update(sent_bytes=sent, received_bytes=received, size=size)
    benchmark.extra_info["figures"] = {"sent (MB)": round(sent / 1e6, 3),
                                       "received (MB)": round(received / 1e6, 3)}  # fmt: skip
    print(f"\n{layout} {impl} {size // MIB} MiB: client sent {sent:,} B, received {received:,} B")
    # What the figures rest on: a rewrap leaves the body (and a multipart ETag) alone and moves
    # only metadata; a re-encryption moves the whole object both ways.
    if impl == "rewrap":
        assert sent + received < MIB
        if layout == MULTIPART:
            assert client.s3_client.head_object(Bucket=bucket, Key=key)["ETag"] == before
    else:
        assert sent > size and received > size
