"""The KeyService operations on who may use a key (key policies, grants, tags) and their results.

A part of the contract in ``keys.base``, which ``KeyService`` inherits and whose results it
re-exports; kept apart so that each module stays one topic. Their results are in
``keys.access_results``, loaded only when an operation returns one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from envelope.keys.access_results import (
        CreateGrantResult,
        GetKeyPolicyResult,
        ListGrantsResult,
        ListKeyPoliciesResult,
        ListResourceTagsResult,
    )


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
