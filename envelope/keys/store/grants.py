"""The keystore's grants and key policies: their SQL, behind named methods over typed records.

A part of ``Records`` (which inherits it), kept apart so that each module stays one topic.
"""

from __future__ import annotations

import json
from typing import Any

from envelope.keys.store.records import GrantRecord
from envelope.keys.store.sqlite import Executor

GRANTS_TABLE = """CREATE TABLE IF NOT EXISTS grants (
        grant_id TEXT PRIMARY KEY,
        key_id TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
        grantee TEXT NOT NULL,
        operations TEXT NOT NULL,
        issuing_account TEXT NOT NULL,
        created REAL NOT NULL,
        token TEXT NOT NULL UNIQUE,
        name TEXT,
        retiring TEXT,
        constraints TEXT NOT NULL
    )"""
GRANTS_INDEXES = (
    "CREATE INDEX IF NOT EXISTS grants_by_key ON grants (key_id, grantee)",
    "CREATE INDEX IF NOT EXISTS grants_by_retiring ON grants (retiring)",
)
_COLUMNS = (
    "grant_id, key_id, grantee, operations, issuing_account, created, token, name, retiring, "
    "constraints"
)
_SELECT = f"SELECT {_COLUMNS} FROM grants"  # noqa: S608 - constant column list


def _grant(row: tuple[Any, ...]) -> GrantRecord:
    grant_id, key_id, grantee, operations, account, created, token, name, retiring, cons = row
    constraints = tuple(
        (kind, tuple((k, v) for k, v in pairs)) for kind, pairs in json.loads(cons)
    )
    return GrantRecord(
        grant_id=grant_id,
        key_id=key_id,
        grantee=grantee,
        operations=tuple(json.loads(operations)),
        issuing_account=account,
        created=created,
        token=token,
        name=name,
        retiring=retiring,
        constraints=constraints,
    )


class GrantRows:
    """Grants and key policies as typed operations (``Records`` supplies the executor)."""

    _x: Executor

    # --- key policies ---------------------------------------------------------------------------
    def policy(self, key_id: str) -> str | None:
        """A key's policy document, or None if there is no such key."""
        rows = self._x.rows("SELECT policy FROM keys WHERE key_id = ?", (key_id,))
        return str(rows[0][0]) if rows else None

    def set_policy(self, key_id: str, policy: str) -> None:
        self._x.run("UPDATE keys SET policy = ? WHERE key_id = ?", (policy, key_id))

    # --- grants ---------------------------------------------------------------------------------
    def insert_grant(self, record: GrantRecord) -> None:
        self._x.run(
            f"INSERT INTO grants ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            (
                record.grant_id, record.key_id, record.grantee, json.dumps(record.operations),
                record.issuing_account, record.created, record.token, record.name,
                record.retiring, json.dumps(record.constraints),
            ),
        )  # fmt: skip

    def grant(self, grant_id: str) -> GrantRecord | None:
        rows = self._x.rows(f"{_SELECT} WHERE grant_id = ?", (grant_id,))
        return _grant(rows[0]) if rows else None

    def grant_by_token(self, token: str) -> GrantRecord | None:
        rows = self._x.rows(f"{_SELECT} WHERE token = ?", (token,))
        return _grant(rows[0]) if rows else None

    def grants_of_key(self, key_id: str) -> list[GrantRecord]:
        """A key's grants, by grant id."""
        rows = self._x.rows(f"{_SELECT} WHERE key_id = ? ORDER BY grant_id", (key_id,))
        return [_grant(row) for row in rows]

    def grants_for(self, key_id: str, grantees: tuple[str, ...]) -> list[GrantRecord]:
        """A key's grants whose grantee is one of ``grantees`` (the caller and its account)."""
        marks = ", ".join("?" for _ in grantees)
        rows = self._x.rows(
            f"{_SELECT} WHERE key_id = ? AND grantee IN ({marks})",
            (key_id, *grantees),
        )
        return [_grant(row) for row in rows]

    def grants_retirable_by(self, principal: str) -> list[GrantRecord]:
        """Every grant (of any key) whose retiring principal is ``principal``, by grant id."""
        rows = self._x.rows(f"{_SELECT} WHERE retiring = ? ORDER BY grant_id", (principal,))
        return [_grant(row) for row in rows]

    def count_grants(self, key_id: str, grantee: str | None = None) -> int:
        if grantee is None:
            rows = self._x.rows("SELECT COUNT(*) FROM grants WHERE key_id = ?", (key_id,))
        else:
            rows = self._x.rows(
                "SELECT COUNT(*) FROM grants WHERE key_id = ? AND grantee = ?", (key_id, grantee)
            )
        return int(rows[0][0])

    def delete_grant(self, grant_id: str) -> bool:
        return self._x.run("DELETE FROM grants WHERE grant_id = ?", (grant_id,)) > 0

    def delete_grants_of_key(self, key_id: str) -> None:
        self._x.run("DELETE FROM grants WHERE key_id = ?", (key_id,))
