"""The cryptography LocalKeyService does with backing keys, which never leave this module.

Symmetric keys seal with AES-256-GCM into the blob layouts of ``blob.py``: each request under its
own key, derived with HKDF-SHA256 from the backing key and a random 256-bit nonce kept in the blob
(as AWS KMS does), so no backing key ever meets the random-nonce bound of NIST SP 800-38D (2^32
messages under one key). RSA keys encrypt with RSA-OAEP; RSA and ECC keys sign and HMAC keys
make MACs with the algorithms of ``asymmetric``. Unwrapped backing keys are kept in memory per
version (they never change once written: imported material can only come back the same) and
forgotten when their key is destroyed, their imported material deleted, or the service closed.
"""

from __future__ import annotations

import os
import threading

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from envelope.errors import (
    InvalidCiphertextException,
    InvalidKeyUsageException,
    KeystoreError,
    ValidationException,
)
from envelope.keys import asymmetric
from envelope.keys import blob as _blob
from envelope.keys.base import RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SYMMETRIC_DEFAULT
from envelope.keys.specs import HMAC_KEY_BYTES
from envelope.keys.store import KeyRecord, Keystore
from envelope.keys.validate import RSA_ALGORITHMS, invalid, rsa_plaintext_limit


def new_material(key_spec: str) -> bytes:
    """Fresh backing-key material: 32 random bytes (symmetric), the key spec's length (HMAC), or
    an RSA or ECC private key as PKCS #8 DER."""
    if key_spec in HMAC_KEY_BYTES:
        return os.urandom(HMAC_KEY_BYTES[key_spec])
    if not asymmetric.is_asymmetric(key_spec):
        return os.urandom(32)
    return asymmetric.private_der(asymmetric.generate(key_spec))


_ZERO_IV = bytes(12)  # layout 2: every derived key seals exactly one message
_DERIVATION_LABEL = b"envelope-kms/derived-key/v2"


def _request_key(material: bytes, salt: bytes, prefix: bytes) -> AESGCM:
    """The AES-256-GCM key of one request: HKDF-SHA256(backing key, salt=nonce, info=prefix)."""
    info = _DERIVATION_LABEL + prefix
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(material))


def _oaep(algorithm: str) -> padding.OAEP:
    digest = RSA_ALGORITHMS[algorithm]
    return padding.OAEP(mgf=padding.MGF1(algorithm=digest()), algorithm=digest(), label=None)


