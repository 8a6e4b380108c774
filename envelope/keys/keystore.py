"""LocalKeyService's embedded store: one SQLite file, backing keys wrapped under a root key.

The root key comes from a passphrase (scrypt; salt and cost stored in the database) or from a
random root-key file ``root.key`` created 0600 beside the database. Backing keys are stored only
as AES-256-GCM ciphertexts under the root key, bound to their key id and version. Every write is
one ``BEGIN IMMEDIATE`` transaction in WAL mode with full sync, so several processes can share the
store and a killed process loses nothing it had already returned.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from envelope.errors import KeystoreError, WrongPassphraseError

DB_NAME = "keystore.db"
ROOT_KEY_NAME = "root.key"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 60.0

# scrypt cost for new passphrase keystores: N=2^17, r=8 uses 128 MiB and about half a second,
# the strength OWASP recommends for scrypt. Existing stores keep the cost stored in them.
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
_MAX_SCRYPT_N = 2**22  # refuse absurd stored costs from a damaged or hostile file

_VERIFIER_PLAINTEXT = b"envelope keystore root key check"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS keys (
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
    policy TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    key_id TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    created REAL NOT NULL,
    rotation_type TEXT,
    wrapped BLOB NOT NULL,
    PRIMARY KEY (key_id, version)
);
CREATE TABLE IF NOT EXISTS aliases (
    name TEXT PRIMARY KEY,
    key_id TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
"""


def _ensure_folder(home: Path) -> None:
    home.mkdir(mode=0o700, parents=True, exist_ok=True)


def _create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (race-free)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _root_key_from_file(home: Path, *, create: bool) -> bytes:
    """Read ``root.key``; with ``create``, first make it (0600) with 32 random bytes if absent.

    An existing keystore never creates a root-key file: a missing one is an error, so opening
    it changes nothing on disk.

    The key is written and synced under a private temporary name, then hard-linked to
    ``root.key``: ``link`` fails if the name exists, so exactly one process's key wins and no
    reader ever sees a partly written file.
    """
    path = home / ROOT_KEY_NAME
    if not create and not path.exists():
        raise KeystoreError(f"the root-key file {path} of this keystore is missing")
    if not path.exists():
        temp = home / f".{ROOT_KEY_NAME}.{os.getpid()}.{os.urandom(4).hex()}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, os.urandom(32))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temp, path)
        except FileExistsError:
            pass  # another process won the race; use its key
        finally:
            os.unlink(temp)
        _fsync_folder(home)
    data = path.read_bytes()
    if len(data) != 32:
        raise KeystoreError(f"root-key file {path} is damaged (it must hold 32 bytes)")
    return data


