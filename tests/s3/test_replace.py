"""Replacing an object kept with an instruction file (``envelope/s3/replace.py``): with
``replace_in_one_write``, a V3 object under the same KMS key and context is replaced in one
write, its instruction file untouched; without it (the default) every write has a fresh data key.

Found by the fault campaign (tests/faults/test_s3_faults.py): a writer killed between the object
and its new instruction file left neither the old nor the new object readable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from envelope import KmsKey
from envelope.keys.local import LocalKeyService
from envelope.s3 import EncryptedS3Client
from tests.s3.conftest import MIB, Oracle

CONTEXT = {"app": "tests"}


def _instruction(s3: Any, bucket: str, key: str) -> tuple[str, bytes]:
    got = s3.get_object(Bucket=bucket, Key=key + ".instruction")
    return got["ETag"], got["Body"].read()


def test_by_default_every_replacement_has_a_fresh_data_key(
    s3: Any, bucket: str, local_key: KmsKey
) -> None:
    """The default trusts no instruction file: a bucket writer who may generate data keys but
    not decrypt could otherwise plant a data key it knows and read the next version."""
    client = EncryptedS3Client(s3, keys=local_key, instruction_file=True)
    client.put_object(Bucket=bucket, Key="doc", Body=b"old", EncryptionContext=CONTEXT)
    _, body = _instruction(s3, bucket, "doc")
    client.put_object(Bucket=bucket, Key="doc", Body=b"new", EncryptionContext=CONTEXT)
    _, new_body = _instruction(s3, bucket, "doc")
    assert json.loads(new_body)["x-amz-3"] != json.loads(body)["x-amz-3"]
    got = client.get_object(Bucket=bucket, Key="doc", EncryptionContext=CONTEXT)
    assert got["Body"].read() == b"new"


def test_v3_replacement_keeps_the_instruction_file(s3: Any, bucket: str, local_key: KmsKey) -> None:
    client = EncryptedS3Client(s3, keys=local_key, instruction_file=True, replace_in_one_write=True)
    client.put_object(Bucket=bucket, Key="doc", Body=b"old", EncryptionContext=CONTEXT)
    etag, body = _instruction(s3, bucket, "doc")
    old_meta = s3.head_object(Bucket=bucket, Key="doc")["Metadata"]

    client.put_object(Bucket=bucket, Key="doc", Body=b"new", EncryptionContext=CONTEXT)
    assert _instruction(s3, bucket, "doc") == (etag, body)  # not written again
    new_meta = s3.head_object(Bucket=bucket, Key="doc")["Metadata"]
    # A fresh message id, so a fresh derived content key and commitment (V3 key derivation).
    assert new_meta["x-amz-i"] != old_meta["x-amz-i"]
    assert new_meta["x-amz-d"] != old_meta["x-amz-d"]
    got = client.get_object(Bucket=bucket, Key="doc", EncryptionContext=CONTEXT)
    assert got["Body"].read() == b"new"


def test_multipart_replacement_keeps_the_instruction_file(
    s3: Any, bucket: str, local_key: KmsKey, tmp_path: Path
) -> None:
    client = EncryptedS3Client(s3, keys=local_key, instruction_file=True,
                               replace_in_one_write=True, multipart_threshold=5 * MIB,
                               part_size=5 * MIB)  # fmt: skip
    source = tmp_path / "big"
    source.write_bytes(b"a" * (6 * MIB))
    client.upload_file(str(source), bucket, "big", EncryptionContext=CONTEXT)
    before = _instruction(s3, bucket, "big")
    source.write_bytes(b"b" * (6 * MIB))
    client.upload_file(str(source), bucket, "big", EncryptionContext=CONTEXT)
    assert _instruction(s3, bucket, "big") == before
    out = tmp_path / "out"
    client.download_file(bucket, "big", str(out), EncryptionContext=CONTEXT)
    assert out.read_bytes() == b"b" * (6 * MIB)


@pytest.mark.parametrize(
    ("second", "why"),
    [
        ({"EncryptionContext": {"app": "other"}}, "another context"),
        ({"EncryptionContext": CONTEXT, "Format": "v2"}, "V2 keeps its IV in the file"),
    ],
)
def test_a_data_key_is_reused_only_for_the_same_context_and_v3(
    s3: Any, bucket: str, local_key: KmsKey, second: dict[str, Any], why: str
) -> None:
    client = EncryptedS3Client(s3, keys=local_key, instruction_file=True, replace_in_one_write=True)
    client.put_object(Bucket=bucket, Key="doc", Body=b"old", EncryptionContext=CONTEXT)
    etag, body = _instruction(s3, bucket, "doc")
    client.put_object(Bucket=bucket, Key="doc", Body=b"new", **second)
    new_etag, new_body = _instruction(s3, bucket, "doc")
    assert new_etag != etag and new_body != body, why
    got = client.get_object(Bucket=bucket, Key="doc", EncryptionContext=second["EncryptionContext"])
    assert got["Body"].read() == b"new"


def test_another_keys_data_key_is_never_reused(
    s3: Any, bucket: str, local_kms: LocalKeyService, local_key: KmsKey
) -> None:
    """A writer with another KMS key cannot unwrap the file's data key: it writes its own."""
    other = KmsKey(local_kms, local_kms.create_key().key_metadata.arn)
    first = EncryptedS3Client(s3, keys=local_key, instruction_file=True, replace_in_one_write=True)
    first.put_object(Bucket=bucket, Key="doc", Body=b"old", EncryptionContext=CONTEXT)
    _, body = _instruction(s3, bucket, "doc")
    client = EncryptedS3Client(s3, keys=other, instruction_file=True, replace_in_one_write=True)
    client.put_object(Bucket=bucket, Key="doc", Body=b"new", EncryptionContext=CONTEXT)
    _, new_body = _instruction(s3, bucket, "doc")
    assert json.loads(new_body)["x-amz-3"] != json.loads(body)["x-amz-3"]
    got = client.get_object(Bucket=bucket, Key="doc", EncryptionContext=CONTEXT)
    assert got["Body"].read() == b"new"


def test_a_replaced_object_is_read_by_the_official_client(
    s3: Any, bucket: str, moto_key: KmsKey, oracle: Oracle, tmp_path: Path
) -> None:
    client = EncryptedS3Client(s3, keys=moto_key, instruction_file=True, replace_in_one_write=True)
    client.put_object(Bucket=bucket, Key="doc", Body=b"old", EncryptionContext=CONTEXT)
    before = _instruction(s3, bucket, "doc")
    client.put_object(Bucket=bucket, Key="doc", Body=b"new", EncryptionContext=CONTEXT)
    assert _instruction(s3, bucket, "doc") == before
    out = tmp_path / "out"
    op = {"op": "get", "bucket": bucket, "key": "doc", "path": str(out), "context": CONTEXT,
          "format": "v3"}  # fmt: skip
    assert oracle.run(op) == [{"ok": True}]
    assert out.read_bytes() == b"new"
