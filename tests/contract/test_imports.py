"""Contract: keys with imported material (Origin EXTERNAL).

Material is wrapped three independent ways: by ``envelope.keys.material`` (the library's client
side), by hand with ``cryptography`` primitives, and by the ``openssl`` commands the AWS KMS
Developer Guide shows. Imported HMAC and signing keys are checked against ``cryptography`` on the
same material: the only way to see inside a key whose material never leaves the service.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from envelope.errors import (
    IncorrectKeyMaterialException,
    InvalidCiphertextException,
    InvalidImportTokenException,
    KMSInvalidStateException,
    UnsupportedOperationException,
    ValidationException,
)
from envelope.keys.base import KeyService
from envelope.keys.material import import_key_material as _import_key_material
from envelope.keys.material import wrap_key_material

NEVER = "KEY_MATERIAL_DOES_NOT_EXPIRE"
MATERIAL = bytes(range(32))
WRAPPINGS = [
    ("RSAES_OAEP_SHA_1", "RSA_2048"),
    ("RSAES_OAEP_SHA_256", "RSA_3072"),
    ("RSA_AES_KEY_WRAP_SHA_1", "RSA_4096"),
    ("RSA_AES_KEY_WRAP_SHA_256", "RSA_2048"),
]


def import_key_material(kms: KeyService, **options: object) -> None:
    """The library's import, with the quickest wrapping key to generate."""
    _import_key_material(kms, wrapping_key_spec="RSA_2048", **options)  # type: ignore[arg-type]


def _external(kms: KeyService, **options: str) -> str:
    return kms.create_key(origin="EXTERNAL", **options).key_metadata.key_id


def _der(private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _by_hand(public_der: bytes, algorithm: str, material: bytes) -> bytes:
    """The wrapping, written out with cryptography's primitives (independent of the library)."""
    public = serialization.load_der_public_key(public_der)
    assert isinstance(public, rsa.RSAPublicKey)
    digest = hashes.SHA1() if algorithm.endswith("SHA_1") else hashes.SHA256()
    oaep = padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)
    if algorithm.startswith("RSAES_OAEP"):
        return public.encrypt(material, oaep)
    aes = os.urandom(32)
    return public.encrypt(aes, oaep) + aes_key_wrap_with_padding(aes, material)


def test_external_key_waits_for_material(kms: KeyService) -> None:
    meta = kms.create_key(origin="EXTERNAL").key_metadata
    assert meta.origin == "EXTERNAL"
    assert meta.key_state == "PendingImport"
    assert meta.enabled is False
    with pytest.raises(KMSInvalidStateException):
        kms.encrypt(key_id=meta.key_id, plaintext=b"x")
    with pytest.raises(KMSInvalidStateException):
        kms.enable_key(key_id=meta.key_id)


@pytest.mark.parametrize(("algorithm", "wrapping_spec"), WRAPPINGS)
def test_import_symmetric_material(kms: KeyService, algorithm: str, wrapping_spec: str) -> None:
    key_id = _external(kms)
    before = dt.datetime.now(dt.timezone.utc)
    params = kms.get_parameters_for_import(
        key_id=key_id, wrapping_algorithm=algorithm, wrapping_key_spec=wrapping_spec
    )
    assert params.key_id.endswith(key_id)
    public = serialization.load_der_public_key(params.public_key)
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == int(wrapping_spec[4:])
    lifetime = params.parameters_valid_to - before
    assert dt.timedelta(hours=23) < lifetime <= dt.timedelta(hours=24, minutes=1)
    result = kms.import_key_material(
        key_id=key_id,
        import_token=params.import_token,
        encrypted_key_material=_by_hand(params.public_key, algorithm, MATERIAL),
        expiration_model=NEVER,
    )
    assert result.key_id.endswith(key_id)
    meta = kms.describe_key(key_id=key_id).key_metadata
    assert (meta.key_state, meta.expiration_model, meta.valid_to) == ("Enabled", NEVER, None)
    blob = kms.encrypt(key_id=key_id, plaintext=b"imported").ciphertext_blob
    assert kms.decrypt(ciphertext_blob=blob).plaintext == b"imported"


