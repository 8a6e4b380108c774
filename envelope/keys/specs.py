"""AWS KMS's key specs, key usages and algorithms that envelope supports, and how KMS pairs them.

Facts from the AWS KMS Developer Guide ("Key spec reference") and botocore's KMS service model.
Pure data: no imports, so that ``keys.base`` and every backend can build on it.
"""

from __future__ import annotations

# --- Key usages and origins ---------------------------------------------------------------------
ENCRYPT_DECRYPT = "ENCRYPT_DECRYPT"
SIGN_VERIFY = "SIGN_VERIFY"
GENERATE_VERIFY_MAC = "GENERATE_VERIFY_MAC"

AWS_KMS = "AWS_KMS"
"""Origin of a key whose material the service generated."""
EXTERNAL = "EXTERNAL"
"""Origin of a key whose material is imported (``ImportKeyMaterial``)."""
ORIGINS = (AWS_KMS, EXTERNAL)

# --- Key specs ----------------------------------------------------------------------------------
SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT"
RSA_SPECS = ("RSA_2048", "RSA_3072", "RSA_4096")
ECC_SPECS = ("ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1")
HMAC_SPECS = ("HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512")
KEY_SPECS = (SYMMETRIC_DEFAULT, *RSA_SPECS, *ECC_SPECS, *HMAC_SPECS)
"""Every key spec this project supports."""

KEY_USAGES: dict[str, tuple[str, ...]] = {
    SYMMETRIC_DEFAULT: (ENCRYPT_DECRYPT,),
    **{spec: (ENCRYPT_DECRYPT, SIGN_VERIFY) for spec in RSA_SPECS},
    **{spec: (SIGN_VERIFY,) for spec in ECC_SPECS},  # (KEY_AGREEMENT is not supported here)
    **{spec: (GENERATE_VERIFY_MAC,) for spec in HMAC_SPECS},
}
"""The key usages KMS allows for each key spec."""

HMAC_KEY_BYTES = {"HMAC_224": 28, "HMAC_256": 32, "HMAC_384": 48, "HMAC_512": 64}
"""Length of generated HMAC key material (the key spec's bit length)."""

HMAC_IMPORT_BYTES = {
    "HMAC_224": (28, 64),
    "HMAC_256": (32, 64),
    "HMAC_384": (48, 128),
    "HMAC_512": (64, 128),
}
"""Lengths of HMAC key material KMS accepts on import (at least the hash size, at most a block)."""

# --- Encryption ---------------------------------------------------------------------------------
RSAES_OAEP_SHA_1 = "RSAES_OAEP_SHA_1"
RSAES_OAEP_SHA_256 = "RSAES_OAEP_SHA_256"
ENCRYPTION_ALGORITHMS = (SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256)

# --- Signing ------------------------------------------------------------------------------------
RAW = "RAW"
DIGEST = "DIGEST"
MESSAGE_TYPES = (RAW, DIGEST)

RSA_SIGNING_ALGORITHMS = (
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
)
SIGNING_ALGORITHMS: dict[str, tuple[str, ...]] = {
    **{spec: RSA_SIGNING_ALGORITHMS for spec in RSA_SPECS},
    # KMS pairs each curve with one hash: P-256 and secp256k1 with SHA-256, P-384 with SHA-384,
    # P-521 with SHA-512.
    "ECC_NIST_P256": ("ECDSA_SHA_256",),
    "ECC_NIST_P384": ("ECDSA_SHA_384",),
    "ECC_NIST_P521": ("ECDSA_SHA_512",),
    "ECC_SECG_P256K1": ("ECDSA_SHA_256",),
}
"""The signing algorithms of each key spec (for keys whose usage is SIGN_VERIFY)."""
ALL_SIGNING_ALGORITHMS = (
    *RSA_SIGNING_ALGORITHMS,
    "ECDSA_SHA_256",
    "ECDSA_SHA_384",
    "ECDSA_SHA_512",
)

# --- MACs ---------------------------------------------------------------------------------------
MAC_ALGORITHMS: dict[str, tuple[str, ...]] = {
    "HMAC_224": ("HMAC_SHA_224",),
    "HMAC_256": ("HMAC_SHA_256",),
    "HMAC_384": ("HMAC_SHA_384",),
    "HMAC_512": ("HMAC_SHA_512",),
}
ALL_MAC_ALGORITHMS = ("HMAC_SHA_224", "HMAC_SHA_256", "HMAC_SHA_384", "HMAC_SHA_512")

# --- Data key pairs -----------------------------------------------------------------------------
KEY_PAIR_SPECS = (*RSA_SPECS, *ECC_SPECS)

# --- Imported key material ----------------------------------------------------------------------
WRAPPING_ALGORITHMS = (
    "RSAES_OAEP_SHA_1",
    "RSAES_OAEP_SHA_256",
    "RSA_AES_KEY_WRAP_SHA_1",
    "RSA_AES_KEY_WRAP_SHA_256",
)
WRAPPING_KEY_SPECS = RSA_SPECS
KEY_MATERIAL_EXPIRES = "KEY_MATERIAL_EXPIRES"
KEY_MATERIAL_DOES_NOT_EXPIRE = "KEY_MATERIAL_DOES_NOT_EXPIRE"
EXPIRATION_MODELS = (KEY_MATERIAL_EXPIRES, KEY_MATERIAL_DOES_NOT_EXPIRE)

CUSTOM_ID_TAG = "_custom_id_"
"""A local extension (LocalStack's convention): this CreateKey tag's value becomes the key id."""
