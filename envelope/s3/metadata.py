"""S3 Encryption Client content metadata: V1/V2/V3 object metadata and instruction files."""

from __future__ import annotations

import base64
import binascii
import email.header
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from envelope.errors import S3MetadataError

# Map keys (s3-encryption/data-format/content-metadata.md#content-metadata-mapkeys). S3 adds the
# "x-amz-meta-" prefix on the wire; boto3 strips it again, so these are the keys of `Metadata`.
KEY_V1 = "x-amz-key"
KEY_V2 = "x-amz-key-v2"
WRAP_ALG = "x-amz-wrap-alg"
MATDESC = "x-amz-matdesc"
IV = "x-amz-iv"
CEK_ALG = "x-amz-cek-alg"
TAG_LEN = "x-amz-tag-len"
UNENCRYPTED_LENGTH = "x-amz-unencrypted-content-length"
INSTRUCTION_MARKER = "x-amz-crypto-instr-file"
CONTENT_CIPHER_V3 = "x-amz-c"
ENCRYPTED_DATA_KEY_V3 = "x-amz-3"
MAT_DESC_V3 = "x-amz-m"
ENCRYPTION_CONTEXT_V3 = "x-amz-t"
WRAP_ALG_V3 = "x-amz-w"
KEY_COMMITMENT_V3 = "x-amz-d"
MESSAGE_ID_V3 = "x-amz-i"

V1_KEYS = frozenset({KEY_V1, UNENCRYPTED_LENGTH})
V2_KEYS = frozenset({KEY_V2, WRAP_ALG, MATDESC, IV, CEK_ALG, TAG_LEN})
V3_KEYS = frozenset(
    {
        CONTENT_CIPHER_V3,
        ENCRYPTED_DATA_KEY_V3,
        MAT_DESC_V3,
        ENCRYPTION_CONTEXT_V3,
        WRAP_ALG_V3,
        KEY_COMMITMENT_V3,
        MESSAGE_ID_V3,
    }
)
ALL_KEYS = V1_KEYS | V2_KEYS | V3_KEYS | {INSTRUCTION_MARKER}
"""Every map key the S3EC owns; user metadata may not use them."""

# V3 keeps these three in the object's metadata even with an instruction file
# (data-format/metadata-strategy.md#v3-instruction-files).
V3_OBJECT_ONLY = frozenset({CONTENT_CIPHER_V3, KEY_COMMITMENT_V3, MESSAGE_ID_V3})

# Content ciphers (x-amz-cek-alg / x-amz-c values).
CIPHER_V3 = "115"  # ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY, suite 0x0073, as a decimal string
CIPHER_GCM = "AES/GCM/NoPadding"  # ALG_AES_256_GCM_IV12_TAG16_NO_KDF
CIPHER_CBC = "AES/CBC/PKCS5Padding"  # ALG_AES_256_CBC_IV16_NO_KDF (legacy, unauthenticated)

# Wrapping algorithms (x-amz-wrap-alg values, and their V3 two-digit codes).
WRAP_KMS_CONTEXT = "kms+context"
WRAP_AES_GCM = "AES/GCM"
WRAP_RSA_OAEP_SHA1 = "RSA-OAEP-SHA1"
WRAP_KMS_V1 = "kms"  # legacy: the KMS context is the stored material description as is
V3_WRAP_CODES = {"02": WRAP_AES_GCM, "12": WRAP_KMS_CONTEXT, "22": WRAP_RSA_OAEP_SHA1}
V3_WRAP_NAMES = {name: code for code, name in V3_WRAP_CODES.items()}

# Reserved context keys: the content cipher (kms+context) and the V1 key id (kms).
CEK_ALG_CONTEXT_KEY = "aws:x-amz-cek-alg"
KMS_CMK_ID_CONTEXT_KEY = "kms_cmk_id"
RESERVED_CONTEXT_KEYS = frozenset({CEK_ALG_CONTEXT_KEY, KMS_CMK_ID_CONTEXT_KEY})

MESSAGE_ID_LENGTH = 28
COMMITMENT_LENGTH = 28
GCM_IV_LENGTH = 12
CBC_IV_LENGTH = 16
MAX_ENCRYPTED_DATA_KEY = 6144  # the largest KMS ciphertext blob; RSA-16384 is 2048 bytes
MAX_CONTEXT_JSON = 8192
MAX_INSTRUCTION_FILE = 64 * 1024


