"""S3 Encryption Client metadata and instruction files (``envelope/s3/metadata.py``,
``stored.py``), through the client's whole read path: metadata, instruction file, data-key
unwrap, key commitment, content decryption, and ``inspect_object``.

Input: four length-prefixed fields: flags, the object's metadata as ``name: value`` lines, the
instruction file, the object body. The object comes from a tiny in-memory stand-in for the S3
client (the calls a get makes, with S3's ``NoSuchKey``): a fuzz target runs thousands of inputs
a second, which no S3 server on loopback could serve; the tests in ``tests/s3/`` cover the same
paths against moto's server. Properties: a get returns the plaintext or raises an
``EnvelopeError`` subclass (``S3EncryptionError``; a key service's refusal); an object that
decrypts also inspects. Flags: bit 0 the instruction file exists, bit 1 legacy formats allowed,
bit 2 the caller's context is the seeds' context, bit 3 key commitment required.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

from botocore.exceptions import ClientError

from envelope.errors import EnvelopeError
from envelope.s3 import EncryptedS3Client
from envelope.s3.metadata import parse_instruction_file
from tests.fuzz import fixtures
from tests.fuzz.harness import Target, expect, split_fields

BUCKET, KEY = "fuzz-bucket", "object"


def _missing(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "NoSuchKey", "Message": "no such key"}}, operation)


class _Objects:
    """The S3 calls a read makes, answered from one object and maybe its instruction file."""

    def __init__(self, metadata: dict[str, str], instruction: bytes | None, body: bytes) -> None:
        self.objects: dict[str, tuple[dict[str, str], bytes]] = {KEY: (metadata, body)}
        if instruction is not None:
            self.objects[KEY + ".instruction"] = ({}, instruction)

    def _find(self, key: str, operation: str) -> tuple[dict[str, str], bytes]:
        if key not in self.objects:
            raise _missing(operation)
        return self.objects[key]

    def head_object(self, *, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        metadata, body = self._find(Key, "HeadObject")
        return {"Metadata": dict(metadata), "ContentLength": len(body), "ETag": '"e"'}

    def get_object(self, *, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        metadata, body = self._find(Key, "GetObject")
        return {
            "Body": io.BytesIO(body),
            "Metadata": dict(metadata),
            "ContentLength": len(body),
            "ETag": '"e"',
        }


def _metadata(text: bytes) -> dict[str, str]:
    metadata: dict[str, str] = {}
    for line in text.decode("utf-8", "replace").split("\n"):
        name, sep, value = line.partition(": ")
        if sep:
            metadata[name] = value
    return metadata


def run(data: bytes) -> None:
    flags, meta_text, instruction, body = split_fields(data, 4)
    flag = flags[0] if flags else 0
    s3 = _Objects(_metadata(meta_text), instruction if flag & 1 else None, body)
    if flag & 1:
        with contextlib.suppress(EnvelopeError):
            parse_instruction_file(instruction)
    client = EncryptedS3Client(
        s3,
        keys=[fixtures.raw_aes(), fixtures.raw_rsa(), fixtures.kms_key()],
        allow_unauthenticated_legacy=bool(flag & 2),
        require_key_commitment=bool(flag & 8),
    )
    context = fixtures.CONTEXT if flag & 4 else None
    try:
        info = client.inspect_object(Bucket=BUCKET, Key=KEY)
    except EnvelopeError:
        info = None
    response = client.get_object(Bucket=BUCKET, Key=KEY, EncryptionContext=context)
    plaintext = response["Body"].read()
    expect(response["ContentLength"] == len(plaintext), "ContentLength is not the plaintext's")
    expect(info is not None, "an object that decrypts does not inspect")


TARGET = Target(
    name="s3_metadata",
    doc=__doc__ or "",
    run=run,
    allowed=(EnvelopeError,),
    setup=lambda: (fixtures.kms_key(), None)[1],
)
