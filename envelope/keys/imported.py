"""Imported key material: import tokens, unwrapping with the RSA wrapping key, material checks.

The wrapping algorithms are those of GetParametersForImport (AWS KMS API reference):

* ``RSAES_OAEP_SHA_1`` / ``RSAES_OAEP_SHA_256``: the material is RSA-OAEP encrypted under the
  wrapping key (RFC 8017 section 7.1; SHA-1 or SHA-256 for the hash and MGF1, empty label).
* ``RSA_AES_KEY_WRAP_SHA_1`` / ``_SHA_256`` (PKCS #11 ``CKM_RSA_AES_KEY_WRAP``): an ephemeral AES
  key RSA-OAEP encrypted under the wrapping key, followed by the material wrapped under that AES
  key with AES Key Wrap with Padding (RFC 5649). The RSA part is exactly as long as the modulus.

An import token names its key and when it expires; it is looked up by its SHA-256 in the
keystore, where its wrapping key is kept (wrapped under the root key) until it is used or expires::

    offset  size  field
    0       1     layout (0x01)
    1       16    key id (the key's UUID, raw bytes)
    17      8     valid until, POSIX seconds, big-endian
    25      32    random
"""

from __future__ import annotations

import os
import struct
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap_with_padding

from envelope.errors import (
    IncorrectKeyMaterialException,
    InvalidCiphertextException,
    InvalidImportTokenException,
)
from envelope.keys import asymmetric
from envelope.keys.specs import HMAC_IMPORT_BYTES, SYMMETRIC_DEFAULT

PARAMETERS_LIFETIME = 24 * 3600.0
"""KMS: a public key and import token are valid for 24 hours."""
MAX_VALID_TO_DAYS = 365
"""KMS: ValidTo is at most 365 days after the request."""

_TOKEN = struct.Struct(">B16sQ32s")
_TOKEN_LAYOUT = 1
_MATERIAL_ID_LABEL = b"envelope-kms/key-material-id/v1"
_AES_KEY_SIZES = (16, 24, 32)


def new_token(key_id: str, valid_to: float) -> tuple[bytes, str]:
    """A fresh import token for a key, and the id it is stored under (its SHA-256, hex)."""
    token = _TOKEN.pack(_TOKEN_LAYOUT, uuid.UUID(key_id).bytes, int(valid_to), os.urandom(32))
    return token, token_id(token)


def token_id(token: bytes) -> str:
    import hashlib  # here: OpenSSL's hashlib costs ~5 ms of every CLI start-up

    return hashlib.sha256(token).hexdigest()


def parse_token(token: bytes) -> tuple[str, float]:
    """The key id and expiry a token names (not yet proof that it is ours: see ``token_id``).

    Raises:
        InvalidImportTokenException: it is not a token of this service.
    """
    if len(token) != _TOKEN.size or token[0] != _TOKEN_LAYOUT:
        raise InvalidImportTokenException("the import token is not valid for this key service")
    _layout, raw_id, valid_to, _random = _TOKEN.unpack(token)
    return str(uuid.UUID(bytes=raw_id)), float(valid_to)


def _oaep(algorithm: str) -> padding.OAEP:
    digest: hashes.HashAlgorithm = hashes.SHA1() if algorithm.endswith("SHA_1") else hashes.SHA256()  # noqa: S303 - KMS's RSAES_OAEP_SHA_1
    return padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)


def unwrap(wrapping_key: rsa.RSAPrivateKey, algorithm: str, encrypted: bytes) -> bytes:
    """Decrypt encrypted key material with the wrapping key of its import parameters.

    Raises:
        InvalidCiphertextException: it was not wrapped with this wrapping key and algorithm.
    """
    failure = InvalidCiphertextException(
        "the encrypted key material does not decrypt with the import parameters "
        f"(wrapping algorithm {algorithm})"
    )
    try:
        if algorithm.startswith("RSAES_OAEP_"):
            return wrapping_key.decrypt(encrypted, _oaep(algorithm))
        size = wrapping_key.key_size // 8
        if len(encrypted) <= size:
            raise failure
        kek = wrapping_key.decrypt(encrypted[:size], _oaep(algorithm))
        if len(kek) not in _AES_KEY_SIZES:
            raise failure
        return aes_key_unwrap_with_padding(kek, encrypted[size:])
    except (ValueError, InvalidUnwrap):
        pass
    raise failure  # outside the except block: no chained cause that could describe the input


def check_material(key_spec: str, material: bytes) -> bytes:
    """Imported material as KMS requires it for a key spec, in the form it is kept.

    Symmetric encryption keys take 256 bits; HMAC keys a length between the hash size and the
    hash's block size; RSA and ECC keys a DER-encoded PKCS #8 private key of the key spec.

    Raises:
        IncorrectKeyMaterialException: the material does not fit the key spec.
    """
    if key_spec == SYMMETRIC_DEFAULT:
        if len(material) != 32:
            raise IncorrectKeyMaterialException(
                f"the key material is {len(material)} bytes; {SYMMETRIC_DEFAULT} keys take 32"
            )
        return material
    if key_spec in HMAC_IMPORT_BYTES:
        low, high = HMAC_IMPORT_BYTES[key_spec]
        if not low <= len(material) <= high:
            raise IncorrectKeyMaterialException(
                f"the key material is {len(material)} bytes; {key_spec} keys take {low}-{high}"
            )
        return material
    try:
        return asymmetric.canonical_private(material, key_spec)
    except ValueError as e:
        message = str(e)
    raise IncorrectKeyMaterialException(message)


def material_id(key_id: str, material: bytes) -> str:
    """An identifier of imported material bound to its key (SHA-256, 64 hex digits).

    Like KMS's key material id it names the material without revealing it: a hash of 256 bits of
    key material tells no more than any ciphertext made with it.
    """
    import hashlib

    digest = hashlib.sha256(_MATERIAL_ID_LABEL + uuid.UUID(key_id).bytes + material)
    return digest.hexdigest()
