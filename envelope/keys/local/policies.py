"""LocalKeyService's key policies: GetKeyPolicy, PutKeyPolicy (with the lockout safety check) and
ListKeyPolicies."""

from __future__ import annotations

import re

from envelope.errors import NotFoundException
from envelope.keys.base import GetKeyPolicyResult, ListKeyPoliciesResult
from envelope.keys.local.access import lockout_check
from envelope.keys.local.core import LocalCore
from envelope.keys.pages import page
from envelope.keys.policy import POLICY_NAME, check_policy
from envelope.keys.validate import check_flag, check_limit, check_marker, check_string, invalid

_POLICY_NAME = re.compile(r"\w+")
MAX_POLICY_TEXT = 131072
"""The model's length bound for a policy string; KMS's own 32 KB limit is checked after it."""


def _check_name(policy_name: str | None) -> str:
    """A policy name as KMS takes it: ``[\\w]+``, 1-128 characters, and only ``default`` exists.

    Raises:
        ValidationException: wrong type, length or characters.
        NotFoundException: another name.
    """
    if policy_name is None:
        return POLICY_NAME
    name = check_string("policyName", policy_name, 1, 128)
    if not _POLICY_NAME.fullmatch(name):
        raise invalid("policyName", r"Member must satisfy regular expression pattern: [\w]+")
    if name != POLICY_NAME:
        raise NotFoundException(f"No such policy exists: {name}; the only key policy is default")
    return name


class KeyPolicies(LocalCore):
    """GetKeyPolicy, PutKeyPolicy, ListKeyPolicies."""

    def get_key_policy(
        self, *, key_id: str, policy_name: str | None = None
    ) -> GetKeyPolicyResult:
        """The key's policy document, as it was given (KMS returns it unchanged)."""
        name = _check_name(policy_name)
        records = self._purge_due_deletions()
        key = self._resolve(key_id, aliases=False, records=records)
        return GetKeyPolicyResult(policy=records.policy(key.key_id) or "", policy_name=name)

    def put_key_policy(
        self,
        *,
        key_id: str,
        policy: str,
        policy_name: str | None = None,
        bypass_policy_lockout_safety_check: bool = False,
    ) -> None:
        """Replace the key's policy. Unless ``bypass_policy_lockout_safety_check``, the new
        policy must still allow the caller to call PutKeyPolicy (KMS's lockout safety check).

        Raises:
            MalformedPolicyDocumentException: the document is not a valid key policy, or it
                would lock the caller out.
            LimitExceededException: it is over 32 KB.
        """
        _check_name(policy_name)
        check_flag("bypassPolicyLockoutSafetyCheck", bypass_policy_lockout_safety_check)
        check_policy(check_string("policy", policy, 1, MAX_POLICY_TEXT))
        with self._store.write() as records:
            key = self._resolve(key_id, aliases=False, records=records)
            lockout_check(self, policy, key, bypass=bypass_policy_lockout_safety_check)
            records.set_policy(key.key_id, policy)

    def list_key_policies(
        self, *, key_id: str, limit: int | None = None, marker: str | None = None
    ) -> ListKeyPoliciesResult:
        """The names of the key's policies: always ``default``."""
        size = check_limit("limit", limit, "policies")
        check_marker(marker)
        self._resolve(key_id, aliases=False, records=self._purge_due_deletions())
        chunk, truncated, next_marker = page([POLICY_NAME], lambda n: n, size, marker)
        return ListKeyPoliciesResult(
            policy_names=tuple(chunk), truncated=truncated, next_marker=next_marker
        )
