"""Asymmetric and HMAC key material per KMS key spec, and KMS's signing and MAC algorithms.

Everything here is built on ``cryptography``. The algorithms follow the AWS KMS Developer Guide
("Key spec reference"):

* ``RSASSA_PSS_SHA_*``: RFC 8017 section 8.1, the named hash for the message digest and for MGF1,
  with a salt as long as the digest (a 256-bit salt for SHA-256).
* ``RSASSA_PKCS1_V1_5_SHA_*``: RFC 8017 section 8.2.
* ``ECDSA_SHA_*``: ECDSA with the named hash; the signature is DER-encoded (RFC 3279,
  ``Ecdsa-Sig-Value``), as KMS returns it and as OpenSSL reads it.
* Message type ``DIGEST``: the message *is* the hash value and is signed as given, never hashed
  again (``Prehashed``); its length must be the hash's.
* ``HMAC_SHA_*``: RFC 2104 with the named hash.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from envelope.keys.specs import DIGEST, ECC_SPECS, RSA_SPECS

PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey: TypeAlias = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

RSA_BITS = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
CURVES: dict[str, type[ec.EllipticCurve]] = {
    "ECC_NIST_P256": ec.SECP256R1,
    "ECC_NIST_P384": ec.SECP384R1,
    "ECC_NIST_P521": ec.SECP521R1,
    "ECC_SECG_P256K1": ec.SECP256K1,
}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "SHA_224": hashes.SHA224,
    "SHA_256": hashes.SHA256,
    "SHA_384": hashes.SHA384,
    "SHA_512": hashes.SHA512,
}


def hash_of(algorithm: str) -> hashes.HashAlgorithm:
    """The hash an algorithm name ends with: ``ECDSA_SHA_384`` -> SHA-384."""
    return _HASHES[algorithm[-7:]]()


def digest_size(algorithm: str) -> int:
    """The length a ``DIGEST`` message must have for a signing algorithm."""
    return hash_of(algorithm).digest_size


def digest_of(algorithm: str, read: Callable[[int], bytes], *, chunk: int = 1 << 20) -> bytes:
    """The hash a signing algorithm uses, of everything ``read`` returns (any size): sign it with
    ``message_type="DIGEST"`` to sign a message larger than Sign's 4096 bytes."""
    h = hashes.Hash(hash_of(algorithm))
    while block := read(chunk):
        h.update(block)
    return h.finalize()


# --- key material ---------------------------------------------------------------------------------
def generate(key_spec: str) -> PrivateKey:
    """A new private key of an RSA or ECC key spec."""
    if key_spec in RSA_BITS:
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS[key_spec])
    return ec.generate_private_key(CURVES[key_spec]())


def private_der(private: PrivateKey) -> bytes:
    """DER-encoded PKCS #8 PrivateKeyInfo, unencrypted (how material is kept, wrapped)."""
    from cryptography.hazmat.primitives import serialization  # here: it loads the SSH module

    return private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_der(public: PublicKey) -> bytes:
    """DER-encoded X.509 SubjectPublicKeyInfo, as KMS's GetPublicKey returns it."""
    from cryptography.hazmat.primitives import serialization

    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def spec_of(private: object) -> str | None:
    """The KMS key spec of a private key, or None if KMS has none for it."""
    if isinstance(private, rsa.RSAPrivateKey):
        for spec, bits in RSA_BITS.items():
            if private.key_size == bits:
                return spec
        return None
    if isinstance(private, ec.EllipticCurvePrivateKey):
        for spec, curve in CURVES.items():
            if isinstance(private.curve, curve):
                return spec
    return None


def load_private(material: bytes) -> PrivateKey:
    """Parse stored PKCS #8 DER material.

    Raises:
        ValueError: it is not an RSA or EC private key.
    """
    from cryptography.hazmat.primitives import serialization

    private = serialization.load_der_private_key(material, password=None)
    if not isinstance(private, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise ValueError("not an RSA or EC private key")
    return private


def canonical_private(material: bytes, key_spec: str) -> bytes:
    """Imported asymmetric material, checked against the key spec and re-encoded canonically.

    KMS takes an RSA or ECC private key as DER-encoded PKCS #8; the same key in another valid
    encoding is the same material, so it is kept (and compared) as this module writes it.

    Raises:
        ValueError: not a PKCS #8 private key, or not one of ``key_spec``.
    """
    try:
        private = load_private(material)
    except (ValueError, TypeError):
        raise ValueError("the key material is not a DER-encoded PKCS #8 private key") from None
    found = spec_of(private)
    if found != key_spec:
        raise ValueError(f"the key material is a {found or 'different'} key, not {key_spec}")
    return private_der(private)


def is_asymmetric(key_spec: str) -> bool:
    return key_spec in RSA_SPECS or key_spec in ECC_SPECS


# --- signatures -----------------------------------------------------------------------------------
def _scheme(
    algorithm: str, message_type: str
) -> tuple[hashes.HashAlgorithm | utils.Prehashed, hashes.HashAlgorithm]:
    digest = hash_of(algorithm)
    return (utils.Prehashed(digest) if message_type == DIGEST else digest), digest


def _rsa_padding(algorithm: str, digest: hashes.HashAlgorithm) -> padding.AsymmetricPadding:
    if algorithm.startswith("RSASSA_PSS_"):
        return padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
    return padding.PKCS1v15()


def sign(private: PrivateKey, algorithm: str, message: bytes, message_type: str) -> bytes:
    """Sign ``message`` (or, for ``DIGEST``, the given hash value) with a KMS algorithm."""
    chosen, digest = _scheme(algorithm, message_type)
    if isinstance(private, rsa.RSAPrivateKey):
        return private.sign(message, _rsa_padding(algorithm, digest), chosen)
    return private.sign(message, ec.ECDSA(chosen))


def verify(
    public: PublicKey, algorithm: str, message: bytes, signature: bytes, message_type: str
) -> bool:
    """True if ``signature`` is valid for ``message`` under a KMS algorithm, else False."""
    chosen, digest = _scheme(algorithm, message_type)
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, message, _rsa_padding(algorithm, digest), chosen)
        else:
            public.verify(signature, message, ec.ECDSA(chosen))
    except (InvalidSignature, ValueError):
        return False
    return True


# --- MACs -----------------------------------------------------------------------------------------
def mac(material: bytes, algorithm: str, message: bytes) -> bytes:
    """HMAC (RFC 2104) of ``message`` under ``material`` with the algorithm's hash."""
    h = hmac.HMAC(material, hash_of(algorithm))
    h.update(message)
    return h.finalize()


def mac_matches(material: bytes, algorithm: str, message: bytes, tag: bytes) -> bool:
    """Constant-time check of an HMAC tag."""
    h = hmac.HMAC(material, hash_of(algorithm))
    h.update(message)
    try:
        h.verify(tag)
    except InvalidSignature:
        return False
    return True
