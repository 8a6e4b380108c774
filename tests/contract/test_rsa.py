"""Contract: RSA ENCRYPT_DECRYPT keys, RSAES-OAEP limits and GetPublicKey."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from envelope.errors import (
    InvalidCiphertextException,
    InvalidKeyUsageException,
    UnsupportedOperationException,
    ValidationException,
)
from envelope.keys.base import KeyService

# RSAES-OAEP plaintext limits from the AWS KMS developer guide (key spec reference).
LIMITS = {
    "RSA_2048": {"RSAES_OAEP_SHA_1": 214, "RSAES_OAEP_SHA_256": 190},
    "RSA_3072": {"RSAES_OAEP_SHA_1": 342, "RSAES_OAEP_SHA_256": 318},
    "RSA_4096": {"RSAES_OAEP_SHA_1": 470, "RSAES_OAEP_SHA_256": 446},
}


@pytest.mark.parametrize("spec", sorted(LIMITS))
def test_oaep_limits_per_size_and_hash(kms: KeyService, spec: str) -> None:
    meta = kms.create_key(key_spec=spec).key_metadata
    assert meta.key_spec == spec
    assert set(meta.encryption_algorithms) == {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}
    for algorithm, limit in LIMITS[spec].items():
        plaintext = b"m" * limit
        blob = kms.encrypt(
            key_id=meta.key_id, plaintext=plaintext, encryption_algorithm=algorithm
        ).ciphertext_blob
        assert len(blob) == int(spec[4:]) // 8  # the raw OAEP output
        result = kms.decrypt(
            ciphertext_blob=blob, key_id=meta.key_id, encryption_algorithm=algorithm
        )
        assert result.plaintext == plaintext
        assert result.encryption_algorithm == algorithm
        with pytest.raises(ValidationException):
            kms.encrypt(
                key_id=meta.key_id, plaintext=plaintext + b"m", encryption_algorithm=algorithm
            )


def test_public_key_encrypts_for_kms(kms: KeyService) -> None:
    key_id = kms.create_key(key_spec="RSA_2048").key_metadata.key_id
    result = kms.get_public_key(key_id=key_id)
    assert result.key_spec == "RSA_2048"
    assert result.key_usage == "ENCRYPT_DECRYPT"
    public = serialization.load_der_public_key(result.public_key)
    assert isinstance(public, rsa.RSAPublicKey)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    blob = public.encrypt(b"offline", oaep)
    plain = kms.decrypt(
        ciphertext_blob=blob, key_id=key_id, encryption_algorithm="RSAES_OAEP_SHA_256"
    )
    assert plain.plaintext == b"offline"


def test_algorithm_must_match_key_type(kms: KeyService) -> None:
    rsa_key = kms.create_key(key_spec="RSA_2048").key_metadata.key_id
    sym_key = kms.create_key().key_metadata.key_id
    with pytest.raises(InvalidKeyUsageException):
        kms.encrypt(key_id=rsa_key, plaintext=b"x")
    with pytest.raises(InvalidKeyUsageException):
        kms.encrypt(key_id=sym_key, plaintext=b"x", encryption_algorithm="RSAES_OAEP_SHA_256")
    with pytest.raises(InvalidKeyUsageException):
        kms.generate_data_key(key_id=rsa_key, key_spec="AES_256")


def test_wrong_hash_fails(kms: KeyService) -> None:
    key_id = kms.create_key(key_spec="RSA_2048").key_metadata.key_id
    blob = kms.encrypt(
        key_id=key_id, plaintext=b"x", encryption_algorithm="RSAES_OAEP_SHA_1"
    ).ciphertext_blob
    with pytest.raises(InvalidCiphertextException):
        kms.decrypt(ciphertext_blob=blob, key_id=key_id, encryption_algorithm="RSAES_OAEP_SHA_256")


def test_symmetric_key_has_no_public_key(kms: KeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    with pytest.raises(UnsupportedOperationException):
        kms.get_public_key(key_id=key_id)
