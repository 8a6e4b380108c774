"""Every SQL statement of the keystore, behind named methods over typed records.

``Records`` runs on an ``Executor``: inside a write transaction (``Keystore.write()``), where a
check and the change that depends on it are one atomic step, or on the plain reader for reads.
"""

from __future__ import annotations

from envelope.errors import KeystoreError
from envelope.keys.store.grants import GRANTS_INDEXES, GRANTS_TABLE, GrantRows
from envelope.keys.store.records import (
    AliasRecord,
    ImportRecord,
    KeyRecord,
    PrincipalRecord,
    TagRecord,
    VersionRecord,
)
from envelope.keys.store.rootkey import RootKey
from envelope.keys.store.sqlite import Executor

SCHEMA_VERSION = 1

# Tables added after the first release; ``migrate`` creates them in older keystores.
_ADDED_TABLES = (
    """CREATE TABLE IF NOT EXISTS tags (
        key_id TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
        tag_key TEXT NOT NULL,
        tag_value TEXT NOT NULL,
        PRIMARY KEY (key_id, tag_key)
    )""",
    """CREATE TABLE IF NOT EXISTS imports (
        token_id TEXT PRIMARY KEY,
        key_id TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
        wrapping_algorithm TEXT NOT NULL,
        wrapping_key_spec TEXT NOT NULL,
        valid_to REAL NOT NULL,
        wrapped BLOB NOT NULL
    )""",
    GRANTS_TABLE,
    *GRANTS_INDEXES,
)

# Columns of ``keys`` added after the first release (older keystores get them from ``migrate``;
# older code keeps working with them: it names its columns and the defaults fill the rest).
_ADDED_KEY_COLUMNS = (
    ("origin", "TEXT NOT NULL DEFAULT 'AWS_KMS'"),
    ("valid_to", "REAL"),
    ("expiration_model", "TEXT"),
    ("material_id", "TEXT"),
)

# The principals `envelope serve` authenticates (SigV4 access keys); each secret is wrapped under
# the root key and bound to its access key id. Created on demand in keystores made before it.
_PRINCIPALS_TABLE = """CREATE TABLE IF NOT EXISTS principals (
        name TEXT PRIMARY KEY,
        access_key_id TEXT NOT NULL UNIQUE,
        created REAL NOT NULL,
        wrapped_secret BLOB NOT NULL
    )"""

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL)",
    """CREATE TABLE IF NOT EXISTS keys (
        key_id TEXT PRIMARY KEY,
        created REAL NOT NULL,
        description TEXT NOT NULL,
        key_spec TEXT NOT NULL,
        key_usage TEXT NOT NULL,
        state TEXT NOT NULL,
        deletion_date REAL,
        pending_window INTEGER,
        rotation_enabled INTEGER NOT NULL DEFAULT 0,
        rotation_period INTEGER,
        next_rotation REAL,
        on_demand_rotations INTEGER NOT NULL DEFAULT 0,
        policy TEXT NOT NULL,
        origin TEXT NOT NULL DEFAULT 'AWS_KMS',
        valid_to REAL,
        expiration_model TEXT,
        material_id TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS versions (
        key_id TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        created REAL NOT NULL,
        rotation_type TEXT,
        wrapped BLOB NOT NULL,
        PRIMARY KEY (key_id, version)
    )""",
    """CREATE TABLE IF NOT EXISTS aliases (
        name TEXT PRIMARY KEY,
        key_id TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
        created REAL NOT NULL,
        updated REAL NOT NULL
    )""",
    _PRINCIPALS_TABLE,
    *_ADDED_TABLES,
)

_KEY_COLUMNS = (
    "key_id, created, description, key_spec, key_usage, state, deletion_date, pending_window, "
    "rotation_enabled, rotation_period, next_rotation, on_demand_rotations, origin, valid_to, "
    "expiration_model, material_id"
)
_SELECT_KEY = f"SELECT {_KEY_COLUMNS} FROM keys"  # noqa: S608 - constant column list


