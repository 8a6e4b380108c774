"""Round trips through moto's S3 server over HTTP: sizes, formats, keys, instruction files."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import pytest

from envelope import KmsKey, RawAesKey, RawRsaKey
from envelope.errors import S3EncryptionError
from envelope.s3 import EncryptedS3Client
from tests.s3.conftest import MIB, kms_context

SIZES = [0, 1, 1 * MIB]


def _data(size: int) -> bytes:
    return os.urandom(size)


@pytest.mark.parametrize("size", SIZES, ids=["0B", "1B", "1MiB"])
@pytest.mark.parametrize("fmt", ["v3", "v2"])
def test_put_get_round_trip(
    s3: Any, bucket: str, wrapping_key: KmsKey | RawAesKey | RawRsaKey, size: int, fmt: str
) -> None:
    client = EncryptedS3Client(s3, keys=wrapping_key, format=fmt)
    data, context = _data(size), kms_context(wrapping_key)
    client.put_object(Bucket=bucket, Key="obj", Body=data, EncryptionContext=context)

    stored = s3.get_object(Bucket=bucket, Key="obj")
    ciphertext = stored["Body"].read()
    assert len(ciphertext) == size + 16  # AES-GCM: same length plus the tag
    if size > 64:
        assert data[:64] not in ciphertext
    meta = stored["Metadata"]
    assert ("x-amz-c" in meta) == (fmt == "v3") and ("x-amz-key-v2" in meta) == (fmt == "v2")

    got = client.get_object(Bucket=bucket, Key="obj", EncryptionContext=context)
    assert got["Body"].read() == data
    assert got["ContentLength"] == size


def test_multipart_round_trip_20_mib(
    s3: Any, bucket: str, wrapping_key: KmsKey | RawAesKey | RawRsaKey, tmp_path: Path
) -> None:
    """20 MiB in 8 MiB parts (three parts, the tag on the last), down through a temporary file."""
    client = EncryptedS3Client(
        s3, keys=wrapping_key, part_size=8 * MIB, multipart_threshold=8 * MIB
    )
    folder = tmp_path / "files"
    folder.mkdir()
    source, target = folder / "in", folder / "out"
    source.write_bytes(_data(20 * MIB))
    context = kms_context(wrapping_key)
    seen: list[int] = []
    client.upload_file(str(source), bucket, "big", Callback=seen.append, EncryptionContext=context)
    assert sum(seen) == 20 * MIB and len(seen) == 3

    head = s3.head_object(Bucket=bucket, Key="big")
    assert head["ContentLength"] == 20 * MIB + 16
    assert head["ETag"].strip('"').endswith("-3")  # a multipart ETag: three parts

    client.download_file(bucket, "big", str(target), EncryptionContext=context)
    assert (
        hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()
    )
    assert sorted(p.name for p in folder.iterdir()) == ["in", "out"]  # no temporary left


@pytest.mark.parametrize("fmt", ["v3", "v2"])
def test_instruction_file_round_trip(s3: Any, bucket: str, local_key: KmsKey, fmt: str) -> None:
    client = EncryptedS3Client(s3, keys=local_key, format=fmt, instruction_file=True)
    client.put_object(Bucket=bucket, Key="doc", Body=b"hello", EncryptionContext={"a": "b"})
    meta = s3.head_object(Bucket=bucket, Key="doc")["Metadata"]
    instruction = s3.get_object(Bucket=bucket, Key="doc.instruction")
    assert instruction["Metadata"] == {"x-amz-crypto-instr-file": ""}
    body = instruction["Body"].read()
    if fmt == "v3":  # V3 keeps the content keys on the object (metadata-strategy.md)
        assert sorted(meta) == ["x-amz-c", "x-amz-d", "x-amz-i"]
        assert b'"x-amz-3"' in body and b'"x-amz-w":"12"' in body
    else:
        assert meta == {}
        assert b'"x-amz-key-v2"' in body and b'"x-amz-wrap-alg":"kms+context"' in body
    got = client.get_object(Bucket=bucket, Key="doc", EncryptionContext={"a": "b"})
    assert got["Body"].read() == b"hello"
    assert client.inspect_object(Bucket=bucket, Key="doc").metadata_location == "instruction file"
    client.delete_object(Bucket=bucket, Key="doc")
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_fileobj_body_and_pipes(s3: Any, bucket: str, local_key: KmsKey) -> None:
    """A file-like Body above the threshold goes multipart; download_fileobj spools, then copies."""
    client = EncryptedS3Client(s3, keys=local_key, multipart_threshold=1 * MIB, part_size=5 * MIB)
    data = _data(11 * MIB + 3)
    client.put_object(Bucket=bucket, Key="f", Body=io.BytesIO(data))
    assert s3.head_object(Bucket=bucket, Key="f")["ETag"].strip('"').endswith("-3")
    sink = io.BytesIO()
    client.download_fileobj(bucket, "f", sink)
    assert sink.getvalue() == data


def test_user_metadata_and_passthrough(s3: Any, bucket: str, local_key: KmsKey) -> None:
    client = EncryptedS3Client(s3, keys=local_key)
    client.put_object(
        Bucket=bucket, Key="m", Body=b"x", Metadata={"owner": "me"}, ContentType="text/plain"
    )
    head = client.head_object(Bucket=bucket, Key="m")  # passes through to boto3
    assert head["Metadata"]["owner"] == "me" and head["ContentType"] == "text/plain"
    assert [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]] == ["m"]


def test_several_keys_first_wraps_any_reads(s3: Any, bucket: str, local_key: KmsKey) -> None:
    backup = RawAesKey("s3", "backup", os.urandom(32))
    EncryptedS3Client(s3, keys=[backup, local_key]).put_object(Bucket=bucket, Key="k", Body=b"z")
    reader = EncryptedS3Client(s3, keys=[local_key, backup])
    assert reader.get_object(Bucket=bucket, Key="k")["Body"].read() == b"z"
    info = reader.inspect_object(Bucket=bucket, Key="k")
    assert (info.format, info.wrap_alg, info.size, info.plaintext_size) == ("V3", "AES/GCM", 17, 1)


class _FailingSource(io.RawIOBase):
    """Gives ``good`` bytes, then fails as a dying disk or pipe would."""

    def __init__(self, good: int) -> None:
        super().__init__()
        self.left = good

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.left <= 0:
            raise OSError("the source broke")
        n = min(len(buffer), self.left)
        buffer[:n] = b"\0" * n
        self.left -= n
        return n


def test_failed_upload_is_aborted(s3: Any, bucket: str, local_key: KmsKey) -> None:
    """A source that breaks after two parts: the multipart upload is aborted, no object exists."""
    client = EncryptedS3Client(s3, keys=local_key, multipart_threshold=1 * MIB, part_size=5 * MIB)
    with pytest.raises(OSError, match="the source broke"):
        client.upload_fileobj(_FailingSource(12 * MIB), bucket, "broken")
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_non_blocking_source_is_refused(s3: Any, bucket: str, local_key: KmsKey) -> None:
    class _NonBlocking(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> None:
            return None  # "no data yet": not the end of the input

    from envelope.errors import S3EncryptionError

    client = EncryptedS3Client(s3, keys=local_key)
    with pytest.raises(S3EncryptionError, match="non-blocking"):
        client.upload_fileobj(_NonBlocking(), bucket, "nb")
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


@pytest.mark.parametrize("fmt", ["v3", "v2"])
def test_failed_overwrite_keeps_the_old_object_readable(
    s3: Any, bucket: str, local_key: KmsKey, fmt: str
) -> None:
    """Overwriting an instruction-file object with an upload that fails (a source that breaks,
    Ctrl-C, S3 refusing the object). Before, the new instruction file was written first: the old
    object stayed in place but its data key was gone for good (V3: the commitment no longer
    matched; V2: the new data key did not open it), and a failed first upload left an orphan
    instruction file. The object is now written first, its instruction file after."""
    client = EncryptedS3Client(
        s3, keys=local_key, instruction_file=True, format=fmt,
        multipart_threshold=1 * MIB, part_size=5 * MIB,
    )  # fmt: skip
    old = _data(1000)
    client.put_object(Bucket=bucket, Key="doc", Body=old)
    with pytest.raises(OSError, match="the source broke"):
        client.upload_fileobj(_FailingSource(12 * MIB), bucket, "doc")
    assert client.get_object(Bucket=bucket, Key="doc")["Body"].read() == old

    class RefusingS3:
        """The real client, but S3 refuses the object itself (not its instruction file)."""

        def __getattr__(self, name: str) -> Any:
            return getattr(s3, name)

        def put_object(self, **kwargs: Any) -> Any:
            if not kwargs["Key"].endswith(".instruction"):
                raise ConnectionError("connection reset")
            return s3.put_object(**kwargs)

    refused = EncryptedS3Client(RefusingS3(), keys=local_key, instruction_file=True, format=fmt)
    with pytest.raises(ConnectionError):
        refused.put_object(Bucket=bucket, Key="doc", Body=b"new")
    assert client.get_object(Bucket=bucket, Key="doc")["Body"].read() == old
    with pytest.raises(ConnectionError):
        refused.put_object(Bucket=bucket, Key="new", Body=b"new")
    with pytest.raises(OSError, match="the source broke"):
        client.upload_fileobj(_FailingSource(12 * MIB), bucket, "new2")
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert listed == ["doc", "doc.instruction"]  # no orphan instruction files


def test_an_object_named_like_an_instruction_file_is_never_replaced_or_deleted(
    s3: Any, bucket: str, local_key: KmsKey
) -> None:
    """``KEY.instruction`` may be someone's own object (``setup.instruction``, a document).
    Before, putting ``setup`` with an instruction file silently replaced it, and deleting
    ``setup`` (even a header-metadata object) deleted it too."""
    s3.put_object(Bucket=bucket, Key="setup.instruction", Body=b"step 1: unpack")
    client = EncryptedS3Client(s3, keys=local_key, instruction_file=True)
    with pytest.raises(S3EncryptionError, match="not an instruction file"):
        client.put_object(Bucket=bucket, Key="setup", Body=b"secret")
    with pytest.raises(S3EncryptionError, match="not an instruction file"):
        client.upload_fileobj(io.BytesIO(b"secret"), bucket, "setup")
    assert "setup" not in [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]

    headers = EncryptedS3Client(s3, keys=local_key)  # metadata in the object's headers
    headers.put_object(Bucket=bucket, Key="setup", Body=b"secret")
    headers.delete_object(Bucket=bucket, Key="setup")
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == ["setup.instruction"]
    body = s3.get_object(Bucket=bucket, Key="setup.instruction")["Body"].read()
    assert body == b"step 1: unpack"

    # A real instruction file is replaced and deleted with its object, as before.
    client.put_object(Bucket=bucket, Key="doc", Body=b"one")
    client.put_object(Bucket=bucket, Key="doc", Body=b"two")
    assert client.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"two"
    client.delete_object(Bucket=bucket, Key="doc")
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == ["setup.instruction"]


def test_an_instruction_file_without_the_marker_is_still_one(
    s3: Any, bucket: str, local_key: KmsKey
) -> None:
    """A writer that sets no x-amz-crypto-instr-file metadata: its file reads as an instruction
    file, so envelope still replaces and deletes it with its object."""
    client = EncryptedS3Client(s3, keys=local_key, instruction_file=True)
    client.put_object(Bucket=bucket, Key="doc", Body=b"one")
    body = s3.get_object(Bucket=bucket, Key="doc.instruction")["Body"].read()
    s3.put_object(Bucket=bucket, Key="doc.instruction", Body=body)  # the marker gone
    assert client.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"one"
    client.put_object(Bucket=bucket, Key="doc", Body=b"two")
    assert client.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"two"
    body = s3.get_object(Bucket=bucket, Key="doc.instruction")["Body"].read()
    s3.put_object(Bucket=bucket, Key="doc.instruction", Body=body)  # the marker gone again
    client.delete_object(Bucket=bucket, Key="doc")
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
