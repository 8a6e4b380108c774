"""Contract: SIGN_VERIFY keys (RSA, ECC), Sign and Verify, checked by outside verifiers.

Every signature is verified three ways: by the key service's own Verify, by ``cryptography`` on
the exported public key, and by ``openssl dgst -verify`` on that public key (converted from DER
by ``openssl pkey``), with KMS's parameters: RSASSA-PSS with a salt as long as the digest,
PKCS #1 v1.5, and DER-encoded ECDSA with the hash KMS pairs with each curve.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from envelope.errors import (
    InvalidKeyUsageException,
    KMSInvalidSignatureException,
    UnsupportedOperationException,
    ValidationException,
)
from envelope.keys.base import KeyService

RSA = ["RSA_2048", "RSA_3072", "RSA_4096"]
CURVES = {
    "ECC_NIST_P256": (ec.SECP256R1, "ECDSA_SHA_256"),
    "ECC_NIST_P384": (ec.SECP384R1, "ECDSA_SHA_384"),
    "ECC_NIST_P521": (ec.SECP521R1, "ECDSA_SHA_512"),
    "ECC_SECG_P256K1": (ec.SECP256K1, "ECDSA_SHA_256"),
}
PSS = ["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512"]
PKCS1 = ["RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"]
MESSAGE = b"the quick brown fox signs the lazy dog\x00\xff"


def _hash(algorithm: str) -> hashes.HashAlgorithm:
    return {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}[algorithm[-3:]]()


def _signing_key(kms: KeyService, spec: str) -> str:
    return kms.create_key(key_spec=spec, key_usage="SIGN_VERIFY").key_metadata.key_id


def _verify_with_cryptography(
    public_der: bytes, algorithm: str, message: bytes, sig: bytes
) -> None:
    public = serialization.load_der_public_key(public_der)
    digest = _hash(algorithm)
    if isinstance(public, ec.EllipticCurvePublicKey):
        public.verify(sig, message, ec.ECDSA(digest))
        return
    assert isinstance(public, rsa.RSAPublicKey)
    if algorithm.startswith("RSASSA_PSS"):
        # KMS: the salt is as long as the digest; a verifier that insists on it.
        scheme: padding.AsymmetricPadding = padding.PSS(
            mgf=padding.MGF1(digest), salt_length=digest.digest_size
        )
    else:
        scheme = padding.PKCS1v15()
    public.verify(sig, message, scheme, digest)


def _verify_with_openssl(
    tmp: Path, public_der: bytes, algorithm: str, message: bytes, sig: bytes
) -> subprocess.CompletedProcess[bytes]:
    (tmp / "public.der").write_bytes(public_der)
    (tmp / "message").write_bytes(message)
    (tmp / "signature").write_bytes(sig)
    subprocess.run(
        ["openssl", "pkey", "-pubin", "-inform", "DER", "-in", str(tmp / "public.der"),
         "-out", str(tmp / "public.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    options = []
    if algorithm.startswith("RSASSA_PSS"):
        options = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"]
    return subprocess.run(
        ["openssl", "dgst", f"-sha{algorithm[-3:]}", "-verify", str(tmp / "public.pem"),
         *options, "-signature", str(tmp / "signature"), str(tmp / "message")],
        capture_output=True,
    )  # fmt: skip


def _check_outside(
    tmp: Path, public_der: bytes, algorithm: str, message: bytes, sig: bytes
) -> None:
    _verify_with_cryptography(public_der, algorithm, message, sig)
    result = _verify_with_openssl(tmp, public_der, algorithm, message, sig)
    assert result.returncode == 0 and b"Verified OK" in result.stdout, result
    # Control: the same verifiers refuse the signature over another message.
    with pytest.raises(InvalidSignature):
        _verify_with_cryptography(public_der, algorithm, message + b"!", sig)
    refused = _verify_with_openssl(tmp, public_der, algorithm, message + b"!", sig)
    assert refused.returncode != 0 and b"Verification failure" in refused.stdout


def _sign_and_check(kms: KeyService, tmp: Path, spec: str, algorithms: list[str]) -> None:
    key_id = _signing_key(kms, spec)
    public_der = kms.get_public_key(key_id=key_id).public_key
    for algorithm in algorithms:
        result = kms.sign(key_id=key_id, message=MESSAGE, signing_algorithm=algorithm)
        assert result.signing_algorithm == algorithm
        assert result.key_id.endswith(key_id)
        verified = kms.verify(
            key_id=key_id, message=MESSAGE, signature=result.signature, signing_algorithm=algorithm
        )
        assert verified.signature_valid is True
        _check_outside(tmp, public_der, algorithm, MESSAGE, result.signature)


@pytest.mark.parametrize("spec", sorted(CURVES))
def test_ecdsa_signatures_verify_outside(kms: KeyService, tmp_path: Path, spec: str) -> None:
    _sign_and_check(kms, tmp_path, spec, [CURVES[spec][1]])


@pytest.mark.parametrize("spec", RSA)
def test_pkcs1_signatures_verify_outside(kms: KeyService, tmp_path: Path, spec: str) -> None:
    _sign_and_check(kms, tmp_path, spec, PKCS1)


@pytest.mark.parametrize("spec", RSA)
def test_pss_signatures_verify_outside(kms: KeyService, tmp_path: Path, spec: str) -> None:
    _sign_and_check(kms, tmp_path, spec, PSS)


@pytest.mark.parametrize("spec", [*RSA, *sorted(CURVES)])
def test_digest_is_signed_as_given(kms: KeyService, tmp_path: Path, spec: str) -> None:
    """A DIGEST is the message's hash, signed without hashing again: the signature verifies as
    one over the message itself, outside and in the service (RAW or DIGEST alike)."""
    key_id = _signing_key(kms, spec)
    public_der = kms.get_public_key(key_id=key_id).public_key
    algorithms = PSS + PKCS1 if spec in RSA else [CURVES[spec][1]]
    for algorithm in algorithms:
        digest = hashlib.new(f"sha{algorithm[-3:]}", MESSAGE).digest()
        sig = kms.sign(
            key_id=key_id, message=digest, message_type="DIGEST", signing_algorithm=algorithm
        ).signature
        _check_outside(tmp_path, public_der, algorithm, MESSAGE, sig)
        for message, kind in ((MESSAGE, "RAW"), (digest, "DIGEST")):
            assert kms.verify(
                key_id=key_id, message=message, message_type=kind, signature=sig,
                signing_algorithm=algorithm,
            ).signature_valid  # fmt: skip


@pytest.mark.parametrize("spec", sorted(CURVES))
def test_ecdsa_signatures_are_der(kms: KeyService, spec: str) -> None:
    key_id = _signing_key(kms, spec)
    curve, algorithm = CURVES[spec]
    sig = kms.sign(key_id=key_id, message=MESSAGE, signing_algorithm=algorithm).signature
    r, s = utils.decode_dss_signature(sig)
    assert utils.encode_dss_signature(r, s) == sig  # strict DER, nothing trailing
    assert r > 0 and s > 0
    assert sig[0] == 0x30 and len(sig) <= 2 * (curve.key_size // 8 + 3) + 3


@pytest.mark.parametrize("spec", [*RSA, *sorted(CURVES)])
def test_signing_key_metadata_and_public_key(kms: KeyService, spec: str) -> None:
    meta = kms.create_key(key_spec=spec, key_usage="SIGN_VERIFY").key_metadata
    expected = tuple(PSS + PKCS1) if spec in RSA else (CURVES[spec][1],)
    assert meta.key_usage == "SIGN_VERIFY"
    assert meta.key_spec == spec
    assert sorted(meta.signing_algorithms) == sorted(expected)
    assert not meta.encryption_algorithms
    result = kms.get_public_key(key_id=meta.key_id)
    assert result.key_usage == "SIGN_VERIFY"
    assert result.key_spec == spec
    assert sorted(result.signing_algorithms) == sorted(expected)
    public = serialization.load_der_public_key(result.public_key)
    if spec in RSA:
        assert isinstance(public, rsa.RSAPublicKey) and public.key_size == int(spec[4:])
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        assert isinstance(public.curve, CURVES[spec][0])


def test_verify_refuses_a_bad_signature_with_the_kms_error(kms: KeyService) -> None:
    key_id = _signing_key(kms, "ECC_NIST_P256")
    sig = kms.sign(key_id=key_id, message=MESSAGE, signing_algorithm="ECDSA_SHA_256").signature
    with pytest.raises(KMSInvalidSignatureException):
        kms.verify(key_id=key_id, message=MESSAGE + b"!", signature=sig,
                   signing_algorithm="ECDSA_SHA_256")  # fmt: skip
    with pytest.raises(KMSInvalidSignatureException):
        kms.verify(key_id=key_id, message=MESSAGE, signature=sig[:-1] + bytes([sig[-1] ^ 1]),
                   signing_algorithm="ECDSA_SHA_256")  # fmt: skip


def test_message_limits(kms: KeyService) -> None:
    key_id = _signing_key(kms, "ECC_NIST_P256")
    sig = kms.sign(key_id=key_id, message=b"m" * 4096, signing_algorithm="ECDSA_SHA_256")
    assert kms.verify(key_id=key_id, message=b"m" * 4096, signature=sig.signature,
                      signing_algorithm="ECDSA_SHA_256").signature_valid  # fmt: skip
    with pytest.raises(ValidationException):
        kms.sign(key_id=key_id, message=b"m" * 4097, signing_algorithm="ECDSA_SHA_256")
    with pytest.raises(ValidationException):
        kms.sign(key_id=key_id, message=b"", signing_algorithm="ECDSA_SHA_256")


@pytest.mark.parametrize("length", [31, 33, 64])
def test_digest_length_is_checked(kms: KeyService, length: int) -> None:
    key_id = _signing_key(kms, "ECC_NIST_P256")
    with pytest.raises(ValidationException):
        kms.sign(key_id=key_id, message=b"d" * length, message_type="DIGEST",
                 signing_algorithm="ECDSA_SHA_256")  # fmt: skip


def test_signing_algorithm_must_fit_the_key(kms: KeyService) -> None:
    p256 = _signing_key(kms, "ECC_NIST_P256")
    for algorithm in ("ECDSA_SHA_384", "RSASSA_PSS_SHA_256"):
        with pytest.raises(InvalidKeyUsageException):
            kms.sign(key_id=p256, message=MESSAGE, signing_algorithm=algorithm)


def test_key_usage_is_enforced(kms: KeyService) -> None:
    encrypting = kms.create_key(key_spec="RSA_2048").key_metadata.key_id
    signing = _signing_key(kms, "RSA_2048")
    with pytest.raises(InvalidKeyUsageException):
        kms.sign(key_id=encrypting, message=MESSAGE, signing_algorithm="RSASSA_PSS_SHA_256")
    with pytest.raises(InvalidKeyUsageException):
        kms.encrypt(key_id=signing, plaintext=b"x", encryption_algorithm="RSAES_OAEP_SHA_256")
    symmetric = kms.create_key().key_metadata.key_id
    with pytest.raises(InvalidKeyUsageException):
        kms.sign(key_id=symmetric, message=MESSAGE, signing_algorithm="RSASSA_PSS_SHA_256")


@pytest.mark.parametrize(
    ("spec", "usage"),
    [("ECC_NIST_P256", "ENCRYPT_DECRYPT"), ("HMAC_256", "SIGN_VERIFY"),
     ("SYMMETRIC_DEFAULT", "SIGN_VERIFY"), ("RSA_2048", "GENERATE_VERIFY_MAC")],
)  # fmt: skip
def test_key_usage_must_fit_the_spec(kms: KeyService, spec: str, usage: str) -> None:
    with pytest.raises(ValidationException):
        kms.create_key(key_spec=spec, key_usage=usage)


def test_signing_keys_do_not_rotate(kms: KeyService) -> None:
    key_id = _signing_key(kms, "ECC_NIST_P256")
    with pytest.raises(UnsupportedOperationException):
        kms.enable_key_rotation(key_id=key_id)
    with pytest.raises(UnsupportedOperationException):
        kms.rotate_key_on_demand(key_id=key_id)
