"""Wrapping keys: the ``WrappingKey`` protocol, and raw AES, raw RSA and key-service (KMS) keys."""

from __future__ import annotations

import os
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import padding as _padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from envelope.errors import MessageError
from envelope.message.arn import edk_key_arn, parse_kms_arn
from envelope.message.header import EncryptedDataKey, new_edk, serialize_context

if TYPE_CHECKING:
    from envelope.keys.base import KeyService

KMS_PROVIDER_ID = "aws-kms"
_AES_TAG_BITS = 128
_AES_IV = 12

# Key identities (used to keep data-key cache entries apart) must tell apart two keys with the
# same name and different material, without putting the material, or a plain hash of it that
# would allow offline guessing, anywhere: they carry an HMAC under a key that lives only in this
# process's memory.
_IDENTITY_KEY = os.urandom(32)
_SERVICE_TOKENS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def _fingerprint(kind: bytes, material: bytes) -> str:
    mac = hmac.HMAC(_IDENTITY_KEY, hashes.SHA256())
    mac.update(kind + b"\x00" + material)
    return mac.finalize().hex()


def _service_token(service: object) -> str:
    """A random token for one key-service instance (the same for every KmsKey on it)."""
    try:
        token = _SERVICE_TOKENS.get(service)
        if token is None:
            token = os.urandom(16).hex()
            _SERVICE_TOKENS[service] = token
        return token
    except TypeError:
        # Not weak-referenceable or not hashable: a token of its own every time, so nothing is
        # ever shared by mistake (the cache then helps only one KmsKey object).
        return os.urandom(16).hex()


@runtime_checkable
class WrappingKey(Protocol):
    """What a message needs from a key that wraps and unwraps data keys."""

    @property
    def identity(self) -> str:
        """A non-secret string that tells this key apart from every other key in the process.

        It keeps data-key cache entries apart (caching-cmm.md: caches that are not configured to
        share "MUST NOT use each other's cache entries"), so two keys with the same name but
        other key material, or on another key service, must have different identities. It must
        not contain key material or a plain hash of it.
        """
        ...

    def generate_data_key(
        self, length: int, encryption_context: Mapping[str, str]
    ) -> tuple[bytes, EncryptedDataKey]:
        """Create a fresh data key of ``length`` bytes and wrap it; return (plaintext, EDK)."""
        ...

    def wrap(self, data_key: bytes, encryption_context: Mapping[str, str]) -> EncryptedDataKey:
        """Wrap an existing data key."""
        ...

    def unwrap(self, edk: EncryptedDataKey, encryption_context: Mapping[str, str]) -> bytes | None:
        """Return the data key if this key wrapped ``edk``; None if not ours or it does not open."""
        ...


class RawAesKey:
    """An AES key held by the caller, in the ESDK raw AES keyring layout.

    EDK: provider id = namespace; provider info = name, tag length in bits (4 bytes), IV length
    (4 bytes), IV; ciphertext = AES-GCM(data key) || tag, with the serialized encryption
    context as AAD.
    """

    __slots__ = ("_aesgcm", "_identity", "_info_prefix", "_name", "_namespace")

    def __init__(self, namespace: str, name: str, key: bytes) -> None:
        """Create the key.

        Args:
            namespace: The key namespace (EDK provider id); must not be ``aws-kms``.
            name: The key name (start of the EDK provider info).
            key: 16, 24 or 32 bytes.

        Raises:
            MessageError: Bad key length or reserved namespace.
        """
        if len(key) not in (16, 24, 32):
            raise MessageError("raw AES wrapping key must be 16, 24 or 32 bytes")
        if namespace.startswith(KMS_PROVIDER_ID):
            raise MessageError("namespaces starting with 'aws-kms' are reserved for KMS keys")
        self._namespace = namespace
        self._name = name
        self._aesgcm = AESGCM(bytes(key))
        self._info_prefix = (
            name.encode("utf-8") + _AES_TAG_BITS.to_bytes(4, "big") + _AES_IV.to_bytes(4, "big")
        )
        self._identity = f"raw-aes:{namespace}:{name}:{_fingerprint(b'raw-aes', bytes(key))}"

    def __repr__(self) -> str:
        return f"RawAesKey(namespace={self._namespace!r}, name={self._name!r})"

    @property
    def identity(self) -> str:
        """Namespace, name and a per-process HMAC of the key bytes."""
        return self._identity

    def generate_data_key(
        self, length: int, encryption_context: Mapping[str, str]
    ) -> tuple[bytes, EncryptedDataKey]:
        fresh = os.urandom(length + _AES_IV)  # the data key, then the wrapping IV
        data_key, iv = fresh[:length], fresh[length:]
        ct = self._aesgcm.encrypt(iv, data_key, serialize_context(encryption_context))
        return data_key, new_edk(self._namespace, self._info_prefix + iv, ct)

    def wrap(self, data_key: bytes, encryption_context: Mapping[str, str]) -> EncryptedDataKey:
        iv = os.urandom(_AES_IV)
        ct = self._aesgcm.encrypt(iv, data_key, serialize_context(encryption_context))
        return new_edk(self._namespace, self._info_prefix + iv, ct)

    def unwrap(self, edk: EncryptedDataKey, encryption_context: Mapping[str, str]) -> bytes | None:
        info = edk.provider_info
        if (
            edk.provider_id != self._namespace
            or len(info) != len(self._info_prefix) + _AES_IV
            or not info.startswith(self._info_prefix)
        ):
            return None
        try:
            return self._aesgcm.decrypt(
                info[-_AES_IV:], edk.ciphertext, serialize_context(encryption_context)
            )
        except InvalidTag:
            return None

    def aes_gcm(self) -> AESGCM:
        """The AES-GCM cipher under this key (never the key bytes), for other wrapping layouts:
        envelope.s3 uses it for the S3 Encryption Client's ``AES/GCM`` data-key wrapping."""
        return self._aesgcm


