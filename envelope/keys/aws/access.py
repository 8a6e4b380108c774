"""AwsKmsKeyService's key policies, grants, tags and key updates: each call passed through to
boto3.

AWS KMS (or the endpoint) decides; nothing is checked or evaluated here beyond what the other
operations check, and every failure comes back as the ``envelope.errors`` class of its KMS code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from envelope.keys.aws.core import AwsCore
from envelope.keys.aws_shapes import tag_list, tokens, utc
from envelope.keys.base import (
    CreateGrantResult,
    GetKeyPolicyResult,
    GrantConstraints,
    GrantListEntry,
    ListGrantsResult,
    ListKeyPoliciesResult,
    ListResourceTagsResult,
    Tag,
)


def _constraints(raw: Mapping[str, Any] | None) -> GrantConstraints | None:
    if not raw:
        return None
    subset = raw.get("EncryptionContextSubset")
    equals = raw.get("EncryptionContextEquals")
    return GrantConstraints(
        encryption_context_subset=dict(subset) if subset is not None else None,
        encryption_context_equals=dict(equals) if equals is not None else None,
    )


def grant_entry(raw: Mapping[str, Any]) -> GrantListEntry:
    """A ``GrantListEntry`` of a ListGrants/ListRetirableGrants response."""
    return GrantListEntry(
        key_id=str(raw.get("KeyId", "")),
        grant_id=str(raw["GrantId"]),
        creation_date=utc(raw.get("CreationDate")),
        grantee_principal=str(raw.get("GranteePrincipal", "")),
        issuing_account=str(raw.get("IssuingAccount", "")),
        operations=tuple(raw.get("Operations") or ()),
        name=raw.get("Name") or None,
        retiring_principal=raw.get("RetiringPrincipal") or None,
        constraints=_constraints(raw.get("Constraints")),
    )


def _grants(response: Mapping[str, Any]) -> ListGrantsResult:
    truncated = bool(response.get("Truncated", False))
    return ListGrantsResult(
        grants=tuple(grant_entry(g) for g in response.get("Grants", [])),
        truncated=truncated,
        next_marker=response.get("NextMarker") if truncated else None,
    )


class AwsAccess(AwsCore):
    """Key policies, grants, tags, UpdateAlias and UpdateKeyDescription, passed through to KMS."""

    # --- key policies -----------------------------------------------------------------------------
    def get_key_policy(
        self, *, key_id: str, policy_name: str | None = None
    ) -> GetKeyPolicyResult:
        """The key's policy document (KMS GetKeyPolicy)."""
        # PolicyName is optional since 2023; older endpoints (moto) still need it.
        response = self._call(
            self.client.get_key_policy, KeyId=key_id, PolicyName=policy_name or "default"
        )
        return GetKeyPolicyResult(
            policy=str(response["Policy"]), policy_name=str(response.get("PolicyName", "default"))
        )

    def put_key_policy(
        self,
        *,
        key_id: str,
        policy: str,
        policy_name: str | None = None,
        bypass_policy_lockout_safety_check: bool = False,
    ) -> None:
        """Replace the key's policy (KMS PutKeyPolicy)."""
        self._call(
            self.client.put_key_policy,
            KeyId=key_id,
            Policy=policy,
            PolicyName=policy_name or "default",
            BypassPolicyLockoutSafetyCheck=bypass_policy_lockout_safety_check or None,
        )

    def list_key_policies(
        self, *, key_id: str, limit: int | None = None, marker: str | None = None
    ) -> ListKeyPoliciesResult:
        """The key's policy names: ``default`` (KMS ListKeyPolicies)."""
        response = self._call(
            self.client.list_key_policies, KeyId=key_id, Limit=limit, Marker=marker
        )
        truncated = bool(response.get("Truncated", False))
        return ListKeyPoliciesResult(
            policy_names=tuple(response.get("PolicyNames") or ()),
            truncated=truncated,
            next_marker=response.get("NextMarker") if truncated else None,
        )

    # --- grants -----------------------------------------------------------------------------------
    def create_grant(
        self,
        *,
        key_id: str,
        operations: Sequence[str],
        grantee_principal: str | None = None,
        retiring_principal: str | None = None,
        constraints: Mapping[str, Mapping[str, str]] | None = None,
        grant_tokens: Sequence[str] | None = None,
        name: str | None = None,
        dry_run: bool = False,
    ) -> CreateGrantResult:
        """Add a grant to a key (KMS CreateGrant); returns its token and id."""
        response = self._call(
            self.client.create_grant,
            KeyId=key_id,
            GranteePrincipal=grantee_principal,
            RetiringPrincipal=retiring_principal,
            Operations=list(operations) if isinstance(operations, (list, tuple)) else operations,
            Constraints={k: dict(v) for k, v in constraints.items()}
            if isinstance(constraints, Mapping)
            else constraints,
            GrantTokens=tokens(grant_tokens),
            Name=name,
            DryRun=dry_run or None,
        )
        return CreateGrantResult(
            grant_token=str(response["GrantToken"]), grant_id=str(response["GrantId"])
        )

    def list_grants(
        self,
        *,
        key_id: str,
        limit: int | None = None,
        marker: str | None = None,
        grant_id: str | None = None,
        grantee_principal: str | None = None,
    ) -> ListGrantsResult:
        """A key's grants, one page at a time (KMS ListGrants)."""
        return _grants(
            self._call(
                self.client.list_grants,
                KeyId=key_id,
                Limit=limit,
                Marker=marker,
                GrantId=grant_id,
                GranteePrincipal=grantee_principal,
            )
        )

    def list_retirable_grants(
        self,
        *,
        retiring_principal: str | None = None,
        limit: int | None = None,
        marker: str | None = None,
    ) -> ListGrantsResult:
        """The grants a principal may retire (KMS ListRetirableGrants)."""
        return _grants(
            self._call(
                self.client.list_retirable_grants,
                RetiringPrincipal=retiring_principal,
                Limit=limit,
                Marker=marker,
            )
        )

    def retire_grant(
        self,
        *,
        grant_token: str | None = None,
        key_id: str | None = None,
        grant_id: str | None = None,
        dry_run: bool = False,
    ) -> None:
        """Retire a grant by token, or by key and grant id (KMS RetireGrant)."""
        self._call(
            self.client.retire_grant,
            GrantToken=grant_token,
            KeyId=key_id,
            GrantId=grant_id,
            DryRun=dry_run or None,
        )

    def revoke_grant(self, *, key_id: str, grant_id: str, dry_run: bool = False) -> None:
        """Revoke a grant (KMS RevokeGrant)."""
        self._call(
            self.client.revoke_grant, KeyId=key_id, GrantId=grant_id, DryRun=dry_run or None
        )

    # --- key updates ------------------------------------------------------------------------------
    def update_alias(self, *, alias_name: str, target_key_id: str) -> None:
        """Point an alias at another key (KMS UpdateAlias)."""
        self._call(self.client.update_alias, AliasName=alias_name, TargetKeyId=target_key_id)

    def update_key_description(self, *, key_id: str, description: str) -> None:
        """Replace a key's description (KMS UpdateKeyDescription)."""
        self._call(self.client.update_key_description, KeyId=key_id, Description=description)

    # --- tags -------------------------------------------------------------------------------------
    def tag_resource(self, *, key_id: str, tags: Sequence[Mapping[str, str]]) -> None:
        """Add or change tags of a key (KMS TagResource)."""
        self._call(self.client.tag_resource, KeyId=key_id, Tags=tag_list(tags))

    def untag_resource(self, *, key_id: str, tag_keys: Sequence[str]) -> None:
        """Remove tags from a key (KMS UntagResource)."""
        keys = list(tag_keys) if isinstance(tag_keys, (list, tuple)) else tag_keys
        self._call(self.client.untag_resource, KeyId=key_id, TagKeys=keys)

    def list_resource_tags(
        self, *, key_id: str, limit: int | None = None, marker: str | None = None
    ) -> ListResourceTagsResult:
        """A key's tags, one page at a time (KMS ListResourceTags)."""
        response = self._call(
            self.client.list_resource_tags, KeyId=key_id, Limit=limit, Marker=marker
        )
        truncated = bool(response.get("Truncated", False))
        return ListResourceTagsResult(
            tags=tuple(
                Tag(tag_key=str(t["TagKey"]), tag_value=str(t.get("TagValue", "")))
                for t in response.get("Tags", [])
            ),
            truncated=truncated,
            next_marker=response.get("NextMarker") if truncated else None,
        )
