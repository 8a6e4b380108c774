"""LocalKeyService's key management: create, describe, list, enable, disable, delete, aliases."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from envelope.errors import (
    AlreadyExistsException,
    KMSInvalidStateException,
    ValidationException,
)
from envelope.keys.backing import (
    new_material,
)
from envelope.keys.base import (
    AWS_KMS,
    DISABLED,
    ENABLED,
    ENCRYPT_DECRYPT,
    KEY_SPECS,
    PENDING_DELETION,
    PENDING_IMPORT,
    SYMMETRIC_DEFAULT,
    AliasListEntry,
    CancelKeyDeletionResult,
    KeyListEntry,
    KeyMetadataResult,
    ListAliasesResult,
    ListKeysResult,
    ScheduleKeyDeletionResult,
)
from envelope.keys.local.access import lockout_check
from envelope.keys.local.core import _DAY, LocalCore, _ts, _utcnow
from envelope.keys.local.policies import MAX_POLICY_TEXT
from envelope.keys.pages import page
from envelope.keys.policy import check_policy, default_policy
from envelope.keys.specs import CUSTOM_ID_TAG, EXTERNAL, KEY_USAGES, ORIGINS
from envelope.keys.store import AliasRecord, KeyRecord, TagRecord
from envelope.keys.validate import (
    DEFAULT_DELETION_WINDOW,
    DELETION_WINDOW,
    UUID_PATTERN,
    check_alias_name,
    check_description,
    check_enum,
    check_flag,
    check_grant_tokens,
    check_key_id,
    check_limit,
    check_marker,
    check_optional_key_id,
    check_range,
    check_string,
    check_tags,
)

_USAGES = tuple(dict.fromkeys(u for usages in KEY_USAGES.values() for u in usages))


class KeyManagement(LocalCore):
    """CreateKey, DescribeKey, ListKeys, key states, deletion and aliases, with KMS rules."""

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
        """Create a key whose material is generated here (or, with ``origin="EXTERNAL"``, will be
        imported with ImportKeyMaterial) and never leaves the service.

        As a local extension (LocalStack's convention), a tag ``_custom_id_`` whose value is a
        UUID makes that the key's id, so tests can fix their key ids; it stays a tag.

        A ``policy`` given must let the caller call PutKeyPolicy on the new key, unless
        ``bypass_policy_lockout_safety_check`` (KMS's lockout safety check); without one, the
        key gets AWS's default policy.

        Raises:
            ValidationException: an unknown spec, usage or origin, or a usage the spec lacks.
            AlreadyExistsException: a ``_custom_id_`` names a key that exists.
            TagException: a reserved or repeated tag key.
            MalformedPolicyDocumentException: not a valid key policy, or one that would lock the
                caller out.
            LimitExceededException: a policy over 32 KB.
        """
        check_description(description)
        check_enum("keySpec", key_spec, KEY_SPECS)
        check_enum("keyUsage", key_usage, _USAGES)
        check_enum("origin", origin, ORIGINS)
        check_flag("bypassPolicyLockoutSafetyCheck", bypass_policy_lockout_safety_check)
        if key_usage not in KEY_USAGES[key_spec]:
            raise ValidationException(
                f"KeyUsage {key_usage} is not compatible with KeySpec {key_spec}; "
                f"use {' or '.join(KEY_USAGES[key_spec])}"
            )
        pairs = check_tags(tags)
        key_id = _custom_id(pairs) or str(uuid.uuid4())
        policy = (
            default_policy(self.account_id, partition=self.partition)
            if policy is None
            else check_policy(check_string("policy", policy, 1, MAX_POLICY_TEXT))
        )
        now = self._now()
        key = KeyRecord(
            key_id=key_id,
            created=now,
            description=description,
            key_spec=key_spec,
            key_usage=key_usage,
            state=PENDING_IMPORT if origin == EXTERNAL else ENABLED,
            origin=origin,
        )
        lockout_check(self, policy, key, bypass=bypass_policy_lockout_safety_check)
        # Key generation (RSA) takes a while: outside the lock. EXTERNAL keys wait for import.
        material = None if origin == EXTERNAL else new_material(key_spec)
        with self._store.write() as records:
            if records.key(key_id) is not None:
                raise AlreadyExistsException(f"Key '{self._arn(key_id)}' already exists")
            records.insert_key(key, policy=policy)
            for name, value in pairs:
                records.put_tag(TagRecord(key_id, name, value))
            if material is not None:
                records.add_version(key.key_id, 1, now, None, material)
        return KeyMetadataResult(self._metadata(key))

    def describe_key(
        self, *, key_id: str, grant_tokens: Sequence[str] | None = None
    ) -> KeyMetadataResult:
        check_grant_tokens(grant_tokens)
        return KeyMetadataResult(self._metadata(self._resolve(key_id)))

    def list_keys(self, *, limit: int | None = None, marker: str | None = None) -> ListKeysResult:
        size = check_limit("limit", limit, "keys")
        check_marker(marker)
        ids = self._purge_due_deletions().key_ids()
        chunk, truncated, next_marker = page(ids, lambda k: k, size, marker, kind="keys")
        entries = tuple(KeyListEntry(key_id=k, key_arn=self._arn(k)) for k in chunk)
        return ListKeysResult(keys=entries, truncated=truncated, next_marker=next_marker)

    def update_key_description(self, *, key_id: str, description: str) -> None:
        """Replace a key's description.

        Raises:
            KMSInvalidStateException: the key is pending deletion.
        """
        check_key_id(key_id)
        check_description(description)
        with self._store.write() as records:
            key = self._resolve(key_id, aliases=False, records=records)
            self._not_pending(key)
            records.update_key(key.changed(description=description))

    def enable_key(self, *, key_id: str) -> None:
        self._set_state(key_id, ENABLED)

    def disable_key(self, *, key_id: str) -> None:
        self._set_state(key_id, DISABLED)

    def _set_state(self, key_id: str, state: str) -> None:
        with self._store.write() as records:
            key = self._resolve(key_id, aliases=False, records=records)
            self._not_pending(key)
            self._not_pending_import(key)
            records.update_key(key.changed(state=state))

    def schedule_key_deletion(
        self, *, key_id: str, pending_window_in_days: int = DEFAULT_DELETION_WINDOW
    ) -> ScheduleKeyDeletionResult:
        days = check_range("pendingWindowInDays", pending_window_in_days, *DELETION_WINDOW)
        with self._store.write() as records:
            key = self._resolve(key_id, aliases=False, records=records)
            self._not_pending(key)
            deletion = self._now() + days * _DAY
            records.update_key(
                key.changed(state=PENDING_DELETION, deletion_date=deletion, pending_window=days)
            )
        return ScheduleKeyDeletionResult(
            key_id=self._arn(key.key_id),
            deletion_date=_ts(deletion) or _utcnow(),
            key_state=PENDING_DELETION,
            pending_window_in_days=days,
        )

    def cancel_key_deletion(self, *, key_id: str) -> CancelKeyDeletionResult:
        with self._store.write() as records:
            key = self._resolve(key_id, aliases=False, records=records)
            if key.state != PENDING_DELETION:
                raise KMSInvalidStateException(f"{self._arn(key.key_id)} is not pending deletion.")
            # As in KMS, a key whose deletion is cancelled comes back Disabled, or PendingImport
            # if it has no key material (imported material that expired or was deleted).
            state = DISABLED
            if key.origin == EXTERNAL and records.latest_version(key.key_id) == 0:
                state = PENDING_IMPORT
            records.update_key(key.changed(state=state, deletion_date=None, pending_window=None))
        return CancelKeyDeletionResult(key_id=self._arn(key.key_id))

    # --- aliases ----------------------------------------------------------------------------------
    def create_alias(self, *, alias_name: str, target_key_id: str) -> None:
        check_alias_name(alias_name)
        with self._store.write() as records:
            key = self._resolve(target_key_id, aliases=False, records=records)
            self._not_pending(key)
            if records.alias(alias_name) is not None:
                raise AlreadyExistsException(
                    f"An alias with the name {self._alias_arn(alias_name)} already exists"
                )
            now = self._now()
            records.insert_alias(AliasRecord(alias_name, key.key_id, now, now))

    def update_alias(self, *, alias_name: str, target_key_id: str) -> None:
        """Point an existing alias at another key of the same type and usage (KMS UpdateAlias:
        ``kms:UpdateAlias`` on the current key and on the new one).

        Raises:
            NotFoundException: no such alias or key.
            ValidationException: the new key differs in type (symmetric or not) or usage.
            KMSInvalidStateException: the new key is pending deletion.
        """
        check_alias_name(alias_name)
        check_key_id(target_key_id, "targetKeyId")
        with self._store.write() as records:
            current = self._resolve(alias_name, records=records)
            target = self._resolve(target_key_id, aliases=False, records=records)
            self._not_pending(target)
            if (current.key_spec == SYMMETRIC_DEFAULT) != (
                target.key_spec == SYMMETRIC_DEFAULT
            ) or current.key_usage != target.key_usage:
                raise ValidationException(
                    f"{self._arn(target.key_id)} is not the same type of key as "
                    f"{self._arn(current.key_id)}: UpdateAlias needs the same type and key usage"
                )
            alias = records.alias(alias_name)
            assert alias is not None
            records.delete_alias(alias_name)
            records.insert_alias(AliasRecord(alias_name, target.key_id, alias.created, self._now()))

    def delete_alias(self, *, alias_name: str) -> None:
        """Delete an alias (KMS: ``kms:DeleteAlias`` on the key it names)."""
        check_alias_name(alias_name)
        with self._store.write() as records:
            self._resolve(alias_name, records=records)  # NotFoundException, or authorization
            records.delete_alias(alias_name)

    def list_aliases(
        self, *, key_id: str | None = None, limit: int | None = None, marker: str | None = None
    ) -> ListAliasesResult:
        size = check_limit("limit", limit, "aliases")
        check_marker(marker)
        check_optional_key_id(key_id)
        records = self._purge_due_deletions()
        target = None if key_id is None else self._resolve(key_id, aliases=False).key_id
        rows = records.aliases(target)
        chunk, truncated, next_marker = page(rows, lambda r: r.name, size, marker, kind="aliases")
        entries = tuple(
            AliasListEntry(
                alias_name=r.name,
                alias_arn=self._alias_arn(r.name),
                target_key_id=r.key_id,
                creation_date=_ts(r.created),
                last_updated_date=_ts(r.updated),
            )
            for r in chunk
        )
        return ListAliasesResult(aliases=entries, truncated=truncated, next_marker=next_marker)


def _custom_id(pairs: list[tuple[str, str]]) -> str | None:
    """The key id a ``_custom_id_`` tag asks for (a UUID, as every key id of this service)."""
    for name, value in pairs:
        if name == CUSTOM_ID_TAG:
            if not UUID_PATTERN.fullmatch(value):
                raise ValidationException(
                    f"the {CUSTOM_ID_TAG} tag must be a key id in UUID form "
                    "(lowercase, such as 1234abcd-12ab-34cd-56ef-1234567890ab)"
                )
            return value
    return None
