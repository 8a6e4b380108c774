"""Damaged and hostile objects: each is one clear envelope.errors class, and no output file."""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from envelope import KmsKey, LocalKeyService, RawAesKey
from envelope.errors import (
    S3AuthenticationError,
    S3EncryptionContextError,
    S3EncryptionError,
    S3LegacyFormatError,
    S3MetadataError,
    S3NoMatchingKeyError,
    S3ObjectTooLargeError,
)
from envelope.s3 import EncryptedS3Client

DATA = os.urandom(100_000)
CONTEXT = {"tenant": "t1"}


def _raw(s3: Any, bucket: str, key: str) -> tuple[bytes, dict[str, str]]:
    got = s3.get_object(Bucket=bucket, Key=key)
    return got["Body"].read(), got["Metadata"]


def _store(s3: Any, bucket: str, key: str, body: bytes, metadata: dict[str, str]) -> None:
    """Write raw bytes and metadata, as someone with write access to the bucket could."""
    s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata=metadata)


def _fails_everywhere(
    client: EncryptedS3Client,
    bucket: str,
    key: str,
    error: type[Exception],
    match: str,
    tmp_path: Path,
    context: dict[str, str] | None = CONTEXT,
) -> None:
    """get_object, download_file and download_fileobj all raise ``error``; nothing is written."""
    with pytest.raises(error, match=match):
        client.get_object(Bucket=bucket, Key=key, EncryptionContext=context)
    folder = tmp_path / "out"
    folder.mkdir(exist_ok=True)
    with pytest.raises(error, match=match):
        client.download_file(bucket, key, str(folder / "plain"), EncryptionContext=context)
    assert list(folder.iterdir()) == []  # no output file, no temporary file
    sink = io.BytesIO()
    with pytest.raises(error, match=match):
        client.download_fileobj(bucket, key, sink, EncryptionContext=context)
    assert sink.getvalue() == b""  # nothing unauthenticated released


@pytest.fixture
def client(s3: Any, local_key: KmsKey) -> EncryptedS3Client:
    return EncryptedS3Client(s3, keys=local_key)


@pytest.mark.parametrize("fmt", ["v3", "v2"])
@pytest.mark.parametrize("where", [0, 50_000, len(DATA) + 15], ids=["first", "middle", "tag"])
def test_flipped_body_byte(
    s3: Any, bucket: str, local_key: KmsKey, tmp_path: Path, fmt: str, where: int
) -> None:
    client = EncryptedS3Client(s3, keys=local_key, format=fmt)
    client.put_object(Bucket=bucket, Key="o", Body=DATA, EncryptionContext=CONTEXT)
    body, meta = _raw(s3, bucket, "o")
    flipped = bytearray(body)
    flipped[where] ^= 0x01
    _store(s3, bucket, "o", bytes(flipped), meta)
    _fails_everywhere(client, bucket, "o", S3AuthenticationError, "tag check failed", tmp_path)


@pytest.mark.parametrize("cut", [1, 16, len(DATA)], ids=["1-byte", "tag", "all-but-tag"])
def test_truncated_object(
    s3: Any, bucket: str, client: EncryptedS3Client, tmp_path: Path, cut: int
) -> None:
    client.put_object(Bucket=bucket, Key="o", Body=DATA, EncryptionContext=CONTEXT)
    body, meta = _raw(s3, bucket, "o")
    _store(s3, bucket, "o", body[:-cut], meta)
    _fails_everywhere(client, bucket, "o", S3AuthenticationError, "tag check failed", tmp_path)


def test_object_shorter_than_a_tag(
    s3: Any, bucket: str, client: EncryptedS3Client, tmp_path: Path
) -> None:
    client.put_object(Bucket=bucket, Key="o", Body=b"", EncryptionContext=CONTEXT)
    body, meta = _raw(s3, bucket, "o")
    _store(s3, bucket, "o", body[:5], meta)
    _fails_everywhere(client, bucket, "o", S3AuthenticationError, "shorter than", tmp_path)