@dataclass(frozen=True)
class ContentMetadata:
    """Everything an S3EC object's metadata says about how it was encrypted (nothing secret).

    ``context`` is the stored KMS encryption context (``kms+context``: with
    ``aws:x-amz-cek-alg``; ``kms``: the V1 material description) or, for raw keys, the material
    description.
    """

    version: int  # the metadata format: 1, 2 or 3
    content_cipher: str  # CIPHER_V3, CIPHER_GCM or CIPHER_CBC
    wrap_alg: str  # the long name, also for V3
    encrypted_data_key: bytes = field(repr=False)
    context: dict[str, str]
    iv: bytes | None = None  # V1/V2
    message_id: bytes | None = None  # V3
    commitment: bytes | None = None  # V3
    instruction_file: bool = False


# --- writing ---------------------------------------------------------------------------------


def context_json(context: Mapping[str, str]) -> str:
    """The compact JSON of a context, with keys sorted and non-ASCII escaped (S3 headers)."""
    return json.dumps(dict(context), separators=(",", ":"), sort_keys=True, ensure_ascii=True)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def encode(meta: ContentMetadata) -> dict[str, str]:
    """The full metadata map of ``meta`` (object-metadata mode).

    Raises:
        S3MetadataError: A V1 object (envelope never writes V1) or an unknown wrapping algorithm.
    """
    if meta.version == 3:
        if meta.message_id is None or meta.commitment is None:
            raise S3MetadataError("V3 metadata needs a message id and a key commitment")
        out = {
            CONTENT_CIPHER_V3: meta.content_cipher,
            ENCRYPTED_DATA_KEY_V3: _b64(meta.encrypted_data_key),
            WRAP_ALG_V3: V3_WRAP_NAMES[meta.wrap_alg],
            KEY_COMMITMENT_V3: _b64(meta.commitment),
            MESSAGE_ID_V3: _b64(meta.message_id),
        }
        # x-amz-t holds a KMS context; x-amz-m the material description of a raw key.
        if meta.context:
            out[ENCRYPTION_CONTEXT_V3 if meta.wrap_alg == WRAP_KMS_CONTEXT else MAT_DESC_V3] = (
                context_json(meta.context)
            )
        return out
    if meta.version == 2:
        if meta.iv is None:
            raise S3MetadataError("V2 metadata needs an IV")
        return {
            KEY_V2: _b64(meta.encrypted_data_key),
            WRAP_ALG: meta.wrap_alg,
            MATDESC: context_json(meta.context),
            IV: _b64(meta.iv),
            CEK_ALG: meta.content_cipher,
            TAG_LEN: "128",
        }
    raise S3MetadataError(f"cannot write metadata format V{meta.version}")


def split_for_instruction_file(meta: ContentMetadata) -> tuple[dict[str, str], bytes]:
    """Split ``meta`` into (object metadata, instruction file body).

    V1/V2 keep everything in the instruction file; V3 keeps x-amz-c, x-amz-d and x-amz-i in the
    object's metadata (data-format/metadata-strategy.md#instruction-file).
    """
    full = encode(meta)
    on_object = {k: v for k, v in full.items() if meta.version == 3 and k in V3_OBJECT_ONLY}
    in_file = {k: v for k, v in full.items() if k not in on_object}
    return on_object, json.dumps(in_file, separators=(",", ":"), sort_keys=True).encode("ascii")


# --- reading ---------------------------------------------------------------------------------


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise S3MetadataError(f"metadata {key} is not a string")
    text: str = value
    if text.startswith("=?") and text.endswith("?="):
        # S3 returns non-ASCII metadata values RFC 2047-encoded (content-metadata.md: the
        # "double encoding"); decode them back to the text the writer stored.
        try:
            parts = email.header.decode_header(text)
            text = "".join(
                p.decode(charset or "ascii") if isinstance(p, bytes) else str(p)
                for p, charset in parts
            )
        except (ValueError, LookupError, UnicodeDecodeError) as e:
            raise S3MetadataError(f"metadata {key} has a malformed RFC 2047 encoding") from e
    return text


def _unb64(value: Any, key: str, *, exact: int | None = None, maximum: int | None = None) -> bytes:
    text = _text(value, key)
    if maximum is not None and len(text) > (maximum + 2) // 3 * 4:
        raise S3MetadataError(f"metadata {key} is longer than {maximum} bytes")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise S3MetadataError(f"metadata {key} is not valid base64") from e
    if exact is not None and len(data) != exact:
        raise S3MetadataError(f"metadata {key} is {len(data)} bytes; expected {exact}")
    if not data:
        raise S3MetadataError(f"metadata {key} is empty")
    return data


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise S3MetadataError(f"duplicate JSON key {k!r}")
        out[k] = v
    return out