_RSA_PADDINGS = ("OAEP-SHA1", "OAEP-SHA256", "PKCS1")


class RawRsaKey:
    """An RSA key pair held by the caller, in the ESDK raw RSA keyring layout.

    EDK: provider id = namespace, provider info = name, ciphertext = RSA(data key). Wraps with
    OAEP (SHA-1 or SHA-256, MGF1 with the same hash); PKCS#1 v1.5 is accepted for unwrapping
    old messages only.
    """

    __slots__ = ("_identity", "_name", "_namespace", "_padding", "_private", "_public")

    def __init__(
        self,
        namespace: str,
        name: str,
        *,
        private_key: rsa.RSAPrivateKey | None = None,
        public_key: rsa.RSAPublicKey | None = None,
        padding: str = "OAEP-SHA256",
    ) -> None:
        """Create the key.

        Args:
            namespace: The key namespace (EDK provider id).
            name: The key name (EDK provider info).
            private_key: Needed to unwrap (and enough to wrap).
            public_key: Enough to wrap.
            padding: ``OAEP-SHA1``, ``OAEP-SHA256`` or ``PKCS1`` (unwrap only).

        Raises:
            MessageError: No key given, or an unknown padding.
        """
        if padding not in _RSA_PADDINGS:
            raise MessageError(f"RSA padding must be one of {', '.join(_RSA_PADDINGS)}")
        if private_key is None and public_key is None:
            raise MessageError("RawRsaKey needs a private_key or a public_key")
        if namespace.startswith(KMS_PROVIDER_ID):
            raise MessageError("namespaces starting with 'aws-kms' are reserved for KMS keys")
        self._namespace = namespace
        self._name = name
        self._private = private_key
        self._public = public_key if public_key is not None else private_key.public_key()  # type: ignore[union-attr]
        self._padding = padding
        self._identity: str | None = None

    def __repr__(self) -> str:
        return (
            f"RawRsaKey(namespace={self._namespace!r}, name={self._name!r}, "
            f"padding={self._padding!r})"
        )

    def _pad(self) -> Any:
        if self._padding == "PKCS1":
            return _padding.PKCS1v15()
        algorithm = hashes.SHA1() if self._padding == "OAEP-SHA1" else hashes.SHA256()  # noqa: S303
        return _padding.OAEP(mgf=_padding.MGF1(algorithm), algorithm=algorithm, label=None)

    @property
    def identity(self) -> str:
        """Namespace, name, padding and a per-process HMAC of the public key."""
        if self._identity is None:
            from cryptography.hazmat.primitives import serialization

            der = self._public.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            self._identity = (
                f"raw-rsa:{self._namespace}:{self._name}:{self._padding}:"
                f"{_fingerprint(b'raw-rsa', der)}"
            )
        return self._identity

    def generate_data_key(
        self, length: int, encryption_context: Mapping[str, str]
    ) -> tuple[bytes, EncryptedDataKey]:
        data_key = os.urandom(length)
        return data_key, self.wrap(data_key, encryption_context)

    def wrap(self, data_key: bytes, encryption_context: Mapping[str, str]) -> EncryptedDataKey:
        if self._padding == "PKCS1":
            raise MessageError("RSA PKCS#1 v1.5 padding is accepted for unwrapping only")
        ct = self._public.encrypt(data_key, self._pad())
        return EncryptedDataKey(self._namespace, self._name.encode("utf-8"), ct)

    def unwrap(self, edk: EncryptedDataKey, encryption_context: Mapping[str, str]) -> bytes | None:
        if self._private is None or edk.provider_id != self._namespace:
            return None
        if edk.provider_info != self._name.encode("utf-8"):
            return None
        try:
            return self._private.decrypt(edk.ciphertext, self._pad())
        except ValueError:
            return None

    def rsa_keys(self) -> tuple[rsa.RSAPublicKey, rsa.RSAPrivateKey | None]:
        """The public key and, when given, the private key, for other wrapping layouts:
        envelope.s3 uses them for the S3 Encryption Client's ``RSA-OAEP-SHA1`` wrapping."""
        return self._public, self._private


