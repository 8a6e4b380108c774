"""``atomic_write``: the output appears whole or not at all, even when the writer is SIGKILLed."""

from __future__ import annotations

import os
import signal
import stat
import time
from pathlib import Path

import pytest

from envelope import files
from envelope.files import atomic_write
from tests.pending import pending_sizes


def _kill_while_writing(target: Path) -> None:
    pid = os.fork()
    if pid == 0:
        try:
            with atomic_write(target) as out:
                out.write(b"secret plaintext " * 4096)
                out.flush()
                time.sleep(60)
        finally:
            os._exit(1)
    deadline = time.monotonic() + 30
    while not any(pending_sizes(target.parent)) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert any(pending_sizes(target.parent)), "the child never started writing"
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def test_sigkill_mid_write_leaves_no_file_holding_plaintext(tmp_path: Path) -> None:
    """The data goes into an unnamed file (O_TMPFILE), named only once complete: SIGKILL, which
    runs no clean-up, leaves nothing behind (before: a .NAME.XXXX.part file with the plaintext
    written so far). The fault campaign (tests/faults/) does the same under load."""
    if files._link_way(tmp_path) is None:
        pytest.skip(reason="this filesystem has no O_TMPFILE: the named .part fallback is used")
    target = tmp_path / "out.txt"
    _kill_while_writing(target)
    assert list(tmp_path.iterdir()) == []


def test_without_unnamed_files_a_named_temporary_is_used(tmp_path: Path) -> None:
    """Where O_TMPFILE cannot be linked (no support, no /proc of our own and no privilege), the
    output goes to a named .part file: still whole or absent after an exception, mode 0600."""
    files._link_ways[os.stat(tmp_path).st_dev] = None
    try:
        with atomic_write(tmp_path / "a.txt") as out:
            out.write(b"whole")
            assert [p.name.endswith(".part") for p in tmp_path.iterdir()] == [True]
        assert (tmp_path / "a.txt").read_bytes() == b"whole"
        with pytest.raises(RuntimeError), atomic_write(tmp_path / "b.txt") as out:
            out.write(b"half")
            raise RuntimeError("the source broke")
        assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
        assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o600
    finally:
        files._link_ways.clear()


def test_a_replaced_file_keeps_its_mode_and_a_new_one_is_private(tmp_path: Path) -> None:
    target = tmp_path / "shared.txt"
    target.write_bytes(b"old")
    target.chmod(0o644)
    with atomic_write(target) as out:
        out.write(b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    with atomic_write(tmp_path / "fresh.txt") as out:
        out.write(b"x")
    assert stat.S_IMODE((tmp_path / "fresh.txt").stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.txt", "shared.txt"]


def test_a_replaced_file_keeps_its_permissions_but_never_set_id_bits(tmp_path: Path) -> None:
    """Replacing a setuid/setgid/sticky file gives new content its rwx bits only: plaintext
    written over an executable must not inherit the right to run as its owner (review finding)."""
    target = tmp_path / "tool"
    target.write_bytes(b"old")
    os.chmod(target, 0o6755)
    with atomic_write(target) as out:
        out.write(b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o755
