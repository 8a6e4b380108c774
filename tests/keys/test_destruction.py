"""Destroyed means destroyed, and a retired root key opens nothing.

After a key's deletion window, its wrapped backing-key versions must be gone from the raw bytes of
``keystore.db`` and of its write-ahead log, even while other processes keep the store open (old
copies of pages live on in the WAL until a checkpoint resets it). After a rekey, every backing key
is wrapped under the new root key, and the old root key or passphrase opens nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from envelope.errors import KeystoreError, NotFoundException, WrongPassphraseError
from envelope.keys.local import LocalKeyService
from envelope.keys.store.rootkey import RootKey

FAST = 2**10  # scrypt cost for tests only
HOLDER = """
import sys, time
from envelope.keys.local import LocalKeyService
kms = LocalKeyService(sys.argv[1])
kms.list_keys()
print("open", flush=True)
sys.stdin.readline()  # keep the store open until told to stop
kms.list_keys()
kms.close()
"""


def _raw_files(home: Path) -> bytes:
    return b"".join(
        p.read_bytes() for p in sorted(home.iterdir()) if p.name.startswith("keystore.db")
    )


def _wrapped(home: Path, key_id: str) -> list[bytes]:
    db = sqlite3.connect(home / "keystore.db")
    rows = db.execute("SELECT wrapped FROM versions WHERE key_id = ?", (key_id,)).fetchall()
    db.close()
    return [bytes(r[0]) for r in rows]


class _Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.now


def _destroy_one(
    home: Path, *, keep_open_elsewhere: bool
) -> tuple[list[bytes], list[bytes], bytes]:
    """Make two keys and destroy the first after its window.

    Returns both keys' wrapped bytes and the raw bytes of the database and WAL files, read
    while the store is still open here (and in the other process): closing the last connection
    would checkpoint the WAL by itself and hide what an attacker copying the files meanwhile
    would see.
    """
    clock = _Clock()
    holder = None
    with LocalKeyService(home, _clock=clock) as kms:
        doomed = kms.create_key().key_metadata.key_id
        kept = kms.create_key().key_metadata.key_id
        kms.rotate_key_on_demand(key_id=doomed)
        doomed_bytes, kept_bytes = _wrapped(home, doomed), _wrapped(home, kept)
        assert len(doomed_bytes) == 2
        kms.schedule_key_deletion(key_id=doomed, pending_window_in_days=7)
        if keep_open_elsewhere:
            holder = subprocess.Popen(
                [sys.executable, "-c", HOLDER, str(home)], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(Path.cwd())},
            )
            assert holder.stdout is not None and holder.stdout.readline() == b"open\n"
        clock.now += dt.timedelta(days=8)
        with pytest.raises(NotFoundException):
            kms.describe_key(key_id=doomed)  # the first use after the date destroys it
        assert kms.describe_key(key_id=kept).key_metadata.enabled
        assert (home / "keystore.db-wal").exists()  # still open: the log has not been removed
        raw = _raw_files(home)
    if holder is not None:
        holder.communicate(b"stop\n", timeout=60)
        assert holder.returncode == 0
    return doomed_bytes, kept_bytes, raw


def test_destroyed_versions_are_gone_from_database_and_wal(tmp_path: Path) -> None:
    doomed, kept, raw = _destroy_one(tmp_path, keep_open_elsewhere=False)
    for wrapped in doomed:
        assert wrapped not in raw
    assert all(wrapped in raw for wrapped in kept)  # the scan would see them


def test_destroyed_versions_are_gone_while_another_process_has_the_store_open(
    tmp_path: Path,
) -> None:
    doomed, kept, raw = _destroy_one(tmp_path, keep_open_elsewhere=True)
    for wrapped in doomed:
        assert wrapped not in raw
    assert all(wrapped in raw for wrapped in kept)


def test_a_checkpoint_held_back_by_a_reader_is_finished_later(tmp_path: Path) -> None:
    """A reader holding a snapshot blocks the checkpoint; the next write or open finishes it."""
    clock = _Clock()
    with LocalKeyService(tmp_path, _clock=clock) as kms:
        doomed = kms.create_key().key_metadata.key_id
        kept = kms.create_key().key_metadata.key_id
        wrapped = _wrapped(tmp_path, doomed)
        kms.schedule_key_deletion(key_id=doomed, pending_window_in_days=7)
        reader = sqlite3.connect(tmp_path / "keystore.db")
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM versions").fetchone()  # holds a snapshot open
        clock.now += dt.timedelta(days=8)
        kms.list_keys()  # purges; the checkpoint cannot finish while the snapshot is held
        assert sqlite3.connect(tmp_path / "keystore.db").execute(
            "SELECT value FROM meta WHERE name = 'scrub_pending'"
        ).fetchone() is not None
        reader.rollback()
        reader.close()
        kms.rotate_key_on_demand(key_id=kept)  # the next write retries the scrub
    raw = _raw_files(tmp_path)
    assert all(w not in raw for w in wrapped)
    db = sqlite3.connect(tmp_path / "keystore.db")
    assert db.execute("SELECT value FROM meta WHERE name = 'scrub_pending'").fetchone() is None
    db.close()


def test_rekey_to_a_new_root_key_file(tmp_path: Path) -> None:
    with LocalKeyService(tmp_path) as kms:
        key_id = kms.create_key().key_metadata.key_id
        kms.rotate_key_on_demand(key_id=key_id)
        blob = kms.encrypt(key_id=key_id, plaintext=b"before").ciphertext_blob
        old_root = (tmp_path / "root.key").read_bytes()
        old_wrapped = _wrapped(tmp_path, key_id)
        material = [kms._raw_backing_key(key_id, v) for v in (1, 2)]
        kms.rekey()
        assert kms.decrypt(ciphertext_blob=blob).plaintext == b"before"
    new_root = (tmp_path / "root.key").read_bytes()
    assert new_root != old_root and len(new_root) == 32
    assert not (tmp_path / "root.key.new").exists()
    new_wrapped = _wrapped(tmp_path, key_id)
    assert set(new_wrapped).isdisjoint(old_wrapped)
    raw = _raw_files(tmp_path)
    assert all(w not in raw for w in old_wrapped)  # nothing under the old root key is left
    # The old root key opens nothing now; the new one opens everything.
    for version, wrapped in zip((1, 2), new_wrapped, strict=True):
        with pytest.raises(KeystoreError):
            RootKey(old_root).unwrap(key_id, version, wrapped)
        assert RootKey(new_root).unwrap(key_id, version, wrapped) == material[version - 1]
    with LocalKeyService(tmp_path) as kms:
        assert kms.decrypt(ciphertext_blob=blob).plaintext == b"before"


def test_rekey_to_a_passphrase_and_change_it(tmp_path: Path) -> None:
    with LocalKeyService(tmp_path, _scrypt_n=FAST) as kms:
        key_id = kms.create_key().key_metadata.key_id
        blob = kms.encrypt(key_id=key_id, plaintext=b"data").ciphertext_blob
        kms.rekey(new_passphrase="first passphrase")
    assert not (tmp_path / "root.key").exists()
    with pytest.raises(KeystoreError, match="passphrase"):
        LocalKeyService(tmp_path)
    with LocalKeyService(tmp_path, passphrase="first passphrase") as kms:
        assert kms.root_mode == "passphrase"
        kms.rekey(new_passphrase="second passphrase")
    with pytest.raises(WrongPassphraseError):
        LocalKeyService(tmp_path, passphrase="first passphrase")
    with LocalKeyService(tmp_path, passphrase="second passphrase") as kms:
        assert kms.decrypt(ciphertext_blob=blob).plaintext == b"data"
        kms.rekey()  # back to a root.key file
    with LocalKeyService(tmp_path) as kms:
        assert kms.root_mode == "file"
        assert kms.decrypt(ciphertext_blob=blob).plaintext == b"data"


def test_other_processes_take_up_a_new_root_key_file(tmp_path: Path) -> None:
    """A process opened before the rekey must never wrap under the retired root key."""
    with LocalKeyService(tmp_path) as early, LocalKeyService(tmp_path) as rekeyer:
        key_id = early.create_key().key_metadata.key_id
        rekeyer.rekey()
        early.rotate_key_on_demand(key_id=key_id)  # writes a version under the current root
        other = early.create_key().key_metadata.key_id
        blob = early.encrypt(key_id=other, plaintext=b"x").ciphertext_blob
    root = RootKey((tmp_path / "root.key").read_bytes())
    for version, wrapped in enumerate(_wrapped(tmp_path, key_id), start=1):
        root.unwrap(key_id, version, wrapped)  # raises if wrapped under another root key
    with LocalKeyService(tmp_path) as kms:
        assert kms.decrypt(ciphertext_blob=blob).plaintext == b"x"


def test_a_rekey_cut_between_commit_and_rename_is_finished_on_open(tmp_path: Path) -> None:
    """Simulate the crash window: the store committed under root.key.new, root.key is old."""
    with LocalKeyService(tmp_path) as kms:
        key_id = kms.create_key().key_metadata.key_id
        blob = kms.encrypt(key_id=key_id, plaintext=b"y").ciphertext_blob
        old_root = (tmp_path / "root.key").read_bytes()
        kms.rekey()
    new_root = (tmp_path / "root.key").read_bytes()
    (tmp_path / "root.key.new").write_bytes(new_root)
    os.chmod(tmp_path / "root.key.new", 0o600)
    (tmp_path / "root.key").write_bytes(old_root)
    with LocalKeyService(tmp_path) as kms:
        assert kms.decrypt(ciphertext_blob=blob).plaintext == b"y"
    assert (tmp_path / "root.key").read_bytes() == new_root
    assert not (tmp_path / "root.key.new").exists()


def test_cli_rekey(tmp_path: Path) -> None:
    env = {**os.environ, "ENVELOPE_HOME": str(tmp_path)}
    run = [sys.executable, "-m", "envelope_cli"]
    subprocess.run([*run, "key", "create"], env=env, check=True, capture_output=True)
    old = (tmp_path / "root.key").read_bytes()
    done = subprocess.run([*run, "keystore", "rekey"], env=env, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    assert b"rekeyed" in done.stdout
    assert (tmp_path / "root.key").read_bytes() != old
    # A new passphrase is never taken from the command line: without the variable or a
    # terminal it is refused, and nothing changes.
    refused = subprocess.run(
        [*run, "keystore", "rekey", "--passphrase"], env=env, capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    assert refused.returncode == 1
    assert b"ENVELOPE_NEW_PASSPHRASE" in refused.stderr
    assert (tmp_path / "root.key").exists()


def test_a_purge_killed_before_its_scrub_is_scrubbed_by_the_next_open(tmp_path: Path) -> None:
    """Before: the need to scrub lived only in the purging process's memory (and was written
    to the store only after the scrub had failed for half a second), so a process killed
    between its purge commit and its scrub left the destroyed versions in the WAL for good.
    Here a reader holds a snapshot so the purging child's scrub keeps failing, the child is
    SIGKILLed right after its purge commits, and another process keeps the store open (so no
    close removes the WAL). The next open must scrub."""
    import signal
    import time

    clock = _Clock()
    with LocalKeyService(tmp_path, _clock=clock) as kms:
        doomed = kms.create_key().key_metadata.key_id
        kms.create_key()
        kms.rotate_key_on_demand(key_id=doomed)
        wrapped = _wrapped(tmp_path, doomed)
        kms.schedule_key_deletion(key_id=doomed, pending_window_in_days=7)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(Path.cwd())},
    )
    assert holder.stdout is not None and holder.stdout.readline() == b"open\n"
    reader = sqlite3.connect(tmp_path / "keystore.db")
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM versions").fetchone()  # holds back every checkpoint
    clock.now += dt.timedelta(days=8)
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        try:
            LocalKeyService(tmp_path, _clock=clock).list_keys()  # purges, then tries to scrub
        finally:
            os._exit(0)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill it as soon as its purge is committed
        poll = sqlite3.connect(tmp_path / "keystore.db")
        gone = not poll.execute("SELECT 1 FROM keys WHERE key_id = ?", (doomed,)).fetchall()
        poll.close()
        if gone:
            break
        time.sleep(0.002)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert gone
    reader.rollback()
    reader.close()
    LocalKeyService(tmp_path).close()  # the next open, in any process
    raw = _raw_files(tmp_path)
    holder.communicate(b"stop\n", timeout=60)
    assert holder.returncode == 0
    assert all(w not in raw for w in wrapped)


def test_a_rekey_leaves_no_other_name_for_the_retired_root_key(tmp_path: Path) -> None:
    """A new root.key is written under a temporary name and hard-linked into place; a process
    killed between the link and the removal of the temporary name leaves a second name for the
    root key. Before: a rekey replaced root.key, but the old key lived on under that name."""
    with LocalKeyService(tmp_path) as kms:
        key_id = kms.create_key().key_metadata.key_id
    old_root = (tmp_path / "root.key").read_bytes()
    os.link(tmp_path / "root.key", tmp_path / ".root.key.4242.0badcafe")  # what the kill leaves
    unrelated = tmp_path / ".root.key.4243.feedf00d"  # another process's file: not ours to touch
    unrelated.write_bytes(os.urandom(32))
    with LocalKeyService(tmp_path) as kms:
        kms.rekey()
        assert kms.describe_key(key_id=key_id).key_metadata.enabled
    assert all(p.read_bytes() != old_root for p in tmp_path.iterdir() if p.is_file())
    assert unrelated.exists()
