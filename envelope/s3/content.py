"""S3EC content cipher: V3 key derivation and commitment, streaming AES-GCM, legacy AES-CBC."""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from envelope.errors import S3AuthenticationError, S3MetadataError, S3ObjectTooLargeError
from envelope.s3.metadata import (
    CIPHER_CBC,
    CIPHER_GCM,
    CIPHER_V3,
    COMMITMENT_LENGTH,
    GCM_IV_LENGTH,
    MESSAGE_ID_LENGTH,
    ContentMetadata,
)

# framework/algorithm-suites.md: S3EC.ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY is 00 73, a 256-bit
# data key into HKDF-SHA512 with a 224-bit salt (the message id) and a 224-bit commit key.
SUITE_V3_ID = b"\x00\x73"
V3_IV = b"\x01" * GCM_IV_LENGTH  # key-derivation.md: the IV is all 0x01 bytes
DATA_KEY_LENGTH = 32
TAG_LENGTH = 16
# NIST SP 800-38D: at most 2^39 - 256 bits of plaintext under one GCM key and IV.
GCM_MAX_PLAINTEXT = (2**39 - 256) // 8


@dataclass(frozen=True)
class ContentKey:
    """The key, IV and AAD of one object's content encryption."""

    cipher: str
    key: bytes = field(repr=False)
    iv: bytes
    aad: bytes | None

    @property
    def tag_length(self) -> int:
        return 0 if self.cipher == CIPHER_CBC else TAG_LENGTH


def derive_v3(data_key: bytes, message_id: bytes) -> tuple[bytes, bytes]:
    """HKDF-SHA512 (key-derivation.md#hkdf-operation): the commitment first, then the content key.

    Args:
        data_key: The 32-byte plaintext data key (input keying material).
        message_id: The 28-byte message id (salt).

    Returns:
        (28-byte key commitment, 32-byte derived encryption key).

    Raises:
        S3MetadataError: A data key or message id of the wrong length.
    """
    if len(data_key) != DATA_KEY_LENGTH:
        raise S3MetadataError(f"data key is {len(data_key)} bytes; V3 needs {DATA_KEY_LENGTH}")
    if len(message_id) != MESSAGE_ID_LENGTH:
        raise S3MetadataError(f"message id is {len(message_id)} bytes; V3 needs 28")
    commitment = HKDF(
        hashes.SHA512(), COMMITMENT_LENGTH, salt=message_id, info=SUITE_V3_ID + b"COMMITKEY"
    ).derive(data_key)
    key = HKDF(
        hashes.SHA512(), DATA_KEY_LENGTH, salt=message_id, info=SUITE_V3_ID + b"DERIVEKEY"
    ).derive(data_key)
    return commitment, key


def new_content_key(cipher: str, data_key: bytes) -> tuple[ContentKey, bytes | None, bytes | None]:
    """Fresh content encryption for a new object.

    Args:
        cipher: ``CIPHER_V3`` (key-committing) or ``CIPHER_GCM`` (V2).
        data_key: The 32-byte plaintext data key.

    Returns:
        (content key, message id or None, commitment or None). For V2 the IV is in the key.

    Raises:
        S3MetadataError: Another cipher (AES-CBC is never written).
    """
    if cipher == CIPHER_V3:
        message_id = _nonzero_random(MESSAGE_ID_LENGTH)
        commitment, key = derive_v3(data_key, message_id)
        return ContentKey(CIPHER_V3, key, V3_IV, SUITE_V3_ID), message_id, commitment
    if cipher == CIPHER_GCM:
        if len(data_key) != DATA_KEY_LENGTH:
            raise S3MetadataError(f"data key is {len(data_key)} bytes; AES-256-GCM needs 32")
        # encryption.md: no AAD for ALG_AES_256_GCM_IV12_TAG16_NO_KDF.
        return ContentKey(CIPHER_GCM, data_key, _nonzero_random(GCM_IV_LENGTH), None), None, None
    raise S3MetadataError(f"envelope does not write content cipher {cipher!r}")


def _nonzero_random(length: int) -> bytes:
    # encryption.md#cipher-initialization: an all-zero IV or message id means a broken RNG.
    while True:
        value = os.urandom(length)
        if any(value):
            return value


def content_key_for(meta: ContentMetadata, data_key: bytes) -> ContentKey:
    """The content key of an existing object, checking V3's key commitment first.

    Raises:
        S3AuthenticationError: The derived commitment differs from the stored one.
        S3MetadataError: A data key of the wrong length.
    """
    if meta.content_cipher == CIPHER_V3:
        assert meta.message_id is not None and meta.commitment is not None
        commitment, key = derive_v3(data_key, meta.message_id)
        # decryption.md#decrypting-with-commitment: compare in constant time, before decrypting.
        if not hmac.compare_digest(commitment, meta.commitment):
            raise S3AuthenticationError(
                "key commitment check failed: the data key does not belong to this object "
                "(x-amz-d differs; metadata or instruction file tampered with?)"
            )
        return ContentKey(CIPHER_V3, key, V3_IV, SUITE_V3_ID)
    if len(data_key) != DATA_KEY_LENGTH:
        raise S3MetadataError(f"data key is {len(data_key)} bytes; AES-256 needs 32")
    assert meta.iv is not None
    return ContentKey(meta.content_cipher, data_key, meta.iv, None)


