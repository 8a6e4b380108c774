"""Message header: context and EDK encoding, parse/serialize (v1, v2), header authentication.

These functions are the reusable core for anything that rewrites headers (e.g. rewrap): parse a
header with :func:`parse_header`, build a new :class:`Header` with ``dataclasses.replace`` (new
``encrypted_data_keys``), serialize it with :func:`serialize_header` and append
:func:`header_auth` computed with the message's content key; the body bytes stay valid because
the body's AAD does not cover the header.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from envelope.errors import (
    EncryptionContextMismatchError,
    MessageAuthenticationError,
    MessageFormatError,
    TooManyEncryptedDataKeysError,
)
from envelope.message.suites import COMMIT_KEY_LENGTH, IV_LENGTH, TAG_LENGTH, Suite, get_suite

FRAMED = 2
UNFRAMED = 1
CONTENT_TYPE_NAMES = {FRAMED: "framed", UNFRAMED: "unframed"}
V1_TYPE = 0x80
DEFAULT_MAX_EDKS = 10
MAX_FRAME_LENGTH = 2**31 - 1
RESERVED_PREFIX = "aws-crypto-"
PUBLIC_KEY_FIELD = "aws-crypto-public-key"
_ZERO_IV = bytes(IV_LENGTH)
_EDK_FIELDS = ("provider id", "provider info", "encrypted data key")
_U16 = struct.Struct(">H").pack
_last_context: tuple[tuple[tuple[str, str], ...], bytes] = ((), b"")


@dataclass(frozen=True)
class EncryptedDataKey:
    """One encrypted data key: who wrapped it (provider id, provider info) and the wrapped bytes."""

    provider_id: str
    provider_info: bytes
    ciphertext: bytes


@dataclass(frozen=True)
class Header:
    """A parsed or to-be-written message header (without its authentication tag)."""

    version: int
    suite: Suite
    message_id: bytes
    encryption_context: Mapping[str, str]
    encrypted_data_keys: tuple[EncryptedDataKey, ...]
    content_type: int
    frame_length: int
    suite_data: bytes = b""
    """Version 2: the 32-byte commitment key. Version 1: empty."""


class _Reader(Protocol):
    def read(self, n: int, what: str) -> bytes | memoryview: ...


# --- Encryption context ------------------------------------------------------------------------


def serialize_context(context: Mapping[str, str]) -> bytes:
    """Serialize an encryption context the ESDK way: count, then sorted (key, value) pairs.

    Args:
        context: The encryption context; empty gives ``b""``.

    Returns:
        The serialized pairs (the header's AAD field contents, also the raw AES keyring's AAD).

    Raises:
        MessageFormatError: Too many pairs or a key/value longer than 65535 UTF-8 bytes.
    """
    global _last_context
    if not context:
        return b""
    items = tuple(context.items())
    last = _last_context  # one (items, bytes) pair: a message serializes its context 2-3 times
    if last[0] == items:
        return last[1]
    out = bytearray()
    try:
        out += _U16(len(context))
        for k, v in sorted((k.encode("utf-8"), v.encode("utf-8")) for k, v in context.items()):
            out += _U16(len(k))
            out += k
            out += _U16(len(v))
            out += v
    except struct.error:
        raise MessageFormatError(
            "encryption context has more than 65535 pairs or a key/value over 65535 bytes"
        ) from None
    except UnicodeEncodeError:
        raise MessageFormatError("encryption context has text that is not valid UTF-8") from None
    if len(out) > 0xFFFF:
        raise MessageFormatError("serialized encryption context is longer than 65535 bytes")
    data = bytes(out)
    _last_context = (items, data)
    return data


def parse_context(data: bytes | memoryview) -> dict[str, str]:
    """Parse a serialized encryption context (the inverse of :func:`serialize_context`).

    Args:
        data: The AAD field contents.

    Returns:
        The pairs as a dict.

    Raises:
        MessageFormatError: Malformed lengths, bad UTF-8, duplicate keys or trailing bytes.
    """
    if len(data) == 0:
        return {}
    mv = memoryview(data)
    if len(mv) < 2:
        raise MessageFormatError("encryption context is truncated")
    count = int.from_bytes(mv[0:2], "big")
    if count == 0:
        raise MessageFormatError("encryption context has a count of 0 but a non-zero length")
    pos = 2
    context: dict[str, str] = {}
    try:
        for _ in range(count):
            fields = []
            for _ in range(2):
                if pos + 2 > len(mv):
                    raise MessageFormatError("encryption context is truncated")
                n = int.from_bytes(mv[pos : pos + 2], "big")
                pos += 2
                if pos + n > len(mv):
                    raise MessageFormatError("encryption context is truncated")
                fields.append(bytes(mv[pos : pos + n]).decode("utf-8"))
                pos += n
            if fields[0] in context:
                raise MessageFormatError("encryption context has a duplicate key")
            context[fields[0]] = fields[1]
    except UnicodeDecodeError:
        raise MessageFormatError("encryption context is not valid UTF-8") from None
    if pos != len(mv):
        raise MessageFormatError("encryption context has bytes after its last pair")
    return context


def check_required_context(actual: Mapping[str, str], required: Mapping[str, str] | None) -> None:
    """Check that every pair of ``required`` is in ``actual``.

    Raises:
        EncryptionContextMismatchError: Names the first missing or different key (never values).
    """
    if not required:
        return
    for key, value in required.items():
        if key not in actual:
            raise EncryptionContextMismatchError(
                f"encryption context check failed: key {key!r} is not in the message"
            )
        if actual[key] != value:
            raise EncryptionContextMismatchError(
                f"encryption context check failed: key {key!r} has a different value in the message"
            )


# --- Header --------------------------------------------------------------------------------------


def _u16(n: int) -> bytes:
    try:
        return _U16(n)
    except struct.error:
        raise MessageFormatError("a header field is longer than 65535 bytes") from None


def serialize_edks(edks: tuple[EncryptedDataKey, ...]) -> bytes:
    """Serialize the EDK count and list."""
    out = bytearray(_u16(len(edks)))
    for edk in edks:
        for field in (edk.provider_id.encode("utf-8"), edk.provider_info, edk.ciphertext):
            out += _u16(len(field))
            out += field
    return bytes(out)


def serialize_header(header: Header) -> bytes:
    """Serialize a header (everything before the header authentication).

    Args:
        header: The header; version 1 is written with IV length 12 and zero reserved bytes.

    Returns:
        The header bytes, which are the AAD of the header authentication tag.

    Raises:
        MessageFormatError: A field does not fit its length prefix.
    """
    aad = serialize_context(header.encryption_context)
    parts: list[bytes] = []
    if header.version == 1:
        parts += (bytes([1, V1_TYPE]), header.suite.id_bytes, header.message_id)
    else:
        parts += (b"\x02", header.suite.id_bytes, header.message_id)
    parts += (
        _u16(len(aad)),
        aad,
        serialize_edks(header.encrypted_data_keys),
        bytes([header.content_type]),
    )
    if header.version == 1:
        parts += (bytes(4), bytes([IV_LENGTH]), header.frame_length.to_bytes(4, "big"))
    else:
        parts += (header.frame_length.to_bytes(4, "big"), header.suite_data)
    return b"".join(parts)


def header_auth(header_bytes: bytes, content_key: bytes | AESGCM, version: int) -> bytes:
    """Compute the header authentication that follows the header.

    AES-GCM with the content key, an all-zero IV, empty plaintext and the header bytes as AAD.

    Args:
        header_bytes: The serialized header.
        content_key: The message's derived content key (or an AESGCM made from it).
        version: Message format version: 1 writes IV + tag, 2 writes only the tag.

    Returns:
        The header authentication bytes (28 bytes for v1, 16 for v2).
    """
    aesgcm = content_key if isinstance(content_key, AESGCM) else AESGCM(content_key)
    tag = aesgcm.encrypt(_ZERO_IV, b"", header_bytes)
    return _ZERO_IV + tag if version == 1 else tag


def verify_header_auth(header_bytes: bytes, auth: bytes, aesgcm: AESGCM, version: int) -> None:
    """Verify a header authentication (see :func:`header_auth`).

    Raises:
        MessageAuthenticationError: The tag does not verify.
    """
    iv, tag = (auth[:IV_LENGTH], auth[IV_LENGTH:]) if version == 1 else (_ZERO_IV, auth)
    try:
        aesgcm.decrypt(iv, tag, header_bytes)
    except InvalidTag:
        raise MessageAuthenticationError("header authentication tag check failed") from None


def header_auth_length(version: int) -> int:
    return IV_LENGTH + TAG_LENGTH if version == 1 else TAG_LENGTH


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MessageFormatError(f"{what} is not valid UTF-8") from None


def parse_header(
    reader: _Reader, *, max_encrypted_data_keys: int = DEFAULT_MAX_EDKS
) -> tuple[Header, bytes, bytes]:
    """Read and check a header and its authentication bytes (the tag is NOT verified here).

    The fields are read in order, each byte once (decrypt.md, "Parse the header": "MUST process
    those bytes sequentially"). The EDK count is checked against the cap as soon as it is read,
    before any EDK byte ("as soon as that can be determined during deserializing decrypt MUST
    process no more bytes and yield an error").

    Args:
        reader: A ``BytesReader`` or ``StreamReader`` positioned at the start of a message; it is
            left just after the header authentication (a stream is never read past it), or just
            after the EDK count when that count is over the cap.
        max_encrypted_data_keys: Refuse headers with more EDKs than this, before reading them.

    Returns:
        ``(header, header_bytes, auth_bytes)``: header_bytes is exactly what the tag covers.

    Raises:
        MessageFormatError: A field is malformed or the header is truncated.
        TooManyEncryptedDataKeysError: The EDK count exceeds the cap.
    """
    read = reader.read
    first = read(1, "version")
    version = first[0]
    if version == 1:
        start = read(21, "version 1 header")  # type, suite, 16-byte message id, AAD length
        if start[0] != V1_TYPE:
            raise MessageFormatError("header check failed: unknown message type")
        ids = start[1:]
    elif version == 2:
        start = read(36, "header start")  # suite, 32-byte message id, AAD length
        ids = start
    else:
        raise MessageFormatError(f"header check failed: unknown message format version {version}")
    suite = get_suite((ids[0] << 8) | ids[1])
    if suite.message_version != version:
        raise MessageFormatError(
            f"header check failed: suite 0x{suite.id:04x} is not valid in format version {version}"
        )
    message_id = bytes(ids[2:-2])
    aad_length = (ids[-2] << 8) | ids[-1]
    middle = read(aad_length + 2, "encryption context")  # the AAD, then the EDK count
    context = parse_context(middle[:-2]) if aad_length else {}
    edk_count = (middle[-2] << 8) | middle[-1]
    if edk_count == 0:
        raise MessageFormatError("header check failed: the message has no encrypted data key")
    if edk_count > max_encrypted_data_keys:
        raise TooManyEncryptedDataKeysError(
            f"encrypted data key count check failed: {edk_count} keys, "
            f"the limit is {max_encrypted_data_keys}"
        )
    check_public_key_field(suite, context)
    parts = [first, start, middle]
    append = parts.append
    edks = []
    # Each read takes one field and the length prefix after it (after the last field: the first
    # two bytes of the header tail), so every byte is still read once and in order.
    prefix = read(2, "provider id")
    append(prefix)
    n = (prefix[0] << 8) | prefix[1]
    for _ in range(edk_count):
        fields = []
        for what in _EDK_FIELDS:
            chunk = read(n + 2, what)
            append(chunk)
            fields.append(bytes(chunk[:-2]))
            n = (chunk[-2] << 8) | chunk[-1]
        edks.append(EncryptedDataKey(_text(fields[0], "provider id"), fields[1], fields[2]))
    tail_length = 10 if version == 1 else 5 + COMMIT_KEY_LENGTH
    rest = read(tail_length - 2 + header_auth_length(version), "header tail and authentication")
    tail = bytes(parts[-1][-2:]) + bytes(rest[: tail_length - 2])
    append(rest[: tail_length - 2])
    auth = bytes(rest[tail_length - 2 :])
    content_type = tail[0]
    if version == 1:
        if any(tail[1:5]):
            raise MessageFormatError("header check failed: reserved field is not zero")
        if tail[5] != IV_LENGTH:
            raise MessageFormatError("header check failed: IV length is not 12")
        frame_length = int.from_bytes(tail[6:10], "big")
        suite_data = b""
    else:
        frame_length = int.from_bytes(tail[1:5], "big")
        suite_data = tail[5:]
    if content_type not in CONTENT_TYPE_NAMES:
        raise MessageFormatError(f"header check failed: unknown content type {content_type}")
    if content_type == FRAMED and not 0 < frame_length <= MAX_FRAME_LENGTH:
        raise MessageFormatError(f"header check failed: frame length {frame_length} out of range")
    if content_type == UNFRAMED and frame_length != 0:
        raise MessageFormatError("header check failed: unframed message with a frame length")
    header = Header(
        version=version,
        suite=suite,
        message_id=message_id,
        encryption_context=context,
        encrypted_data_keys=tuple(edks),
        content_type=content_type,
        frame_length=frame_length,
        suite_data=suite_data,
    )
    return header, b"".join(parts), auth


def check_public_key_field(suite: Suite, context: Mapping[str, str]) -> None:
    """Check that ``aws-crypto-public-key`` is in the context if and only if the suite signs.

    default-cmm.md, "Decrypt Materials": a signed suite without the key, or an unsigned suite
    with it, "MUST fail without returning any decryption materials". Checked as the header is
    read, so no frame of such a message is ever decrypted.

    Raises:
        MessageFormatError: The field is missing from a signed message or present in another.
    """
    present = PUBLIC_KEY_FIELD in context
    if suite.signed and not present:
        raise MessageFormatError(
            f"header check failed: suite 0x{suite.id:04x} is signed but the encryption context "
            f"has no {PUBLIC_KEY_FIELD}"
        )
    if present and not suite.signed:
        raise MessageFormatError(
            f"header check failed: suite 0x{suite.id:04x} is not signed but the encryption "
            f"context has {PUBLIC_KEY_FIELD}"
        )
