"""The keystore: one SQLite file in a private folder, backing keys wrapped under a root key.

``Keystore`` opens (or creates) the folder, the database and the root key, and hands out
``Records`` for reads and for atomic write transactions. It is the only way into storage.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from envelope.keys.store import rootkey
from envelope.keys.store.rootkey import SCRYPT_N, RootKey
from envelope.keys.store.sqlite import Database
from envelope.keys.store.tables import Records

DB_NAME = "keystore.db"


class Keystore:
    """The storage of one ``LocalKeyService`` home folder.

    Args:
        home: the keystore folder (created 0700 if missing).
        passphrase: protects the root key through scrypt; None means a ``root.key`` file.
        scrypt_n: the scrypt cost for a new passphrase store (tests lower it).

    Raises:
        KeystoreError: the store cannot be opened, is damaged, or wants another root key.
        WrongPassphraseError: the passphrase or root-key file does not open it.
    """

    def __init__(self, home: Path, *, passphrase: str | None, scrypt_n: int = SCRYPT_N) -> None:
        self.home = Path(home)
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = self.home / DB_NAME
        _create_private_file(self.path)
        _make_private(self.path)
        self._database = Database(self.path)
        try:
            self._root = RootKey(self._open_root_key(passphrase, scrypt_n))
            self.reader = Records(self._database.reader, self._root)
        except BaseException:
            self._database.close()
            raise

    def _open_root_key(self, passphrase: str | None, scrypt_n: int) -> bytes:
        # An existing store is checked before anything is written, so a wrong passphrase leaves
        # every byte of it unchanged.
        plain = Records(self._database.reader, None)
        known: bytes | None = None
        if not plain.has_schema():
            if passphrase is not None:
                meta, key = rootkey.new_passphrase_meta(passphrase, scrypt_n)
            else:
                meta, key = rootkey.new_file_meta(self.home)
            with self._database.write() as tx:
                records = Records(tx, None)
                records.create_schema()
                if records.insert_meta_if_empty(meta):
                    known = key  # this process's metadata won: no second scrypt run
        return rootkey.open_root_key(self.home, plain.meta(), passphrase, known=known)

    @contextlib.contextmanager
    def write(self) -> Iterator[Records]:
        """One atomic write transaction: committed when the block ends, rolled back on error."""
        with self._database.write() as tx:
            yield Records(tx, self._root)

    def checkpoint(self) -> bool:
        """Fold the write-ahead log into the database file; False if other readers held it."""
        return self._database.checkpoint()

    def close(self) -> None:
        self._database.close()

    def __repr__(self) -> str:
        return f"Keystore({str(self.path)!r})"


def _create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (race-free)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _make_private(path: Path) -> None:
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        os.chmod(path, 0o600)