def test_import_wrapped_by_openssl(kms: KeyService, tmp_path: Path) -> None:
    """The RSA_AES_KEY_WRAP_SHA_256 steps of the AWS KMS Developer Guide, with openssl."""
    key_id = _external(kms)
    params = kms.get_parameters_for_import(
        key_id=key_id, wrapping_algorithm="RSA_AES_KEY_WRAP_SHA_256", wrapping_key_spec="RSA_4096"
    )
    (tmp_path / "WrappingPublicKey.bin").write_bytes(params.public_key)
    (tmp_path / "PlaintextKeyMaterial.bin").write_bytes(MATERIAL)
    aes = os.urandom(32)
    (tmp_path / "aes-key.bin").write_bytes(aes)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=tmp_path, check=True, capture_output=True)

    openssl("enc", "-id-aes256-wrap-pad", "-K", aes.hex(), "-iv", "A65959A6",
            "-in", "PlaintextKeyMaterial.bin", "-out", "key-material-wrapped.bin")
    openssl("pkeyutl", "-encrypt", "-in", "aes-key.bin", "-out", "aes-key-wrapped.bin",
            "-inkey", "WrappingPublicKey.bin", "-keyform", "DER", "-pubin",
            "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256",
            "-pkeyopt", "rsa_mgf1_md:sha256")  # fmt: skip
    encrypted = (tmp_path / "aes-key-wrapped.bin").read_bytes() + (
        tmp_path / "key-material-wrapped.bin"
    ).read_bytes()
    kms.import_key_material(key_id=key_id, import_token=params.import_token,
                            encrypted_key_material=encrypted, expiration_model=NEVER)  # fmt: skip
    blob = kms.encrypt(key_id=key_id, plaintext=b"openssl").ciphertext_blob
    assert kms.decrypt(ciphertext_blob=blob).plaintext == b"openssl"


@pytest.mark.parametrize("spec", ["HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512"])
def test_imported_hmac_key_matches_cryptography(kms: KeyService, spec: str) -> None:
    material = os.urandom(int(spec[5:]) // 8 + 3)
    key_id = _external(kms, key_spec=spec, key_usage="GENERATE_VERIFY_MAC")
    import_key_material(kms, key_id=key_id, material=material)
    algorithm = f"HMAC_SHA_{spec[5:]}"
    digest = {"224": hashes.SHA224, "256": hashes.SHA256, "384": hashes.SHA384,
              "512": hashes.SHA512}[spec[5:]]()  # fmt: skip
    for message in (b"m", b"\x00" * 4096, os.urandom(100)):
        ours = hmac.HMAC(material, digest)
        ours.update(message)
        expected = ours.finalize()
        assert kms.generate_mac(key_id=key_id, message=message, mac_algorithm=algorithm).mac == (
            expected
        )
        assert kms.verify_mac(key_id=key_id, message=message, mac=expected,
                              mac_algorithm=algorithm).mac_valid  # fmt: skip


@pytest.mark.parametrize("spec", ["RSA_2048", "ECC_NIST_P384"])
def test_imported_signing_key_is_the_given_key(kms: KeyService, spec: str) -> None:
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if spec == "RSA_2048"
        else ec.generate_private_key(ec.SECP384R1())
    )
    key_id = _external(kms, key_spec=spec, key_usage="SIGN_VERIFY")
    import_key_material(kms, key_id=key_id, material=_der(private),
                        wrapping_algorithm="RSA_AES_KEY_WRAP_SHA_256")  # fmt: skip
    public_der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert kms.get_public_key(key_id=key_id).public_key == public_der
    algorithm = "RSASSA_PKCS1_V1_5_SHA_256" if spec == "RSA_2048" else "ECDSA_SHA_384"
    if isinstance(private, rsa.RSAPrivateKey):
        ours = private.sign(b"msg", padding.PKCS1v15(), hashes.SHA256())
    else:
        ours = private.sign(b"msg", ec.ECDSA(hashes.SHA384()))
    assert kms.verify(key_id=key_id, message=b"msg", signature=ours,
                      signing_algorithm=algorithm).signature_valid  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "usage", "material"),
    [
        ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", b"k" * 31),
        ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", b"k" * 33),
        ("HMAC_256", "GENERATE_VERIFY_MAC", b"k" * 16),
        ("HMAC_256", "GENERATE_VERIFY_MAC", b"k" * 65),
        ("ECC_NIST_P256", "SIGN_VERIFY", b"not a private key"),
        ("ECC_NIST_P256", "SIGN_VERIFY", None),  # a P-384 key
    ],
)
def test_material_must_fit_the_key_spec(
    kms: KeyService, spec: str, usage: str, material: bytes | None
) -> None:
    if material is None:
        material = _der(ec.generate_private_key(ec.SECP384R1()))
    key_id = _external(kms, key_spec=spec, key_usage=usage)
    with pytest.raises(IncorrectKeyMaterialException):
        import_key_material(kms, key_id=key_id, material=material,
                            wrapping_algorithm="RSA_AES_KEY_WRAP_SHA_256")  # fmt: skip
    assert kms.describe_key(key_id=key_id).key_metadata.key_state == "PendingImport"


