"""The results of the KeyService operations that encrypting and decrypting never return.

They are re-exported by ``keys.base`` (which loads this module on first use), so that a
process that only encrypts or decrypts -- ``envelope encrypt`` is one, and its start-up time is
a benchmark figure -- does not build these classes (a frozen dataclass costs about half a
millisecond to create).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from envelope.keys.specs import ENCRYPT_DECRYPT


@dataclass(frozen=True)
class KeyListEntry:
    key_id: str
    key_arn: str


@dataclass(frozen=True)
class ListKeysResult:
    keys: tuple[KeyListEntry, ...]
    truncated: bool = False
    next_marker: str | None = None


@dataclass(frozen=True)
class AliasListEntry:
    alias_name: str
    alias_arn: str
    target_key_id: str | None = None
    creation_date: _dt.datetime | None = None
    last_updated_date: _dt.datetime | None = None


@dataclass(frozen=True)
class ListAliasesResult:
    aliases: tuple[AliasListEntry, ...]
    truncated: bool = False
    next_marker: str | None = None


@dataclass(frozen=True)
class ScheduleKeyDeletionResult:
    key_id: str
    """The key ARN, as KMS returns it."""
    deletion_date: _dt.datetime
    key_state: str
    pending_window_in_days: int


@dataclass(frozen=True)
class CancelKeyDeletionResult:
    key_id: str
    """The key ARN, as KMS returns it."""


@dataclass(frozen=True)
class KeyRotationStatus:
    key_rotation_enabled: bool
    key_id: str
    rotation_period_in_days: int | None = None
    next_rotation_date: _dt.datetime | None = None
    on_demand_rotation_start_date: _dt.datetime | None = None


@dataclass(frozen=True)
class RotateKeyOnDemandResult:
    key_id: str


@dataclass(frozen=True)
class RotationsListEntry:
    key_id: str
    rotation_date: _dt.datetime
    rotation_type: str
    """``AUTOMATIC`` or ``ON_DEMAND``."""


@dataclass(frozen=True)
class ListKeyRotationsResult:
    rotations: tuple[RotationsListEntry, ...]
    truncated: bool = False
    next_marker: str | None = None


@dataclass(frozen=True)
class GetPublicKeyResult:
    key_id: str
    public_key: bytes
    """DER-encoded X.509 SubjectPublicKeyInfo."""
    key_spec: str
    key_usage: str = ENCRYPT_DECRYPT
    encryption_algorithms: tuple[str, ...] = ()
    signing_algorithms: tuple[str, ...] = ()

    @property
    def customer_master_key_spec(self) -> str:
        return self.key_spec


@dataclass(frozen=True)
class SignResult:
    key_id: str
    signature: bytes
    """RSASSA signature, or a DER-encoded ECDSA signature (RFC 3279)."""
    signing_algorithm: str


@dataclass(frozen=True)
class VerifyResult:
    key_id: str
    signature_valid: bool
    """Always True: an invalid signature raises ``KMSInvalidSignatureException``."""
    signing_algorithm: str


@dataclass(frozen=True)
class GenerateMacResult:
    mac: bytes
    mac_algorithm: str
    key_id: str


@dataclass(frozen=True)
class VerifyMacResult:
    key_id: str
    mac_valid: bool
    """Always True: an invalid MAC raises ``KMSInvalidMacException``."""
    mac_algorithm: str


@dataclass(frozen=True)
class GenerateDataKeyPairResult:
    private_key_ciphertext_blob: bytes
    private_key_plaintext: bytes = field(repr=False)
    """DER-encoded PKCS #8 PrivateKeyInfo."""
    public_key: bytes
    """DER-encoded X.509 SubjectPublicKeyInfo."""
    key_id: str
    key_pair_spec: str


@dataclass(frozen=True)
class GenerateDataKeyPairWithoutPlaintextResult:
    private_key_ciphertext_blob: bytes
    public_key: bytes
    key_id: str
    key_pair_spec: str


@dataclass(frozen=True)
class GetParametersForImportResult:
    key_id: str
    import_token: bytes
    public_key: bytes
    """The RSA wrapping key, DER-encoded X.509 SubjectPublicKeyInfo."""
    parameters_valid_to: _dt.datetime


@dataclass(frozen=True)
class ImportKeyMaterialResult:
    key_id: str
    key_material_id: str | None = None
