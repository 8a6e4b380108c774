"""The S3 Encryption Client's data-key wrapping over envelope's wrapping keys.

``KmsKey`` wraps as ``kms+context`` (the KMS encryption context carries ``aws:x-amz-cek-alg``),
``RawAesKey`` as ``AES/GCM`` and ``RawRsaKey`` as ``RSA-OAEP-SHA1``, the layouts of the S3EC's KMS,
AES and RSA keyrings (s3-encryption/materials/).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from envelope.errors import S3EncryptionContextError, S3EncryptionError, S3MetadataError
from envelope.message.wrapping import KmsKey, RawAesKey, RawRsaKey
from envelope.s3.content import DATA_KEY_LENGTH
from envelope.s3.metadata import (
    CEK_ALG_CONTEXT_KEY,
    CIPHER_GCM,
    CIPHER_V3,
    GCM_IV_LENGTH,
    WRAP_AES_GCM,
    WRAP_KMS_CONTEXT,
    WRAP_KMS_V1,
    WRAP_RSA_OAEP_SHA1,
    ContentMetadata,
)

if TYPE_CHECKING:  # pragma: no cover
    from envelope.keys.base import KeyService

_GCM_TAG = 16


@dataclass(frozen=True)
class WrappedKey:
    """A wrapped data key as the metadata stores it."""

    wrap_alg: str
    encrypted_data_key: bytes
    context: dict[str, str]  # the KMS context (kms+context) or material description (raw keys)


@runtime_checkable
class S3Keyring(Protocol):
    """What an S3 object needs from a wrapping key."""

    @property
    def wrap_alg(self) -> str:
        """The wrapping algorithm this key writes (``kms+context``, ``AES/GCM``, ...)."""
        ...

    @property
    def binds_context(self) -> bool:
        """True when the wrapping authenticates the encryption context (KMS keys)."""
        ...

    def new_data_key(self, cipher: str, context: Mapping[str, str]) -> tuple[bytes, WrappedKey]:
        """A fresh 32-byte data key for content cipher ``cipher``, and its wrapped form."""
        ...

    def unwrap(self, meta: ContentMetadata) -> bytes | None:
        """The object's data key, or None when this key did not wrap it.

        Raises:
            KeyServiceError: A key service refused (wrong key, disabled, ...).
        """
        ...


@dataclass(frozen=True)
class Moved:
    """A data key moved by KMS ReEncrypt (the key service names both keys)."""

    wrapped: WrappedKey
    source_key_id: str
    key_id: str


def _reencrypt(
    service: KeyService,
    meta: ContentMetadata,
    source_key_id: str | None,
    destination_key_id: str | None,
    *,
    dry_run: bool,
) -> Moved | None:
    # s3-kms-keyring.md: the stored context (with aws:x-amz-cek-alg) is the KMS context; it is
    # given unchanged on both sides, so readers check the same pairs after the move.
    if meta.wrap_alg != WRAP_KMS_CONTEXT:
        return None
    destination = destination_key_id or source_key_id
    assert destination is not None
    result = service.re_encrypt(
        ciphertext_blob=meta.encrypted_data_key,
        source_key_id=source_key_id,
        destination_key_id=destination,
        source_encryption_context=dict(meta.context),
        destination_encryption_context=dict(meta.context),
        dry_run=dry_run,
    )
    wrapped = WrappedKey(WRAP_KMS_CONTEXT, result.ciphertext_blob, dict(meta.context))
    return Moved(wrapped, result.source_key_id, result.key_id)


def _no_context(keyring: object, context: Mapping[str, str]) -> None:
    if context:
        raise S3EncryptionContextError(
            f"{keyring!r} cannot bind an encryption context (the S3EC stores none for raw AES/RSA "
            f"keys), and the object has one: {sorted(context)}"
        )


def _cipher_label(cipher: str) -> bytes:
    # The AES and RSA keyrings bind the content cipher: "115" for V3, else the V2 GCM name.
    return (CIPHER_V3 if cipher == CIPHER_V3 else CIPHER_GCM).encode("ascii")


class KmsKeyring:
    """``kms+context`` (and, to read legacy objects, ``kms``) over a ``KmsKey``."""

    wrap_alg = WRAP_KMS_CONTEXT
    binds_context = True

    def __init__(self, key: KmsKey) -> None:
        self._key = key

    def __repr__(self) -> str:
        return f"KmsKeyring(key_id={self._key.key_id!r})"

    @property
    def key_id(self) -> str:
        return self._key.key_id

    def new_data_key(self, cipher: str, context: Mapping[str, str]) -> tuple[bytes, WrappedKey]:
        # s3-kms-keyring.md: the context sent to KMS is the request's plus aws:x-amz-cek-alg
        # naming the content cipher ("115" for V3, "AES/GCM/NoPadding" for V2).
        full = {**context, CEK_ALG_CONTEXT_KEY: cipher}
        data_key, edk = self._key.generate_data_key(DATA_KEY_LENGTH, full)
        return data_key, WrappedKey(WRAP_KMS_CONTEXT, edk.ciphertext, full)

    def wrap(self, data_key: bytes, cipher: str, context: Mapping[str, str]) -> WrappedKey:
        """Wrap an existing data key with KMS Encrypt (the context gains ``aws:x-amz-cek-alg``)."""
        full = {**context, CEK_ALG_CONTEXT_KEY: cipher}
        result = self._key.key_service.encrypt(
            key_id=self._key.key_id, plaintext=data_key, encryption_context=full
        )
        return WrappedKey(WRAP_KMS_CONTEXT, result.ciphertext_blob, full)

    def unwrap(self, meta: ContentMetadata) -> bytes | None:
        if meta.wrap_alg not in (WRAP_KMS_CONTEXT, WRAP_KMS_V1):
            return None
        # KMS Decrypt with KeyId = this key (strict: another key's ciphertext is refused by the
        # key service) and the stored context, which KMS authenticates.
        result = self._key.key_service.decrypt(
            ciphertext_blob=meta.encrypted_data_key,
            encryption_context=dict(meta.context),
            key_id=self._key.key_id,
        )
        return result.plaintext

    def reencrypt(
        self, meta: ContentMetadata, destination_key_id: str | None = None, *, dry_run: bool = False
    ) -> Moved | None:
        """Move a ``kms+context`` data key with KMS ReEncrypt: to the newest version of this key,
        or to ``destination_key_id``; the context stays the same and the data key never leaves
        the key service. None when the object is not ``kms+context``.

        Raises:
            KeyServiceError: The key service refused (another key's data key, disabled, ...).
        """
        return _reencrypt(
            self._key.key_service, meta, self._key.key_id, destination_key_id, dry_run=dry_run
        )


class KmsDiscoveryKeyring:
    """Reads ``kms+context`` objects with whichever key of ``service`` wrapped them (KMS Decrypt
    without a KeyId); it cannot write. Use it only where every key of the service is trusted,
    such as one's own local keystore."""

    wrap_alg = WRAP_KMS_CONTEXT
    binds_context = True

    def __init__(self, service: KeyService) -> None:
        self._service = service

    def __repr__(self) -> str:
        return "KmsDiscoveryKeyring()"

    def new_data_key(self, cipher: str, context: Mapping[str, str]) -> tuple[bytes, WrappedKey]:
        raise S3EncryptionError("a discovery keyring only reads: give a KmsKey to write")

    def unwrap(self, meta: ContentMetadata) -> bytes | None:
        if meta.wrap_alg not in (WRAP_KMS_CONTEXT, WRAP_KMS_V1):
            return None
        result = self._service.decrypt(
            ciphertext_blob=meta.encrypted_data_key, encryption_context=dict(meta.context)
        )
        return result.plaintext

    def reencrypt(
        self, meta: ContentMetadata, destination_key_id: str | None = None, *, dry_run: bool = False
    ) -> Moved | None:
        """KMS ReEncrypt without a source key id, to ``destination_key_id`` of the same service.

        Raises:
            S3EncryptionError: No destination: a discovery keyring does not know which key wrapped
                the object, so it cannot name the key to move to.
            KeyServiceError: The key service refused.
        """
        if destination_key_id is None:
            raise S3EncryptionError(
                "a discovery keyring cannot name the key to move the data key to: give the KMS "
                "key that wrapped it (KmsKey), or a destination"
            )
        return _reencrypt(self._service, meta, None, destination_key_id, dry_run=dry_run)


class AesGcmKeyring:
    """``AES/GCM`` over a ``RawAesKey``: EDK = IV (12) || AES-GCM(data key) || tag (16), with the
    content cipher label as AAD (the S3EC AES keyring)."""

    wrap_alg = WRAP_AES_GCM
    binds_context = False

    def __init__(self, key: RawAesKey) -> None:
        self._key = key

    def __repr__(self) -> str:
        return f"AesGcmKeyring({self._key!r})"

    def new_data_key(self, cipher: str, context: Mapping[str, str]) -> tuple[bytes, WrappedKey]:
        data_key = os.urandom(DATA_KEY_LENGTH)
        return data_key, self.wrap(data_key, cipher, context)

    def wrap(self, data_key: bytes, cipher: str, context: Mapping[str, str]) -> WrappedKey:
        """Wrap an existing data key (raw keys bind no context: ``context`` must be empty)."""
        _no_context(self, context)
        iv = os.urandom(GCM_IV_LENGTH)
        wrapped = iv + self._key.aes_gcm().encrypt(iv, data_key, _cipher_label(cipher))
        return WrappedKey(WRAP_AES_GCM, wrapped, {})

    def unwrap(self, meta: ContentMetadata) -> bytes | None:
        edk = meta.encrypted_data_key
        if meta.wrap_alg != WRAP_AES_GCM or len(edk) != GCM_IV_LENGTH + DATA_KEY_LENGTH + _GCM_TAG:
            return None
        try:
            return self._key.aes_gcm().decrypt(
                edk[:GCM_IV_LENGTH], edk[GCM_IV_LENGTH:], _cipher_label(meta.content_cipher)
            )
        except InvalidTag:
            return None


_OAEP_SHA1 = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303


class RsaOaepKeyring:
    """``RSA-OAEP-SHA1`` over a ``RawRsaKey``: RSA-OAEP (SHA-1, MGF1-SHA-1) of the pseudo key
    ``len(data key) || data key || content cipher label`` (the S3EC RSA keyring)."""

    wrap_alg = WRAP_RSA_OAEP_SHA1
    binds_context = False

    def __init__(self, key: RawRsaKey) -> None:
        self._key = key

    def __repr__(self) -> str:
        return f"RsaOaepKeyring({self._key!r})"

    def new_data_key(self, cipher: str, context: Mapping[str, str]) -> tuple[bytes, WrappedKey]:
        data_key = os.urandom(DATA_KEY_LENGTH)
        return data_key, self.wrap(data_key, cipher, context)

    def wrap(self, data_key: bytes, cipher: str, context: Mapping[str, str]) -> WrappedKey:
        """Wrap an existing data key (raw keys bind no context: ``context`` must be empty)."""
        _no_context(self, context)
        public, _ = self._key.rsa_keys()
        pseudo = bytes([len(data_key)]) + data_key + _cipher_label(cipher)
        return WrappedKey(WRAP_RSA_OAEP_SHA1, public.encrypt(pseudo, _OAEP_SHA1), {})

    def unwrap(self, meta: ContentMetadata) -> bytes | None:
        _, private = self._key.rsa_keys()
        if meta.wrap_alg != WRAP_RSA_OAEP_SHA1 or private is None:
            return None
        try:
            pseudo = private.decrypt(meta.encrypted_data_key, _OAEP_SHA1)
        except ValueError:
            return None
        label = _cipher_label(meta.content_cipher)
        if pseudo[:1] != bytes([DATA_KEY_LENGTH]) or pseudo[1 + DATA_KEY_LENGTH :] != label:
            # The pseudo key binds the content cipher: a V3 key relabelled V2 stops here.
            raise S3MetadataError(
                "the RSA-wrapped data key names another content cipher or key length "
                "(metadata tampered with?)"
            )
        return pseudo[1 : 1 + DATA_KEY_LENGTH]


WrappingKeyLike = KmsKey | RawAesKey | RawRsaKey | S3Keyring


def as_keyring(key: WrappingKeyLike) -> S3Keyring:
    """Adapt one of envelope's wrapping keys (or pass an S3 keyring through).

    Raises:
        S3EncryptionError: Not a wrapping key envelope.s3 knows.
    """
    if isinstance(key, KmsKey):
        return KmsKeyring(key)
    if isinstance(key, RawAesKey):
        return AesGcmKeyring(key)
    if isinstance(key, RawRsaKey):
        return RsaOaepKeyring(key)
    if isinstance(key, S3Keyring):
        return key
    raise S3EncryptionError(
        f"{type(key).__name__} is not a wrapping key: use KmsKey, RawAesKey or RawRsaKey"
    )
