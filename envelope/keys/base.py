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

# The key policy, grant and tag operations and their results live in ``keys.access_contract``.
from envelope.keys.access_contract import AccessOperations
from envelope.keys.access_contract import CreateGrantResult as CreateGrantResult
from envelope.keys.access_contract import GetKeyPolicyResult as GetKeyPolicyResult
from envelope.keys.access_contract import GrantConstraints as GrantConstraints
from envelope.keys.access_contract import GrantListEntry as GrantListEntry
from envelope.keys.access_contract import ListGrantsResult as ListGrantsResult
from envelope.keys.access_contract import ListKeyPoliciesResult as ListKeyPoliciesResult
from envelope.keys.access_contract import ListResourceTagsResult as ListResourceTagsResult
from envelope.keys.access_contract import Tag as Tag

# The constants of the AWS KMS API reference live in ``keys.specs``; these are re-exported.
from envelope.keys.specs import AWS_KMS as AWS_KMS
from envelope.keys.specs import ENCRYPT_DECRYPT as ENCRYPT_DECRYPT
from envelope.keys.specs import KEY_SPECS as KEY_SPECS
from envelope.keys.specs import RAW as RAW
from envelope.keys.specs import RSAES_OAEP_SHA_1 as RSAES_OAEP_SHA_1
from envelope.keys.specs import RSAES_OAEP_SHA_256 as RSAES_OAEP_SHA_256
from envelope.keys.specs import SYMMETRIC_DEFAULT as SYMMETRIC_DEFAULT

EncryptionContext = Mapping[str, str]

# KeyState values.
ENABLED = "Enabled"
DISABLED = "Disabled"
PENDING_DELETION = "PendingDeletion"
PENDING_IMPORT = "PendingImport"


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
    signing_algorithms: tuple[str, ...] = ()
    mac_algorithms: tuple[str, ...] = ()
    valid_to: _dt.datetime | None = None
    """When imported key material expires (EXTERNAL keys whose material expires)."""
    expiration_model: str | None = None
    """EXTERNAL keys with material: ``KEY_MATERIAL_EXPIRES`` or ``KEY_MATERIAL_DOES_NOT_EXPIRE``."""

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


# --- The contract -------------------------------------------------------------------------------


@runtime_checkable
class KeyService(AccessOperations, Protocol):
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
        bypass_policy_lockout_safety_check: bool = False,
        origin: str = AWS_KMS,
        tags: Sequence[Mapping[str, str]] | None = None,
    ) -> KeyMetadataResult: ...

    def describe_key(
        self, *, key_id: str, grant_tokens: Sequence[str] | None = None
    ) -> KeyMetadataResult: ...

    def list_keys(
        self, *, limit: int | None = None, marker: str | None = None
    ) -> ListKeysResult: ...

    def update_key_description(self, *, key_id: str, description: str) -> None: ...

    def enable_key(self, *, key_id: str) -> None: ...

    def disable_key(self, *, key_id: str) -> None: ...

    def schedule_key_deletion(
        self, *, key_id: str, pending_window_in_days: int = 30
    ) -> ScheduleKeyDeletionResult: ...

    def cancel_key_deletion(self, *, key_id: str) -> CancelKeyDeletionResult: ...

    # Aliases
    def create_alias(self, *, alias_name: str, target_key_id: str) -> None: ...

    def update_alias(self, *, alias_name: str, target_key_id: str) -> None: ...

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

    # Signing and MACs
    def sign(
        self,
        *,
        key_id: str,
        message: bytes,
        signing_algorithm: str,
        message_type: str = RAW,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> SignResult: ...

    def verify(
        self,
        *,
        key_id: str,
        message: bytes,
        signature: bytes,
        signing_algorithm: str,
        message_type: str = RAW,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> VerifyResult: ...

    def generate_mac(
        self,
        *,
        key_id: str,
        message: bytes,
        mac_algorithm: str,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> GenerateMacResult: ...

    def verify_mac(
        self,
        *,
        key_id: str,
        message: bytes,
        mac: bytes,
        mac_algorithm: str,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> VerifyMacResult: ...

    # Data key pairs
    def generate_data_key_pair(
        self,
        *,
        key_id: str,
        key_pair_spec: str,
        encryption_context: EncryptionContext | None = None,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> GenerateDataKeyPairResult: ...

    def generate_data_key_pair_without_plaintext(
        self,
        *,
        key_id: str,
        key_pair_spec: str,
        encryption_context: EncryptionContext | None = None,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> GenerateDataKeyPairWithoutPlaintextResult: ...

    # Imported key material
    def get_parameters_for_import(
        self, *, key_id: str, wrapping_algorithm: str, wrapping_key_spec: str
    ) -> GetParametersForImportResult: ...

    def import_key_material(
        self,
        *,
        key_id: str,
        import_token: bytes,
        encrypted_key_material: bytes,
        valid_to: _dt.datetime | None = None,
        expiration_model: str | None = None,
    ) -> ImportKeyMaterialResult: ...

    def delete_imported_key_material(self, *, key_id: str) -> None: ...