def encrypt_bytes(key: ContentKey, plaintext: bytes) -> bytes:
    """One-shot AES-GCM: ciphertext followed by the 16-byte tag."""
    _check_length(len(plaintext))
    return AESGCM(key.key).encrypt(key.iv, plaintext, key.aad)


def decrypt_bytes(key: ContentKey, ciphertext: bytes) -> bytes:
    """One-shot decryption of a whole object (GCM: tag verified; CBC: padding checked).

    Raises:
        S3AuthenticationError: The tag (or CBC padding) did not verify.
    """
    if key.cipher == CIPHER_CBC:
        decryptor = ContentDecryptor(key)
        return decryptor.update(ciphertext) + decryptor.finalize(b"")
    if len(ciphertext) < TAG_LENGTH:
        raise S3AuthenticationError("object is shorter than the 16-byte AES-GCM tag (truncated)")
    try:
        return AESGCM(key.key).decrypt(key.iv, ciphertext, key.aad)
    except InvalidTag:
        raise S3AuthenticationError(_TAG_FAILED) from None


_TAG_FAILED = "AES-GCM tag check failed: the object was damaged, truncated or tampered with"


def _check_length(total: int) -> None:
    if total > GCM_MAX_PLAINTEXT:
        raise S3ObjectTooLargeError(
            f"plaintext exceeds AES-GCM's limit of {GCM_MAX_PLAINTEXT} bytes under one key"
        )


class ContentEncryptor:
    """Streaming AES-GCM encryption of one object; ``finalize()`` returns the tag."""

    __slots__ = ("_ctx", "_total")

    def __init__(self, key: ContentKey) -> None:
        self._ctx: Any = Cipher(algorithms.AES(key.key), modes.GCM(key.iv)).encryptor()
        if key.aad is not None:
            self._ctx.authenticate_additional_data(key.aad)
        self._total = 0

    def update(self, data: bytes | bytearray | memoryview) -> bytes:
        self._total += len(data)
        _check_length(self._total)
        return bytes(self._ctx.update(data))

    def update_into(self, data: bytes | bytearray | memoryview, out: bytearray) -> int:
        """Encrypt ``data`` into ``out`` (at least ``len(data) + 15`` bytes); returns the count."""
        self._total += len(data)
        _check_length(self._total)
        return int(self._ctx.update_into(data, out))

    def finalize(self) -> bytes:
        self._ctx.finalize()
        return bytes(self._ctx.tag)


class ContentDecryptor:
    """Streaming decryption of one object's content; the caller holds back ``tag_length`` bytes.

    ``update`` returns plaintext that is NOT yet authenticated; only ``finalize`` (the tag, or
    the CBC padding) decides whether it may be released.
    """

    __slots__ = ("_buffer", "_ctx", "_unpadder", "tag_length")

    def __init__(self, key: ContentKey) -> None:
        self.tag_length = key.tag_length
        self._unpadder: Any = None
        if key.cipher == CIPHER_CBC:
            self._ctx: Any = Cipher(algorithms.AES(key.key), modes.CBC(key.iv)).decryptor()
            self._unpadder = padding.PKCS7(128).unpadder()
        else:
            self._ctx = Cipher(algorithms.AES(key.key), modes.GCM(key.iv)).decryptor()
            if key.aad is not None:
                self._ctx.authenticate_additional_data(key.aad)
        self._buffer = bytearray()

    def update_into(self, data: bytes | bytearray | memoryview) -> memoryview:
        """Decrypt ``data``; the result is a view of an internal buffer, valid until the next
        call (no allocation per chunk for AES-GCM)."""
        if self._unpadder is not None:
            return memoryview(self._unpadder.update(self._ctx.update(data)))
        need = len(data) + 15
        if len(self._buffer) < need:
            self._buffer = bytearray(need)
        n = self._ctx.update_into(data, self._buffer)
        return memoryview(self._buffer)[:n]

    def update(self, data: bytes | bytearray | memoryview) -> bytes:
        return bytes(self.update_into(data))

    def finalize(self, tag: bytes) -> bytes:
        """Verify the tag (GCM) or the padding (CBC); returns any last plaintext.

        Raises:
            S3AuthenticationError: It did not verify.
        """
        if self._unpadder is not None:
            try:
                return bytes(
                    self._unpadder.update(self._ctx.finalize()) + self._unpadder.finalize()
                )
            except ValueError:
                raise S3AuthenticationError(
                    "AES-CBC padding check failed: wrong key, or the object was damaged "
                    "(CBC objects are not authenticated)"
                ) from None
        try:
            return bytes(self._ctx.finalize_with_tag(tag))
        except (InvalidTag, ValueError):
            raise S3AuthenticationError(_TAG_FAILED) from None


def require_cipher(meta: ContentMetadata, *, allow_cbc: bool) -> None:
    """Refuse a content cipher the reader did not opt into.

    Raises:
        S3LegacyFormatError: AES-CBC without ``allow_cbc``.
    """
    from envelope.errors import S3LegacyFormatError

    if meta.content_cipher == CIPHER_CBC and not allow_cbc:
        raise S3LegacyFormatError(
            "object uses legacy AES-CBC content encryption (unauthenticated); pass "
            "allow_unauthenticated_legacy=True to read it"
        )
