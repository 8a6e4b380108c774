"""The results of the key policy, grant and tag operations (see ``keys.access_contract``).

Loaded on first use through ``keys.base``, like ``keys.results``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass


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
