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
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

# The key policy, grant and tag operations live in ``keys.access_contract``, their results in
# ``keys.access_results``.
from envelope.keys.access_contract import AccessOperations

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


# Results of the operations that encrypting and decrypting never use live in ``keys.results``,
# loaded on first use (CLI start-up); they are still importable from here.
_LAZY = {
    "KeyListEntry": "envelope.keys.results",
    "ListKeysResult": "envelope.keys.results",
    "AliasListEntry": "envelope.keys.results",
    "ListAliasesResult": "envelope.keys.results",
    "ScheduleKeyDeletionResult": "envelope.keys.results",
    "CancelKeyDeletionResult": "envelope.keys.results",
    "KeyRotationStatus": "envelope.keys.results",
    "RotateKeyOnDemandResult": "envelope.keys.results",
    "RotationsListEntry": "envelope.keys.results",
    "ListKeyRotationsResult": "envelope.keys.results",
    "GetPublicKeyResult": "envelope.keys.results",
    "SignResult": "envelope.keys.results",
    "VerifyResult": "envelope.keys.results",
    "GenerateMacResult": "envelope.keys.results",
    "VerifyMacResult": "envelope.keys.results",
    "GenerateDataKeyPairResult": "envelope.keys.results",
    "GenerateDataKeyPairWithoutPlaintextResult": "envelope.keys.results",
    "GetParametersForImportResult": "envelope.keys.results",
    "ImportKeyMaterialResult": "envelope.keys.results",
    "CreateGrantResult": "envelope.keys.access_results",
    "GetKeyPolicyResult": "envelope.keys.access_results",
    "GrantConstraints": "envelope.keys.access_results",
    "GrantListEntry": "envelope.keys.access_results",
    "ListGrantsResult": "envelope.keys.access_results",
    "ListKeyPoliciesResult": "envelope.keys.access_results",
    "ListResourceTagsResult": "envelope.keys.access_results",
    "Tag": "envelope.keys.access_results",
}

if TYPE_CHECKING:
    from envelope.keys.access_results import CreateGrantResult as CreateGrantResult
    from envelope.keys.access_results import GetKeyPolicyResult as GetKeyPolicyResult
    from envelope.keys.access_results import GrantConstraints as GrantConstraints
    from envelope.keys.access_results import GrantListEntry as GrantListEntry
    from envelope.keys.access_results import ListGrantsResult as ListGrantsResult
    from envelope.keys.access_results import ListKeyPoliciesResult as ListKeyPoliciesResult
    from envelope.keys.access_results import ListResourceTagsResult as ListResourceTagsResult
    from envelope.keys.access_results import Tag as Tag
    from envelope.keys.results import AliasListEntry as AliasListEntry
    from envelope.keys.results import CancelKeyDeletionResult as CancelKeyDeletionResult
    from envelope.keys.results import GenerateDataKeyPairResult as GenerateDataKeyPairResult
    from envelope.keys.results import (
        GenerateDataKeyPairWithoutPlaintextResult as GenerateDataKeyPairWithoutPlaintextResult,
    )
    from envelope.keys.results import GenerateMacResult as GenerateMacResult
    from envelope.keys.results import GetParametersForImportResult as GetParametersForImportResult
    from envelope.keys.results import GetPublicKeyResult as GetPublicKeyResult
    from envelope.keys.results import ImportKeyMaterialResult as ImportKeyMaterialResult
    from envelope.keys.results import KeyListEntry as KeyListEntry
    from envelope.keys.results import KeyRotationStatus as KeyRotationStatus
    from envelope.keys.results import ListAliasesResult as ListAliasesResult
    from envelope.keys.results import ListKeyRotationsResult as ListKeyRotationsResult
    from envelope.keys.results import ListKeysResult as ListKeysResult
    from envelope.keys.results import RotateKeyOnDemandResult as RotateKeyOnDemandResult
    from envelope.keys.results import RotationsListEntry as RotationsListEntry
    from envelope.keys.results import ScheduleKeyDeletionResult as ScheduleKeyDeletionResult
    from envelope.keys.results import SignResult as SignResult
    from envelope.keys.results import VerifyMacResult as VerifyMacResult
    from envelope.keys.results import VerifyResult as VerifyResult


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


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