@pytest.mark.parametrize(
    ("field", "value", "error", "match"),
    [
        ("x-amz-i", base64.b64encode(b"\x02" * 28).decode(), S3AuthenticationError, "commitment"),
        ("x-amz-d", base64.b64encode(b"\x03" * 28).decode(), S3AuthenticationError, "commitment"),
        ("x-amz-c", "116", S3MetadataError, "content cipher"),
        ("x-amz-w", "02", S3MetadataError, "carries a KMS context"),
        ("x-amz-w", "99", S3MetadataError, "wrapping algorithm"),
        ("x-amz-i", "not base64!", S3MetadataError, "base64"),
        ("x-amz-i", base64.b64encode(b"\x02" * 27).decode(), S3MetadataError, "27 bytes"),
        (
            "x-amz-t",
            '{"aws:x-amz-cek-alg":"115","tenant":"t2"}',
            S3EncryptionContextError,
            "different",
        ),
        (
            "x-amz-t",
            '{"aws:x-amz-cek-alg":"115","tenant":"t1","tenant":"t1"}',
            S3MetadataError,
            "duplicate",
        ),
        ("x-amz-t", "[1]", S3MetadataError, "JSON object"),
        ("x-amz-key-v2", "AAAA", S3MetadataError, "several formats"),
    ],
)
def test_changed_v3_metadata(
    s3: Any,
    bucket: str,
    client: EncryptedS3Client,
    tmp_path: Path,
    field: str,
    value: str,
    error: type[Exception],
    match: str,
) -> None:
    client.put_object(Bucket=bucket, Key="o", Body=DATA, EncryptionContext=CONTEXT)
    body, meta = _raw(s3, bucket, "o")
    _store(s3, bucket, "o", body, {**meta, field: value})
    _fails_everywhere(client, bucket, "o", error, match, tmp_path)


def test_stored_context_edited_to_match_a_wrong_request(
    s3: Any, bucket: str, client: EncryptedS3Client, tmp_path: Path
) -> None:
    """Editing x-amz-t passes our comparison but KMS authenticates the context: no key opens it."""
    client.put_object(Bucket=bucket, Key="o", Body=DATA, EncryptionContext=CONTEXT)
    body, meta = _raw(s3, bucket, "o")
    meta["x-amz-t"] = json.dumps({"aws:x-amz-cek-alg": "115", "tenant": "evil"})
    _store(s3, bucket, "o", body, meta)
    _fails_everywhere(
        client,
        bucket,
        "o",
        S3NoMatchingKeyError,
        "InvalidCiphertextException",
        tmp_path,
        context={"tenant": "evil"},
    )


@pytest.mark.parametrize("fmt", ["v3", "v2"])
def test_swapped_data_key(
    s3: Any, bucket: str, local_key: KmsKey, tmp_path: Path, fmt: str
) -> None:
    """Another object's (valid) data key and context: V3's commitment catches it before any
    decryption; V2 has no commitment, so the tag does."""
    client = EncryptedS3Client(s3, keys=local_key, format=fmt)
    for key in ("a", "b"):
        client.put_object(Bucket=bucket, Key=key, Body=DATA, EncryptionContext=CONTEXT)
    body_a, meta_a = _raw(s3, bucket, "a")
    _, meta_b = _raw(s3, bucket, "b")
    fields = ["x-amz-3", "x-amz-t"] if fmt == "v3" else ["x-amz-key-v2", "x-amz-matdesc"]
    _store(s3, bucket, "a", body_a, {**meta_a, **{f: meta_b[f] for f in fields}})
    if fmt == "v3":
        _fails_everywhere(client, bucket, "a", S3AuthenticationError, "key commitment", tmp_path)
    else:
        _fails_everywhere(client, bucket, "a", S3AuthenticationError, "tag check failed", tmp_path)


