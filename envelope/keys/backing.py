"""The cryptography LocalKeyService does with backing keys, which never leave this module.

Symmetric keys seal with AES-256-GCM into the blob layouts of ``blob.py``: each request under its
own key, derived with HKDF-SHA256 from the backing key and a random 256-bit nonce kept in the blob
(as AWS KMS does), so no backing key ever meets the random-nonce bound of NIST SP 800-38D (2^32
messages under one key). RSA keys encrypt with RSA-OAEP. Unwrapped backing keys are kept in
memory per version (they never change once written) and forgotten when their key is destroyed
or the service is closed.
"""

from __future__ import annotations

import os
import threading

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from envelope.errors import (
    InvalidCiphertextException,
    InvalidKeyUsageException,
    KeystoreError,
    ValidationException,
)
from envelope.keys import blob as _blob
from envelope.keys.base import RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SYMMETRIC_DEFAULT
from envelope.keys.store import KeyRecord, Keystore
from envelope.keys.validate import RSA_ALGORITHMS, RSA_SIZES, invalid, rsa_plaintext_limit


def new_material(key_spec: str) -> bytes:
    """Fresh backing-key material: 32 random bytes, or an RSA private key as PKCS#8 DER."""
    if key_spec not in RSA_SIZES:
        return os.urandom(32)
    private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_SIZES[key_spec])
    return private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


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
        self._rsa: dict[str, rsa.RSAPrivateKey] = {}

    def __repr__(self) -> str:
        return f"BackingKeys({self._store!r})"

    def forget(self, key_ids: set[str] | None = None) -> None:
        """Drop unwrapped keys from memory: those of ``key_ids``, or all of them."""
        with self._lock:
            if key_ids is None:
                self._aes.clear()
                self._rsa.clear()
                return
            self._aes = {k: v for k, v in self._aes.items() if k[0] not in key_ids}
            for key_id in key_ids:
                self._rsa.pop(key_id, None)

    def _material(self, key_id: str, version: int) -> bytes | None:
        try:
            return self._store.reader.material(key_id, version)
        except KeystoreError:
            # Another process may have rekeyed the store since it was opened: take up the new
            # root key and try once more (a real defect fails again).
            self._store.refresh()
            return self._store.reader.material(key_id, version)

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

    def _rsa_key(self, key_id: str) -> rsa.RSAPrivateKey:
        cached = self._rsa.get(key_id)
        if cached is not None:
            return cached
        material = self._material(key_id, 1)
        if material is None:
            raise KeystoreError(f"the private key of {key_id} is missing from the keystore")
        private = serialization.load_der_private_key(material, password=None)
        if not isinstance(private, rsa.RSAPrivateKey):
            raise KeystoreError(f"the private key of {key_id} is damaged in the keystore")
        with self._lock:
            self._rsa[key_id] = private
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
        return (
            self._rsa_key(key.key_id)
            .public_key()
            .public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )


def check_symmetric_algorithm(arn: str, algorithm: str) -> None:
    if algorithm != SYMMETRIC_DEFAULT:
        raise InvalidKeyUsageException(
            f"{arn} key usage is ENCRYPT_DECRYPT with {SYMMETRIC_DEFAULT}; "
            f"{algorithm} is not supported"
        )


def refuse_rsa_context(context: dict[str, str]) -> None:
    if context:
        raise ValidationException("an encryption context is not supported with RSA keys")
