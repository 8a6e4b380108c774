"""The layouts of LocalKeyService's symmetric ciphertext blobs, parsed defensively.

Layout 2 (written today, 69 bytes of overhead) seals every request under its own key, as AWS KMS
does ("AWS KMS Cryptographic Details", Encrypt: a 256-bit AES-GCM key derived from the backing
key and a random nonce)::

    offset  size  field
    0       1     layout (0x02)
    1       16    key id (the key's UUID, raw bytes)
    17      4     backing-key version, big-endian, >= 1
    21      32    derivation nonce: HKDF-SHA256 salt for this request's key
    53      n+16  AES-256-GCM ciphertext and tag; IV of 12 zero bytes (the key is never reused)

Layout 1 (read only, 49 bytes of overhead) sealed directly under the backing key::

    0       1     layout (0x01)
    1       16    key id
    17      4     backing-key version
    21      12    AES-GCM nonce (random)
    33      n+16  AES-256-GCM ciphertext and tag

In both, the first 21 bytes are authenticated as associated data together with the canonical
encoding of the encryption context, so neither the key reference nor the context can change. A
4096-byte plaintext fits well inside KMS's 6144-byte CiphertextBlob limit.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from envelope.errors import InvalidCiphertextException, ValidationException

LAYOUT_DIRECT = 1
LAYOUT_DERIVED = 2
LAYOUT_VERSION = LAYOUT_DERIVED
"""The layout new blobs are written in."""

NONCE_SIZE = 12  # layout 1: the GCM nonce
SALT_SIZE = 32  # layout 2: the derivation nonce
TAG_SIZE = 16
_PREFIX = struct.Struct(">B16sI")
PREFIX_SIZE = _PREFIX.size
_FIELD_SIZE = {LAYOUT_DIRECT: NONCE_SIZE, LAYOUT_DERIVED: SALT_SIZE}
HEADER_SIZE = PREFIX_SIZE + SALT_SIZE
MIN_SIZE = HEADER_SIZE + TAG_SIZE + 1  # Encrypt takes at least one byte
MAX_SIZE = 6144  # KMS's CiphertextBlob limit
MAX_CONTEXT_PAIRS = 0xFFFF


@dataclass(frozen=True)
class Blob:
    """A parsed ciphertext blob; ``key_id`` is the key's UUID in canonical form."""

    key_id: str
    version: int
    layout: int
    nonce: bytes
    """Layout 1: the AES-GCM nonce. Layout 2: the key-derivation nonce."""
    ciphertext: bytes
    """AES-GCM ciphertext followed by its 16-byte tag."""
    aad_prefix: bytes


def pack_prefix(key_id: str, version: int, layout: int = LAYOUT_VERSION) -> bytes:
    """The authenticated 21-byte prefix naming the layout, the key and its backing-key version."""
    return _PREFIX.pack(layout, uuid.UUID(key_id).bytes, version)


def parse(data: bytes) -> Blob:
    """Split a blob into its fields, checking every length and value before use.

    Raises:
        InvalidCiphertextException: for anything that is not a well-formed blob.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidCiphertextException("ciphertext blob must be bytes")
    data = bytes(data)
    if len(data) < PREFIX_SIZE or len(data) > MAX_SIZE:
        raise InvalidCiphertextException("ciphertext blob has an invalid length")
    layout, raw_id, version = _PREFIX.unpack_from(data)
    field = _FIELD_SIZE.get(layout)
    if field is None:
        raise InvalidCiphertextException("ciphertext blob has an unknown layout version")
    if len(data) < PREFIX_SIZE + field + TAG_SIZE + 1:
        raise InvalidCiphertextException("ciphertext blob has an invalid length")
    if version < 1:
        raise InvalidCiphertextException("ciphertext blob names an invalid key version")
    return Blob(
        key_id=str(uuid.UUID(bytes=raw_id)),
        version=version,
        layout=layout,
        nonce=data[PREFIX_SIZE : PREFIX_SIZE + field],
        ciphertext=data[PREFIX_SIZE + field :],
        aad_prefix=data[:PREFIX_SIZE],
    )


def encode_context(context: Mapping[str, str] | None) -> bytes:
    """Canonical, order-independent encoding of an encryption context (length-prefixed UTF-8).

    Raises:
        ValidationException: more than 65,535 pairs, or a string that is not valid Unicode.
    """
    if not context:
        return b"\x00\x00"
    if len(context) > MAX_CONTEXT_PAIRS:
        raise ValidationException(
            f"the encryption context has {len(context)} pairs; at most {MAX_CONTEXT_PAIRS} fit"
        )
    parts = [struct.pack(">H", len(context))]
    for name in sorted(context):
        for text in (name, context[name]):
            try:
                raw = text.encode("utf-8")
            except UnicodeEncodeError:
                raise ValidationException(
                    "encryption context strings must be valid Unicode (no lone surrogates)"
                ) from None
            parts.append(struct.pack(">I", len(raw)))
            parts.append(raw)
    return b"".join(parts)