def test_swapped_instruction_file(s3: Any, bucket: str, local_key: KmsKey, tmp_path: Path) -> None:
    """An instruction file can be replaced by anyone who writes to the bucket: V3's commitment,
    kept on the object, catches another object's instruction file."""
    client = EncryptedS3Client(s3, keys=local_key, instruction_file=True)
    for key in ("a", "b"):
        client.put_object(Bucket=bucket, Key=key, Body=DATA, EncryptionContext=CONTEXT)
    instruction_b, _ = _raw(s3, bucket, "b.instruction")
    _store(s3, bucket, "a.instruction", instruction_b, {"x-amz-crypto-instr-file": ""})
    _fails_everywhere(client, bucket, "a", S3AuthenticationError, "key commitment", tmp_path)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: {**d, "x-amz-d": "AAAA"}, "object-only V3 keys"),
        (lambda d: {**d, "x-amz-evil": "1"}, "does not use"),
        (lambda d: {k: v for k, v in d.items() if k != "x-amz-w"}, "lacks x-amz-w"),
    ],
)
def test_hostile_instruction_file(
    s3: Any, bucket: str, local_key: KmsKey, tmp_path: Path, edit: Any, match: str
) -> None:
    client = EncryptedS3Client(s3, keys=local_key, instruction_file=True)
    client.put_object(Bucket=bucket, Key="a", Body=DATA, EncryptionContext=CONTEXT)
    body, _ = _raw(s3, bucket, "a.instruction")
    _store(s3, bucket, "a.instruction", json.dumps(edit(json.loads(body))).encode(), {})
    _fails_everywhere(client, bucket, "a", S3MetadataError, match, tmp_path)


def test_missing_or_huge_instruction_file(
    s3: Any, bucket: str, local_key: KmsKey, tmp_path: Path
) -> None:
    client = EncryptedS3Client(s3, keys=local_key, instruction_file=True)
    client.put_object(Bucket=bucket, Key="a", Body=DATA, EncryptionContext=CONTEXT)
    _store(s3, bucket, "a.instruction", b"{" + b" " * 70_000 + b"}", {})
    _fails_everywhere(client, bucket, "a", S3MetadataError, "longer than", tmp_path)
    s3.delete_object(Bucket=bucket, Key="a.instruction")
    _fails_everywhere(client, bucket, "a", S3MetadataError, "no instruction file", tmp_path)


def test_v3_relabelled_as_v2(
    s3: Any, bucket: str, client: EncryptedS3Client, tmp_path: Path
) -> None:
    """A downgrade: the V3 data key and context presented as a V2 object (no commitment). The
    KMS-authenticated context names content cipher 115, so it is refused before decryption."""
    client.put_object(Bucket=bucket, Key="o", Body=DATA, EncryptionContext=CONTEXT)
    body, meta = _raw(s3, bucket, "o")
    v2 = {
        "x-amz-key-v2": meta["x-amz-3"],
        "x-amz-wrap-alg": "kms+context",
        "x-amz-matdesc": meta["x-amz-t"],
        "x-amz-iv": base64.b64encode(b"\x01" * 12).decode(),
        "x-amz-cek-alg": "AES/GCM/NoPadding",
        "x-amz-tag-len": "128",
    }
    _store(s3, bucket, "o", body, v2)
    _fails_everywhere(client, bucket, "o", S3MetadataError, "names content cipher '115'", tmp_path)


def test_raw_rsa_v3_relabelled_as_v2(s3: Any, bucket: str, rsa_private: Any) -> None:
    from envelope import RawRsaKey

    client = EncryptedS3Client(s3, keys=RawRsaKey("s3", "rsa", private_key=rsa_private))
    client.put_object(Bucket=bucket, Key="o", Body=DATA)
    body, meta = _raw(s3, bucket, "o")
    v2 = {
        "x-amz-key-v2": meta["x-amz-3"],
        "x-amz-wrap-alg": "RSA-OAEP-SHA1",
        "x-amz-matdesc": "{}",
        "x-amz-iv": base64.b64encode(b"\x01" * 12).decode(),
        "x-amz-cek-alg": "AES/GCM/NoPadding",
        "x-amz-tag-len": "128",
    }
    _store(s3, bucket, "o", body, v2)
    with pytest.raises(S3MetadataError, match="names another content cipher"):
        client.get_object(Bucket=bucket, Key="o")


