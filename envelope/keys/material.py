"""Bring your own key material into any KeyService: wrap it as ImportKeyMaterial expects.

The client side of KMS's import procedure ("Importing key material", AWS KMS Developer Guide):
``wrap_key_material`` encrypts material under the public wrapping key of GetParametersForImport,
and ``import_key_material`` runs the whole exchange (parameters, wrapping, import) against
LocalKeyService, AWS KMS or any endpoint::

    key_id = kms.create_key(origin="EXTERNAL").key_metadata.key_id
    import_key_material(kms, key_id=key_id, material=bytes.fromhex("..."))  # 32 bytes

Material is raw bytes for symmetric (32 bytes) and HMAC keys, and a DER-encoded PKCS #8 private
key for RSA and ECC keys.
"""

from __future__ import annotations

import datetime as dt
import os

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from envelope.errors import ValidationException
from envelope.keys.base import ImportKeyMaterialResult, KeyService
from envelope.keys.specs import (
    KEY_MATERIAL_DOES_NOT_EXPIRE,
    KEY_MATERIAL_EXPIRES,
    WRAPPING_ALGORITHMS,
)

RSAES_OAEP_SHA_256 = "RSAES_OAEP_SHA_256"
RSA_AES_KEY_WRAP_SHA_256 = "RSA_AES_KEY_WRAP_SHA_256"


def _oaep(algorithm: str) -> padding.OAEP:
    digest: hashes.HashAlgorithm = (
        hashes.SHA1() if algorithm.endswith("SHA_1") else hashes.SHA256()  # noqa: S303 - KMS's
    )
    return padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)


def read_key_material(data: bytes) -> bytes:
    """Key material from a file: a PEM private key (PKCS #8, PKCS #1 or SEC 1, unencrypted)
    becomes the DER PKCS #8 that KMS imports; anything else is taken as the raw bytes.

    Raises:
        ValidationException: a PEM file that is not an unencrypted private key.
    """
    if not data.lstrip().startswith(b"-----BEGIN"):
        return data
    try:
        private = serialization.load_pem_private_key(data, password=None)
        return private.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    except (ValueError, TypeError, UnsupportedAlgorithm):
        pass
    raise ValidationException("the PEM file is not an unencrypted private key")


def wrap_key_material(public_key: bytes, wrapping_algorithm: str, material: bytes) -> bytes:
    """Encrypt key material for ImportKeyMaterial.

    Args:
        public_key: ``GetParametersForImportResult.public_key`` (DER SubjectPublicKeyInfo).
        wrapping_algorithm: the algorithm named in GetParametersForImport: ``RSAES_OAEP_SHA_1``,
            ``RSAES_OAEP_SHA_256`` (RSA-OAEP of the material itself), or
            ``RSA_AES_KEY_WRAP_SHA_1``/``_SHA_256`` (a fresh AES-256 key RSA-OAEP encrypted,
            then the material under it with AES Key Wrap with Padding, RFC 5649).

    Returns:
        The ``EncryptedKeyMaterial``.

    Raises:
        ValidationException: an unknown algorithm, a public key that is not RSA, or material
            too long for RSA-OAEP under this key (use an RSA_AES_KEY_WRAP algorithm).
    """
    if wrapping_algorithm not in WRAPPING_ALGORITHMS:
        known = ", ".join(WRAPPING_ALGORITHMS)
        raise ValidationException(f"wrapping algorithm {wrapping_algorithm!r} is not in {known}")
    try:
        wrapping_key = serialization.load_der_public_key(public_key)
    except ValueError:
        wrapping_key = None
    if not isinstance(wrapping_key, rsa.RSAPublicKey):
        raise ValidationException("the wrapping key is not a DER-encoded RSA public key")
    oaep = _oaep(wrapping_algorithm)
    if wrapping_algorithm.startswith("RSAES_OAEP_"):
        limit = wrapping_key.key_size // 8 - 2 * oaep.algorithm.digest_size - 2
        if len(material) > limit:
            raise ValidationException(
                f"the key material is {len(material)} bytes; {wrapping_algorithm} under an "
                f"RSA-{wrapping_key.key_size} key wraps at most {limit} "
                "(use RSA_AES_KEY_WRAP_SHA_256)"
            )
        return wrapping_key.encrypt(material, oaep)
    aes_key = os.urandom(32)
    return wrapping_key.encrypt(aes_key, oaep) + aes_key_wrap_with_padding(aes_key, material)


def import_key_material(
    service: KeyService,
    *,
    key_id: str,
    material: bytes,
    wrapping_algorithm: str | None = None,
    wrapping_key_spec: str = "RSA_4096",
    valid_to: dt.datetime | None = None,
) -> ImportKeyMaterialResult:
    """GetParametersForImport, wrap, ImportKeyMaterial: import material into an EXTERNAL key.

    Args:
        service: any KeyService (LocalKeyService, AwsKmsKeyService).
        key_id: the key id or ARN of a key created with ``origin="EXTERNAL"``.
        material: the key material (see the module docstring for its form).
        wrapping_algorithm: default ``RSAES_OAEP_SHA_256`` for material that fits it (symmetric
            and HMAC keys), else ``RSA_AES_KEY_WRAP_SHA_256`` (RSA and ECC private keys).
        wrapping_key_spec: the RSA wrapping key's size.
        valid_to: when the material expires (at most 365 days ahead); None: it never does.

    Raises:
        KeyServiceError: the key service's refusal (IncorrectKeyMaterialException, ...).
    """
    if wrapping_algorithm is None:
        fits = len(material) <= 128  # well within RSA-OAEP-SHA-256 under any wrapping key
        wrapping_algorithm = RSAES_OAEP_SHA_256 if fits else RSA_AES_KEY_WRAP_SHA_256
    parameters = service.get_parameters_for_import(
        key_id=key_id, wrapping_algorithm=wrapping_algorithm, wrapping_key_spec=wrapping_key_spec
    )
    encrypted = wrap_key_material(parameters.public_key, wrapping_algorithm, material)
    return service.import_key_material(
        key_id=key_id,
        import_token=parameters.import_token,
        encrypted_key_material=encrypted,
        valid_to=valid_to,
        expiration_model=KEY_MATERIAL_EXPIRES if valid_to else KEY_MATERIAL_DOES_NOT_EXPIRE,
    )
