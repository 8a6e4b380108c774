"""Rewrap in place: after a rotation (or to another key) only the metadata changes, on moto's S3."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from envelope import AwsKmsKeyService, KmsKey, LocalKeyService, RawAesKey, RawRsaKey
from envelope.errors import (
    S3AuthenticationError,
    S3EncryptionContextError,
    S3EncryptionError,
    S3LegacyFormatError,
    S3MetadataError,
    S3NoMatchingKeyError,
)
from envelope.keys import blob
from envelope.s3 import EncryptedS3Client, KmsDiscoveryKeyring
from tests.s3.conftest import MIB, Oracle, oracle_python
from tests.serve_server import EnvelopeServer, serve_env, serve_server

__all__ = ["serve_env", "serve_server"]  # fixtures

BIG = 64 * MIB
SUFFIX = ".instruction"
CONTEXT = {"tenant": "t1", "purpose": "rewrap"}
KEPT_HEADERS = (
    "ContentType",
    "ContentEncoding",
    "CacheControl",
    "ContentDisposition",
    "ContentLanguage",
    "StorageClass",
)


def snapshot(s3: Any, bucket: str, key: str) -> dict[str, Any]:
    """Everything plain boto3 sees of an object: a hash of its raw body, its headers, its user
    metadata, its tags, and its instruction file's bytes (if any)."""
    got = s3.get_object(Bucket=bucket, Key=key)
    digest = hashlib.sha256()
    with got["Body"] as body:
        while chunk := body.read(MIB):
            digest.update(chunk)
    try:
        instruction = s3.get_object(Bucket=bucket, Key=key + SUFFIX)["Body"].read()
    except s3.exceptions.NoSuchKey:
        instruction = None
    return {
        "sha256": digest.hexdigest(),
        "ETag": got["ETag"],
        "ContentLength": got["ContentLength"],
        "headers": {h: got.get(h) for h in KEPT_HEADERS},
        "Metadata": got["Metadata"],
        "tags": s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"],
        "instruction": instruction,
    }


def s3ec_entries(state: dict[str, Any]) -> dict[str, str]:
    """The S3EC map: the object's x-amz-* metadata merged with its instruction file."""
    entries = {k: v for k, v in state["Metadata"].items() if k.startswith("x-amz-")}
    if state["instruction"] is not None:
        entries.update(json.loads(state["instruction"]))
    return entries


