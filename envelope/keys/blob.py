"""The layout of LocalKeyService's symmetric ciphertext blobs, parsed defensively.

Layout, version 1 (49 bytes of overhead, so a 4096-byte plaintext fits well inside KMS's
6144-byte CiphertextBlob limit)::

    offset  size  field
    0       1     layout version (0x01)
    1       16    key id (the key's UUID, raw bytes)
    17      4     backing-key version, big-endian, >= 1
    21      12    AES-GCM nonce
    33      n+16  AES-256-GCM ciphertext and tag

The first 21 bytes are authenticated as associated data together with the canonical encoding of
the encryption context, so neither the key reference nor the context can be changed.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from envelope.errors import InvalidCiphertextException

LAYOUT_VERSION = 1
NONCE_SIZE = 12
TAG_SIZE = 16
_PREFIX = struct.Struct(">B16sI")
HEADER_SIZE = _PREFIX.size + NONCE_SIZE
MIN_SIZE = HEADER_SIZE + TAG_SIZE + 1  # Encrypt takes at least one byte
MAX_SIZE = 6144  # KMS's CiphertextBlob limit


@dataclass(frozen=True)
class Blob:
    """A parsed ciphertext blob; ``key_id`` is the key's UUID in canonical form."""

    key_id: str
    version: int
    nonce: bytes
    ciphertext: bytes
    """AES-GCM ciphertext followed by its 16-byte tag."""
    aad_prefix: bytes


def pack_prefix(key_id: str, version: int) -> bytes:
    """The authenticated 21-byte prefix naming the key and its backing-key version."""
    return _PREFIX.pack(LAYOUT_VERSION, uuid.UUID(key_id).bytes, version)


def parse(data: bytes) -> Blob:
    """Split a blob into its fields, checking every length and value before use.

    Raises:
        InvalidCiphertextException: for anything that is not a well-formed version-1 blob.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidCiphertextException("ciphertext blob must be bytes")
    data = bytes(data)
    if not MIN_SIZE <= len(data) <= MAX_SIZE:
        raise InvalidCiphertextException("ciphertext blob has an invalid length")
    layout, raw_id, version = _PREFIX.unpack_from(data)
    if layout != LAYOUT_VERSION:
        raise InvalidCiphertextException("ciphertext blob has an unknown layout version")
    if version < 1:
        raise InvalidCiphertextException("ciphertext blob names an invalid key version")
    return Blob(
        key_id=str(uuid.UUID(bytes=raw_id)),
        version=version,
        nonce=data[_PREFIX.size : HEADER_SIZE],
        ciphertext=data[HEADER_SIZE:],
        aad_prefix=data[: _PREFIX.size],
    )


def encode_context(context: Mapping[str, str] | None) -> bytes:
    """Canonical, order-independent encoding of an encryption context (length-prefixed UTF-8)."""
    if not context:
        return b"\x00\x00"
    parts = [struct.pack(">H", len(context))]
    for name in sorted(context):
        for text in (name, context[name]):
            raw = text.encode("utf-8")
            parts.append(struct.pack(">I", len(raw)))
            parts.append(raw)
    return b"".join(parts)