def test_wrong_context(s3: Any, bucket: str, client: EncryptedS3Client, tmp_path: Path) -> None:
    client.put_object(Bucket=bucket, Key="o", Body=DATA, EncryptionContext=CONTEXT)
    for context, match in [
        ({}, "missing"),
        ({"tenant": "t2"}, "different"),
        ({**CONTEXT, "extra": "x"}, "not stored"),
        ({**CONTEXT, "aws:x-amz-cek-alg": "115"}, "reserved"),
    ]:
        _fails_everywhere(
            client, bucket, "o", S3EncryptionContextError, match, tmp_path, context=context
        )


def test_wrong_keys(s3: Any, bucket: str, client: EncryptedS3Client, tmp_path: Path) -> None:
    client.put_object(Bucket=bucket, Key="o", Body=DATA, EncryptionContext=CONTEXT)
    other_service = LocalKeyService()
    other = KmsKey(other_service, other_service.create_key().key_metadata.arn)
    for keys, match in [
        ([other], "IncorrectKeyException"),
        ([RawAesKey("s3", "aes", os.urandom(32))], "kms\\+context"),
    ]:
        reader = EncryptedS3Client(s3, keys=keys)
        _fails_everywhere(reader, bucket, "o", S3NoMatchingKeyError, match, tmp_path)


def test_raw_key_refuses_a_context(s3: Any, bucket: str) -> None:
    client = EncryptedS3Client(s3, keys=RawAesKey("s3", "aes", os.urandom(32)))
    with pytest.raises(S3EncryptionContextError, match="cannot bind"):
        client.put_object(Bucket=bucket, Key="o", Body=b"x", EncryptionContext={"a": "b"})
    client.put_object(Bucket=bucket, Key="o", Body=b"x")
    with pytest.raises(S3EncryptionContextError, match="binds no encryption context"):
        client.get_object(Bucket=bucket, Key="o", EncryptionContext={"a": "b"})


@pytest.mark.parametrize("reserved", ["aws:x-amz-cek-alg", "kms_cmk_id"])
def test_reserved_context_keys_refused_on_put(
    s3: Any, bucket: str, client: EncryptedS3Client, reserved: str
) -> None:
    with pytest.raises(S3EncryptionContextError, match="reserved"):
        client.put_object(Bucket=bucket, Key="o", Body=b"x", EncryptionContext={reserved: "v"})
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_user_metadata_may_not_use_s3ec_keys(
    s3: Any, bucket: str, client: EncryptedS3Client
) -> None:
    with pytest.raises(S3MetadataError, match="S3EC keys"):
        client.put_object(Bucket=bucket, Key="o", Body=b"x", Metadata={"x-amz-d": "1"})


def test_plain_object_is_not_encrypted(
    s3: Any, bucket: str, client: EncryptedS3Client, tmp_path: Path
) -> None:
    s3.put_object(Bucket=bucket, Key="plain", Body=b"hello")
    _fails_everywhere(
        client, bucket, "plain", S3MetadataError, "is not encrypted", tmp_path, context=None
    )


def test_require_key_commitment_refuses_v2(s3: Any, bucket: str, local_key: KmsKey) -> None:
    EncryptedS3Client(s3, keys=local_key, format="v2").put_object(Bucket=bucket, Key="o", Body=b"x")
    strict = EncryptedS3Client(s3, keys=local_key, require_key_commitment=True)
    with pytest.raises(S3LegacyFormatError, match="without key commitment"):
        strict.get_object(Bucket=bucket, Key="o")


def test_size_limits_and_ranges(s3: Any, bucket: str, local_key: KmsKey) -> None:
    client = EncryptedS3Client(s3, keys=local_key, max_in_memory=1000)
    client.put_object(Bucket=bucket, Key="o", Body=os.urandom(2000))
    with pytest.raises(S3ObjectTooLargeError, match="max_in_memory"):
        client.get_object(Bucket=bucket, Key="o")
    with pytest.raises(S3EncryptionError, match="allow_unauthenticated_ranges"):
        client.get_object(Bucket=bucket, Key="o", Range="bytes=0-10")
    for bad in ({"ContentMD5": "x"}, {"ContentLength": 5}):
        with pytest.raises(S3EncryptionError, match="describe the plaintext"):
            client.put_object(Bucket=bucket, Key="o", Body=b"x", **bad)


