"""Pre-signed reads: the URL alone yields ciphertext; the keys' holder decrypts it over HTTP."""

from __future__ import annotations

import io
import os
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from envelope import KmsKey
from envelope.errors import (
    S3AuthenticationError,
    S3MetadataError,
    S3PresignedUrlError,
)
from envelope.s3 import EncryptedS3Client, PresignedGet
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
