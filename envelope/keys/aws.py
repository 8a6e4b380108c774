"""AwsKmsKeyService: the KeyService contract over boto3 (AWS KMS, moto, `envelope serve`).

boto3 is imported (through ``aws_client``, the only module that touches it) when the class is
first constructed, so importing this module or the local path never loads it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from envelope.errors import KeyServiceConfigurationError, KeyServiceError
from envelope.keys.aws_shapes import blob, context, metadata, required_utc, tokens, utc
from envelope.keys.base import (
    ENCRYPT_DECRYPT,
    SYMMETRIC_DEFAULT,
    AliasListEntry,
    CancelKeyDeletionResult,
    DecryptResult,
    EncryptionContext,
    EncryptResult,
    GenerateDataKeyResult,
    GenerateDataKeyWithoutPlaintextResult,
    GenerateRandomResult,
    GetPublicKeyResult,
    KeyListEntry,
    KeyMetadataResult,
    KeyRotationStatus,
    ListAliasesResult,
    ListKeyRotationsResult,
    ListKeysResult,
    ReEncryptResult,
    RotateKeyOnDemandResult,
    RotationsListEntry,
    ScheduleKeyDeletionResult,
)

if TYPE_CHECKING:  # pragma: no cover
    import boto3
    from mypy_boto3_kms import KMSClient

_T = TypeVar("_T")


class AwsKmsKeyService:
    """The KeyService contract served by AWS KMS (or any KMS-compatible endpoint) through boto3.

    Args:
        client: a boto3 KMS client to use as is. When omitted, one is built from the other
            arguments and the standard AWS configuration (``AWS_PROFILE``, ``AWS_REGION`` /
            ``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL_KMS``, shared config files), with botocore's
            standard retry mode.
        session: a ``boto3.Session`` to build the client from.
        region_name: AWS region; overrides the configured one.
        endpoint_url: KMS endpoint (for moto or ``envelope serve``); overrides the configured one.
        profile_name: named profile; ignored when ``session`` is given.

    Raises:
        KeyServiceConfigurationError: no region is configured, the profile does not exist, or
            boto3 is not installed (the ``envelope[aws]`` extra).
    """

    def __init__(
        self,
        client: KMSClient | None = None,
        *,
        session: boto3.Session | None = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        profile_name: str | None = None,
    ) -> None:
        try:
            from envelope.keys import aws_client
        except ImportError as e:  # boto3 is the ``aws`` extra
            if str(e.name).partition(".")[0] not in ("boto3", "botocore"):
                raise
            raise KeyServiceConfigurationError(
                "AwsKmsKeyService needs boto3, which envelope installs with its aws extra: "
                "pip install 'envelope[aws]'"
            ) from None
        self._invoke = aws_client.call
        if client is None:
            client = aws_client.build_client(
                session=session,
                region_name=region_name,
                endpoint_url=endpoint_url,
                profile_name=profile_name,
            )
        self._client: KMSClient | None = client
        self._region = client.meta.region_name
        self._endpoint = client.meta.endpoint_url

    # --- lifecycle --------------------------------------------------------------------------------
    @property
    def client(self) -> KMSClient:
        """The boto3 KMS client in use."""
        if self._client is None:
            raise KeyServiceError("this AwsKmsKeyService is closed", code="KeyServiceClosed")
        return self._client

    @property
    def region_name(self) -> str:
        return self._region

    @property
    def endpoint_url(self) -> str:
        return self._endpoint

    def close(self) -> None:
        """Close the client's connection pool; the service cannot be used afterwards."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def __enter__(self) -> AwsKmsKeyService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"AwsKmsKeyService(region_name={self._region!r}, endpoint_url={self._endpoint!r})"

    # --- the one call path: every botocore failure becomes an envelope error --------------------
    def _call(self, operation: Callable[..., _T], **params: Any) -> _T:
        return self._invoke(self._endpoint, operation, **params)

    # --- keys -------------------------------------------------------------------------------------
    def create_key(
        self,
        *,
        description: str = "",
        key_usage: str = ENCRYPT_DECRYPT,
        key_spec: str = SYMMETRIC_DEFAULT,
        policy: str | None = None,
    ) -> KeyMetadataResult:
        """Create a key (KMS CreateKey).

        Args:
            description: free text shown by describe/list.
            key_usage: ``ENCRYPT_DECRYPT``.
            key_spec: ``SYMMETRIC_DEFAULT`` or ``RSA_2048``/``RSA_3072``/``RSA_4096``.
            policy: key policy JSON; the default policy when omitted.

        Returns:
            The new key's metadata.

        Raises:
            KeyServiceError: the KMS error (ValidationException,
                MalformedPolicyDocumentException, ...).
        """
        response = self._call(
            self.client.create_key,
            Description=description,
            KeyUsage=key_usage,
            KeySpec=key_spec,
            Policy=policy,
        )
        return KeyMetadataResult(metadata(response["KeyMetadata"]))

    def describe_key(
        self, *, key_id: str, grant_tokens: Sequence[str] | None = None
    ) -> KeyMetadataResult:
        """Describe a key by id, ARN, alias name or alias ARN (KMS DescribeKey)."""
        response = self._call(
            self.client.describe_key, KeyId=key_id, GrantTokens=tokens(grant_tokens)
        )
        return KeyMetadataResult(metadata(response["KeyMetadata"]))

    def list_keys(self, *, limit: int | None = None, marker: str | None = None) -> ListKeysResult:
        """List keys, one page at a time (KMS ListKeys)."""
        response = self._call(self.client.list_keys, Limit=limit, Marker=marker)
        keys = tuple(
            KeyListEntry(key_id=str(k["KeyId"]), key_arn=str(k.get("KeyArn", "")))
            for k in response.get("Keys", [])
        )
        truncated = bool(response.get("Truncated", False))
        return ListKeysResult(keys, truncated, response.get("NextMarker") if truncated else None)

    def enable_key(self, *, key_id: str) -> None:
        """Enable a key (KMS EnableKey)."""
        self._call(self.client.enable_key, KeyId=key_id)

    def disable_key(self, *, key_id: str) -> None:
        """Disable a key (KMS DisableKey)."""
        self._call(self.client.disable_key, KeyId=key_id)

    def schedule_key_deletion(
        self, *, key_id: str, pending_window_in_days: int = 30
    ) -> ScheduleKeyDeletionResult:
        """Schedule a key's deletion after 7-30 days (KMS ScheduleKeyDeletion)."""
        response = self._call(
            self.client.schedule_key_deletion,
            KeyId=key_id,
            PendingWindowInDays=pending_window_in_days,
        )
        return ScheduleKeyDeletionResult(
            key_id=str(response["KeyId"]),
            deletion_date=required_utc(response.get("DeletionDate")),
            key_state=str(response.get("KeyState", "PendingDeletion")),
            pending_window_in_days=int(response.get("PendingWindowInDays", pending_window_in_days)),
        )

    def cancel_key_deletion(self, *, key_id: str) -> CancelKeyDeletionResult:
        """Cancel a scheduled deletion; the key is left Disabled (KMS CancelKeyDeletion)."""
        response = self._call(self.client.cancel_key_deletion, KeyId=key_id)
        return CancelKeyDeletionResult(key_id=str(response["KeyId"]))

    # --- aliases ----------------------------------------------------------------------------------
    def create_alias(self, *, alias_name: str, target_key_id: str) -> None:
        """Create ``alias/NAME`` for a key (KMS CreateAlias)."""
        self._call(self.client.create_alias, AliasName=alias_name, TargetKeyId=target_key_id)

    def delete_alias(self, *, alias_name: str) -> None:
        """Delete an alias (KMS DeleteAlias)."""
        self._call(self.client.delete_alias, AliasName=alias_name)

    def list_aliases(
        self, *, key_id: str | None = None, limit: int | None = None, marker: str | None = None
    ) -> ListAliasesResult:
        """List aliases, of one key when ``key_id`` is given (KMS ListAliases)."""
        response = self._call(self.client.list_aliases, KeyId=key_id, Limit=limit, Marker=marker)
        aliases = tuple(
            AliasListEntry(
                alias_name=str(a["AliasName"]),
                alias_arn=str(a.get("AliasArn", "")),
                target_key_id=a.get("TargetKeyId"),
                creation_date=utc(a.get("CreationDate")),
                last_updated_date=utc(a.get("LastUpdatedDate")),
            )
            for a in response.get("Aliases", [])
        )
        truncated = bool(response.get("Truncated", False))
        return ListAliasesResult(
            aliases, truncated, response.get("NextMarker") if truncated else None
        )

    # --- cryptographic operations -----------------------------------------------------------------
    def encrypt(
        self,
        *,
        key_id: str,
        plaintext: bytes,
        encryption_context: EncryptionContext | None = None,
        encryption_algorithm: str = SYMMETRIC_DEFAULT,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> EncryptResult:
        """Encrypt up to 4096 bytes under a key (KMS Encrypt).

        Returns:
            The ciphertext blob and the ARN of the key that encrypted.

        Raises:
            KeyServiceError: the KMS error (NotFoundException, DisabledException, ...).
        """
        response = self._call(
            self.client.encrypt,
            KeyId=key_id,
            Plaintext=blob("Plaintext", plaintext),
            EncryptionContext=context(encryption_context),
            EncryptionAlgorithm=encryption_algorithm,
            GrantTokens=tokens(grant_tokens),
            DryRun=dry_run or None,
        )
        return EncryptResult(
            ciphertext_blob=response["CiphertextBlob"],
            key_id=str(response["KeyId"]),
            encryption_algorithm=str(response.get("EncryptionAlgorithm", encryption_algorithm)),
        )

    def decrypt(
        self,
        *,
        ciphertext_blob: bytes,
        encryption_context: EncryptionContext | None = None,
        key_id: str | None = None,
        encryption_algorithm: str = SYMMETRIC_DEFAULT,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> DecryptResult:
        """Decrypt a ciphertext blob (KMS Decrypt).

        Returns:
            The plaintext and the ARN of the key that decrypted.

        Raises:
            KeyServiceError: the KMS error (InvalidCiphertextException, IncorrectKeyException, ...).
        """
        response = self._call(
            self.client.decrypt,
            CiphertextBlob=blob("CiphertextBlob", ciphertext_blob),
            EncryptionContext=context(encryption_context),
            KeyId=key_id,
            EncryptionAlgorithm=encryption_algorithm,
            GrantTokens=tokens(grant_tokens),
            DryRun=dry_run or None,
        )
        return DecryptResult(
            plaintext=response["Plaintext"],
            key_id=str(response["KeyId"]),
            encryption_algorithm=str(response.get("EncryptionAlgorithm", encryption_algorithm)),
        )

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
    ) -> ReEncryptResult:
        """Decrypt and encrypt again under another key, server-side (KMS ReEncrypt)."""
        response = self._call(
            self.client.re_encrypt,
            CiphertextBlob=blob("CiphertextBlob", ciphertext_blob),
            DestinationKeyId=destination_key_id,
            SourceEncryptionContext=context(source_encryption_context),
            SourceKeyId=source_key_id,
            DestinationEncryptionContext=context(destination_encryption_context),
            SourceEncryptionAlgorithm=source_encryption_algorithm,
            DestinationEncryptionAlgorithm=destination_encryption_algorithm,
            GrantTokens=tokens(grant_tokens),
            DryRun=dry_run or None,
        )
        return ReEncryptResult(
            ciphertext_blob=response["CiphertextBlob"],
            source_key_id=str(response.get("SourceKeyId", "")),
            key_id=str(response["KeyId"]),
            source_encryption_algorithm=str(
                response.get("SourceEncryptionAlgorithm", source_encryption_algorithm)
            ),
            destination_encryption_algorithm=str(
                response.get("DestinationEncryptionAlgorithm", destination_encryption_algorithm)
            ),
        )

    def generate_data_key(
        self,
        *,
        key_id: str,
        number_of_bytes: int | None = None,
        key_spec: str | None = None,
        encryption_context: EncryptionContext | None = None,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> GenerateDataKeyResult:
        """Generate a data key and its copy encrypted under ``key_id`` (KMS GenerateDataKey).

        Raises:
            KeyServiceError: the KMS error; ValidationException unless exactly one of
                ``number_of_bytes`` (1-1024) and ``key_spec`` (AES_128/AES_256) is given.
        """
        response = self._call(
            self.client.generate_data_key,
            KeyId=key_id,
            NumberOfBytes=number_of_bytes,
            KeySpec=key_spec,
            EncryptionContext=context(encryption_context),
            GrantTokens=tokens(grant_tokens),
            DryRun=dry_run or None,
        )
        return GenerateDataKeyResult(
            ciphertext_blob=response["CiphertextBlob"],
            plaintext=response["Plaintext"],
            key_id=str(response["KeyId"]),
        )

    def generate_data_key_without_plaintext(
        self,
        *,
        key_id: str,
        number_of_bytes: int | None = None,
        key_spec: str | None = None,
        encryption_context: EncryptionContext | None = None,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> GenerateDataKeyWithoutPlaintextResult:
        """Generate a data key, return only its encrypted copy (GenerateDataKeyWithoutPlaintext)."""
        response = self._call(
            self.client.generate_data_key_without_plaintext,
            KeyId=key_id,
            NumberOfBytes=number_of_bytes,
            KeySpec=key_spec,
            EncryptionContext=context(encryption_context),
            GrantTokens=tokens(grant_tokens),
            DryRun=dry_run or None,
        )
        return GenerateDataKeyWithoutPlaintextResult(
            ciphertext_blob=response["CiphertextBlob"], key_id=str(response["KeyId"])
        )

    def generate_random(self, *, number_of_bytes: int) -> GenerateRandomResult:
        """Return 1-1024 random bytes (KMS GenerateRandom)."""
        response = self._call(self.client.generate_random, NumberOfBytes=number_of_bytes)
        return GenerateRandomResult(plaintext=response["Plaintext"])

    # --- rotation ---------------------------------------------------------------------------------
    def enable_key_rotation(
        self, *, key_id: str, rotation_period_in_days: int | None = None
    ) -> None:
        """Turn on automatic rotation every 90-2560 days (KMS EnableKeyRotation)."""
        self._call(
            self.client.enable_key_rotation,
            KeyId=key_id,
            RotationPeriodInDays=rotation_period_in_days,
        )

    def disable_key_rotation(self, *, key_id: str) -> None:
        """Turn off automatic rotation (KMS DisableKeyRotation)."""
        self._call(self.client.disable_key_rotation, KeyId=key_id)

    def get_key_rotation_status(self, *, key_id: str) -> KeyRotationStatus:
        """Report whether automatic rotation is on and when it runs (KMS GetKeyRotationStatus)."""
        response = self._call(self.client.get_key_rotation_status, KeyId=key_id)
        period = response.get("RotationPeriodInDays")
        return KeyRotationStatus(
            key_rotation_enabled=bool(response.get("KeyRotationEnabled", False)),
            key_id=str(response.get("KeyId", key_id)),
            rotation_period_in_days=int(period) if period is not None else None,
            next_rotation_date=utc(response.get("NextRotationDate")),
            on_demand_rotation_start_date=utc(response.get("OnDemandRotationStartDate")),
        )

    def rotate_key_on_demand(self, *, key_id: str) -> RotateKeyOnDemandResult:
        """Add new key material now (KMS RotateKeyOnDemand)."""
        response = self._call(self.client.rotate_key_on_demand, KeyId=key_id)
        return RotateKeyOnDemandResult(key_id=str(response["KeyId"]))

    def list_key_rotations(
        self, *, key_id: str, limit: int | None = None, marker: str | None = None
    ) -> ListKeyRotationsResult:
        """List the rotations of a key, one page at a time (KMS ListKeyRotations)."""
        response = self._call(
            self.client.list_key_rotations, KeyId=key_id, Limit=limit, Marker=marker
        )
        rotations = tuple(
            RotationsListEntry(
                key_id=str(r.get("KeyId", key_id)),
                rotation_date=required_utc(r.get("RotationDate")),
                rotation_type=str(r.get("RotationType", "")),
            )
            for r in response.get("Rotations", [])
        )
        truncated = bool(response.get("Truncated", False))
        return ListKeyRotationsResult(
            rotations, truncated, response.get("NextMarker") if truncated else None
        )

    # --- asymmetric -------------------------------------------------------------------------------
    def get_public_key(
        self, *, key_id: str, grant_tokens: Sequence[str] | None = None
    ) -> GetPublicKeyResult:
        """Return the DER public key of an RSA key (KMS GetPublicKey)."""
        response = self._call(
            self.client.get_public_key, KeyId=key_id, GrantTokens=tokens(grant_tokens)
        )
        return GetPublicKeyResult(
            key_id=str(response["KeyId"]),
            public_key=response["PublicKey"],
            key_spec=str(response.get("KeySpec") or response.get("CustomerMasterKeySpec") or ""),
            key_usage=str(response.get("KeyUsage", ENCRYPT_DECRYPT)),
            encryption_algorithms=tuple(response.get("EncryptionAlgorithms") or ()),
        )
