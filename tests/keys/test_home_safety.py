"""A keystore folder or file that another user could have touched is refused, never used.

An attacker who can write to ``ENVELOPE_HOME`` before the first use can plant ``root.key`` (and
empty ``-wal``/``-shm`` files) and later read every backing key; one who can read ``root.key``
holds the root key. Each hostile arrangement below is refused with a ``KeystoreError`` that says
what to fix, and the store is not created or changed. Tests that act as a second user need root
(CI runs as root) and drop to uid 65534 in a child process.
"""

from __future__ import annotations

import os
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