def test_delete_and_reimport_only_the_same_material(kms: KeyService) -> None:
    key_id = _external(kms)
    import_key_material(kms, key_id=key_id, material=MATERIAL)
    blob = kms.encrypt(key_id=key_id, plaintext=b"kept").ciphertext_blob
    kms.delete_imported_key_material(key_id=key_id)
    meta = kms.describe_key(key_id=key_id).key_metadata
    assert (meta.key_state, meta.enabled) == ("PendingImport", False)
    with pytest.raises(KMSInvalidStateException):
        kms.decrypt(ciphertext_blob=blob)
    with pytest.raises(IncorrectKeyMaterialException):
        import_key_material(kms, key_id=key_id, material=os.urandom(32))
    import_key_material(kms, key_id=key_id, material=MATERIAL)
    assert kms.decrypt(ciphertext_blob=blob).plaintext == b"kept"


def test_import_token_and_wrapping_are_checked(kms: KeyService) -> None:
    key_id, other = _external(kms), _external(kms)
    params = kms.get_parameters_for_import(
        key_id=key_id, wrapping_algorithm="RSAES_OAEP_SHA_256", wrapping_key_spec="RSA_2048"
    )
    good = wrap_key_material(params.public_key, "RSAES_OAEP_SHA_256", MATERIAL)
    with pytest.raises(InvalidImportTokenException):  # another key's token
        kms.import_key_material(key_id=other, import_token=params.import_token,
                                encrypted_key_material=good, expiration_model=NEVER)  # fmt: skip
    with pytest.raises(InvalidImportTokenException):
        kms.import_key_material(key_id=key_id, import_token=b"\x01" * 57,
                                encrypted_key_material=good, expiration_model=NEVER)  # fmt: skip
    sha1 = wrap_key_material(params.public_key, "RSAES_OAEP_SHA_1", MATERIAL)
    for wrong in (sha1, good[:-1] + bytes([good[-1] ^ 1]), os.urandom(len(good))):
        with pytest.raises(InvalidCiphertextException):
            kms.import_key_material(key_id=key_id, import_token=params.import_token,
                                    encrypted_key_material=wrong,
                                    expiration_model=NEVER)  # fmt: skip
    assert kms.describe_key(key_id=key_id).key_metadata.key_state == "PendingImport"


def test_expiration_rules(kms: KeyService) -> None:
    key_id = _external(kms)
    params = kms.get_parameters_for_import(
        key_id=key_id, wrapping_algorithm="RSAES_OAEP_SHA_256", wrapping_key_spec="RSA_2048"
    )
    encrypted = wrap_key_material(params.public_key, "RSAES_OAEP_SHA_256", MATERIAL)
    now = dt.datetime.now(dt.timezone.utc)
    for valid_to, model in (
        (None, "KEY_MATERIAL_EXPIRES"),  # ValidTo is required
        (None, None),  # ... also by default: KEY_MATERIAL_EXPIRES is the default model
        (now + dt.timedelta(days=1), NEVER),  # and not valid without expiry
        (now - dt.timedelta(minutes=1), "KEY_MATERIAL_EXPIRES"),  # in the past
        (now + dt.timedelta(days=366), "KEY_MATERIAL_EXPIRES"),  # over 365 days ahead
    ):
        with pytest.raises(ValidationException):
            kms.import_key_material(key_id=key_id, import_token=params.import_token,
                                    encrypted_key_material=encrypted, valid_to=valid_to,
                                    expiration_model=model)  # fmt: skip
    valid_to = (now + dt.timedelta(days=30)).replace(microsecond=0)
    kms.import_key_material(key_id=key_id, import_token=params.import_token,
                            encrypted_key_material=encrypted, valid_to=valid_to,
                            expiration_model="KEY_MATERIAL_EXPIRES")  # fmt: skip
    meta = kms.describe_key(key_id=key_id).key_metadata
    assert meta.expiration_model == "KEY_MATERIAL_EXPIRES"
    assert meta.valid_to == valid_to
    assert meta.key_state == "Enabled"


def test_only_external_keys_take_material(kms: KeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    with pytest.raises(UnsupportedOperationException):
        kms.get_parameters_for_import(key_id=key_id, wrapping_algorithm="RSAES_OAEP_SHA_256",
                                      wrapping_key_spec="RSA_2048")  # fmt: skip
    with pytest.raises(UnsupportedOperationException):
        kms.delete_imported_key_material(key_id=key_id)
