"""S3EC metadata and content cipher in isolation: encoding, parsing, derivation, bad input."""

from __future__ import annotations

import hashlib
import hmac
import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envelope.errors import S3AuthenticationError, S3MetadataError
from envelope.s3 import metadata as md
from envelope.s3.content import (
    ContentDecryptor,
    ContentEncryptor,
    content_key_for,
    decrypt_bytes,
    derive_v3,
    encrypt_bytes,
    new_content_key,
)


def _v3(
    context: dict[str, str] | None = None, wrap: str = md.WRAP_KMS_CONTEXT
) -> md.ContentMetadata:
    return md.ContentMetadata(
        version=3,
        content_cipher=md.CIPHER_V3,
        wrap_alg=wrap,
        encrypted_data_key=b"k" * 40,
        context=context if context is not None else {md.CEK_ALG_CONTEXT_KEY: "115", "a": "é"},
        message_id=b"\x05" * 28,
        commitment=b"\x06" * 28,
    )


def _hkdf_sha512(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 written out with the standard library, independent of the code under test."""
    prk = hmac.new(salt, ikm, hashlib.sha512).digest()
    out, block = b"", b""
    for counter in range(1, -(-length // 64) + 1):
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha512).digest()
        out += block
    return out[:length]


def test_v3_derivation_matches_rfc5869() -> None:
    """key-derivation.md: salt = message id, info = 00 73 || "DERIVEKEY" / "COMMITKEY"."""
    data_key, message_id = os.urandom(32), os.urandom(28)
    commitment, key = derive_v3(data_key, message_id)
    assert key == _hkdf_sha512(data_key, message_id, b"\x00\x73DERIVEKEY", 32)
    assert commitment == _hkdf_sha512(data_key, message_id, b"\x00\x73COMMITKEY", 28)
    with pytest.raises(S3MetadataError, match="16 bytes"):
        derive_v3(os.urandom(16), message_id)


def test_v3_content_uses_iv_of_ones_and_suite_aad() -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    data_key = os.urandom(32)
    key, message_id, commitment = new_content_key(md.CIPHER_V3, data_key)
    assert message_id is not None and commitment is not None
    _, derived = derive_v3(data_key, message_id)
    sealed = encrypt_bytes(key, b"plaintext")
    assert AESGCM(derived).decrypt(b"\x01" * 12, sealed, b"\x00\x73") == b"plaintext"
    meta = md.ContentMetadata(
        3, md.CIPHER_V3, md.WRAP_KMS_CONTEXT, b"x", {}, message_id=message_id, commitment=commitment
    )
    assert decrypt_bytes(content_key_for(meta, data_key), sealed) == b"plaintext"
    with pytest.raises(S3AuthenticationError, match="commitment"):
        content_key_for(meta, os.urandom(32))


def test_streaming_equals_one_shot() -> None:
    key, _, _ = new_content_key(md.CIPHER_GCM, os.urandom(32))
    data = os.urandom(300_001)
    encryptor = ContentEncryptor(key)
    streamed = b"".join(encryptor.update(data[i : i + 65_537]) for i in range(0, len(data), 65_537))
    streamed += encryptor.finalize()
    assert streamed == encrypt_bytes(key, data)
    decryptor, body = ContentDecryptor(key), streamed[:-16]
    out = b"".join(
        bytes(decryptor.update_into(body[i : i + 4096])) for i in range(0, len(body), 4096)
    )
    assert out == data
    assert decryptor.finalize(streamed[-16:]) == b""
    with pytest.raises(S3AuthenticationError, match="tag check failed"):
        ContentDecryptor(key).finalize(bytes(16))


def test_encode_decode_round_trip_v3_and_v2() -> None:
    meta = _v3()
    encoded = md.encode(meta)
    assert encoded[md.ENCRYPTION_CONTEXT_V3] == '{"a":"\\u00e9","aws:x-amz-cek-alg":"115"}'
    assert encoded[md.WRAP_ALG_V3] == "12" and md.MAT_DESC_V3 not in encoded
    assert md.decode(encoded) == meta
    raw = _v3({}, md.WRAP_RSA_OAEP_SHA1)
    assert md.encode(raw)[md.WRAP_ALG_V3] == "22" and md.decode(md.encode(raw)) == raw
    v2 = md.ContentMetadata(2, md.CIPHER_GCM, md.WRAP_AES_GCM, b"e" * 60, {}, iv=b"\x07" * 12)
    assert md.encode(v2)[md.MATDESC] == "{}" and md.encode(v2)[md.TAG_LEN] == "128"
    assert md.decode(md.encode(v2)) == v2


def test_instruction_file_split() -> None:
    meta = _v3()
    on_object, body = md.split_for_instruction_file(meta)
    assert sorted(on_object) == ["x-amz-c", "x-amz-d", "x-amz-i"]
    parsed = md.parse_instruction_file(body)
    assert sorted(parsed) == ["x-amz-3", "x-amz-t", "x-amz-w"]
    assert md.decode(on_object, parsed) == md.ContentMetadata(
        **{**meta.__dict__, "instruction_file": True}
    )


def test_python_default_json_and_rfc2047_are_read() -> None:
    """Writers differ: Python's json.dumps default separators, Java's raw UTF-8 (which S3 returns
    RFC 2047-encoded). Readers parse, never compare strings."""
    encoded = md.encode(_v3({md.CEK_ALG_CONTEXT_KEY: "115", "a": "é"}))
    encoded[md.ENCRYPTION_CONTEXT_V3] = json.dumps({"aws:x-amz-cek-alg": "115", "a": "é"})
    assert md.decode(encoded).context["a"] == "é"
    encoded[md.ENCRYPTION_CONTEXT_V3] = (
        "=?UTF-8?B?eyJhd3M6eC1hbXotY2VrLWFsZyI6IjExNSIsImEiOiLDqSJ9?="
    )
    assert md.decode(encoded).context == {"aws:x-amz-cek-alg": "115", "a": "é"}


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({md.CONTENT_CIPHER_V3: None}, "lacks x-amz-c"),
        ({md.ENCRYPTED_DATA_KEY_V3: "=" * 9000}, "longer than 6144"),
        ({md.ENCRYPTED_DATA_KEY_V3: ""}, "empty"),
        ({md.IV: "AAAA"}, "V1/V2 keys"),
        ({md.MAT_DESC_V3: "{}"}, "material description"),
        ({md.ENCRYPTION_CONTEXT_V3: "x" * 9000}, "longer than 8192"),
        ({md.ENCRYPTION_CONTEXT_V3: '{"a": 1}'}, "object of strings"),
        ({md.ENCRYPTION_CONTEXT_V3: "=?bogus?Q?x?="}, "RFC 2047|JSON"),
    ],
)
def test_bad_v3_metadata(change: dict[str, str | None], match: str) -> None:
    encoded = md.encode(_v3())
    for k, v in change.items():
        if v is None:
            encoded.pop(k)
        else:
            encoded[k] = v
    with pytest.raises(S3MetadataError, match=match):
        md.decode(encoded)


def test_bad_v2_metadata() -> None:
    v2 = md.encode(
        md.ContentMetadata(2, md.CIPHER_GCM, md.WRAP_KMS_CONTEXT, b"e", {}, iv=b"\x07" * 12)
    )
    for key, value, match in [
        (md.TAG_LEN, "96", "tag-len 128"),
        (md.CEK_ALG, "AES/CTR/NoPadding", "unknown content cipher"),
        (md.IV, "AAAA", "3 bytes; expected 12"),
        (md.CONTENT_CIPHER_V3, "115", "V3 keys"),
    ]:
        with pytest.raises(S3MetadataError, match=match):
            md.decode({**v2, key: value})
    with pytest.raises(S3MetadataError, match="no S3 Encryption Client metadata"):
        md.decode({"owner": "me"})


def test_instruction_file_rules() -> None:
    on_object, body = md.split_for_instruction_file(_v3())
    parsed = md.parse_instruction_file(body)
    with pytest.raises(S3MetadataError, match="both on the object"):
        md.decode({**on_object, md.WRAP_ALG_V3: "12"}, parsed)
    v2 = md.ContentMetadata(2, md.CIPHER_GCM, md.WRAP_KMS_CONTEXT, b"e", {}, iv=b"\x07" * 12)
    _, v2_body = md.split_for_instruction_file(v2)
    with pytest.raises(S3MetadataError, match="split between"):
        md.decode(
            {md.IV: "AAAA"},
            {k: v for k, v in md.parse_instruction_file(v2_body).items() if k != md.IV},
        )
    for bad, match in [
        (b"[]", "object of strings"),
        (b"{", "not valid JSON"),
        (b'{"a":"1","a":"2"}', "duplicate"),
        (b"\xff", "not valid JSON"),
    ]:
        with pytest.raises(S3MetadataError, match=match):
            md.parse_instruction_file(bad)


def test_json_nested_deeper_than_pythons_stack_is_a_metadata_error() -> None:
    """Before: a raw RecursionError. Whoever may write to the bucket can plant an instruction
    file (64 KB allowed) or a material description (8 KB) nested a few thousand levels deep."""
    with pytest.raises(S3MetadataError, match="not valid JSON"):
        md.parse_instruction_file(b"[" * 5000 + b"]" * 5000)
    with pytest.raises(S3MetadataError, match="not valid JSON"):
        md.parse_context("[" * 3000 + "]" * 3000, md.MATDESC)


_keys = st.sampled_from(sorted(md.ALL_KEYS | {"owner"}))
_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["115", "12", "02", "22", "kms+context", "AES/GCM/NoPadding", "128", "{}"]),
    st.binary(min_size=0, max_size=40).map(lambda b: __import__("base64").b64encode(b).decode()),
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=10), st.none() | st.dictionaries(_keys, _values))
def test_decode_never_raises_anything_else(
    metadata: dict[str, str], instruction: dict[str, str] | None
) -> None:
    try:
        meta = md.decode(metadata, instruction)
    except S3MetadataError:
        return
    assert meta.version in (1, 2, 3) and meta.encrypted_data_key


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_instruction_file_parser_never_raises_anything_else(body: bytes) -> None:
    try:
        parsed = md.parse_instruction_file(body)
    except S3MetadataError:
        return
    assert set(parsed) <= md.ALL_KEYS
