"""The KeyService operations on who may use a key (key policies, grants, tags) and their results.

A part of the contract in ``keys.base``, which ``KeyService`` inherits and whose results it
re-exports; kept apart so that each module stays one topic.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class GetKeyPolicyResult:
    policy: str
    """The key policy document (JSON)."""
    policy_name: str = "default"


@dataclass(frozen=True)
class ListKeyPoliciesResult:
    policy_names: tuple[str, ...]
    truncated: bool = False
    next_marker: str | None = None


@dataclass(frozen=True)
class GrantConstraints:
    """KMS ``GrantConstraints``: the encryption context a grant's operations require."""

    encryption_context_subset: Mapping[str, str] | None = None
    encryption_context_equals: Mapping[str, str] | None = None


@dataclass(frozen=True)
class GrantListEntry:
    """One grant, as ListGrants and ListRetirableGrants describe it (never its token)."""

    key_id: str
    """The key ARN."""
    grant_id: str
    grantee_principal: str
    issuing_account: str
    operations: tuple[str, ...]
    creation_date: _dt.datetime | None = None
    name: str | None = None
    retiring_principal: str | None = None
    constraints: GrantConstraints | None = None


@dataclass(frozen=True)
class ListGrantsResult:
    grants: tuple[GrantListEntry, ...]
    truncated: bool = False
    next_marker: str | None = None


@dataclass(frozen=True)
class CreateGrantResult:
    grant_token: str
    """Names the grant in requests at once (GrantTokens) and in RetireGrant; not secret."""
    grant_id: str


@dataclass(frozen=True)
class Tag:
    tag_key: str
    tag_value: str


@dataclass(frozen=True)
class ListResourceTagsResult:
    tags: tuple[Tag, ...]
    truncated: bool = False
    next_marker: str | None = None


class AccessOperations(Protocol):
    """GetKeyPolicy, PutKeyPolicy, ListKeyPolicies, the grant operations and the tag operations,
    as ``KeyService`` declares every operation (keyword-only, boto3's names)."""

    # Key policies
    def get_key_policy(
        self, *, key_id: str, policy_name: str | None = None
    ) -> GetKeyPolicyResult: ...

    def put_key_policy(
        self,
        *,
        key_id: str,
        policy: str,
        policy_name: str | None = None,
        bypass_policy_lockout_safety_check: bool = False,
    ) -> None: ...

    def list_key_policies(
        self, *, key_id: str, limit: int | None = None, marker: str | None = None
    ) -> ListKeyPoliciesResult: ...

    # Grants
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
    ) -> CreateGrantResult: ...

    def list_grants(
        self,
        *,
        key_id: str,
        limit: int | None = None,
        marker: str | None = None,
        grant_id: str | None = None,
        grantee_principal: str | None = None,
    ) -> ListGrantsResult: ...

    def list_retirable_grants(
        self,
        *,
        retiring_principal: str | None = None,
        limit: int | None = None,
        marker: str | None = None,
    ) -> ListGrantsResult: ...

    def retire_grant(
        self,
        *,
        grant_token: str | None = None,
        key_id: str | None = None,
        grant_id: str | None = None,
        dry_run: bool = False,
    ) -> None: ...

    def revoke_grant(self, *, key_id: str, grant_id: str, dry_run: bool = False) -> None: ...

    # Tags
    def tag_resource(self, *, key_id: str, tags: Sequence[Mapping[str, str]]) -> None: ...

    def untag_resource(self, *, key_id: str, tag_keys: Sequence[str]) -> None: ...

    def list_resource_tags(
        self, *, key_id: str, limit: int | None = None, marker: str | None = None
    ) -> ListResourceTagsResult: ...
