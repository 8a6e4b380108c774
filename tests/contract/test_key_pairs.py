"""Contract: GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from envelope.errors import InvalidCiphertextException, InvalidKeyUsageException
from envelope.keys.base import KeyService

SPECS = {
    "RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096,
    "ECC_NIST_P256": ec.SECP256R1, "ECC_NIST_P384": ec.SECP384R1,
    "ECC_NIST_P521": ec.SECP521R1, "ECC_SECG_P256K1": ec.SECP256K1,
}  # fmt: skip
CONTEXT = {"purpose": "pair"}


def _der_public(private: object) -> bytes:
    assert isinstance(private, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey))
    return private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _check_spec(private: object, spec: str) -> None:
    expected = SPECS[spec]
    if isinstance(expected, int):
        assert isinstance(private, rsa.RSAPrivateKey) and private.key_size == expected
    else:
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        assert isinstance(private.curve, expected)


@pytest.mark.parametrize("spec", list(SPECS))
def test_data_key_pair(kms: KeyService, spec: str) -> None:
    key_id = kms.create_key().key_metadata.key_id
    pair = kms.generate_data_key_pair(
        key_id=key_id, key_pair_spec=spec, encryption_context=CONTEXT
    )
    assert pair.key_pair_spec == spec
    assert pair.key_id.endswith(key_id)
    private = serialization.load_der_private_key(pair.private_key_plaintext, password=None)
    _check_spec(private, spec)
    assert _der_public(private) == pair.public_key
    decrypted = kms.decrypt(
        ciphertext_blob=pair.private_key_ciphertext_blob, encryption_context=CONTEXT
    )
    assert decrypted.plaintext == pair.private_key_plaintext
    assert "private_key_plaintext" not in repr(pair)
    with pytest.raises(InvalidCiphertextException):
        kms.decrypt(ciphertext_blob=pair.private_key_ciphertext_blob)  # the context is bound


@pytest.mark.parametrize("spec", ["RSA_2048", "ECC_NIST_P256"])
def test_data_key_pair_without_plaintext(kms: KeyService, spec: str) -> None:
    key_id = kms.create_key().key_metadata.key_id
    pair = kms.generate_data_key_pair_without_plaintext(key_id=key_id, key_pair_spec=spec)
    assert pair.key_pair_spec == spec
    assert not hasattr(pair, "private_key_plaintext")
    private_der = kms.decrypt(ciphertext_blob=pair.private_key_ciphertext_blob).plaintext
    private = serialization.load_der_private_key(private_der, password=None)
    _check_spec(private, spec)
    assert _der_public(private) == pair.public_key
    # The pair works: what the public key encrypts, the private key opens.
    if isinstance(private, rsa.RSAPrivateKey):
        public = serialization.load_der_public_key(pair.public_key)
        assert isinstance(public, rsa.RSAPublicKey)
        sha256 = hashes.SHA256()
        oaep = padding.OAEP(mgf=padding.MGF1(sha256), algorithm=sha256, label=None)
        assert private.decrypt(public.encrypt(b"hi", oaep), oaep) == b"hi"


def test_data_key_pairs_need_a_symmetric_encryption_key(kms: KeyService) -> None:
    signing = kms.create_key(key_spec="ECC_NIST_P256", key_usage="SIGN_VERIFY").key_metadata
    hmac_key = kms.create_key(key_spec="HMAC_256", key_usage="GENERATE_VERIFY_MAC").key_metadata
    for key in (signing, hmac_key):
        with pytest.raises(InvalidKeyUsageException):
            kms.generate_data_key_pair(key_id=key.key_id, key_pair_spec="ECC_NIST_P256")
