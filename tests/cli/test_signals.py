"""SIGTERM and SIGHUP in the middle of encrypt, decrypt and rewrap: the same clean-up as Ctrl-C.

Each case runs the real ``envelope`` command as a child process on a large input, fed through a
pipe so the child is certainly in the middle of its work when the signal arrives: it has written
part of its temporary output and waits for more (rewrap, which takes regular files only, is
frozen midway instead).
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from envelope.keys.local import LocalKeyService
from envelope.message import KmsKey, encrypt, encrypt_stream
from tests.pending import pending_sizes

FRAME = 65536
SIZE = 32 * 1024 * 1024  # 32 MiB: half goes in before the signal
REWRAP_SIZE = 256 * 1024 * 1024  # rewrap copies the body: big enough to be caught midway


@pytest.fixture
def arn() -> Iterator[str]:
    with LocalKeyService() as kms:  # the test's ENVELOPE_HOME, shared with the child
        yield kms.create_key().key_metadata.arn


def _message(arn: str, *, suite: int = 0x0478) -> bytes:
    with LocalKeyService() as kms:
        return encrypt(os.urandom(SIZE), keys=[KmsKey(kms, arn)], suite=suite, frame_length=FRAME)


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _parts(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(".part")]


def _started(folder: Path) -> Callable[[], bool]:
    return lambda: any(size > 0 for size in pending_sizes(folder))


def _interrupt(
    args: list[str],
    data: bytes,
    signum: int,
    ready: Callable[[], bool],
    *,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``envelope ARGS``, feed half of ``data``, wait for ``ready``, send ``signum``."""
    child = subprocess.Popen(
        [sys.executable, "-m", "envelope_cli", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    sink = child.stdin
    assert sink is not None
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(child.stdout.read()))  # type: ignore[union-attr]
    reader.start()
    try:
        sink.write(data[: len(data) // 2])
        sink.flush()
        _wait_for(ready, "the child to write its temporary output")
        child.send_signal(signum)
        # A signal that lands just before the child enters a blocking read is handled by Python
        # only when that read returns (a CPython limit). Ending the input, as the end of a
        # killed pipeline would, lets the read return; the exit code still tells that the
        # signal, not the end of the input, stopped the command (that would be exit 1).
        with contextlib.suppress(BrokenPipeError):
            sink.close()
        err = child.stderr.read()  # type: ignore[union-attr]
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        with contextlib.suppress(BrokenPipeError):
            sink.close()
        reader.join()
    return subprocess.CompletedProcess(args, child.returncode, out[0] if out else b"", err)


SIGNALS = [signal.SIGTERM, signal.SIGHUP]


def _assert_clean_exit(result: subprocess.CompletedProcess[bytes], signum: int) -> None:
    assert result.returncode == 128 + signum, result.stderr.decode()
    stderr = result.stderr.decode()
    assert stderr == f"envelope: error: terminated by {signal.Signals(signum).name}\n", stderr


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_decrypt_to_a_file(signum: int, arn: str, tmp_path: Path) -> None:
    """decrypt.md, "Authenticated Data": the operation "MUST NOT release any unauthenticated
    plaintext" -- and a stopped decrypt releases none either: the .part file holding what was
    decrypted so far is removed, as on Ctrl-C (exit 128 + signal)."""
    out = tmp_path / "plain.out"
    result = _interrupt(["decrypt", "-", "-o", str(out)], _message(arn), signum, _started(tmp_path))
    _assert_clean_exit(result, signum)
    assert _parts(tmp_path) == [] and not out.exists()


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_decrypt_signed_to_stdout(signum: int, arn: str, tmp_path: Path) -> None:
    """decrypt.md, "Security Considerations": a signed message's plaintext is not released
    before the signature; when stopped, the private spool is removed too."""
    spool = tmp_path / "tmp"
    spool.mkdir()

    def spooled() -> bool:
        return any(spool.iterdir())

    result = _interrupt(
        ["decrypt", "-", "-o", "-"],
        _message(arn, suite=0x0578),
        signum,
        spooled,
        env={"TMPDIR": str(spool)},
    )
    _assert_clean_exit(result, signum)
    assert result.stdout == b""
    assert list(spool.iterdir()) == []


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_encrypt_to_a_file(signum: int, arn: str, tmp_path: Path) -> None:
    """client-apis/encrypt.md and streaming.md, "Outputs": an operation "MUST NOT indicate
    completion or success until an end to the output has been indicated" -- a stopped encrypt
    leaves no message of truncated data behind."""
    out = tmp_path / "sealed.env"
    result = _interrupt(
        ["encrypt", "-", "-o", str(out), "--key", arn],
        os.urandom(SIZE),
        signum,
        _started(tmp_path),
    )
    _assert_clean_exit(result, signum)
    assert _parts(tmp_path) == [] and not out.exists()


class _Zeros(io.RawIOBase):
    """``size`` zero bytes, read in constant memory."""

    def __init__(self, size: int) -> None:
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self._left)
        buffer[:n] = bytes(n)
        self._left -= n
        return n


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_rewrap_in_place(signum: int, arn: str, tmp_path: Path) -> None:
    """A stopped rewrap leaves the original in place and no temporary file (the header is
    rewritten into a temporary file that only replaces the message on success).

    rewrap works on regular files only, so the input cannot be held back through a pipe: the
    child is frozen (SIGSTOP) once its temporary file has data, then given the signal and let go
    (SIGCONT). If it finished before it could be frozen, the attempt is repeated.
    """
    folder = tmp_path / "messages"
    folder.mkdir()
    path = folder / "m.env"
    with LocalKeyService() as kms, open(path, "wb") as sealed:
        encrypt_stream(_Zeros(REWRAP_SIZE), sealed, keys=[KmsKey(kms, arn)], frame_length=FRAME)
    original = path.stat()
    for _attempt in range(3):
        child = subprocess.Popen(
            [sys.executable, "-m", "envelope_cli", "rewrap", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            _wait_for(
                lambda child=child: _started(folder)() or child.poll() is not None,  # type: ignore[misc]
                "the rewrap",
            )
            child.send_signal(signal.SIGSTOP)
            if child.poll() is None and pending_sizes(folder):
                child.send_signal(signum)
                child.send_signal(signal.SIGCONT)
                _, err = child.communicate(timeout=60)
                break
            child.send_signal(signal.SIGCONT)
            child.communicate(timeout=60)  # it finished first: try again
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    else:
        pytest.fail("rewrap finished before it could be stopped, three times")
    _assert_clean_exit(subprocess.CompletedProcess([], child.returncode, b"", err), signum)
    assert [p.name for p in folder.iterdir()] == ["m.env"]
    assert path.stat().st_ino == original.st_ino and path.stat().st_size == original.st_size