def parse_context(value: Any, key: str) -> dict[str, str]:
    """Parse a stored context / material description: a JSON object of strings.

    Raises:
        S3MetadataError: Not JSON, not an object, a non-string value, duplicates, or too long.
    """
    text = _text(value, key)
    if len(text) > MAX_CONTEXT_JSON:
        raise S3MetadataError(f"metadata {key} is longer than {MAX_CONTEXT_JSON} characters")
    try:
        parsed = json.loads(text, object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError) as e:  # RecursionError: nested deeper than the stack
        raise S3MetadataError(f"metadata {key} is not valid JSON") from e
    if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
        raise S3MetadataError(f"metadata {key} is not a JSON object of strings")
    return parsed


def needs_instruction_file(metadata: Mapping[str, str]) -> bool:
    """True when the object's metadata names no data key, so it lives in an instruction file
    (data-format/content-metadata.md#determining-s3ec-object-status)."""
    return not ({KEY_V1, KEY_V2, ENCRYPTED_DATA_KEY_V3} & metadata.keys())


def is_encrypted(metadata: Mapping[str, str]) -> bool:
    """True when the object's metadata carries any S3EC map key (or it may have an instruction
    file: V3 content keys without a data key)."""
    return bool((V1_KEYS | V2_KEYS | V3_KEYS) & metadata.keys())


def parse_instruction_file(body: bytes) -> dict[str, str]:
    """Parse an instruction file: one JSON object of S3EC map keys to strings.

    Raises:
        S3MetadataError: Too long, not JSON, not an object of strings, or a foreign key.
    """
    if len(body) > MAX_INSTRUCTION_FILE:
        raise S3MetadataError(f"instruction file is longer than {MAX_INSTRUCTION_FILE} bytes")
    try:
        parsed = json.loads(body, object_pairs_hook=_no_duplicates)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise S3MetadataError("instruction file is not valid JSON") from e
    if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
        raise S3MetadataError("instruction file is not a JSON object of strings")
    foreign = sorted(set(parsed) - ALL_KEYS)
    if foreign:
        raise S3MetadataError(f"instruction file has keys the S3EC does not use: {foreign}")
    return parsed


def decode(
    metadata: Mapping[str, str], instruction: Mapping[str, str] | None = None
) -> ContentMetadata:
    """Read an object's content metadata, merged with its instruction file when it has one.

    Args:
        metadata: The object's user metadata (boto3's ``Metadata``: keys lower-case, no prefix).
        instruction: The parsed instruction file, when the object's metadata names no data key.

    Returns:
        The content metadata.

    Raises:
        S3MetadataError: Missing, malformed or mixed-format metadata (each says which).
    """
    own: dict[str, str] = {}
    for name, value in metadata.items():
        key = name.lower()
        if key in ALL_KEYS:
            if key in own:
                # Two spellings of one header: readers would not agree which one counts.
                raise S3MetadataError(f"metadata {key} appears more than once (in two cases)")
            own[key] = value
    if instruction is not None:
        # The instruction file may not carry what V3 keeps on the object (so it cannot swap the
        # commitment), and V1/V2 content keys may not be on the object as well.
        moved = sorted(V3_OBJECT_ONLY & instruction.keys())
        if moved:
            raise S3MetadataError(f"instruction file carries object-only V3 keys {moved}")
        doubled = sorted((V2_KEYS | V3_KEYS | V1_KEYS) & own.keys() & instruction.keys())
        if doubled:
            raise S3MetadataError(
                f"keys {doubled} are both on the object and in its instruction file"
            )
        if not (V3_OBJECT_ONLY & own.keys()) and own.keys() & (V2_KEYS | V3_KEYS | V1_KEYS):
            raise S3MetadataError(
                "content metadata is split between the object and its instruction file"
            )
        own = {**own, **{k: v for k, v in instruction.items() if k != INSTRUCTION_MARKER}}
    versions = [v for v, k in ((1, KEY_V1), (2, KEY_V2), (3, ENCRYPTED_DATA_KEY_V3)) if k in own]
    if len(versions) > 1:
        raise S3MetadataError("metadata mixes the data keys of several formats (tampered?)")
    if not versions:
        raise S3MetadataError("object has no S3 Encryption Client metadata")
    version = versions[0]
    if version == 3:
        return _decode_v3(own, instruction is not None)
    return _decode_v1_v2(own, version, instruction is not None)


