"""AwsKmsKeyService's key management: CreateKey, DescribeKey, ListKeys, key states, deletion,
aliases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from envelope.keys.aws.core import AwsCore
from envelope.keys.aws_shapes import metadata, required_utc, tag_list, tokens, utc
from envelope.keys.base import (
    AWS_KMS,
    ENCRYPT_DECRYPT,
    SYMMETRIC_DEFAULT,
    AliasListEntry,
    CancelKeyDeletionResult,
    KeyListEntry,
    KeyMetadataResult,
    ListAliasesResult,
    ListKeysResult,
    ScheduleKeyDeletionResult,
)


class AwsKeyManagement(AwsCore):
    """Keys and aliases, passed through to KMS."""

    # --- keys -------------------------------------------------------------------------------------
    def create_key(
        self,
        *,
        description: str = "",
        key_usage: str = ENCRYPT_DECRYPT,
        key_spec: str = SYMMETRIC_DEFAULT,
        policy: str | None = None,
        origin: str = AWS_KMS,
        tags: Sequence[Mapping[str, str]] | None = None,
        bypass_policy_lockout_safety_check: bool = False,
    ) -> KeyMetadataResult:
        """Create a key (KMS CreateKey).

        Args:
            description: free text shown by describe/list.
            key_usage: ``ENCRYPT_DECRYPT``, ``SIGN_VERIFY`` or ``GENERATE_VERIFY_MAC``, as the
                key spec allows.
            key_spec: ``SYMMETRIC_DEFAULT``, ``RSA_*``, ``ECC_*`` or ``HMAC_*``.
            policy: key policy JSON; the default policy when omitted.
            origin: ``AWS_KMS``, or ``EXTERNAL`` for a key that waits for imported material.
            tags: ``[{"TagKey": ..., "TagValue": ...}]``.
            bypass_policy_lockout_safety_check: skip KMS's check that ``policy`` lets the
                caller change it again.

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
            Origin=origin,
            Tags=tag_list(tags),
            BypassPolicyLockoutSafetyCheck=bypass_policy_lockout_safety_check or None,
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