class KmsKey:
    """A key in any :class:`~envelope.keys.base.KeyService` (LocalKeyService, AWS KMS, ...).

    EDK: provider id ``aws-kms``, provider info = the key ARN, ciphertext = the key service's
    ciphertext blob. The message's encryption context is passed to the key service.
    """

    __slots__ = ("_identity", "_service", "key_id")

    def __init__(self, service: KeyService, key_id: str) -> None:
        """Create the key.

        Decryption is strict (aws-kms-keyring.md, "OnDecrypt"): only ``aws-kms`` EDKs whose
        provider info is a valid key ARN of this key are sent to the key service, always with
        this key's id as ``KeyId``, and the answer must name that same ARN. Named by key ARN or
        key id, the EDK's ARN must match it before any call; named by an alias, the key service
        decides (it refuses another key's ciphertext with ``IncorrectKeyException``). To decrypt
        with whatever key a message names, use :class:`KmsDiscovery` instead.

        Args:
            service: The key service holding the key.
            key_id: Key id, key ARN, alias or alias ARN.
        """
        self._service = service
        self.key_id = key_id
        self._identity: str | None = None

    def __repr__(self) -> str:
        return f"KmsKey(key_id={self.key_id!r})"

    @property
    def identity(self) -> str:
        """The key id and a random token of the key-service instance it lives in."""
        if self._identity is None:
            self._identity = f"aws-kms:{self.key_id}:{_service_token(self._service)}"
        return self._identity

    def generate_data_key(
        self, length: int, encryption_context: Mapping[str, str]
    ) -> tuple[bytes, EncryptedDataKey]:
        result = self._service.generate_data_key(
            key_id=self.key_id, number_of_bytes=length, encryption_context=dict(encryption_context)
        )
        if len(result.plaintext) != length:
            raise MessageError("key service returned a data key of the wrong length")
        return result.plaintext, EncryptedDataKey(
            KMS_PROVIDER_ID, result.key_id.encode("utf-8"), result.ciphertext_blob
        )

    def wrap(self, data_key: bytes, encryption_context: Mapping[str, str]) -> EncryptedDataKey:
        result = self._service.encrypt(
            key_id=self.key_id, plaintext=data_key, encryption_context=dict(encryption_context)
        )
        return EncryptedDataKey(
            KMS_PROVIDER_ID, result.key_id.encode("utf-8"), result.ciphertext_blob
        )

    def _matching_arn(self, edk: EncryptedDataKey) -> str | None:
        """The EDK's key ARN if this key may open it: an ``aws-kms`` EDK naming a valid key ARN
        that is this key's (same ARN, or same key id); aliases are left to the key service."""
        if edk.provider_id != KMS_PROVIDER_ID:
            return None
        arn = edk_key_arn(edk.provider_info)
        if arn is None:
            return None
        key_id = self.key_id
        if key_id.startswith("alias/"):
            return arn
        if key_id.startswith("arn:"):
            mine = parse_kms_arn(key_id)
            if mine is not None and mine.resource_type == "alias":
                return arn
            return arn if key_id == arn else None
        return arn if arn.endswith(":key/" + key_id) else None

    def reencrypt(
        self, edk: EncryptedDataKey, encryption_context: Mapping[str, str]
    ) -> EncryptedDataKey | None:
        """Move an ``aws-kms`` EDK of this key to its newest version with ReEncrypt.

        The data key never leaves the key service in this step. Returns None when the EDK is not
        this key's (another provider or another key ARN).

        Raises:
            KeyServiceError: The key service refused (disabled key, wrong context, ...).
        """
        arn = self._matching_arn(edk)
        if arn is None:
            return None
        result = self._service.re_encrypt(
            ciphertext_blob=edk.ciphertext,
            source_key_id=arn,
            destination_key_id=arn,
            source_encryption_context=dict(encryption_context),
            destination_encryption_context=dict(encryption_context),
        )
        return EncryptedDataKey(
            KMS_PROVIDER_ID, result.key_id.encode("utf-8"), result.ciphertext_blob
        )

    def unwrap(self, edk: EncryptedDataKey, encryption_context: Mapping[str, str]) -> bytes | None:
        arn = self._matching_arn(edk)
        if arn is None:
            return None
        # A refusal (disabled key, another key's ciphertext, ...) propagates as a KeyServiceError:
        # unwrap_data_key records it, tries the other EDKs, and names it if nothing unwraps.
        result = self._service.decrypt(
            ciphertext_blob=edk.ciphertext,
            encryption_context=dict(encryption_context),
            key_id=self.key_id,
        )
        if result.key_id != arn:
            return None
        return result.plaintext

    @property
    def key_service(self) -> KeyService:
        """The key service holding this key (envelope.s3 calls its Decrypt directly: S3EC data
        keys do not name the key ARN that an ``aws-kms`` EDK carries)."""
        return self._service
