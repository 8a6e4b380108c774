"""Interop with amazon-s3-encryption-client-python 4.0.0 (own venv), KMS on moto, both ways."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from envelope import KmsKey
from envelope.s3 import EncryptedS3Client
from tests.s3.conftest import MIB, Oracle

CONTEXTS = [{}, {"department": "finance", "purpose": "interop"}]
SIZES = [0, 1, 1 * MIB + 7]


@pytest.mark.parametrize("context", CONTEXTS, ids=["no-context", "context"])
@pytest.mark.parametrize("fmt", ["v3", "v2"])
def test_official_client_objects_read_by_envelope(
    s3: Any,
    bucket: str,
    moto_key: KmsKey,
    oracle: Oracle,
    tmp_path: Path,
    fmt: str,
    context: dict[str, str],
) -> None:
    ops, expected = [], {}
    for size in SIZES:
        path = tmp_path / f"plain-{size}"
        path.write_bytes(os.urandom(size))
        expected[f"obj-{size}"] = path.read_bytes()
        ops.append(
            {
                "op": "put",
                "bucket": bucket,
                "key": f"obj-{size}",
                "path": str(path),
                "context": context,
                "format": fmt,
            }
        )
    assert oracle.run(*ops) == [{"ok": True}] * len(ops)

    client = EncryptedS3Client(s3, keys=moto_key)
    for key, data in expected.items():
        meta = s3.head_object(Bucket=bucket, Key=key)["Metadata"]
        assert ("x-amz-c" in meta) == (fmt == "v3")
        got = client.get_object(Bucket=bucket, Key=key, EncryptionContext=context)
        assert got["Body"].read() == data
    if context:  # the official client's stored context is checked by envelope too
        with pytest.raises(Exception, match="encryption context check failed"):
            client.get_object(Bucket=bucket, Key="obj-1", EncryptionContext={})


def test_official_client_multipart_read_by_envelope(
    s3: Any, bucket: str, moto_key: KmsKey, oracle: Oracle, tmp_path: Path
) -> None:
    source, target = tmp_path / "in", tmp_path / "out"
    source.write_bytes(os.urandom(20 * MIB + 5))
    op = {
        "op": "upload",
        "bucket": bucket,
        "key": "mp",
        "path": str(source),
        "context": {"a": "1"},
        "format": "v3",
    }
    assert oracle.run(op) == [{"ok": True}]
    assert "-" in s3.head_object(Bucket=bucket, Key="mp")["ETag"]
    EncryptedS3Client(s3, keys=moto_key).download_file(
        bucket, "mp", str(target), EncryptionContext={"a": "1"}
    )
    assert target.read_bytes() == source.read_bytes()


@pytest.mark.parametrize("instruction_file", [False, True], ids=["headers", "instruction-file"])
@pytest.mark.parametrize("context", CONTEXTS, ids=["no-context", "context"])
@pytest.mark.parametrize("fmt", ["v3", "v2"])
def test_envelope_objects_read_by_official_client(
    s3: Any,
    bucket: str,
    moto_key: KmsKey,
    oracle: Oracle,
    tmp_path: Path,
    fmt: str,
    context: dict[str, str],
    instruction_file: bool,
) -> None:
    client = EncryptedS3Client(
        s3,
        keys=moto_key,
        format=fmt,
        instruction_file=instruction_file,
        multipart_threshold=8 * MIB,
        part_size=8 * MIB,
    )
    sizes = [*SIZES, 17 * MIB]  # the last one multipart
    ops, expected = [], {}
    for size in sizes:
        data = os.urandom(size)
        key = f"obj-{size}"
        if size > 8 * MIB:
            source = tmp_path / "big"
            source.write_bytes(data)
            client.upload_file(str(source), bucket, key, EncryptionContext=context)
        else:
            client.put_object(Bucket=bucket, Key=key, Body=data, EncryptionContext=context)
        out = tmp_path / f"out-{size}"
        expected[out] = data
        ops.append(
            {
                "op": "get",
                "bucket": bucket,
                "key": key,
                "path": str(out),
                "context": context,
                "format": fmt,
            }
        )
    assert oracle.run(*ops) == [{"ok": True}] * len(ops)
    for out, data in expected.items():
        assert out.read_bytes() == data


def test_official_client_refuses_wrong_context_on_envelope_object(
    s3: Any, bucket: str, moto_key: KmsKey, oracle: Oracle, tmp_path: Path
) -> None:
    """The oracle applies the same context rule to our objects (so the check is real)."""
    EncryptedS3Client(s3, keys=moto_key).put_object(
        Bucket=bucket, Key="c", Body=b"data", EncryptionContext={"k": "v"}
    )
    out = tmp_path / "out"
    [result] = oracle.run(
        {"op": "get", "bucket": bucket, "key": "c", "path": str(out), "context": {"k": "other"}}
    )
    assert not result["ok"] and "encryption context" in result["error"].lower()