def _fsync_folder(home: Path) -> None:
    fd = os.open(home, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Keystore:
    """Low-level storage; ``LocalKeyService`` is the only intended user."""

    def __init__(
        self,
        home: Path,
        *,
        passphrase: str | None,
        scrypt_n: int = SCRYPT_N,
    ) -> None:
        self.home = Path(home)
        _ensure_folder(self.home)
        self.path = self.home / DB_NAME
        # One connection per Keystore; threads of one process take turns on it.
        self._lock = threading.RLock()
        _create_private_file(self.path)
        self._check_private(self.path)
        self._db = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        try:
            self._db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            self._retry(lambda: self._db.execute("PRAGMA journal_mode = WAL"))
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute("PRAGMA foreign_keys = ON")
            # Erased rows (destroyed keys' wrapped material) are overwritten with zeros.
            self._db.execute("PRAGMA secure_delete = ON")
            # An existing store is checked before anything is written, so a wrong passphrase
            # leaves every byte of it unchanged.
            if not self._has_meta():
                with self.transaction() as tx:
                    tx.executescript_safe(_SCHEMA)
            self._root = AESGCM(self._open_root_key(passphrase, scrypt_n))
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise KeystoreError(f"the keystore {self.path} cannot be opened: {exc}") from None
        except BaseException:
            self._db.close()
            raise

    def _has_meta(self) -> bool:
        rows = self.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
        return bool(rows) and bool(self.query("SELECT 1 FROM meta LIMIT 1"))

    @staticmethod
    def _retry(action: Any) -> Any:
        """Run ``action``, retrying while another process holds the database lock."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        delay = 0.005
        while True:
            try:
                return action()
            except sqlite3.OperationalError as exc:
                text = str(exc)
                if "locked" not in text and "busy" not in text:
                    raise
                if time.monotonic() > deadline:
                    raise KeystoreError("the keystore stayed locked by another process") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)

    # --- transactions ------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[_Tx]:
        """A write transaction (``BEGIN IMMEDIATE``), committed on success, else rolled back."""
        with self._lock:
            self._retry(lambda: self._db.execute("BEGIN IMMEDIATE"))
            try:
                yield _Tx(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._retry(lambda: self._db.execute("COMMIT"))

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        """Run a read-only statement outside any explicit transaction."""
        with self._lock:
            return list(self._retry(lambda: self._db.execute(sql, args).fetchall()))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- root key ------------------------------------------------------------------------------
    @staticmethod
    def _check_private(path: Path) -> None:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, 0o600)

    def _meta(self) -> dict[str, bytes]:
        return {row[0]: bytes(row[1]) for row in self.query("SELECT name, value FROM meta")}

    def _open_root_key(self, passphrase: str | None, scrypt_n: int) -> bytes:
        meta = self._meta()
        fresh: bytes | None = None
        if not meta:
            meta, fresh = self._initialise(passphrase, scrypt_n)
        mode = meta.get("root_mode", b"").decode()
        if mode == "passphrase":
            if passphrase is None:
                raise KeystoreError(
                    f"the keystore in {self.home} is protected by a passphrase; "
                    "set ENVELOPE_PASSPHRASE"
                )
            key = fresh or self._derive(passphrase, meta)
        elif mode == "file":
            if passphrase is not None:
                raise KeystoreError(
                    f"the keystore in {self.home} uses a root-key file, not a passphrase; "
                    "unset ENVELOPE_PASSPHRASE"
                )
            key = fresh or _root_key_from_file(self.home, create=False)
        else:
            raise KeystoreError(f"the keystore in {self.home} is damaged (unknown root mode)")
        try:
            nonce, sealed = meta["verifier"][:12], meta["verifier"][12:]
            AESGCM(key).decrypt(nonce, sealed, b"verifier")
        except (KeyError, InvalidTag):
            if mode == "passphrase":
                raise WrongPassphraseError("the passphrase does not open this keystore") from None
            raise WrongPassphraseError(
                f"the root-key file does not open the keystore in {self.home}"
            ) from None
        return key

    @staticmethod
    def _derive(passphrase: str, meta: dict[str, bytes]) -> bytes:
        try:
            n = int(meta["scrypt_n"])
            r = int(meta["scrypt_r"])
            p = int(meta["scrypt_p"])
            salt = meta["scrypt_salt"]
        except (KeyError, ValueError):
            raise KeystoreError("the keystore's passphrase parameters are damaged") from None
        if not (2 <= n <= _MAX_SCRYPT_N and 1 <= r <= 32 and 1 <= p <= 16 and len(salt) == 32):
            raise KeystoreError("the keystore's passphrase parameters are out of range")
        kdf = Scrypt(salt=salt, length=32, n=n, r=r, p=p)
        return kdf.derive(passphrase.encode("utf-8"))

    def _initialise(
        self, passphrase: str | None, scrypt_n: int
    ) -> tuple[dict[str, bytes], bytes | None]:
        """Write the root-key metadata of a new store; another process may win the race.

        Returns the stored metadata and, when this process's metadata was the one stored, the
        root key it derived (so a new passphrase store runs scrypt once, not twice).
        """
        meta: dict[str, bytes] = {"schema": str(SCHEMA_VERSION).encode()}
        if passphrase is not None:
            meta.update(
                root_mode=b"passphrase",
                scrypt_n=str(scrypt_n).encode(),
                scrypt_r=str(SCRYPT_R).encode(),
                scrypt_p=str(SCRYPT_P).encode(),
                scrypt_salt=os.urandom(32),
            )
            key = self._derive(passphrase, meta)
        else:
            meta["root_mode"] = b"file"
            key = _root_key_from_file(self.home, create=True)
        nonce = os.urandom(12)
        meta["verifier"] = nonce + AESGCM(key).encrypt(nonce, _VERIFIER_PLAINTEXT, b"verifier")
        won = False
        with self.transaction() as tx:
            if not tx.rows("SELECT 1 FROM meta LIMIT 1"):
                for name, value in meta.items():
                    tx.run("INSERT INTO meta (name, value) VALUES (?, ?)", (name, value))
                won = True
        return self._meta(), (key if won else None)

    # --- backing keys --------------------------------------------------------------------------
    def wrap(self, key_id: str, version: int, material: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._root.encrypt(nonce, material, f"{key_id}/{version}".encode())

    def unwrap(self, key_id: str, version: int, wrapped: bytes) -> bytes:
        try:
            return self._root.decrypt(wrapped[:12], wrapped[12:], f"{key_id}/{version}".encode())
        except InvalidTag:
            raise KeystoreError(
                f"backing key {key_id} version {version} is damaged in the keystore"
            ) from None

    def __repr__(self) -> str:
        return f"Keystore({str(self.path)!r})"


class _Tx:
    """The statements available inside a write transaction."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def run(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        return self._db.execute(sql, args).rowcount

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        return list(self._db.execute(sql, args).fetchall())

    def executescript_safe(self, script: str) -> None:
        # executescript() would COMMIT the open transaction; run statement by statement.
        for statement in script.split(";"):
            if statement.strip():
                self._db.execute(statement)
