"""The keystore: one SQLite file in a private folder, backing keys wrapped under a root key.

``Keystore`` opens (or creates) the folder, the database and the root key, and hands out
``Records`` for reads and for atomic write transactions. It is the only way into storage. It also
keeps the store's identity (the region and account its ARNs name), changes the root key (rekey),
and scrubs destroyed material out of the write-ahead log.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from envelope.errors import KeystoreError, WrongPassphraseError
from envelope.keys.store import rootkey
from envelope.keys.store.files import check_file, create_private, prepare_home
from envelope.keys.store.rootkey import ROOT_KEY_NAME, SCRYPT_N, RootKey
from envelope.keys.store.sqlite import Database
from envelope.keys.store.tables import Records

DB_NAME = "keystore.db"
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_ACCOUNT = re.compile(r"\d{12}")
_SCRUB_TRIES = 10
_OPEN_TRIES = 5
_READ_TRIES = 20
_T = TypeVar("_T")


# The AWS partition of a region, the second field of every ARN (botocore's partitions.json).
_PARTITIONS = (
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("us-iso-", "aws-iso"),
    ("eu-isoe-", "aws-iso-e"),
)


@dataclass(frozen=True)
class Identity:
    """Where a keystore's keys live in ARN terms, fixed when the store is created."""

    region: str
    account_id: str

    @property
    def partition(self) -> str:
        """``aws``, or ``aws-cn``, ``aws-us-gov``, ... for the regions of other partitions."""
        return next((p for prefix, p in _PARTITIONS if self.region.startswith(prefix)), "aws")


def _identity_for_new_store(region: str | None, account_id: str | None) -> Identity:
    region = (
        region
        or os.environ.get("ENVELOPE_REGION")
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or DEFAULT_REGION
    )
    account_id = account_id or os.environ.get("ENVELOPE_ACCOUNT_ID") or DEFAULT_ACCOUNT
    if not _REGION.fullmatch(region):
        raise KeystoreError(f"{region!r} is not an AWS region name (such as us-east-1)")
    if not _ACCOUNT.fullmatch(account_id):
        raise KeystoreError(f"{account_id!r} is not an AWS account id (12 digits)")
    return Identity(region, account_id)