class BackingKeys:
    """Backing keys of one keystore, unwrapped on first use."""

    def __init__(self, store: Keystore, *, layout: int = _blob.LAYOUT_VERSION) -> None:
        self._store = store
        self._layout = layout
        self._lock = threading.Lock()
        self._aes: dict[tuple[str, int], bytes] = {}
        self._private: dict[str, asymmetric.PrivateKey] = {}

    def __repr__(self) -> str:
        return f"BackingKeys({self._store!r})"

    def forget(self, key_ids: set[str] | None = None) -> None:
        """Drop unwrapped keys from memory: those of ``key_ids``, or all of them."""
        with self._lock:
            if key_ids is None:
                self._aes.clear()
                self._private.clear()
                return
            self._aes = {k: v for k, v in self._aes.items() if k[0] not in key_ids}
            for key_id in key_ids:
                self._private.pop(key_id, None)

    def _material(self, key_id: str, version: int) -> bytes | None:
        # Another process may have rekeyed the store (even several times) since it was opened.
        return self._store.read_unwrapped(lambda records: records.material(key_id, version))

    def _aes_key(self, key_id: str, version: int) -> bytes | None:
        cached = self._aes.get((key_id, version))
        if cached is not None:
            return cached
        material = self._material(key_id, version)
        if material is None:
            return None
        with self._lock:
            self._aes[(key_id, version)] = material
        return material

    def _private_key(self, key_id: str) -> asymmetric.PrivateKey:
        cached = self._private.get(key_id)
        if cached is not None:
            return cached
        material = self._material(key_id, 1)
        if material is None:
            raise KeystoreError(f"the private key of {key_id} is missing from the keystore")
        try:
            private = asymmetric.load_private(material)
        except (ValueError, TypeError):
            raise KeystoreError(f"the private key of {key_id} is damaged in the keystore") from None
        with self._lock:
            self._private[key_id] = private
        return private

    def _rsa_key(self, key_id: str) -> rsa.RSAPrivateKey:
        private = self._private_key(key_id)
        if not isinstance(private, rsa.RSAPrivateKey):
            raise KeystoreError(f"the private key of {key_id} is damaged in the keystore")
        return private

    # --- symmetric --------------------------------------------------------------------------------
    def seal(self, key: KeyRecord, arn: str, plaintext: bytes, context: dict[str, str]) -> bytes:
        """Encrypt under the newest version of a symmetric key, as a blob naming that version."""
        version = self._store.reader.latest_version(key.key_id)
        material = self._aes_key(key.key_id, version)
        if material is None:
            raise KeystoreError(f"{arn} has no backing key in the keystore")
        aad_context = _blob.encode_context(context)
        prefix = _blob.pack_prefix(key.key_id, version, self._layout)
        if self._layout == _blob.LAYOUT_DIRECT:  # test and benchmark seam: the old layout
            nonce = os.urandom(_blob.NONCE_SIZE)
            return prefix + nonce + AESGCM(material).encrypt(nonce, plaintext, prefix + aad_context)
        salt = os.urandom(_blob.SALT_SIZE)
        aes = _request_key(material, salt, prefix)
        return prefix + salt + aes.encrypt(_ZERO_IV, plaintext, prefix + aad_context)

    def open(self, parsed: _blob.Blob, context: dict[str, str]) -> bytes:
        """Decrypt a parsed symmetric blob with the version it names.

        Raises:
            InvalidCiphertextException: unknown version, altered blob or another context.
        """
        material = self._aes_key(parsed.key_id, parsed.version)
        if material is None:
            raise InvalidCiphertextException("the ciphertext names an unknown key version")
        aad = parsed.aad_prefix + _blob.encode_context(context)
        try:
            if parsed.layout == _blob.LAYOUT_DIRECT:
                return AESGCM(material).decrypt(parsed.nonce, parsed.ciphertext, aad)
            aes = _request_key(material, parsed.nonce, parsed.aad_prefix)
            return aes.decrypt(_ZERO_IV, parsed.ciphertext, aad)
        except InvalidTag:
            raise InvalidCiphertextException(
                "the ciphertext or its encryption context is not valid"
            ) from None

    # --- RSA --------------------------------------------------------------------------------------
    def rsa_encrypt(self, key: KeyRecord, arn: str, plaintext: bytes, algorithm: str) -> bytes:
        if algorithm not in RSA_ALGORITHMS:
            raise InvalidKeyUsageException(
                f"{arn} is an RSA key; use {RSAES_OAEP_SHA_1} or {RSAES_OAEP_SHA_256}, "
                f"not {algorithm}"
            )
        limit = rsa_plaintext_limit(key.key_spec, algorithm)
        if len(plaintext) > limit:
            raise invalid(
                "plaintext",
                f"Member must have length less than or equal to {limit} "
                f"for {key.key_spec} with {algorithm}",
            )
        return self._rsa_key(key.key_id).public_key().encrypt(plaintext, _oaep(algorithm))

    def rsa_decrypt(self, key: KeyRecord, ciphertext: bytes, algorithm: str) -> bytes:
        try:
            return self._rsa_key(key.key_id).decrypt(ciphertext, _oaep(algorithm))
        except ValueError:
            raise InvalidCiphertextException("the ciphertext is invalid for this key") from None

    def public_key_der(self, key: KeyRecord) -> bytes:
        return asymmetric.public_der(self._private_key(key.key_id).public_key())

    # --- signatures and MACs ----------------------------------------------------------------------
    def sign(self, key: KeyRecord, algorithm: str, message: bytes, message_type: str) -> bytes:
        """Sign with the private key of an RSA or ECC SIGN_VERIFY key."""
        return asymmetric.sign(self._private_key(key.key_id), algorithm, message, message_type)

    def verify(
        self, key: KeyRecord, algorithm: str, message: bytes, signature: bytes, message_type: str
    ) -> bool:
        public = self._private_key(key.key_id).public_key()
        return asymmetric.verify(public, algorithm, message, signature, message_type)

    def _secret(self, key: KeyRecord) -> bytes:
        material = self._aes_key(key.key_id, 1)
        if material is None:
            raise KeystoreError(f"the key material of {key.key_id} is missing from the keystore")
        return material

    def mac(self, key: KeyRecord, algorithm: str, message: bytes) -> bytes:
        """HMAC under the material of an HMAC key."""
        return asymmetric.mac(self._secret(key), algorithm, message)

    def mac_matches(self, key: KeyRecord, algorithm: str, message: bytes, tag: bytes) -> bool:
        return asymmetric.mac_matches(self._secret(key), algorithm, message, tag)


def check_symmetric_algorithm(arn: str, algorithm: str) -> None:
    if algorithm != SYMMETRIC_DEFAULT:
        raise InvalidKeyUsageException(
            f"{arn} key usage is ENCRYPT_DECRYPT with {SYMMETRIC_DEFAULT}; "
            f"{algorithm} is not supported"
        )


def refuse_rsa_context(context: dict[str, str]) -> None:
    if context:
        raise ValidationException("an encryption context is not supported with RSA keys")