def _decode_v3(meta: dict[str, str], from_file: bool) -> ContentMetadata:
    stray = sorted((V1_KEYS | V2_KEYS) & meta.keys())
    if stray:
        raise S3MetadataError(f"V3 metadata also carries V1/V2 keys {stray}")
    for key in (CONTENT_CIPHER_V3, WRAP_ALG_V3, KEY_COMMITMENT_V3, MESSAGE_ID_V3):
        if key not in meta:
            raise S3MetadataError(f"V3 metadata lacks {key}")
    cipher = _text(meta[CONTENT_CIPHER_V3], CONTENT_CIPHER_V3)
    if cipher != CIPHER_V3:
        raise S3MetadataError(f"unknown V3 content cipher {cipher!r} (x-amz-c); expected '115'")
    code = _text(meta[WRAP_ALG_V3], WRAP_ALG_V3)
    wrap_alg = V3_WRAP_CODES.get(code)
    if wrap_alg is None:
        raise S3MetadataError(f"unknown V3 wrapping algorithm {code!r} (x-amz-w)")
    # kms+context reads x-amz-t; the raw keyrings read x-amz-m (content-metadata.md#v3-only).
    if wrap_alg == WRAP_KMS_CONTEXT:
        if MAT_DESC_V3 in meta:
            raise S3MetadataError(
                "V3 kms+context metadata carries a material description (x-amz-m)"
            )
        raw = meta.get(ENCRYPTION_CONTEXT_V3)
        key = ENCRYPTION_CONTEXT_V3
    else:
        if ENCRYPTION_CONTEXT_V3 in meta:
            raise S3MetadataError(f"V3 {wrap_alg} metadata carries a KMS context (x-amz-t)")
        raw = meta.get(MAT_DESC_V3)
        key = MAT_DESC_V3
    return ContentMetadata(
        version=3,
        content_cipher=cipher,
        wrap_alg=wrap_alg,
        encrypted_data_key=_unb64(
            meta[ENCRYPTED_DATA_KEY_V3], ENCRYPTED_DATA_KEY_V3, maximum=MAX_ENCRYPTED_DATA_KEY
        ),
        context=parse_context(raw, key) if raw is not None else {},
        message_id=_unb64(meta[MESSAGE_ID_V3], MESSAGE_ID_V3, exact=MESSAGE_ID_LENGTH),
        commitment=_unb64(meta[KEY_COMMITMENT_V3], KEY_COMMITMENT_V3, exact=COMMITMENT_LENGTH),
        instruction_file=from_file,
    )


def _decode_v1_v2(meta: dict[str, str], version: int, from_file: bool) -> ContentMetadata:
    stray = sorted(V3_KEYS & meta.keys())
    if stray:
        raise S3MetadataError(f"V{version} metadata also carries V3 keys {stray}")
    if IV not in meta:
        raise S3MetadataError(f"V{version} metadata lacks {IV}")
    key_name = KEY_V2 if version == 2 else KEY_V1
    if WRAP_ALG not in meta:
        raise S3MetadataError(f"V{version} metadata lacks {WRAP_ALG}")
    if version == 2:
        if CEK_ALG not in meta:
            raise S3MetadataError(f"V2 metadata lacks {CEK_ALG}")
        cipher = _text(meta[CEK_ALG], CEK_ALG)
    else:
        cipher = _text(meta.get(CEK_ALG, CIPHER_CBC), CEK_ALG)
        if cipher != CIPHER_CBC:
            raise S3MetadataError(f"V1 metadata names content cipher {cipher!r}; V1 is AES-CBC")
    if cipher == CIPHER_GCM:
        tag_len = meta.get(TAG_LEN)
        if tag_len is None or _text(tag_len, TAG_LEN) != "128":
            raise S3MetadataError("V2 AES-GCM metadata needs x-amz-tag-len 128")
        iv_length = GCM_IV_LENGTH
    elif cipher == CIPHER_CBC:
        if TAG_LEN in meta:
            raise S3MetadataError("AES-CBC metadata carries a tag length")
        iv_length = CBC_IV_LENGTH
    else:
        raise S3MetadataError(f"unknown content cipher {cipher!r} (x-amz-cek-alg)")
    wrap_alg = _text(meta[WRAP_ALG], WRAP_ALG)
    return ContentMetadata(
        version=version,
        content_cipher=cipher,
        wrap_alg=wrap_alg,
        encrypted_data_key=_unb64(meta[key_name], key_name, maximum=MAX_ENCRYPTED_DATA_KEY),
        context=parse_context(meta[MATDESC], MATDESC) if MATDESC in meta else {},
        iv=_unb64(meta[IV], IV, exact=iv_length),
        instruction_file=from_file,
    )