def changed_keys(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    old, new = s3ec_entries(before), s3ec_entries(after)
    return {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}


def write_random(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    block = os.urandom(MIB)
    with path.open("wb") as handle:
        for i in range(size // MIB):
            chunk = i.to_bytes(8, "big") + block[8:]
            handle.write(chunk)
            digest.update(chunk)
    return digest.hexdigest()


def decrypted_sha256(client: EncryptedS3Client, bucket: str, key: str, tmp_path: Path) -> str:
    target = tmp_path / "out"
    client.download_file(bucket, key, str(target), EncryptionContext=CONTEXT)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    target.unlink()
    return digest


def _edk(state: dict[str, Any]) -> bytes:
    return base64.b64decode(s3ec_entries(state)["x-amz-3"])


def _put_big(client: EncryptedS3Client, bucket: str, key: str, tmp_path: Path) -> str:
    source = tmp_path / "big"
    digest = write_random(source, BIG)
    client.upload_file(
        str(source),
        bucket,
        key,
        ExtraArgs={
            "ContentType": "application/x-report",
            "CacheControl": "max-age=60",
            "Metadata": {"owner": "tests"},
            "Tagging": "team=blue&stage=2",
        },
        EncryptionContext=CONTEXT,
    )
    source.unlink()
    return digest


@pytest.mark.parametrize("case", ["headers", "instruction-file", "to-another-key"])
def test_rotation_64_mib_local_kms(
    s3: Any, bucket: str, serve_env: EnvelopeServer, tmp_path: Path, case: str
) -> None:
    """On the local KMS (its keystore served by ``envelope serve``): after a rotation the data
    key is under the new key version (or the other key), the raw body and ETag are the same,
    and the official S3 Encryption Client, asking envelope serve, reads the object."""
    with LocalKeyService(serve_env.home) as local_kms:
        arn = local_kms.create_key().key_metadata.arn
        client = EncryptedS3Client(
            s3, keys=KmsKey(local_kms, arn), instruction_file=case == "instruction-file"
        )
        digest = _put_big(client, bucket, "big", tmp_path)
        before = snapshot(s3, bucket, "big")
        assert before["ETag"].endswith('-8"')  # eight 8 MiB parts
        to, reader_key = None, arn
        if case == "to-another-key":
            reader_key = local_kms.create_key().key_metadata.arn
            to = KmsKey(local_kms, reader_key)
        else:
            local_kms.rotate_key_on_demand(key_id=arn)

        result = client.rewrap_object(bucket, "big", to=to)

        after = snapshot(s3, bucket, "big")
        assert result.status == "rewrapped"
        assert result.method == (
            "instruction file" if case == "instruction-file" else "multipart copy"
        )
        assert (result.key_id_before, result.key_id_after) == (arn, reader_key)
        assert {k: after[k] for k in ("sha256", "ETag", "ContentLength", "headers", "tags")} == {
            k: before[k] for k in ("sha256", "ETag", "ContentLength", "headers", "tags")
        }
        assert after["Metadata"]["owner"] == "tests"
        assert changed_keys(before, after) == {"x-amz-3"}  # only the wrapped data key
        old, new = blob.parse(_edk(before)), blob.parse(_edk(after))
        if to is None:
            assert old.key_id == new.key_id and new.version == old.version + 1
        else:
            assert new.key_id == reader_key.rsplit("/", 1)[1] != old.key_id
            local_kms.disable_key(key_id=arn)  # the old key is no longer needed
        mine = EncryptedS3Client(s3, keys=KmsKey(local_kms, reader_key))
        assert decrypted_sha256(mine, bucket, "big", tmp_path) == digest
    reader = Oracle(oracle_python(), str(s3.meta.endpoint_url), reader_key, kms={
        "endpoint": serve_env.url,
        "access_key_id": serve_env.access_key_id,
        "secret_access_key": serve_env.secret_access_key,
    })  # fmt: skip
    out = tmp_path / "oracle.out"
    got = reader.run(
        {"op": "get", "bucket": bucket, "key": "big", "path": str(out), "context": CONTEXT}
    )
    assert got == [{"ok": True}]
    assert hashlib.sha256(out.read_bytes()).hexdigest() == digest


@pytest.mark.parametrize("case", ["headers", "instruction-file", "to-another-key"])
def test_rewrap_64_mib_read_by_official_client(
    s3: Any,
    bucket: str,
    aws_kms: AwsKmsKeyService,
    moto_key: KmsKey,
    oracle: Oracle,
    tmp_path: Path,
    case: str,
) -> None:
    """On moto's KMS: the official S3 Encryption Client reads the rewrapped object."""
    client = EncryptedS3Client(s3, keys=moto_key, instruction_file=case == "instruction-file")
    digest = _put_big(client, bucket, "big", tmp_path)
    before = snapshot(s3, bucket, "big")
    to = None
    reader = oracle
    if case == "to-another-key":
        other = aws_kms.create_key().key_metadata.arn
        to = KmsKey(aws_kms, other)
        reader = Oracle(oracle_python(), oracle.endpoint, other)
    else:
        aws_kms.rotate_key_on_demand(key_id=moto_key.key_id)

    result = client.rewrap_object(bucket, "big", to=to)

    after = snapshot(s3, bucket, "big")
    assert result.status == "rewrapped"
    if to is not None:
        assert (result.key_id_before, result.key_id_after) == (moto_key.key_id, other)
    assert (after["sha256"], after["ETag"], after["headers"], after["tags"]) == (
        before["sha256"],
        before["ETag"],
        before["headers"],
        before["tags"],
    )
    assert changed_keys(before, after) == {"x-amz-3"}
    out = tmp_path / "oracle.out"
    got = reader.run(
        {"op": "get", "bucket": bucket, "key": "big", "path": str(out), "context": CONTEXT}
    )
    assert got == [{"ok": True}]
    assert hashlib.sha256(out.read_bytes()).hexdigest() == digest
    if to is not None:  # the old key no longer opens it: only the new one does
        old_only = EncryptedS3Client(s3, keys=moto_key)
        with pytest.raises(Exception, match="could unwrap"):
            old_only.get_object(Bucket=bucket, Key="big", EncryptionContext=CONTEXT)


def test_prefix_of_100_with_one_failure(s3: Any, bucket: str, local_kms: LocalKeyService) -> None:
    """99 objects move to the new key version; one wrapped by a key the client does not hold is
    reported and left exactly as it was; instruction files are skipped, not rewrapped twice."""
    arn = local_kms.create_key().key_metadata.arn
    stranger = local_kms.create_key().key_metadata.arn
    client = EncryptedS3Client(s3, keys=KmsKey(local_kms, arn))
    other = EncryptedS3Client(s3, keys=KmsKey(local_kms, stranger))
    data = {f"batch/obj-{i:03d}": os.urandom(100 + i) for i in range(100)}
    for i, (key, body) in enumerate(data.items()):
        writer = other if i == 37 else client
        writer.put_object(Bucket=bucket, Key=key, Body=body, InstructionFile=i % 10 == 0)
    s3.put_object(Bucket=bucket, Key="elsewhere", Body=b"not under the prefix")
    before = {key: snapshot(s3, bucket, key) for key in data}
    local_kms.rotate_key_on_demand(key_id=arn)
    seen: list[str] = []

    summary = client.rewrap_prefix(
        bucket, "batch/", max_concurrency=4, on_result=lambda r: seen.append(r.key)
    )

    assert (summary.rewrapped, summary.failed, summary.skipped) == (99, 1, 10)
    [failure] = summary.failures
    assert failure.key == "batch/obj-037"
    assert failure.error == "S3NoMatchingKeyError"
    assert len(seen) == 110 and sorted(seen) == sorted(
        [*data, *(k + SUFFIX for i, k in enumerate(data) if i % 10 == 0)]
    )
    assert {r.reason for r in summary.results if r.status == "skipped"} == {"an instruction file"}
    for i, (key, body) in enumerate(data.items()):
        after = snapshot(s3, bucket, key)
        assert after["sha256"] == before[key]["sha256"]
        assert after["ETag"] == before[key]["ETag"]
        if i == 37:
            assert after == before[key]  # nothing half-done: not even the metadata moved
            continue
        assert changed_keys(before[key], after) == {"x-amz-3"}
        assert blob.parse(_edk(after)).version == blob.parse(_edk(before[key])).version + 1
        assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    assert s3.get_object(Bucket=bucket, Key="elsewhere")["Body"].read() == b"not under the prefix"


def test_copy_keeps_headers_metadata_and_tags(s3: Any, bucket: str, local_key: KmsKey) -> None:
    client = EncryptedS3Client(s3, keys=local_key)
    client.put_object(
        Bucket=bucket,
        Key="o",
        Body=b"small body",
        ContentType="text/csv",
        ContentEncoding="identity",
        ContentDisposition="attachment",
        ContentLanguage="en",
        CacheControl="no-store",
        StorageClass="STANDARD_IA",
        Metadata={"owner": "tests", "note": "kept"},
        Tagging="a=1&b=2",
        EncryptionContext=CONTEXT,
    )
    before = snapshot(s3, bucket, "o")
    result = client.rewrap_object(bucket, "o")
    after = snapshot(s3, bucket, "o")
    assert (result.status, result.method) == ("rewrapped", "copy")
    assert after["headers"] == before["headers"]
    assert after["headers"]["StorageClass"] == "STANDARD_IA"
    assert after["tags"] == before["tags"] and len(after["tags"]) == 2
    assert {k: v for k, v in after["Metadata"].items() if not k.startswith("x-amz-")} == {
        "owner": "tests",
        "note": "kept",
    }
    assert (after["sha256"], after["ETag"]) == (before["sha256"], before["ETag"])
    assert changed_keys(before, after) == {"x-amz-3"}
    assert (
        client.get_object(Bucket=bucket, Key="o", EncryptionContext=CONTEXT)["Body"].read()
        == b"small body"
    )


def test_above_the_copy_threshold_copies_in_parts(
    s3: Any, bucket: str, local_key: KmsKey, tmp_path: Path
) -> None:
    """An object above the CopyObject limit (5 GiB on S3; 5 MiB here) goes through
    UploadPartCopy. A single-part object gets a multipart ETag then; the bytes stay the same."""
    data = os.urandom(12 * MIB + 3)
    client = EncryptedS3Client(s3, keys=local_key, multipart_threshold=64 * MIB)
    client.put_object(Bucket=bucket, Key="o", Body=data, Tagging="k=v")
    before = snapshot(s3, bucket, "o")
    assert "-" not in before["ETag"]
    result = client.rewrap_object(bucket, "o", copy_threshold=5 * MIB, copy_part_size=5 * MIB)
    after = snapshot(s3, bucket, "o")
    assert result.method == "multipart copy"
    assert result.etag_after == after["ETag"] and after["ETag"].endswith('-3"')
    assert (after["sha256"], after["tags"]) == (before["sha256"], before["tags"])
    assert changed_keys(before, after) == {"x-amz-3"}
    assert client.get_object(Bucket=bucket, Key="o")["Body"].read() == data
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


@pytest.mark.parametrize("fmt", ["v3", "v2"])
@pytest.mark.parametrize("instruction_file", [False, True], ids=["headers", "instruction-file"])
def test_to_raw_keys_and_back(
    s3: Any,
    bucket: str,
    local_key: KmsKey,
    rsa_private: Any,
    fmt: str,
    instruction_file: bool,
) -> None:
    """KMS -> raw AES -> raw RSA -> KMS: each step rewrites the wrapping entries only, and after
    each step only the new key opens the object."""
    aes = RawAesKey("s3", "aes", os.urandom(32))
    rsa = RawRsaKey("s3", "rsa", private_key=rsa_private)
    body = os.urandom(5000)
    everyone = EncryptedS3Client(
        s3, keys=[local_key, aes, rsa], format=fmt, instruction_file=instruction_file
    )
    everyone.put_object(Bucket=bucket, Key="o", Body=body)
    start = snapshot(s3, bucket, "o")
    for target, alg in ((aes, "AES/GCM"), (rsa, "RSA-OAEP-SHA1"), (local_key, "kms+context")):
        before = snapshot(s3, bucket, "o")
        result = everyone.rewrap_object(bucket, "o", to=target)
        after = snapshot(s3, bucket, "o")
        assert (result.status, result.wrap_alg_after) == ("rewrapped", alg)
        assert after["sha256"] == start["sha256"] and after["ETag"] == start["ETag"]
        changed = changed_keys(before, after)
        if fmt == "v3":
            assert changed <= {"x-amz-3", "x-amz-w", "x-amz-t", "x-amz-m"} and "x-amz-3" in changed
        else:
            assert changed <= {"x-amz-key-v2", "x-amz-wrap-alg", "x-amz-matdesc"}
        only = EncryptedS3Client(s3, keys=target)
        assert only.get_object(Bucket=bucket, Key="o")["Body"].read() == body


def test_refusals_leave_the_object_alone(
    s3: Any, bucket: str, local_kms: LocalKeyService, local_key: KmsKey
) -> None:
    from tests.s3.test_tamper import _legacy_cbc_object

    client = EncryptedS3Client(s3, keys=local_key)
    aes = RawAesKey("s3", "aes", os.urandom(32))
    cases: list[tuple[str, Any, type[Exception], str]] = []

    client.put_object(Bucket=bucket, Key="ctx", Body=b"x", EncryptionContext=CONTEXT)
    cases.append(
        (
            "ctx",
            lambda: client.rewrap_object(bucket, "ctx", to=aes),
            S3EncryptionContextError,
            "would be lost",
        )
    )
    _legacy_cbc_object(s3, bucket, local_key, v1=True)
    cases.append(
        (
            "legacy",
            lambda: client.rewrap_object(bucket, "legacy"),
            S3LegacyFormatError,
            "cannot be rewrapped in place",
        )
    )
    EncryptedS3Client(s3, keys=local_key, format="v2").put_object(
        Bucket=bucket, Key="v2", Body=b"x"
    )
    strict = EncryptedS3Client(s3, keys=local_key, require_key_commitment=True)
    cases.append(
        ("v2", lambda: strict.rewrap_object(bucket, "v2"), S3LegacyFormatError, "key commitment")
    )
    client.put_object(Bucket=bucket, Key="cold", Body=b"x", StorageClass="GLACIER")
    cases.append(
        ("cold", lambda: client.rewrap_object(bucket, "cold"), S3EncryptionError, "archived")
    )
    client.put_object(Bucket=bucket, Key="fat", Body=b"x", Metadata={"pad": "p" * 1700})
    big_rsa = RawRsaKey(
        "s3", "rsa4096", private_key=rsa.generate_private_key(public_exponent=65537, key_size=4096)
    )
    cases.append(
        (
            "fat",
            lambda: client.rewrap_object(bucket, "fat", to=big_rsa),
            S3MetadataError,
            "S3 allows 2048",
        )
    )
    s3.put_object(Bucket=bucket, Key="plain", Body=b"plain")
    cases.append(
        ("plain", lambda: client.rewrap_object(bucket, "plain"), S3MetadataError, "not encrypted")
    )
    discovery = EncryptedS3Client(s3, keys=KmsDiscoveryKeyring(local_kms))
    cases.append(
        (
            "ctx",
            lambda: discovery.rewrap_object(bucket, "ctx"),
            S3NoMatchingKeyError,
            "cannot name the key",
        )
    )

    # A V3 object carrying another object's data key (valid for KMS, same context): the key
    # commitment fails before anything is rewrapped under a new key.
    client.put_object(Bucket=bucket, Key="donor", Body=b"y")
    client.put_object(Bucket=bucket, Key="swapped", Body=b"x")
    swapped_meta = s3.head_object(Bucket=bucket, Key="swapped")["Metadata"]
    swapped_meta["x-amz-3"] = s3.head_object(Bucket=bucket, Key="donor")["Metadata"]["x-amz-3"]
    s3.copy_object(
        Bucket=bucket,
        Key="swapped",
        CopySource={"Bucket": bucket, "Key": "swapped"},
        Metadata=swapped_meta,
        MetadataDirective="REPLACE",
    )
    cases.append(
        (
            "swapped",
            lambda: client.rewrap_object(bucket, "swapped", to=aes),
            S3AuthenticationError,
            "commitment",
        )
    )

    def disabled() -> Any:
        local_kms.disable_key(key_id=local_key.key_id)
        return client.rewrap_object(bucket, "ctx")

    cases.append(
        (
            "ctx",
            disabled,
            S3NoMatchingKeyError,
            "DisabledException",
        )
    )

    def state(key: str) -> tuple[Any, ...]:
        head = s3.head_object(Bucket=bucket, Key=key)
        return head["ETag"], head["Metadata"], head.get("StorageClass"), head["LastModified"]

    for key, call, error, message in cases:
        before = state(key)
        with pytest.raises(error, match=message):
            call()
        assert state(key) == before, key


def test_raw_key_without_to_is_skipped_and_dry_run_writes_nothing(
    s3: Any, bucket: str, local_kms: LocalKeyService, local_key: KmsKey
) -> None:
    aes = RawAesKey("s3", "aes", os.urandom(32))
    EncryptedS3Client(s3, keys=aes).put_object(Bucket=bucket, Key="raw", Body=b"r")
    client = EncryptedS3Client(s3, keys=[local_key, aes])
    result = client.rewrap_object(bucket, "raw")
    assert (result.status, result.reason) == (
        "skipped",
        "AES/GCM keys have no versions; give to= to move it to another key",
    )
    for instruction_file in (False, True):
        key = f"kms-{instruction_file}"
        client.put_object(Bucket=bucket, Key=key, Body=b"k", InstructionFile=instruction_file)
        local_kms.rotate_key_on_demand(key_id=local_key.key_id)
        before = snapshot(s3, bucket, key)
        result = client.rewrap_object(bucket, key, dry_run=True)
        assert result.status == "dry run"
        assert snapshot(s3, bucket, key) == before
    summary = client.rewrap_prefix(bucket, "", dry_run=True)
    assert summary.count("dry run") == 2 and summary.rewrapped == 0 and summary.failed == 0


def test_racing_writer_of_an_instruction_file_wins(s3: Any, bucket: str, local_key: KmsKey) -> None:
    """The instruction file is rewritten with If-Match on the ETag read first: an object (and
    instruction file) replaced in between by another writer is not clobbered with a stale key.
    The racer writes under another context; with ``replace_in_one_write`` and the same context it
    would reuse the data key (``envelope.s3.replace``): see below."""
    writer = EncryptedS3Client(s3, keys=local_key, instruction_file=True)
    writer.put_object(Bucket=bucket, Key="o", Body=b"first")
    racer = {"racer": "1"}

    class RacingS3:
        """The real client; the racing writer replaces the object just before our write."""

        def __getattr__(self, name: str) -> Any:
            return getattr(s3, name)

        def put_object(self, **kwargs: Any) -> Any:
            if kwargs["Key"] == "o" + SUFFIX and "IfMatch" in kwargs:
                writer.put_object(Bucket=bucket, Key="o", Body=b"second", EncryptionContext=racer)
            return s3.put_object(**kwargs)

    client = EncryptedS3Client(RacingS3(), keys=local_key)
    with pytest.raises(Exception, match="PreconditionFailed"):
        client.rewrap_object(bucket, "o")
    got = writer.get_object(Bucket=bucket, Key="o", EncryptionContext=racer)
    assert got["Body"].read() == b"second"


def test_racing_writer_under_the_same_key_keeps_the_data_key(
    s3: Any, bucket: str, local_key: KmsKey
) -> None:
    """A racer replacing the object under the same key and context (``replace_in_one_write``)
    reuses the instruction file's data key and leaves the file alone, so the rewrap's If-Match
    holds and its new wrapping of that data key opens the racer's object."""
    writer = EncryptedS3Client(s3, keys=local_key, instruction_file=True,
                               replace_in_one_write=True)  # fmt: skip
    writer.put_object(Bucket=bucket, Key="o", Body=b"first")

    class RacingS3:
        def __getattr__(self, name: str) -> Any:
            return getattr(s3, name)

        def put_object(self, **kwargs: Any) -> Any:
            if kwargs["Key"] == "o" + SUFFIX and "IfMatch" in kwargs:
                writer.put_object(Bucket=bucket, Key="o", Body=b"second")
            return s3.put_object(**kwargs)

    result = EncryptedS3Client(RacingS3(), keys=local_key).rewrap_object(bucket, "o")
    assert result.status == "rewrapped"
    assert writer.get_object(Bucket=bucket, Key="o")["Body"].read() == b"second"


def test_failed_part_copy_aborts_and_leaves_the_object(
    s3: Any, bucket: str, local_key: KmsKey, tmp_path: Path
) -> None:
    client = EncryptedS3Client(s3, keys=local_key, part_size=5 * MIB, multipart_threshold=5 * MIB)
    data = os.urandom(16 * MIB)
    client.put_object(Bucket=bucket, Key="o", Body=io.BytesIO(data))
    before = snapshot(s3, bucket, "o")
    calls = []

    class FailingS3:
        """The real client, whose third UploadPartCopy fails (a dropped connection)."""

        def __getattr__(self, name: str) -> Any:
            return getattr(s3, name)

        def upload_part_copy(self, **kwargs: Any) -> Any:
            calls.append(kwargs["PartNumber"])
            if kwargs["PartNumber"] == 3:
                raise ConnectionError("connection reset")
            return s3.upload_part_copy(**kwargs)

    failing = EncryptedS3Client(FailingS3(), keys=local_key, max_concurrency=1)
    with pytest.raises(ConnectionError):
        failing.rewrap_object(bucket, "o")
    assert 3 in calls
    assert snapshot(s3, bucket, "o") == before
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert client.get_object(Bucket=bucket, Key="o")["Body"].read() == data


def test_copies_are_conditional_on_the_etag(s3: Any, bucket: str, local_key: KmsKey) -> None:
    """CopyObject carries x-amz-copy-source-if-match and If-Match with the ETag read first, so S3
    refuses the copy if another writer replaced the object meanwhile."""
    sent: list[dict[str, str]] = []

    def record(request: Any, **_: Any) -> None:
        sent.append(
            {
                k.lower(): v.decode() if isinstance(v, bytes) else v
                for k, v in request.headers.items()
            }
        )

    client = EncryptedS3Client(s3, keys=local_key)
    client.put_object(Bucket=bucket, Key="o", Body=b"x")
    etag = s3.head_object(Bucket=bucket, Key="o")["ETag"]
    s3.meta.events.register("before-send.s3.CopyObject", record)
    try:
        client.rewrap_object(bucket, "o")
    finally:
        s3.meta.events.unregister("before-send.s3.CopyObject", record)
    [headers] = sent
    assert headers["x-amz-copy-source-if-match"] == etag
    assert headers["if-match"] == etag
    assert headers["x-amz-metadata-directive"] == "REPLACE"


@pytest.mark.xfail(
    strict=True,
    reason="moto 5.2.5 ignores x-amz-copy-source-if-match and If-Match on CopyObject; S3 "
    "answers 412 PreconditionFailed",
)
def test_racing_writer_of_a_copied_object_wins(s3: Any, bucket: str, local_key: KmsKey) -> None:
    writer = EncryptedS3Client(s3, keys=local_key)
    writer.put_object(Bucket=bucket, Key="o", Body=b"first")

    class RacingS3:
        def __getattr__(self, name: str) -> Any:
            return getattr(s3, name)

        def copy_object(self, **kwargs: Any) -> Any:
            writer.put_object(Bucket=bucket, Key="o", Body=b"second")
            return s3.copy_object(**kwargs)

    client = EncryptedS3Client(RacingS3(), keys=local_key)
    with pytest.raises(Exception, match="PreconditionFailed"):
        client.rewrap_object(bucket, "o")


def _interrupt_main_thread() -> None:
    """Ctrl-C, as the terminal sends it: SIGINT to the main thread (whatever it waits on)."""
    signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)


def test_interrupted_part_copy_stops_at_the_parts_in_flight(
    s3: Any, bucket: str, local_kms: LocalKeyService, local_key: KmsKey
) -> None:
    """Ctrl-C (or SIGTERM, which the CLI unwinds the same way) during a part-by-part rewrap: the
    part in flight finishes, the queued ones are cancelled (pool.map's iterator cancels them when
    it is interrupted), the upload is aborted and the object left as it was."""
    client = EncryptedS3Client(s3, keys=local_key, part_size=5 * MIB, multipart_threshold=5 * MIB)
    data = os.urandom(30 * MIB)
    client.put_object(Bucket=bucket, Key="o", Body=io.BytesIO(data))
    local_kms.rotate_key_on_demand(key_id=local_key.key_id)
    before = snapshot(s3, bucket, "o")
    copies: list[int] = []

    class InterruptedS3:
        def __getattr__(self, name: str) -> Any:
            return getattr(s3, name)

        def upload_part_copy(self, **kwargs: Any) -> Any:
            copies.append(kwargs["PartNumber"])
            if len(copies) == 1:
                _interrupt_main_thread()
                time.sleep(0.5)  # the main thread takes the interrupt while this part copies
            return s3.upload_part_copy(**kwargs)

    interrupted = EncryptedS3Client(InterruptedS3(), keys=local_key, max_concurrency=1)
    with pytest.raises(KeyboardInterrupt):
        interrupted.rewrap_object(bucket, "o")
    assert len(copies) <= 2, copies  # the part in flight (and one the worker had taken)
    assert snapshot(s3, bucket, "o") == before
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert client.get_object(Bucket=bucket, Key="o")["Body"].read() == data


def test_interrupted_prefix_rewrap_starts_nothing_new(
    s3: Any, bucket: str, local_kms: LocalKeyService, local_key: KmsKey
) -> None:
    """Ctrl-C while a prefix is rewrapped: the objects in flight finish (each is rewrapped or left
    as it was), the queued ones are not started. Before, every object queued before the
    interrupt (up to 2 x max_concurrency) was still rewrapped after it, and none was reported."""
    client = EncryptedS3Client(s3, keys=local_key)
    keys = [f"p/{i:02}" for i in range(12)]
    for key in keys:
        client.put_object(Bucket=bucket, Key=key, Body=key.encode())
    local_kms.rotate_key_on_demand(key_id=local_key.key_id)
    before = {key: s3.head_object(Bucket=bucket, Key=key)["Metadata"]["x-amz-3"] for key in keys}

    class InterruptedS3:
        """Each object's HeadObject takes a while; the first one's brings Ctrl-C."""

        def __getattr__(self, name: str) -> Any:
            return getattr(s3, name)

        def head_object(self, **kwargs: Any) -> Any:
            if kwargs["Key"] == keys[0]:
                time.sleep(0.2)  # the main thread has queued four and waits for the first
                _interrupt_main_thread()
            time.sleep(0.5)  # two objects in flight, two queued, when the interrupt lands
            return s3.head_object(**kwargs)

    interrupted = EncryptedS3Client(InterruptedS3(), keys=local_key)
    reported: list[Any] = []
    with pytest.raises(KeyboardInterrupt):
        interrupted.rewrap_prefix(bucket, "p/", max_concurrency=2, on_result=reported.append)
    after = {key: s3.head_object(Bucket=bucket, Key=key)["Metadata"]["x-amz-3"] for key in keys}
    moved = [key for key in keys if after[key] != before[key]]
    assert moved == keys[:2]  # the two in flight; the two queued were not started
    for key in keys:  # every object reads, moved or not
        assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()


def test_objects_deleted_after_listing_are_skipped_not_failed(
    s3: Any, bucket: str, local_kms: LocalKeyService, local_key: KmsKey
) -> None:
    """A prefix whose listing changes underneath: an object deleted between the listing and its
    turn has nothing left to rewrap. Before, it was a failure (404 from HeadObject) and the CLI
    exited 1 as if a key had refused."""
    client = EncryptedS3Client(s3, keys=local_key)
    keys = [f"p/{i}" for i in range(5)]
    for key in keys:
        client.put_object(Bucket=bucket, Key=key, Body=b"x")
    local_kms.rotate_key_on_demand(key_id=local_key.key_id)

    class DeletingS3:
        """Another process deletes p/2 just after the listing."""

        def __getattr__(self, name: str) -> Any:
            return getattr(s3, name)

        def head_object(self, **kwargs: Any) -> Any:
            if kwargs["Key"] == "p/2":
                s3.delete_object(Bucket=bucket, Key="p/2")
            return s3.head_object(**kwargs)

    summary = EncryptedS3Client(DeletingS3(), keys=local_key).rewrap_prefix(bucket, "p/")
    assert (summary.rewrapped, summary.skipped, summary.failed) == (4, 1, 0)
    [gone] = [r for r in summary.results if r.status == "skipped"]
    assert gone.key == "p/2" and gone.reason == "deleted since it was listed"
    with pytest.raises(Exception, match=r"404|Not Found"):  # one object asked for by name
        client.rewrap_object(bucket, "p/2")
