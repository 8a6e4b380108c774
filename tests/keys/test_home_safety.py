"""A keystore folder or file that another user could have touched is refused, never used.

An attacker who can write to ``ENVELOPE_HOME`` before the first use can plant ``root.key`` (and
empty ``-wal``/``-shm`` files) and later read every backing key; one who can read ``root.key``
holds the root key. Each hostile arrangement below is refused with a ``KeystoreError`` that says
what to fix, and the store is not created or changed. Tests that act as a second user need root
(CI runs as root) and drop to uid 65534 in a child process.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from envelope.errors import KeystoreError
from envelope.keys.local import LocalKeyService
from tests.cli.conftest import Run, fails
from tests.cli.conftest import envelope as envelope  # the CLI fixture

OTHER_UID = 65534  # nobody
needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="acting as a second local user needs root (CI runs as root)",
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _as_other_user(action: Callable[[], str]) -> str:
    """Run ``action`` in a forked child whose real and effective uid/gid are 65534.

    Everything the action needs is already imported here, so the child needs no access to
    the interpreter's files. Returns what the action returned, or the exception it raised.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(read_end)
        try:
            os.setgroups([])
            os.setgid(OTHER_UID)
            os.setuid(OTHER_UID)
            outcome = action()
        except BaseException as e:  # reported to the parent
            outcome = f"{type(e).__name__}: {e}"
        os.write(write_end, outcome.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        outcome = pipe.read().decode()
    os.waitpid(pid, 0)
    return outcome


@pytest.fixture
def reachable() -> Iterator[Path]:
    """A folder every user may enter, in /tmp (pytest's own temporary folders are 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="envelope-home-safety-", dir="/tmp"))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def shared(reachable: Path) -> Path:
    """A folder every user may write to (as a careless ``ENVELOPE_HOME`` could be)."""
    folder = reachable / "shared"
    folder.mkdir(mode=0o777)
    os.chmod(folder, 0o777)
    return folder


def test_group_or_world_writable_home_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    for mode in (0o770, 0o777, 0o702):
        os.chmod(home, mode)
        with pytest.raises(KeystoreError, match="chmod go-w"):
            LocalKeyService(home)
        assert not (home / "keystore.db").exists()
        assert not (home / "root.key").exists()


def test_private_home_with_group_read_is_fine(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o750)
    os.chmod(home, 0o750)
    with LocalKeyService(home) as kms:
        kms.create_key()


def test_missing_parents_are_created_0700_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        with LocalKeyService(tmp_path / "a" / "b" / "c"):
            pass
    finally:
        os.umask(old)
    for folder in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"):
        assert _mode(folder) == 0o700, folder
    assert _mode(tmp_path / "a" / "b" / "c" / "keystore.db") == 0o600
    assert _mode(tmp_path / "a" / "b" / "c" / "root.key") == 0o600


def test_readable_root_key_is_refused(tmp_path: Path) -> None:
    LocalKeyService(tmp_path).close()
    os.chmod(tmp_path / "root.key", 0o640)
    with pytest.raises(KeystoreError, match="may read it"):
        LocalKeyService(tmp_path)


@pytest.mark.parametrize("name", ["keystore.db", "keystore.db-wal", "keystore.db-shm", "root.key"])
def test_writable_keystore_files_are_refused(tmp_path: Path, name: str) -> None:
    LocalKeyService(tmp_path).close()
    target = tmp_path / name
    if not target.exists():
        target.write_bytes(b"")
    os.chmod(target, 0o622)
    with pytest.raises(KeystoreError, match="may write to it"):
        LocalKeyService(tmp_path)


@pytest.mark.parametrize("name", ["keystore.db", "keystore.db-wal", "keystore.db-shm", "root.key"])
def test_symbolic_links_are_never_followed(tmp_path: Path, name: str) -> None:
    home = tmp_path / "home"
    LocalKeyService(home).close()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes((home / name).read_bytes() if (home / name).exists() else b"")
    os.chmod(elsewhere, 0o600)
    (home / name).unlink(missing_ok=True)
    (home / name).symlink_to(elsewhere)
    with pytest.raises(KeystoreError, match="symbolic link"):
        LocalKeyService(home)


def test_a_dangling_link_planted_as_keystore_db_is_not_followed(tmp_path: Path) -> None:
    """A new store must not create its database through a link planted at its name."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    target = tmp_path / "where-the-attacker-reads"
    (home / "keystore.db").symlink_to(target)
    with pytest.raises(KeystoreError, match="symbolic link"):
        LocalKeyService(home)
    assert not target.exists()


def test_root_key_that_is_a_folder_is_a_keystore_error(tmp_path: Path) -> None:
    LocalKeyService(tmp_path).close()
    (tmp_path / "root.key").unlink()
    (tmp_path / "root.key").mkdir(mode=0o700)
    with pytest.raises(KeystoreError, match="not a regular file"):
        LocalKeyService(tmp_path)


def test_cli_reports_a_hostile_home_without_a_traceback(envelope: Run, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    os.chmod(home, 0o777)
    stderr = fails(envelope("key", "list", env={"ENVELOPE_HOME": str(home)}), "chmod go-w")
    assert "KeystoreError" in stderr


@needs_root
def test_home_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    os.chown(home, OTHER_UID, OTHER_UID)
    with pytest.raises(KeystoreError, match="belongs to"):
        LocalKeyService(home)
    assert os.listdir(home) == []


@needs_root
def test_files_planted_by_another_user_are_refused(shared: Path) -> None:
    """The attack from the review: plant root.key, -wal and -shm before the first use."""

    def plant() -> str:
        for name in ("root.key", "keystore.db-wal", "keystore.db-shm"):
            fd = os.open(shared / name, os.O_WRONLY | os.O_CREAT, 0o666)
            os.write(fd, os.urandom(32) if name == "root.key" else b"")
            os.close(fd)
        return "planted"

    assert _as_other_user(plant) == "planted"
    assert os.stat(shared / "root.key").st_uid == OTHER_UID
    # The folder is world-writable: refused on that ground first.
    with pytest.raises(KeystoreError, match="chmod go-w"):
        LocalKeyService(shared)
    # Even once the folder is made private, the planted files are not the user's.
    os.chmod(shared, 0o700)
    with pytest.raises(KeystoreError, match="belongs to"):
        LocalKeyService(shared)
    assert not (shared / "keystore.db").exists()


@needs_root
def test_another_user_cannot_open_a_keystore(reachable: Path) -> None:
    home = reachable / "home"
    with LocalKeyService(home) as kms:
        kms.create_key()
    os.chmod(home, 0o755)  # even if the owner lets others into the folder

    def steal() -> str:
        try:
            LocalKeyService(home)
        except KeystoreError as e:
            return f"refused: {e}"
        return "opened"

    outcome = _as_other_user(steal)
    assert outcome.startswith("refused:"), outcome
    assert "belongs to" in outcome


# --- the folders above the keystore folder ----------------------------------------------------
# Whoever may write to a folder on the way to ENVELOPE_HOME can rename the keystore folder away
# and put a folder of their own (with their root.key and database) in its place between our
# checks and our opens, or on the next run behind a link. So every folder on the way must belong
# to the user or to root and be closed to writers other than them, unless it is sticky (as /tmp
# is: there only an entry's owner may rename it); a link on the way must belong to the user or
# to root, and what it points to is checked the same way.


@needs_root
def test_a_parent_another_user_may_write_to_is_refused(shared: Path) -> None:
    """Before: accepted; another user can move the keystore folder away and replace it."""
    home = shared / "home"
    home.mkdir(mode=0o700)

    def swap() -> str:
        os.rename(home, shared / "moved-away")
        os.rename(shared / "moved-away", home)
        return "renamed"

    assert _as_other_user(swap) == "renamed"  # the premise: the folder is not safe where it is
    with pytest.raises(KeystoreError, match=f"others may write to {re.escape(str(shared))} "):
        LocalKeyService(home)
    assert os.listdir(home) == []


def test_a_world_writable_parent_with_the_sticky_bit_is_fine(reachable: Path) -> None:
    sticky = reachable / "sticky"
    sticky.mkdir()
    os.chmod(sticky, 0o1777)
    with LocalKeyService(sticky / "home") as kms:
        kms.create_key()


@needs_root
def test_a_parent_owned_by_another_user_is_refused(reachable: Path) -> None:
    """Its owner may rename anything in it, whatever its mode."""
    theirs = reachable / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, OTHER_UID, OTHER_UID)
    with pytest.raises(KeystoreError, match=f"{re.escape(str(theirs))} on the way to it belongs"):
        LocalKeyService(theirs / "home")
    assert not (theirs / "home").exists()


@needs_root
def test_a_link_on_the_way_to_an_unsafe_folder_is_refused(reachable: Path, shared: Path) -> None:
    """The path names a folder of the user's own, but a link on the way leads into a folder
    another user may write to."""
    mine = reachable / "mine"
    mine.mkdir(mode=0o700)
    (mine / "data").symlink_to(shared)
    with pytest.raises(KeystoreError, match=f"others may write to {re.escape(str(shared))} "):
        LocalKeyService(mine / "data" / "home")


@needs_root
def test_a_link_planted_by_another_user_is_refused(reachable: Path) -> None:
    """In a sticky folder, the owner of a link may point it elsewhere at any moment."""
    sticky = reachable / "sticky"
    sticky.mkdir()
    os.chmod(sticky, 0o1777)
    target = reachable / "target"
    target.mkdir(mode=0o700)

    def plant() -> str:
        os.symlink(target, sticky / "envelope")
        return "planted"

    assert _as_other_user(plant) == "planted"
    with pytest.raises(KeystoreError, match=f"link {re.escape(str(sticky / 'envelope'))} on"):
        LocalKeyService(sticky / "envelope")


def test_a_link_of_ones_own_to_a_private_folder_is_fine(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with LocalKeyService(tmp_path / "link" / "home") as kms:
        kms.create_key()
    assert (tmp_path / "real" / "home" / "keystore.db").exists()


@needs_root
def test_a_group_writable_parent_is_refused_unless_the_group_is_the_users_own(
    tmp_path: Path,
) -> None:
    """A user-private group (the user's own group, no other member: common with umask 002) may
    write; any other group could replace the keystore folder."""
    import grp

    parent = tmp_path / "group"
    parent.mkdir()
    os.chmod(parent, 0o770)
    os.chown(parent, -1, OTHER_UID)
    with pytest.raises(KeystoreError, match="others may write to"):
        LocalKeyService(parent / "home")
    if grp.getgrgid(os.getegid()).gr_mem:
        pytest.skip(reason="the user's group has other members here: not a user-private group")
    os.chown(parent, -1, os.getegid())
    with LocalKeyService(parent / "home") as kms:
        kms.create_key()


def test_a_readable_wal_or_shm_is_made_private_like_the_database(tmp_path: Path) -> None:
    """The log holds the same wrapped keys (and, for a passphrase store, the scrypt salt and
    verifier: enough for an offline guessing attack) as the database file. Before: a
    keystore.db readable by others was made 0600 on open, but its -wal and -shm stayed open."""
    home = tmp_path / "home"
    home.mkdir(mode=0o750)
    os.chmod(home, 0o750)
    holder = LocalKeyService(home)  # keeps the log files in place
    holder.create_key()
    for name in ("keystore.db", "keystore.db-wal", "keystore.db-shm"):
        os.chmod(home / name, 0o644)
    with LocalKeyService(home) as kms:
        kms.create_key()
        for name in ("keystore.db", "keystore.db-wal", "keystore.db-shm"):
            assert _mode(home / name) == 0o600, name
    holder.close()
