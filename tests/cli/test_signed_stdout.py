"""A signed message decrypted to stdout: nothing reaches stdout before the signature verifies."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from envelope.keys.local import LocalKeyService
from envelope.message import KmsKey, encrypt
from tests.cli.conftest import Run, fails

FRAME = 4096
PLAINTEXT = os.urandom(64 * FRAME)  # a multiple of the frame length: the final frame is empty


@pytest.fixture
def arn() -> Iterator[str]:
    with LocalKeyService() as kms:  # the test's ENVELOPE_HOME, shared with the child processes
        yield kms.create_key().key_metadata.arn


def _signed(arn: str, plaintext: bytes = PLAINTEXT) -> bytes:
    with LocalKeyService() as kms:
        return encrypt(plaintext, keys=[KmsKey(kms, arn)], suite=0x0578, frame_length=FRAME)


@pytest.fixture
def tmpdir_env(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    spool = tmp_path / "tmp"
    spool.mkdir()
    return spool, {"TMPDIR": str(spool)}


def test_bad_signature_puts_nothing_on_stdout(
    envelope: Run, arn: str, tmpdir_env: tuple[Path, dict[str, str]]
) -> None:
    """decrypt.md, "Security Considerations": released plaintext of a signed message "MUST NOT
    be considered signed data until this operation finishes successfully" -- a pipe cannot take
    bytes back, so the CLI releases none until the signature verified."""
    spool, env = tmpdir_env
    message = bytearray(_signed(arn))
    message[-7] ^= 0x01  # inside the signature
    result = envelope("decrypt", "-", "-o", "-", input=bytes(message), env=env)
    fails(result, "signature check failed")
    assert result.stdout == b""
    assert list(spool.iterdir()) == []  # the private spool is gone


def test_good_signature_releases_everything_and_leaves_nothing(
    envelope: Run, arn: str, tmpdir_env: tuple[Path, dict[str, str]]
) -> None:
    """decrypt.md, "Verify the signature": once it verifies, the plaintext is signed data."""
    spool, env = tmpdir_env
    result = envelope("decrypt", "-", "-o", "-", input=_signed(arn), env=env)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == PLAINTEXT
    assert list(spool.iterdir()) == []


def test_spool_is_private_and_nothing_is_released_midway(
    arn: str, tmpdir_env: tuple[Path, dict[str, str]]
) -> None:
    """decrypt.md, "Security Considerations" (signed data only after success); the spool is a
    0700 folder whose file is already unlinked, so no other user or process can read it."""
    spool, env = tmpdir_env
    message = _signed(arn, os.urandom(8 * 1024 * 1024))
    half = len(message) // 2
    child = subprocess.Popen(
        [sys.executable, "-m", "envelope_cli", "decrypt", "-", "-o", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
    )
    stdin, stdout = child.stdin, child.stdout
    assert stdin is not None and stdout is not None
    released: list[bytes] = []

    def drain() -> None:
        while chunk := os.read(stdout.fileno(), 1 << 16):
            released.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        stdin.write(message[:half])  # 4 MiB: the child has decrypted most of it afterwards
        stdin.flush()
        deadline = time.monotonic() + 60
        while not list(spool.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.01)
        (folder,) = spool.iterdir()
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert list(folder.iterdir()) == []  # the spool file has no name
        time.sleep(0.5)  # time enough to write megabytes, were anything released early
        assert released == []
        stdin.write(message[half:])
        stdin.close()
        err = child.stderr.read()  # type: ignore[union-attr]
        child.wait(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        reader.join()
    assert child.returncode == 0, err.decode()
    assert len(b"".join(released)) == 8 * 1024 * 1024
    assert list(spool.iterdir()) == []


def test_unsigned_only_refuses_signed_messages_after_the_header(
    envelope: Run, arn: str, tmp_path: Path
) -> None:
    """decrypt.md, "Behavior": the option "to fail immediately after parsing the header if a
    signed algorithm suite is used" (the ESDK's decrypt-unsigned)."""
    signed = envelope("decrypt", "-", "-o", "-", "--unsigned-only", input=_signed(arn))
    fails(signed, "SignedMessageError", "0x0578")
    assert signed.stdout == b""
    out = tmp_path / "out"
    fails(envelope("decrypt", "-", "-o", str(out), "--unsigned-only", input=_signed(arn)))
    assert not out.exists()
    with LocalKeyService() as kms:
        unsigned = encrypt(PLAINTEXT, keys=[KmsKey(kms, arn)], frame_length=FRAME)
    opened = envelope("decrypt", "-", "-o", "-", "--unsigned-only", input=unsigned)
    assert opened.returncode == 0, opened.stderr.decode()
    assert opened.stdout == PLAINTEXT
