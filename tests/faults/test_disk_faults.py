"""A full disk under the keystore and the files envelope writes: every refused write is one
clear error (exit 1), and leaves the keystore whole, no partial output and no plaintext on disk.

The disk is a small tmpfs mounted for the test (as root: a real ENOSPC for every writer,
SQLite's included). A second case runs each command under RLIMIT_FSIZE instead, so no write may
reach past the room left (EFBIG, "File too large": the same refusal at the same write calls,
counted per file offset rather than for the whole disk); where no tmpfs can be mounted, it is
what stands in for one. Each case leaves a different amount of room, so the commands fail at
different points: creating the output, mid-stream, at the final sync, inside a keystore
transaction or its WAL. The CLI runs as a user runs it, in its own process.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from envelope.keys.local import LocalKeyService
from envelope.message import KmsKey, decrypt, encrypt
from tests.faults.tally import FULL_ENV, Tally

FULL = os.environ.get(FULL_ENV) == "full"
ROOT = Path(__file__).resolve().parents[2]
ENVELOPE = Path(sys.executable).parent / "envelope"
DISK_BYTES = 8 * 1024 * 1024
ROOM = (0, 4096, 20_000, 150_000, 700_000) if FULL else (0, 20_000, 700_000)  # bytes left
PLAIN = os.urandom(1024 * 1024 + 5)


class Disk:
    """A small disk (tmpfs) or, without root, a per-file size limit standing in for one."""

    def __init__(self, path: Path, *, tmpfs: bool) -> None:
        self.path = path
        self.tmpfs = tmpfs
        self.filler = path / "filler"

    def fill(self, room: int) -> None:
        """Leave ``room`` bytes free (tmpfs); without tmpfs, commands run limited instead."""
        if not self.tmpfs:
            return
        with contextlib.suppress(FileNotFoundError):
            self.filler.unlink()
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            for chunk in (bytes(1 << 20), bytes(65536), bytes(4096)):
                with contextlib.suppress(OSError):
                    while True:
                        os.write(fd, chunk)
        finally:
            os.close(fd)
        size = self.filler.stat().st_size
        os.truncate(self.filler, max(0, size - room))

    def free(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.filler.unlink()

    def limit(self, room: int) -> Callable[[], None] | None:
        """The child's preexec without tmpfs: no write may reach past byte ``room`` of a file."""
        if self.tmpfs:
            return None

        def apply() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (room, room))

        return apply


@pytest.fixture(params=["tmpfs", "rlimit"])
def disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Disk]:
    path = tmp_path / "disk"
    path.mkdir()
    if request.param == "rlimit":
        yield Disk(path, tmpfs=False)
        return
    if os.geteuid() != 0:
        pytest.skip(reason="mounting a tmpfs needs root; the rlimit case stands in for it")
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES},mode=0700",
                            "tmpfs", str(path)], capture_output=True)  # fmt: skip
    if mount.returncode != 0:
        pytest.skip(reason=f"tmpfs mount refused: {mount.stderr.decode()[:200]}")
    try:
        yield Disk(path, tmpfs=True)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def _envelope(disk: Disk, room: int, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "ENVELOPE_HOME": str(disk.path / "home"), "ENVELOPE_KMS": "local"}
    return subprocess.run([str(ENVELOPE), *args], capture_output=True, env=env, cwd=ROOT,
                          preexec_fn=disk.limit(room), timeout=120)  # fmt: skip


def _refused(result: subprocess.CompletedProcess[bytes], *texts: str) -> bool:
    """Whether the command failed as a full disk should fail it: exit 1, one error line."""
    if result.returncode == 0:
        return False
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode == 1, stderr
    assert stderr.startswith("envelope: error: "), stderr
    assert any(text in stderr for text in texts), stderr
    assert "Traceback" not in stderr, stderr
    return True


NO_SPACE = (os.strerror(errno.ENOSPC), os.strerror(errno.EFBIG))


def _plaintext_on_disk(disk: Disk) -> bool:
    """Whether any file left on the disk holds a piece of the plaintext."""
    probes = [PLAIN[i : i + 64] for i in range(0, len(PLAIN) - 64, len(PLAIN) // 16)]
    for path in disk.path.rglob("*"):
        if path.is_file() and path != disk.filler:
            data = path.read_bytes()
            if any(probe in data for probe in probes):
                return True
    return False


def _check_keystore(disk: Disk, arn: str, versions: int, messages: list[bytes],
                    tally: Tally) -> None:  # fmt: skip
    db = sqlite3.connect(disk.path / "home" / "keystore.db")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()
    with LocalKeyService(disk.path / "home") as kms:
        listed = len(kms.list_key_rotations(key_id=arn).rotations)
        tally.versions += versions + 1
        tally.lost_versions += max(0, versions - listed)
        key = KmsKey(kms, arn)
        for message in messages:
            tally.ciphertexts += 1
            tally.undecryptable += decrypt(message, keys=[key]) != PLAIN


@pytest.mark.slow
def test_a_full_disk_refuses_writes_cleanly(disk: Disk, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    source = outside / "plain"
    source.write_bytes(PLAIN)
    with LocalKeyService(disk.path / "home") as kms:
        arn = kms.create_key().key_metadata.arn
        message = encrypt(PLAIN, keys=[KmsKey(kms, arn)])
    (outside / "message").write_bytes(message)
    in_place = disk.path / "in-place.env"
    in_place.write_bytes(message)
    out = disk.path / "out"
    out.mkdir()
    tally = Tally(f"full-disk-{'tmpfs' if disk.tmpfs else 'rlimit'}")
    refused: dict[str, int] = dict.fromkeys(["encrypt", "decrypt", "rewrap", "rotate", "create"], 0)
    versions, messages = 0, [message]
    for room in ROOM:
        disk.fill(room)
        for name, args in (
            ("encrypt", ["encrypt", str(source), "-o", str(out / "enc"), "-k", arn]),
            ("decrypt", ["decrypt", str(outside / "message"), "-o", str(out / "dec")]),
            ("rewrap", ["rewrap", str(in_place)]),
            ("rotate", ["key", "rotate", arn]),
            ("create", ["key", "create"]),
        ):
            before = in_place.read_bytes()
            result = _envelope(disk, room, *args)
            tally.full_disk += 1
            if _refused(result, *NO_SPACE, "KeystoreError"):
                refused[name] += 1
                if name in ("encrypt", "decrypt"):
                    tally.outputs += 1
                    tally.half_written += any(out.iterdir())  # no output, no temporary file
                if name == "rewrap":
                    tally.half_written += in_place.read_bytes() != before
            elif name == "rotate":
                versions += 1
            elif name in ("encrypt", "decrypt"):
                produced = (out / ("enc" if name == "encrypt" else "dec")).read_bytes()
                if name == "encrypt":
                    messages.append(produced)
                else:
                    tally.half_written += produced != PLAIN
            for leftover in out.iterdir():
                leftover.unlink()
            tally.half_written += _plaintext_on_disk(disk)
            disk.free()
            _check_keystore(disk, arn, versions, [in_place.read_bytes(), *messages], tally)
            disk.fill(room)
            assert tally.failures() == 0, (room, name, tally)
    disk.free()
    # With room again, everything works: the keystore was never left half-written.
    assert _envelope(disk, 10**9, "key", "rotate", arn).returncode == 0
    assert _envelope(disk, 10**9, "rewrap", str(in_place)).returncode == 0
    _check_keystore(disk, arn, versions + 1, [in_place.read_bytes(), *messages], tally)
    assert all(refused.values()), refused  # each writer really met a full disk
    assert tally.failures() == 0, tally
    tally.save()