class Keystore:
    """The storage of one ``LocalKeyService`` home folder.

    Args:
        home: the keystore folder (created 0700 if missing; refused if not private).
        passphrase: protects the root key through scrypt; None means a ``root.key`` file.
        region: for a new store, the region its ARNs name (default ``ENVELOPE_REGION``,
            ``AWS_REGION``, ``AWS_DEFAULT_REGION``, else us-east-1); for an existing store it
            must match the stored one.
        account_id: likewise the account (default ``ENVELOPE_ACCOUNT_ID``, else 123456789012).
        scrypt_n: the scrypt cost for a new passphrase store (tests lower it).

    Raises:
        KeystoreError: the store cannot be opened, is damaged, is not private, wants another
            root key, or belongs to another region or account.
        WrongPassphraseError: the passphrase or root-key file does not open it.
    """

    def __init__(
        self,
        home: Path,
        *,
        passphrase: str | None,
        region: str | None = None,
        account_id: str | None = None,
        scrypt_n: int = SCRYPT_N,
    ) -> None:
        self.home = Path(home)
        prepare_home(self.home)
        self.path = self.home / DB_NAME
        check_file(self.home / ROOT_KEY_NAME, secret=True)
        create_private(self.path)
        for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"):
            # Ours and not writable by others: if others may read one (the log holds the same
            # wrapped keys as the database), just make it private.
            path = self.home / name
            if check_file(path) and stat.S_IMODE(path.stat().st_mode) & 0o044:
                os.chmod(path, 0o600)
        self._database = Database(self.path)
        self._lock = threading.RLock()
        try:
            key, meta = self._open_root_key(passphrase, scrypt_n, region, account_id)
            self._root = RootKey(key)
            self._generation = int(meta.get("root_generation", b"0"))
            self.identity = self._check_identity(meta, region, account_id)
            self._migrate()
            self.reader = Records(self._database.reader, self._root)
            mode = meta.get("root_mode")
            if (
                rootkey.PENDING_META in meta
                or (mode == b"file" and not rootkey.installed(self.home, key))
                or (mode == b"passphrase" and os.path.lexists(self.home / ROOT_KEY_NAME))
            ):
                # A rekey died between its commit and its file step, or a process that lost the
                # race to create this passphrase store left the root.key it made.
                self._settle_root_files()
            if meta.get("scrub_pending"):
                self.scrub()
        except BaseException:
            self._database.close()
            raise

    def _plain(self) -> Records:
        """Records for reads that need no root key (metadata)."""
        return Records(self._database.reader, None)

    def _open_root_key(
        self, passphrase: str | None, scrypt_n: int, region: str | None, account_id: str | None
    ) -> tuple[bytes, dict[str, bytes]]:
        """The root key and the metadata it was checked against, from one read.

        The generation is taken from the same metadata as the key: read apart, a rekey in
        another process between the two reads would pair the retired key with the new
        generation, and everything this process wrapped would be under the retired key.
        """
        # An existing store is checked before anything is written, so a wrong passphrase leaves
        # every byte of it unchanged.
        if not self._plain().has_schema():
            created = self._create(passphrase, scrypt_n, region, account_id)
            if created is not None:
                return created
        for attempt in range(_OPEN_TRIES):
            meta = self._plain().meta()
            try:
                return rootkey.open_root_key(self.home, meta, passphrase), meta
            except WrongPassphraseError:
                # A root-key file that does not fit: retry if a rekey committed meanwhile.
                moved_on = self._plain().meta().get("verifier") != meta.get("verifier")
                if passphrase is not None or not moved_on or attempt == _OPEN_TRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _create(
        self, passphrase: str | None, scrypt_n: int, region: str | None, account_id: str | None
    ) -> tuple[bytes, dict[str, bytes]] | None:
        """Make this store's root key and metadata; None if another process made them first."""
        identity = _identity_for_new_store(region, account_id)
        try:
            if passphrase is not None:
                meta, key = rootkey.new_passphrase_meta(passphrase, scrypt_n)
            else:
                meta, key = rootkey.new_file_meta(self.home)
        except KeystoreError:
            # A process that made a passphrase store meanwhile removes the root.key this one
            # was making: open the store as it is now, and say what is wrong with that.
            if self._plain().has_schema():
                return None
            raise
        meta.update(region=identity.region.encode(), account_id=identity.account_id.encode())
        with self._database.write() as tx:
            records = Records(tx, None)
            records.create_schema()
            if records.insert_meta_if_empty(meta):
                return key, records.meta()  # this process's metadata won: no second scrypt
        return None

    def _check_identity(
        self, meta: dict[str, bytes], region: str | None, account_id: str | None
    ) -> Identity:
        if "region" not in meta or "account_id" not in meta:
            # A store made before the identity was stored: it has always meant the defaults
            # (or what its users passed each time); record the one used now.
            identity = Identity(region or DEFAULT_REGION, account_id or DEFAULT_ACCOUNT)
            with self._database.write() as tx:
                Records(tx, None).set_meta(
                    {"region": identity.region.encode(), "account_id": identity.account_id.encode()}
                )
            return identity
        identity = Identity(meta["region"].decode(), meta["account_id"].decode())
        for asked, stored, what in (
            (region, identity.region, "region"),
            (account_id, identity.account_id, "account"),
        ):
            if asked is not None and asked != stored:
                raise KeystoreError(
                    f"the keystore in {self.home} holds keys of {what} {stored}, not {asked}; "
                    f"its {what} is fixed when it is created"
                )
        return identity

    def _migrate(self) -> None:
        """Bring a keystore made by older code up to these tables (old code still opens it)."""
        if self._plain().needs_migration():
            with self._database.write() as tx:
                Records(tx, None).migrate()

    # --- transactions -------------------------------------------------------------------------
    @contextlib.contextmanager
    def write(self) -> Iterator[Records]:
        """One atomic write transaction: committed when the block ends, rolled back on error.

        If another process changed the root key (rekey) since this store was opened, the new
        root key is taken up first, so nothing is ever wrapped under a retired root key.
        """
        with self._lock, self._database.write() as tx:
            meta = Records(tx, None).meta()
            if rootkey.PENDING_META in meta:  # a rekey committed; its file step is not done yet
                rootkey.settle_files(self.home, meta)
                Records(tx, None).delete_meta(rootkey.PENDING_META)
            generation = int(meta.get("root_generation", b"0"))
            if generation != self._generation:
                self._take_up_new_root(meta, generation)
            if meta.get("scrub_pending"):  # another process could not finish a scrub
                self._scrub_pending = self._scrub_flagged = True
            yield Records(tx, self._root)
        if self._scrub_pending:
            self.scrub()

    _scrub_pending = False
    _scrub_flagged = False

    def _take_up_new_root(self, meta: dict[str, bytes], generation: int) -> None:
        if meta.get("root_mode") != b"file":
            raise KeystoreError(
                f"the keystore in {self.home} was given a new passphrase by another process; "
                "open it again with the new passphrase"
            )
        key = rootkey.open_root_key(self.home, meta, None)
        self._root = RootKey(key)
        self.reader = Records(self._database.reader, self._root)
        self._generation = generation

    def _settle_root_files(self) -> None:
        """Move a committed rekey's ``root.key.new`` into place, or remove retired root-key files.

        Done in a write transaction (see ``rootkey.settle_files``), never by name outside one.
        """
        with self._lock, self._database.write() as tx:
            records = Records(tx, None)
            rootkey.settle_files(self.home, records.meta())
            records.delete_meta(rootkey.PENDING_META)

    def read_unwrapped(self, read: Callable[[Records], _T]) -> _T:
        """Run a read that unwraps material under the root key, following rekeys.

        If it fails while another process has rekeyed the store, the new root key is taken up
        and the read runs again, as often as the root key keeps moving on (several rekeys may
        land between two tries); if it fails with the current root key, the material is damaged.

        Raises:
            KeystoreError: the material is damaged, or the store cannot be read.
        """
        for _ in range(_READ_TRIES):
            generation = self._generation
            try:
                return read(self.reader)
            except KeystoreError:
                self.refresh()
                if self._generation == generation:
                    raise
        return read(self.reader)

    def refresh(self) -> None:
        """Take up a root key that another process's rekey installed (a no-op otherwise)."""
        with self.write():
            pass

    # --- scrubbing ------------------------------------------------------------------------------
    def scrub(self) -> bool:
        """Fold the write-ahead log into the database file and truncate it to nothing.

        Destroyed rows are zeroed in the database file (``secure_delete``), but older copies of
        their pages stay in the WAL until a checkpoint resets it. Readers in other processes can
        hold the checkpoint back for a moment; it is retried, and if it still cannot finish, a
        flag in the store makes the next write or the next open (in any process) try again.

        Returns:
            True if the log is now empty.
        """
        with self._lock:
            # The request this scrub answers; a later one (another purge) must outlive it.
            request = self._plain().meta().get("scrub_pending")
            for attempt in range(_SCRUB_TRIES):
                if self._database.checkpoint():
                    break
                time.sleep(0.01 * (attempt + 1))
            else:
                self._scrub_pending = True
                if not self._scrub_flagged:  # tell other processes, and the next open, too
                    with self._database.write() as tx:
                        Records(tx, None).set_meta({"scrub_pending": os.urandom(8)})
                    self._scrub_flagged = True
                return False
            self._scrub_pending = self._scrub_flagged = False
            if request is not None:
                with self._database.write() as tx:
                    if Records(tx, None).meta().get("scrub_pending") == request:
                        Records(tx, None).delete_meta("scrub_pending")
                self._database.checkpoint()  # best effort: the log now holds only that flag
            return True

    def request_scrub(self, records: Records) -> None:
        """Scrub after the current write transaction (used when material was destroyed).

        The request is written in that same transaction, so that if this process dies between
        the commit and the scrub, the next write or open (in any process) does it.
        """
        records.set_meta({"scrub_pending": os.urandom(8)})
        self._scrub_pending = True

    # --- root key -------------------------------------------------------------------------------
    def rekey(self, *, passphrase: str | None, scrypt_n: int = SCRYPT_N) -> None:
        """Re-wrap every backing key under a new root key, in one transaction.

        Args:
            passphrase: the new passphrase, or None for a new random ``root.key`` file.

        Afterwards the old root key (or passphrase) opens nothing in this store. A new root key
        is written to a file of its own inside the transaction and moved over ``root.key`` (or
        the old ``root.key`` removed) in the next one; if this process dies in between, the next
        write or open in any process finishes it (see ``rootkey.settle_files``).
        """
        with self._lock:
            if passphrase is not None:
                meta, key = rootkey.new_passphrase_meta(passphrase, scrypt_n)
            else:
                key = os.urandom(32)
                meta = {"root_mode": b"file", "verifier": rootkey.new_verifier(key)}
            new_root = RootKey(key)
            pending = ""
            try:
                with self.write() as records:
                    # Leftovers of rekeys killed before their commit, seen before this commit
                    # (which overwrites any commit of theirs still hidden in the log).
                    leftovers = rootkey.pending_files(self.home)
                    retired = rootkey.file_identity(self.home / ROOT_KEY_NAME)
                    generation = self._generation + 1
                    if passphrase is None:
                        pending = rootkey.write_pending_key(self.home, key)
                    records.rewrap_all(new_root)
                    self.request_scrub(records)  # the old wrapped copies are in the log
                    stale = {"scrypt_n", "scrypt_r", "scrypt_p", "scrypt_salt"} - set(meta)
                    for name in stale:
                        records.delete_meta(name)
                    records.set_meta(
                        {
                            **meta,
                            "root_generation": str(generation).encode(),
                            rootkey.PENDING_META: pending.encode(),
                        }
                    )
            except BaseException:
                if pending:  # never committed: the key in it wraps nothing
                    rootkey.remove_files(self.home, [pending])
                raise
            self._root = new_root
            self._generation = generation
            self.reader = Records(self._database.reader, self._root)
            self._settle_root_files()  # whoever writes next does it if this process dies first
            rootkey.remove_files(self.home, leftovers)
            rootkey.remove_other_names(self.home, retired)
            self.scrub()

    @property
    def root_mode(self) -> str:
        return self._plain().meta().get("root_mode", b"").decode(errors="replace")

    def close(self) -> None:
        self._database.close()

    def __repr__(self) -> str:
        return f"Keystore({str(self.path)!r})"
