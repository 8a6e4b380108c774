"""The KeyService contract: AWS KMS's operations in boto3's snake_case, with frozen results.

Every backend (LocalKeyService, AwsKmsKeyService) implements this protocol and raises the classes
of ``envelope.errors``. Names and parameters follow boto3's KMS client so a user who knows
``boto3.client("kms")`` can guess every call: ``generate_data_key(key_id=..., key_spec="AES_256")``
returns a result whose ``plaintext`` and ``ciphertext_blob`` mirror ``Plaintext`` and
``CiphertextBlob``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

EncryptionContext = Mapping[str, str]

# --- Constants from the AWS KMS API reference ---------------------------------------------------
SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT"
RSAES_OAEP_SHA_1 = "RSAES_OAEP_SHA_1"
RSAES_OAEP_SHA_256 = "RSAES_OAEP_SHA_256"
ENCRYPT_DECRYPT = "ENCRYPT_DECRYPT"

KEY_SPECS = ("SYMMETRIC_DEFAULT", "RSA_2048", "RSA_3072", "RSA_4096")
"""The key specs this project supports (ENCRYPT_DECRYPT usage)."""

# KeyState values.
ENABLED = "Enabled"
DISABLED = "Disabled"
PENDING_DELETION = "PendingDeletion"


# --- Result types ---------------------------------------------------------------------------------
# Plaintext fields are excluded from repr so that a logged result never shows key material.


@dataclass(frozen=True)
class KeyMetadata:
    """KMS ``KeyMetadata``."""

    key_id: str
    arn: str
    aws_account_id: str
    creation_date: _dt.datetime
    enabled: bool
    key_state: str
    description: str = ""
    key_usage: str = ENCRYPT_DECRYPT
    key_spec: str = SYMMETRIC_DEFAULT
    key_manager: str = "CUSTOMER"
    origin: str = "AWS_KMS"
    encryption_algorithms: tuple[str, ...] = (SYMMETRIC_DEFAULT,)
    deletion_date: _dt.datetime | None = None
    pending_deletion_window_in_days: int | None = None
    multi_region: bool = False

    @property
    def customer_master_key_spec(self) -> str:
        """Deprecated KMS alias of ``key_spec``, kept because boto3 still returns it."""
        return self.key_spec


@dataclass(frozen=True)
class KeyMetadataResult:
    """Result of ``create_key`` and ``describe_key``."""

    key_metadata: KeyMetadata


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
class EncryptResult:
    ciphertext_blob: bytes
    key_id: str
    """The ARN of the key that encrypted."""
    encryption_algorithm: str = SYMMETRIC_DEFAULT


@dataclass(frozen=True)
class DecryptResult:
    plaintext: bytes = field(repr=False)
    key_id: str
    encryption_algorithm: str = SYMMETRIC_DEFAULT


@dataclass(frozen=True)
class ReEncryptResult:
    ciphertext_blob: bytes
    source_key_id: str
    key_id: str
    source_encryption_algorithm: str = SYMMETRIC_DEFAULT
    destination_encryption_algorithm: str = SYMMETRIC_DEFAULT


@dataclass(frozen=True)
class GenerateDataKeyResult:
    ciphertext_blob: bytes
    plaintext: bytes = field(repr=False)
    key_id: str


@dataclass(frozen=True)
class GenerateDataKeyWithoutPlaintextResult:
    ciphertext_blob: bytes
    key_id: str


@dataclass(frozen=True)
class GenerateRandomResult:
    plaintext: bytes = field(repr=False)


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

    @property
    def customer_master_key_spec(self) -> str:
        return self.key_spec


# --- The contract -------------------------------------------------------------------------------


@runtime_checkable
class KeyService(Protocol):
    """AWS KMS's key operations. Every argument is keyword-only, named as boto3 names it.

    Errors are ``envelope.errors.KeyServiceError`` subclasses named after the KMS exception
    (``NotFoundException``, ``DisabledException``, ``ValidationException``, ...), and a wrong
    argument type is a ``ValidationException`` too, as on the wire. ``grant_tokens`` are passed
    where KMS takes them; ``dry_run=True`` makes every check and then raises
    ``DryRunOperationException`` instead of doing the work, as KMS's ``DryRun`` does.
    """

    # Keys
    def create_key(
        self,
        *,
        description: str = "",
        key_usage: str = ENCRYPT_DECRYPT,
        key_spec: str = SYMMETRIC_DEFAULT,
        policy: str | None = None,
    ) -> KeyMetadataResult: ...

    def describe_key(
        self, *, key_id: str, grant_tokens: Sequence[str] | None = None
    ) -> KeyMetadataResult: ...

    def list_keys(
        self, *, limit: int | None = None, marker: str | None = None
    ) -> ListKeysResult: ...

    def enable_key(self, *, key_id: str) -> None: ...

    def disable_key(self, *, key_id: str) -> None: ...

    def schedule_key_deletion(
        self, *, key_id: str, pending_window_in_days: int = 30
    ) -> ScheduleKeyDeletionResult: ...

    def cancel_key_deletion(self, *, key_id: str) -> CancelKeyDeletionResult: ...

    # Aliases
    def create_alias(self, *, alias_name: str, target_key_id: str) -> None: ...

    def delete_alias(self, *, alias_name: str) -> None: ...

    def list_aliases(
        self, *, key_id: str | None = None, limit: int | None = None, marker: str | None = None
    ) -> ListAliasesResult: ...

    # Cryptographic operations
    def encrypt(
        self,
        *,
        key_id: str,
        plaintext: bytes,
        encryption_context: EncryptionContext | None = None,
        encryption_algorithm: str = SYMMETRIC_DEFAULT,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> EncryptResult: ...

    def decrypt(
        self,
        *,
        ciphertext_blob: bytes,
        encryption_context: EncryptionContext | None = None,
        key_id: str | None = None,
        encryption_algorithm: str = SYMMETRIC_DEFAULT,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> DecryptResult: ...

    def re_encrypt(
        self,
        *,
        ciphertext_blob: bytes,
        destination_key_id: str,
        source_encryption_context: EncryptionContext | None = None,
        source_key_id: str | None = None,
        destination_encryption_context: EncryptionContext | None = None,
        source_encryption_algorithm: str = SYMMETRIC_DEFAULT,
        destination_encryption_algorithm: str = SYMMETRIC_DEFAULT,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> ReEncryptResult: ...

    def generate_data_key(
        self,
        *,
        key_id: str,
        number_of_bytes: int | None = None,
        key_spec: str | None = None,
        encryption_context: EncryptionContext | None = None,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> GenerateDataKeyResult: ...

    def generate_data_key_without_plaintext(
        self,
        *,
        key_id: str,
        number_of_bytes: int | None = None,
        key_spec: str | None = None,
        encryption_context: EncryptionContext | None = None,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> GenerateDataKeyWithoutPlaintextResult: ...

    def generate_random(self, *, number_of_bytes: int) -> GenerateRandomResult: ...

    # Rotation
    def enable_key_rotation(
        self, *, key_id: str, rotation_period_in_days: int | None = None
    ) -> None: ...

    def disable_key_rotation(self, *, key_id: str) -> None: ...

    def get_key_rotation_status(self, *, key_id: str) -> KeyRotationStatus: ...

    def rotate_key_on_demand(self, *, key_id: str) -> RotateKeyOnDemandResult: ...

    def list_key_rotations(
        self, *, key_id: str, limit: int | None = None, marker: str | None = None
    ) -> ListKeyRotationsResult: ...

    # Asymmetric
    def get_public_key(
        self, *, key_id: str, grant_tokens: Sequence[str] | None = None
    ) -> GetPublicKeyResult: ...