# --- legacy AES-CBC (V1/V2 "kms"): readable only behind the named opt-in ----------------------


def _legacy_cbc_object(s3: Any, bucket: str, key: KmsKey, *, v1: bool) -> bytes:
    """An object as the V1-era clients wrote it: AES-256-CBC/PKCS#7 content, data key wrapped by
    KMS ``kms`` mode whose context is the material description {"kms_cmk_id": key}."""
    service = key.key_service
    matdesc = {"kms_cmk_id": key.key_id}
    data_key = service.generate_data_key(
        key_id=key.key_id, key_spec="AES_256", encryption_context=matdesc
    )
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(DATA) + padder.finalize()
    encryptor = Cipher(algorithms.AES(data_key.plaintext), modes.CBC(iv)).encryptor()
    body = encryptor.update(padded) + encryptor.finalize()
    meta = {
        "x-amz-key" if v1 else "x-amz-key-v2": base64.b64encode(data_key.ciphertext_blob).decode(),
        "x-amz-iv": base64.b64encode(iv).decode(),
        "x-amz-matdesc": json.dumps(matdesc),
        "x-amz-wrap-alg": "kms",
        "x-amz-unencrypted-content-length": str(len(DATA)),
    }
    if not v1:
        meta["x-amz-cek-alg"] = "AES/CBC/PKCS5Padding"
    _store(s3, bucket, "legacy", body, meta)
    return body


@pytest.mark.parametrize("v1", [True, False], ids=["V1", "V2-cbc"])
def test_legacy_cbc_needs_the_opt_in(
    s3: Any, bucket: str, local_key: KmsKey, tmp_path: Path, v1: bool
) -> None:
    body = _legacy_cbc_object(s3, bucket, local_key, v1=v1)
    strict = EncryptedS3Client(s3, keys=local_key)
    _fails_everywhere(
        strict,
        bucket,
        "legacy",
        S3LegacyFormatError,
        "allow_unauthenticated_legacy",
        tmp_path,
        context=None,
    )
    legacy = EncryptedS3Client(s3, keys=local_key, allow_unauthenticated_legacy=True)
    assert legacy.get_object(Bucket=bucket, Key="legacy")["Body"].read() == DATA
    target = tmp_path / "legacy.out"
    legacy.download_file(bucket, "legacy", str(target))
    assert target.read_bytes() == DATA
    info = legacy.inspect_object(Bucket=bucket, Key="legacy")
    assert (info.format, info.content_cipher, info.plaintext_size) == (
        "V1" if v1 else "V2",
        "AES/CBC/PKCS5Padding",
        None,
    )
    with pytest.raises(S3EncryptionContextError):  # kms mode binds no request context
        legacy.get_object(Bucket=bucket, Key="legacy", EncryptionContext={"a": "b"})
    # A damaged CBC object fails its padding check (CBC has no tag: most damage goes unseen).
    _store(
        s3,
        bucket,
        "legacy",
        body[:-16] + os.urandom(16),
        s3.head_object(Bucket=bucket, Key="legacy")["Metadata"],
    )
    with pytest.raises(S3AuthenticationError, match="padding"):
        for _ in range(20):  # a random last block has valid padding with probability ~1/256
            legacy.get_object(Bucket=bucket, Key="legacy")
            raw, meta = _raw(s3, bucket, "legacy")
            _store(s3, bucket, "legacy", raw[:-16] + os.urandom(16), meta)


def test_download_file_never_renames_over_a_device_or_folder(
    s3: Any, bucket: str, client: EncryptedS3Client, tmp_path: Path
) -> None:
    """download_file writes a temporary file and renames it: over a FIFO (or /dev/null) that
    would replace the special file, so it is refused before anything is read."""
    client.put_object(Bucket=bucket, Key="o", Body=b"x")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for target in (fifo, tmp_path):
        with pytest.raises(S3EncryptionError, match="not a regular file"):
            client.download_file(bucket, "o", str(target))
    assert fifo.exists() and not fifo.is_file()
