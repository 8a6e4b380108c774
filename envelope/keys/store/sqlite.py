"""The SQLite file under the keystore: connection settings, locking, retries and transactions.

Every write is one ``BEGIN IMMEDIATE`` transaction in WAL mode with full sync, so several
processes can share the file and a killed process loses nothing it had already returned. SQLite
failures (a damaged page, a full disk, an I/O error) surface as ``KeystoreError``.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

from envelope.errors import KeystoreError

BUSY_TIMEOUT_S = 60.0

_T = TypeVar("_T")


class Executor(Protocol):
    """Runs statements: inside a write transaction, or one by one for reads."""

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]: ...

    def run(self, sql: str, args: tuple[Any, ...] = ()) -> int: ...


class Database:
    """One connection to the keystore file; threads of one process take turns on it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise KeystoreError(f"the keystore {path} cannot be opened: {exc}") from None
        try:
            self._db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            self._retry(lambda: self._db.execute("PRAGMA journal_mode = WAL"))
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute("PRAGMA foreign_keys = ON")
            # Erased rows (destroyed keys' wrapped material) are overwritten with zeros.
            self._db.execute("PRAGMA secure_delete = ON")
        except sqlite3.Error as exc:
            self._db.close()
            raise KeystoreError(f"the keystore {path} cannot be opened: {exc}") from None
        except BaseException:
            self._db.close()
            raise
        self.reader: Executor = _AutoCommit(self)

    def _retry(self, action: Callable[[], _T]) -> _T:
        """Run ``action``, retrying while another process holds the database lock.

        Raises:
            KeystoreError: the lock was not released in time, or SQLite failed.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        delay = 0.005
        while True:
            try:
                return action()
            except sqlite3.OperationalError as exc:
                text = str(exc)
                if "locked" not in text and "busy" not in text:
                    raise KeystoreError(f"the keystore {self.path} failed: {exc}") from None
                if time.monotonic() > deadline:
                    raise KeystoreError("the keystore stayed locked by another process") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
            except sqlite3.Error as exc:
                raise KeystoreError(f"the keystore {self.path} failed: {exc}") from None

    @contextlib.contextmanager
    def write(self) -> Iterator[Executor]:
        """A write transaction (``BEGIN IMMEDIATE``), committed on success, else rolled back.

        Reads inside it see the newest committed state and nothing can change it meanwhile, so a
        check and the write that depends on it are one atomic step.
        """
        with self._lock:
            self._retry(lambda: self._db.execute("BEGIN IMMEDIATE"))
            try:
                yield _Transaction(self)
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise
            try:
                self._retry(lambda: self._db.execute("COMMIT"))
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise

    def checkpoint(self) -> bool:
        """Copy the WAL into the database file and truncate it; False if readers prevented it."""
        with self._lock:
            # TRUNCATE waits for readers through the busy handler; wait briefly here, the caller
            # retries (a reader in another process may hold a snapshot for a long time).
            self._db.execute("PRAGMA busy_timeout = 50")
            try:
                busy, _log, _done = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except sqlite3.Error:
                return False
            finally:
                self._db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            return not busy

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _AutoCommit:
    """Statements run one by one, each in its own implicit transaction (for reads)."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        database = self._database
        with database._lock:
            return database._retry(lambda: database._db.execute(sql, args).fetchall())

    def run(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        database = self._database
        with database._lock:
            return database._retry(lambda: database._db.execute(sql, args).rowcount)


class _Transaction:
    """Statements inside the open write transaction."""

    def __init__(self, database: Database) -> None:
        self._db = database._db
        self._path = database.path

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise KeystoreError(f"the keystore {self._path} failed: {exc}") from None

    def run(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        try:
            return self._db.execute(sql, args).rowcount
        except sqlite3.Error as exc:
            raise KeystoreError(f"the keystore {self._path} failed: {exc}") from None