def _key(row: tuple[object, ...]) -> KeyRecord:
    values = list(row)
    values[8] = bool(values[8])  # rotation_enabled is stored as 0/1
    return KeyRecord(*values)  # type: ignore[arg-type]


class Records(GrantRows):
    """The keystore's tables as typed operations.

    Args:
        executor: where the statements run (a write transaction or the reader).
        root: wraps backing-key material on its way in and out of the ``versions`` table.
    """

    def __init__(self, executor: Executor, root: RootKey | None) -> None:
        self._x = executor
        self._root = root

    # --- schema and metadata ----------------------------------------------------------------
    def has_schema(self) -> bool:
        rows = self._x.rows("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
        return bool(rows) and bool(self._x.rows("SELECT 1 FROM meta LIMIT 1"))

    def create_schema(self) -> None:
        for statement in SCHEMA:
            self._x.run(statement)

    def _missing_key_columns(self) -> list[tuple[str, str]]:
        present = {row[1] for row in self._x.rows("PRAGMA table_info(keys)")}
        return [column for column in _ADDED_KEY_COLUMNS if column[0] not in present]

    def _missing_tables(self) -> bool:
        names = {"tags", "imports", "grants"}
        rows = self._x.rows("SELECT name FROM sqlite_master WHERE type = 'table'")
        return not names <= {row[0] for row in rows}

    def needs_migration(self) -> bool:
        """True if the keystore predates a table or a column this code uses."""
        return self._missing_tables() or bool(self._missing_key_columns())

    def migrate(self) -> None:
        """Add the tables and columns a keystore made by older code lacks (run in a write
        transaction; idempotent, so a second process migrating at once changes nothing)."""
        for statement in _ADDED_TABLES:
            self._x.run(statement)
        for name, declaration in self._missing_key_columns():
            self._x.run(f"ALTER TABLE keys ADD COLUMN {name} {declaration}")

    def meta(self) -> dict[str, bytes]:
        return {name: bytes(value) for name, value in self._x.rows("SELECT name, value FROM meta")}

    def set_meta(self, values: dict[str, bytes]) -> None:
        for name, value in values.items():
            self._x.run("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value))

    def delete_meta(self, name: str) -> None:
        self._x.run("DELETE FROM meta WHERE name = ?", (name,))

    def insert_meta_if_empty(self, meta: dict[str, bytes]) -> bool:
        """Store a new keystore's metadata unless another process already did; True if stored."""
        if self._x.rows("SELECT 1 FROM meta LIMIT 1"):
            return False
        for name, value in {"schema": str(SCHEMA_VERSION).encode(), **meta}.items():
            self._x.run("INSERT INTO meta (name, value) VALUES (?, ?)", (name, value))
        return True

    # --- keys ---------------------------------------------------------------------------------
    def key(self, key_id: str) -> KeyRecord | None:
        rows = self._x.rows(f"{_SELECT_KEY} WHERE key_id = ?", (key_id,))
        return _key(rows[0]) if rows else None

    def key_and_policy(self, key_id: str) -> tuple[KeyRecord, str] | None:
        """A key and its policy document in one read (every authorized lookup needs both)."""
        rows = self._x.rows(
            f"SELECT {_KEY_COLUMNS}, policy FROM keys WHERE key_id = ?",  # noqa: S608
            (key_id,),
        )
        return (_key(rows[0][:-1]), str(rows[0][-1])) if rows else None

    def key_ids(self) -> list[str]:
        return [row[0] for row in self._x.rows("SELECT key_id FROM keys ORDER BY key_id")]

    def insert_key(self, record: KeyRecord, *, policy: str) -> None:
        self._x.run(
            f"INSERT INTO keys ({_KEY_COLUMNS}, policy)"  # noqa: S608 - constant column list
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.key_id, record.created, record.description, record.key_spec,
                record.key_usage, record.state, record.deletion_date, record.pending_window,
                int(record.rotation_enabled), record.rotation_period, record.next_rotation,
                record.on_demand_rotations, record.origin, record.valid_to,
                record.expiration_model, record.material_id, policy,
            ),
        )  # fmt: skip

    def update_key(self, record: KeyRecord) -> None:
        """Write every mutable field of ``record`` back to its row."""
        self._x.run(
            "UPDATE keys SET description = ?, state = ?, deletion_date = ?, pending_window = ?,"
            " rotation_enabled = ?, rotation_period = ?, next_rotation = ?,"
            " on_demand_rotations = ?, valid_to = ?, expiration_model = ?, material_id = ?"
            " WHERE key_id = ?",
            (
                record.description, record.state, record.deletion_date, record.pending_window,
                int(record.rotation_enabled), record.rotation_period, record.next_rotation,
                record.on_demand_rotations, record.valid_to, record.expiration_model,
                record.material_id, record.key_id,
            ),
        )  # fmt: skip

    def keys_due_for_deletion(self, state: str, now: float) -> list[str]:
        rows = self._x.rows(
            "SELECT key_id FROM keys WHERE state = ? AND deletion_date <= ?", (state, now)
        )
        return [row[0] for row in rows]

    def anything_due(self, state: str, now: float) -> bool:
        """One query for the hot path: is a key due for deletion, or imported material expired?"""
        rows = self._x.rows(
            "SELECT 1 FROM keys WHERE (state = ? AND deletion_date <= ?)"
            " OR (valid_to IS NOT NULL AND valid_to <= ?) LIMIT 1",
            (state, now, now),
        )
        return bool(rows)

    def destroy_key(self, key_id: str) -> None:
        """Erase a key with its versions, aliases, grants, tags and import parameters (pages
        are zeroed: secure_delete)."""
        self.delete_grants_of_key(key_id)
        self._x.run("DELETE FROM imports WHERE key_id = ?", (key_id,))
        self._x.run("DELETE FROM tags WHERE key_id = ?", (key_id,))
        self._x.run("DELETE FROM aliases WHERE key_id = ?", (key_id,))
        self._x.run("DELETE FROM versions WHERE key_id = ?", (key_id,))
        self._x.run("DELETE FROM keys WHERE key_id = ?", (key_id,))

    # --- backing-key versions -------------------------------------------------------------------
    def latest_version(self, key_id: str) -> int:
        rows = self._x.rows("SELECT MAX(version) FROM versions WHERE key_id = ?", (key_id,))
        return int(rows[0][0] or 0)

    def add_version(
        self, key_id: str, version: int, created: float, rotation_type: str | None, material: bytes
    ) -> None:
        """Store a backing-key version; the material is wrapped under the root key first."""
        assert self._root is not None
        self._x.run(
            "INSERT INTO versions (key_id, version, created, rotation_type, wrapped)"
            " VALUES (?, ?, ?, ?, ?)",
            (key_id, version, created, rotation_type, self._root.wrap(key_id, version, material)),
        )

    def material(self, key_id: str, version: int) -> bytes | None:
        """The unwrapped material of one version, or None if there is no such version."""
        assert self._root is not None
        rows = self._x.rows(
            "SELECT wrapped FROM versions WHERE key_id = ? AND version = ?", (key_id, version)
        )
        return self._root.unwrap(key_id, version, bytes(rows[0][0])) if rows else None

    def rewrap_all(self, new_root: RootKey) -> int:
        """Re-wrap every stored backing key under ``new_root``; returns how many were moved."""
        assert self._root is not None
        rows = self._x.rows("SELECT key_id, version, wrapped FROM versions")
        for key_id, version, wrapped in rows:
            material = self._root.unwrap(key_id, version, bytes(wrapped))
            self._x.run(
                "UPDATE versions SET wrapped = ? WHERE key_id = ? AND version = ?",
                (new_root.wrap(key_id, version, material), key_id, version),
            )
        imports = self._x.rows("SELECT token_id, wrapped FROM imports")
        for token_id, wrapped in imports:
            material = self._root.unwrap(_import_label(token_id), 0, bytes(wrapped))
            self._x.run(
                "UPDATE imports SET wrapped = ? WHERE token_id = ?",
                (new_root.wrap(_import_label(token_id), 0, material), token_id),
            )
        if self.has_principals_table():
            self._rewrap_principal_secrets(new_root)
        return len(rows) + len(imports)

    def rotations(self, key_id: str) -> list[VersionRecord]:
        """Every version after the first, oldest first."""
        rows = self._x.rows(
            "SELECT key_id, version, created, rotation_type FROM versions"
            " WHERE key_id = ? AND version > 1 ORDER BY version",
            (key_id,),
        )
        return [VersionRecord(*row) for row in rows]

    # --- aliases --------------------------------------------------------------------------------
    def alias(self, name: str) -> AliasRecord | None:
        rows = self._x.rows(
            "SELECT name, key_id, created, updated FROM aliases WHERE name = ?", (name,)
        )
        return AliasRecord(*rows[0]) if rows else None

    def aliases(self, key_id: str | None = None) -> list[AliasRecord]:
        if key_id is None:
            rows = self._x.rows("SELECT name, key_id, created, updated FROM aliases ORDER BY name")
        else:
            rows = self._x.rows(
                "SELECT name, key_id, created, updated FROM aliases WHERE key_id = ? ORDER BY name",
                (key_id,),
            )
        return [AliasRecord(*row) for row in rows]

    def insert_alias(self, record: AliasRecord) -> None:
        self._x.run(
            "INSERT INTO aliases (name, key_id, created, updated) VALUES (?, ?, ?, ?)",
            (record.name, record.key_id, record.created, record.updated),
        )

    def delete_alias(self, name: str) -> bool:
        return self._x.run("DELETE FROM aliases WHERE name = ?", (name,)) > 0

    # --- imported material ----------------------------------------------------------------------
    def delete_versions(self, key_id: str) -> int:
        """Erase every backing-key version of a key (its imported material); how many went."""
        return self._x.run("DELETE FROM versions WHERE key_id = ?", (key_id,))

    def keys_with_expired_material(self, now: float) -> list[str]:
        rows = self._x.rows(
            "SELECT key_id FROM keys WHERE valid_to IS NOT NULL AND valid_to <= ?", (now,)
        )
        return [row[0] for row in rows]

    # --- tags -----------------------------------------------------------------------------------
    def tags(self, key_id: str) -> list[TagRecord]:
        rows = self._x.rows(
            "SELECT key_id, tag_key, tag_value FROM tags WHERE key_id = ? ORDER BY tag_key",
            (key_id,),
        )
        return [TagRecord(*row) for row in rows]

    def put_tag(self, record: TagRecord) -> None:
        """Add a tag, or replace the value of the key's tag with the same key (as TagResource)."""
        self._x.run(
            "INSERT OR REPLACE INTO tags (key_id, tag_key, tag_value) VALUES (?, ?, ?)",
            (record.key_id, record.tag_key, record.tag_value),
        )

    def delete_tag(self, key_id: str, tag_key: str) -> bool:
        return self._x.run(
            "DELETE FROM tags WHERE key_id = ? AND tag_key = ?", (key_id, tag_key)
        ) > 0

    # --- import parameters ------------------------------------------------------------------------
    def insert_import(self, record: ImportRecord, wrapping_key: bytes) -> None:
        """Store import parameters; the RSA wrapping key is wrapped under the root key first."""
        assert self._root is not None
        self._x.run(
            "INSERT INTO imports (token_id, key_id, wrapping_algorithm, wrapping_key_spec,"
            " valid_to, wrapped) VALUES (?, ?, ?, ?, ?, ?)",
            (
                record.token_id, record.key_id, record.wrapping_algorithm,
                record.wrapping_key_spec, record.valid_to,
                self._root.wrap(_import_label(record.token_id), 0, wrapping_key),
            ),
        )  # fmt: skip

    def import_parameters(self, token_id: str) -> tuple[ImportRecord, bytes] | None:
        """The import parameters of a token and the unwrapped wrapping key, or None."""
        assert self._root is not None
        rows = self._x.rows(
            "SELECT token_id, key_id, wrapping_algorithm, wrapping_key_spec, valid_to, wrapped"
            " FROM imports WHERE token_id = ?",
            (token_id,),
        )
        if not rows:
            return None
        *fields, wrapped = rows[0]
        record = ImportRecord(*fields)
        return record, self._root.unwrap(_import_label(token_id), 0, bytes(wrapped))

    def delete_import(self, token_id: str) -> bool:
        return self._x.run("DELETE FROM imports WHERE token_id = ?", (token_id,)) > 0

    def delete_expired_imports(self, now: float) -> int:
        return self._x.run("DELETE FROM imports WHERE valid_to <= ?", (now,))


    # --- principals (``envelope serve``) ---------------------------------------------------------
    def has_principals_table(self) -> bool:
        rows = self._x.rows(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'principals'"
        )
        return bool(rows)

    def create_principals_table(self) -> None:
        """Add the principals table to a keystore created before it existed (idempotent)."""
        self._x.run(_PRINCIPALS_TABLE)

    def principals(self) -> list[PrincipalRecord]:
        rows = self._x.rows("SELECT name, access_key_id, created FROM principals ORDER BY name")
        return [PrincipalRecord(*row) for row in rows]

    def principal(self, name: str) -> PrincipalRecord | None:
        rows = self._x.rows(
            "SELECT name, access_key_id, created FROM principals WHERE name = ?", (name,)
        )
        return PrincipalRecord(*rows[0]) if rows else None

    def principal_by_access_key(self, access_key_id: str) -> tuple[PrincipalRecord, bytes] | None:
        """The principal holding ``access_key_id`` and its unwrapped secret, or None."""
        assert self._root is not None
        rows = self._x.rows(
            "SELECT name, access_key_id, created, wrapped_secret FROM principals"
            " WHERE access_key_id = ?",
            (access_key_id,),
        )
        if not rows:
            return None
        name, key_id, created, wrapped = rows[0]
        try:
            secret = self._root.unwrap(_secret_label(key_id), 0, bytes(wrapped))
        except KeystoreError:
            raise KeystoreError(
                f"the secret of principal {name} is damaged in the keystore"
            ) from None
        return PrincipalRecord(name, key_id, created), secret

    def insert_principal(self, record: PrincipalRecord, secret: bytes) -> None:
        """Store a principal; its secret is wrapped under the root key, bound to its key id."""
        assert self._root is not None
        wrapped = self._root.wrap(_secret_label(record.access_key_id), 0, secret)
        self._x.run(
            "INSERT INTO principals (name, access_key_id, created, wrapped_secret)"
            " VALUES (?, ?, ?, ?)",
            (record.name, record.access_key_id, record.created, wrapped),
        )

    def _rewrap_principal_secrets(self, new_root: RootKey) -> None:
        """Part of ``rewrap_all``: principals' secrets move to the new root key too."""
        assert self._root is not None
        rows = self._x.rows("SELECT access_key_id, wrapped_secret FROM principals")
        for key_id, wrapped in rows:
            secret = self._root.unwrap(_secret_label(key_id), 0, bytes(wrapped))
            self._x.run(
                "UPDATE principals SET wrapped_secret = ? WHERE access_key_id = ?",
                (new_root.wrap(_secret_label(key_id), 0, secret), key_id),
            )

    def delete_principal(self, name: str) -> bool:
        return self._x.run("DELETE FROM principals WHERE name = ?", (name,)) > 0


def _secret_label(access_key_id: str) -> str:
    # The wrapping AAD: key ids are UUIDs, so "principal/..." never names a backing key.
    return f"principal/{access_key_id}"


def _import_label(token_id: str) -> str:
    # The wrapping AAD: key ids are UUIDs, so "import/..." never names a backing key.
    return f"import/{token_id}"
