"""The AWS Encryption SDK algorithm suites: key sizes, key derivation, signing and commitment."""

from __future__ import annotations

from dataclasses import dataclass, field

from envelope.errors import MessageFormatError


@dataclass(frozen=True)
class Suite:
    """One ESDK algorithm suite (``framework/algorithm-suites.md``).

    Attributes:
        id: The two-byte suite id, e.g. ``0x0478``.
        name: The ESDK name, e.g. ``AES_256_GCM_HKDF_SHA512_COMMIT_KEY``.
        key_length: Data key and content key length in bytes (AES-GCM key size).
        kdf_hash: HKDF hash name ("sha256", "sha384", "sha512") or None for the identity KDF.
        signing_curve: "secp256r1" or "secp384r1" for ECDSA-signed suites, else None.
        committing: True for the key-committing suites (message format version 2).
    """

    id: int
    name: str
    key_length: int
    kdf_hash: str | None
    signing_curve: str | None
    committing: bool
    id_bytes: bytes = field(init=False, repr=False, compare=False)
    """The suite id as it is written: two bytes, big-endian."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "id_bytes", self.id.to_bytes(2, "big"))

    @property
    def message_version(self) -> int:
        """The message format version this suite is written with (1 or 2)."""
        return 2 if self.committing else 1

    @property
    def signed(self) -> bool:
        """True when messages end with an ECDSA signature footer."""
        return self.signing_curve is not None

    @property
    def signature_algorithm(self) -> str | None:
        """``ECDSA P-256`` or ``ECDSA P-384`` for signed suites (from the curve), else None."""
        if self.signing_curve is None:
            return None
        return {"secp256r1": "ECDSA P-256", "secp384r1": "ECDSA P-384"}[self.signing_curve]


IV_LENGTH = 12
TAG_LENGTH = 16
COMMIT_KEY_LENGTH = 32

SUITES: dict[int, Suite] = {
    s.id: s
    for s in (
        Suite(0x0014, "AES_128_GCM_IV12_TAG16", 16, None, None, False),
        Suite(0x0046, "AES_192_GCM_IV12_TAG16", 24, None, None, False),
        Suite(0x0078, "AES_256_GCM_IV12_TAG16", 32, None, None, False),
        Suite(0x0114, "AES_128_GCM_IV12_TAG16_HKDF_SHA256", 16, "sha256", None, False),
        Suite(0x0146, "AES_192_GCM_IV12_TAG16_HKDF_SHA256", 24, "sha256", None, False),
        Suite(0x0178, "AES_256_GCM_IV12_TAG16_HKDF_SHA256", 32, "sha256", None, False),
        Suite(
            0x0214,
            "AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256",
            16,
            "sha256",
            "secp256r1",
            False,
        ),
        Suite(
            0x0346,
            "AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384",
            24,
            "sha384",
            "secp384r1",
            False,
        ),
        Suite(
            0x0378,
            "AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384",
            32,
            "sha384",
            "secp384r1",
            False,
        ),
        Suite(0x0478, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY", 32, "sha512", None, True),
        Suite(
            0x0578, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384", 32, "sha512", "secp384r1", True
        ),
    )
}
"""Every suite by id."""

WRITABLE_SUITES = (0x0478, 0x0578)
"""The suites envelope writes (committing, message format version 2)."""

DEFAULT_SUITE = 0x0478


def get_suite(suite_id: int) -> Suite:
    """Look up a suite by id.

    Args:
        suite_id: The two-byte suite id.

    Returns:
        The suite.

    Raises:
        MessageFormatError: The id is not an ESDK suite.
    """
    try:
        return SUITES[suite_id]
    except KeyError:
        raise MessageFormatError(f"unknown algorithm suite id 0x{suite_id:04x}") from None
