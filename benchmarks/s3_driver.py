"""One S3 client in a process of its own, timed round by round (a helper of test_bench_s3.py).

Run as ``python s3_driver.py CLIENT ENDPOINT KEY_ARN BUCKET SIZE`` with CLIENT ``boto3``
(plain, no encryption), ``envelope`` (EncryptedS3Client, KmsKey on AWS KMS; in memory),
``envelope-stream`` (the same, upload_file/download_fileobj in constant memory) or ``official``
(amazon-s3-encryption-client-python, run with .venv-s3ec's python). Each line ``round`` on stdin
does one put_object and one get_object of SIZE bytes and answers ``ok``; ``quit`` answers with
the process's peak RSS in bytes. The KMS and S3 are moto's server for every client.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
from typing import Any

import boto3
from botocore.config import Config


def _client(name: str, endpoint: str, key_arn: str) -> Any:
    """The client under test, with boto3's put_object/get_object (and the transfer methods)."""
    options: dict[str, Any] = {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}), **options)
    if name == "boto3":
        return s3
    if name.startswith("envelope"):
        from envelope import AwsKmsKeyService, KmsKey
        from envelope.s3 import EncryptedS3Client

        kms = AwsKmsKeyService(region_name="us-east-1", endpoint_url=endpoint)
        client = EncryptedS3Client(s3, keys=KmsKey(kms, key_arn), max_in_memory=256 << 20)
        return client
    from s3_encryption import S3EncryptionClient, S3EncryptionClientConfig
    from s3_encryption.materials.kms_keyring import KmsKeyring

    kms = boto3.client("kms", **options)
    config = S3EncryptionClientConfig(keyring=KmsKeyring(kms_client=kms, kms_key_id=key_arn))
    return S3EncryptionClient(s3, config)


class _Discard:
    """A sink that counts what it is given."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: Any) -> int:
        self.size += len(data)
        return len(data)


def _round(name: str, client: Any, bucket: str, data: bytes | str) -> int:
    key = f"bench-{name}"
    if isinstance(data, str):
        # Streaming from a file: upload_file (multipart above 8 MiB) and download_fileobj, which
        # decrypts into a private temporary file and copies out only after the tag verified.
        client.upload_file(data, bucket, key)
        sink = _Discard()
        client.download_fileobj(bucket, key, sink)
        return sink.size
    client.put_object(Bucket=bucket, Key=key, Body=data)
    return len(client.get_object(Bucket=bucket, Key=key)["Body"].read())


def _peak_rss() -> int:
    """This process's peak resident set in bytes: VmHWM, the high-water mark of this process's own
    memory. (ru_maxrss also counts the parent's RSS at fork time, as Linux carries it across exec:
    every driver reported the pytest process's peak.)"""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> None:
    name, endpoint, key_arn, bucket, size = sys.argv[1:6]
    client = _client(name, endpoint, key_arn)
    data: bytes | str = os.urandom(int(size))
    if name == "envelope-stream":  # the source is a file: only the transfer's buffers in memory
        with tempfile.NamedTemporaryFile(delete=False) as handle:
            handle.write(data)
        data = handle.name
    try:
        for line in sys.stdin:
            if line.strip() == "quit":
                break
            got = _round(name, client, bucket, data)
            if got != int(size):
                raise SystemExit(f"{name}: read {got} bytes, wrote {size}")
            sys.stdout.write("ok\n")
            sys.stdout.flush()
    finally:
        if isinstance(data, str):
            os.unlink(data)
    sys.stdout.write(f"{_peak_rss()}\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
