"""LocalKeyService's grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant and
RevokeGrant, with KMS's rules (KMS developer guide, ``grants``, ``grant-manage``).

Grants take effect at once here (there is no eventual consistency to wait for), and a grant
token from CreateGrant is accepted in every request that takes grant tokens, at once too.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, Sequence

from envelope.errors import (
    InvalidGrantTokenException,
    LimitExceededException,
    NotFoundException,
    ValidationException,
)
from envelope.keys import grants as _grants
from envelope.keys.base import (
    SYMMETRIC_DEFAULT,
    CreateGrantResult,
    GrantConstraints,
    GrantListEntry,
    ListGrantsResult,
)
from envelope.keys.local.access import authorize_retire
from envelope.keys.local.core import LocalCore, _ts, _utcnow
from envelope.keys.pages import page
from envelope.keys.store import GrantRecord
from envelope.keys.validate import (
    MAX_GRANT_TOKEN,
    check_flag,
    check_grant_tokens,
    check_key_id,
    check_limit,
    check_marker,
    check_string,
)


def _new_token() -> str:
    # KMS: "a unique, nonsecret, variable-length, base64-encoded string" that reveals nothing.
    return base64.urlsafe_b64encode(os.urandom(48)).decode("ascii")


class GrantOperations(LocalCore):
    """CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant."""

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
        """Give ``grantee_principal`` the ``operations`` on a key, optionally constrained.

        A request repeating an existing grant's properties with the same ``name`` is a retry:
        it returns that grant's id and token and creates nothing.

        Raises:
            ValidationException: a bad principal, operation, constraint or name, or an
                operation the key does not support.
            AccessDeniedException: neither the key policy nor one of the caller's grants
                (only for grants no wider than itself) allows it.
            LimitExceededException: the key has 50,000 grants, or the grantee 500 on it.
        """
        check_key_id(key_id)
        if grantee_principal is None:
            raise ValidationException(
                "1 validation error detected: Value null at 'granteePrincipal' failed to "
                "satisfy constraint: Member must not be null"
            )
        grantee = _grants.check_principal("granteePrincipal", grantee_principal)
        retiring = None
        if retiring_principal is not None:
            retiring = _grants.check_principal("retiringPrincipal", retiring_principal)
        _grants.check_operations(operations, frozenset(_grants.GRANT_OPERATIONS))
        _grants.check_constraints(constraints, symmetric=True)
        check_grant_tokens(grant_tokens)
        name = _grants.check_name(name)
        check_flag("dryRun", dry_run)
        with self._store.write() as records:
            key = self._resolve(key_id, aliases=False, records=records)
            self._usable(key)
            supported = _grants.operations_for(key.key_spec, key.key_usage)
            wanted = _grants.check_operations(operations, supported)
            cons = _grants.check_constraints(
                constraints, symmetric=key.key_spec == SYMMETRIC_DEFAULT
            )
            if name is not None:
                for grant in records.grants_of_key(key.key_id):
                    same = (grant.name, grant.grantee, grant.retiring, grant.constraints) == (
                        name, grantee, retiring, cons
                    ) and sorted(grant.operations) == sorted(wanted)  # fmt: skip
                    if same:  # a retry: the grant it made before
                        self._dry_run_stops_here(dry_run)
                        return CreateGrantResult(grant.token, grant.grant_id)
            if records.count_grants(key.key_id) >= _grants.MAX_GRANTS_PER_KEY:
                raise LimitExceededException(
                    f"{self._arn(key.key_id)} has {_grants.MAX_GRANTS_PER_KEY} grants, the limit"
                )
            if records.count_grants(key.key_id, grantee) >= _grants.MAX_GRANTS_PER_GRANTEE:
                raise LimitExceededException(
                    f"{grantee} has {_grants.MAX_GRANTS_PER_GRANTEE} grants on "
                    f"{self._arn(key.key_id)}, the limit"
                )
            self._dry_run_stops_here(dry_run)
            record = GrantRecord(
                grant_id=os.urandom(32).hex(),
                key_id=key.key_id,
                grantee=grantee,
                operations=wanted,
                issuing_account=f"arn:{self.partition}:iam::{self.account_id}:root",
                created=self._now(),
                token=_new_token(),
                name=name,
                retiring=retiring,
                constraints=cons,
            )
            records.insert_grant(record)
        return CreateGrantResult(grant_token=record.token, grant_id=record.grant_id)

    def _grant_entry(self, grant: GrantRecord) -> GrantListEntry:
        kinds = dict(grant.constraints)
        constraints = None
        if kinds:
            constraints = GrantConstraints(
                encryption_context_subset=dict(kinds[_grants.SUBSET])
                if _grants.SUBSET in kinds
                else None,
                encryption_context_equals=dict(kinds[_grants.EQUALS])
                if _grants.EQUALS in kinds
                else None,
            )
        return GrantListEntry(
            key_id=self._arn(grant.key_id),
            grant_id=grant.grant_id,
            creation_date=_ts(grant.created) or _utcnow(),
            grantee_principal=grant.grantee,
            issuing_account=grant.issuing_account,
            operations=grant.operations,
            name=grant.name,
            retiring_principal=grant.retiring,
            constraints=constraints,
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
        """A key's grants, one page at a time, optionally only one grant id or grantee."""
        size = check_limit("limit", limit, "grants")
        check_marker(marker)
        check_key_id(key_id)
        wanted_id = None if grant_id is None else _grants.check_grant_id(grant_id)
        grantee = None
        if grantee_principal is not None:
            grantee = _grants.check_principal("granteePrincipal", grantee_principal)
        records = self._purge_due_deletions()
        key = self._resolve(key_id, aliases=False, records=records)
        rows = [
            grant
            for grant in records.grants_of_key(key.key_id)
            if (wanted_id is None or grant.grant_id == wanted_id)
            and (grantee is None or grant.grantee == grantee)
        ]
        chunk, truncated, next_marker = page(rows, lambda g: g.grant_id, size, marker)
        entries = tuple(self._grant_entry(grant) for grant in chunk)
        return ListGrantsResult(grants=entries, truncated=truncated, next_marker=next_marker)

    def list_retirable_grants(
        self,
        *,
        retiring_principal: str | None = None,
        limit: int | None = None,
        marker: str | None = None,
    ) -> ListGrantsResult:
        """Every grant, on any key, that ``retiring_principal`` (default: the caller) may retire
        as its retiring principal."""
        size = check_limit("limit", limit, "grants")
        check_marker(marker)
        principal = self._caller.arn
        if retiring_principal is not None:
            principal = _grants.check_principal("retiringPrincipal", retiring_principal)
        rows = self._purge_due_deletions().grants_retirable_by(principal)
        chunk, truncated, next_marker = page(rows, lambda g: g.grant_id, size, marker)
        entries = tuple(self._grant_entry(grant) for grant in chunk)
        return ListGrantsResult(grants=entries, truncated=truncated, next_marker=next_marker)

    def retire_grant(
        self,
        *,
        grant_token: str | None = None,
        key_id: str | None = None,
        grant_id: str | None = None,
        dry_run: bool = False,
    ) -> None:
        """Delete a grant, named by its token or by key and grant id. Allowed to the grant's
        retiring principal, to its grantee if it allows RetireGrant, and to the account
        principal of the account that issued it.

        Raises:
            InvalidGrantTokenException: the token names no grant.
            NotFoundException: no such grant on that key.
            AccessDeniedException: the caller may not retire it.
        """
        token = None
        if grant_token is not None:
            token = check_string("grantToken", grant_token, 1, MAX_GRANT_TOKEN)
        if key_id is not None:
            check_key_id(key_id)
        wanted_id = None if grant_id is None else _grants.check_grant_id(grant_id)
        check_flag("dryRun", dry_run)
        if token is None and (key_id is None or wanted_id is None):
            raise ValidationException(
                "RetireGrant needs a grant token, or both a key id and a grant id"
            )
        with self._store.write() as records:
            self._purge_due_deletions(records)
            if token is not None:
                grant = records.grant_by_token(token)
                if grant is None:
                    raise InvalidGrantTokenException("The grant token in the request is not valid")
            else:
                assert key_id is not None and wanted_id is not None
                key = self._resolve(key_id, aliases=False, records=records)
                found = records.grant(wanted_id)
                if found is None or found.key_id != key.key_id:
                    raise NotFoundException(f"Grant ID {wanted_id} not found")
                grant = found
            authorize_retire(self, grant)
            self._dry_run_stops_here(dry_run)
            records.delete_grant(grant.grant_id)

    def revoke_grant(self, *, key_id: str, grant_id: str, dry_run: bool = False) -> None:
        """Delete a grant as a key administrator (``kms:RevokeGrant`` in the key policy).

        Raises:
            NotFoundException: no such grant on that key.
            AccessDeniedException: the key policy does not allow the caller to revoke.
        """
        check_key_id(key_id)
        wanted_id = _grants.check_grant_id(grant_id)
        check_flag("dryRun", dry_run)
        with self._store.write() as records:
            key = self._resolve(key_id, aliases=False, records=records)
            grant = records.grant(wanted_id)
            if grant is None or grant.key_id != key.key_id:
                raise NotFoundException(f"Grant ID {wanted_id} not found")
            self._dry_run_stops_here(dry_run)
            records.delete_grant(grant.grant_id)
