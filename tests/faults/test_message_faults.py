"""SIGKILL during message rewrap (in place), decrypt to a file and encrypt to a file: every
message still decrypts, and no partial output file is left holding plaintext.

A forked child rotates the key, rewraps messages in place (``rewrap_file``), and decrypts and
encrypts them to files through ``atomic_write`` (the CLI's output path), reporting each result;
the parent kills it at a random moment. SIGKILL runs no clean-up, so what is left on disk is
exactly what the write path leaves: the message file must be its old or its rewrapped self, and
an output file must be complete or absent, with no temporary file holding plaintext.
"""

from __future__ import annotations

import contextlib
import io
import random
from pathlib import Path

import pytest

from envelope.errors import EnvelopeError, LimitExceededException
from envelope.files import atomic_write
from envelope.keys.local import LocalKeyService
from envelope.message import KmsKey, decrypt, decrypt_stream, encrypt, encrypt_stream, rewrap_file
from tests.faults.tally import Tally, fork_and_kill, kills

KILLS = kills("message", full=50, ci=20)
SIZES = (0, 1, 4095, 70_000, 300_000, 1_500_000)


def _plain(n: int) -> bytes:
    return random.Random(n).randbytes(SIZES[n])


def _work(home: Path, folder: Path, arn: str, seed: int, report: object) -> None:
    rng = random.Random(seed)
    send = report  # type: ignore[assignment]
    kms = LocalKeyService(home)
    key = KmsKey(kms, arn)
    out = folder / "out"
    while True:
        n = rng.randrange(len(SIZES))
        message = folder / f"m{n}.env"
        choice = rng.random()
        if choice < 0.1:
            with contextlib.suppress(LimitExceededException):  # 25 on-demand rotations
                kms.rotate_key_on_demand(key_id=arn)
        elif choice < 0.5:
            rewrap_file(message, keys=[key])
            send({"op": "rewrap", "n": n})  # type: ignore[operator]
        elif choice < 0.8:
            with open(message, "rb") as src, atomic_write(out / f"m{n}.out") as dst:
                decrypt_stream(src, dst, keys=[key])
            send({"op": "decrypt", "n": n})  # type: ignore[operator]
        else:
            with atomic_write(out / f"e{n}.env") as dst:
                encrypt_stream(io.BytesIO(_plain(n)), dst, keys=[key], frame_length=4096)
            send({"op": "encrypt", "n": n})  # type: ignore[operator]


def _leftover(path: Path, expected: list[bytes], tally: Tally, problems: list[str]) -> None:
    """A temporary file the kill left behind: acceptable only complete (a replacement killed
    between naming its file and the rename), never partial."""
    data = path.read_bytes()
    if data in expected:
        tally.leftovers += 1
    else:
        tally.half_written += 1
        problems.append(f"{path.name}: {len(data)} bytes, not a complete output")
    path.unlink()


def _check(home: Path, folder: Path, arn: str, tally: Tally) -> list[str]:
    problems: list[str] = []
    with LocalKeyService(home) as kms:
        key = KmsKey(kms, arn)
        for leftover in folder.glob(".*.part"):  # a rewrap's temporary file
            n = int(leftover.name.split(".")[1][1:])
            try:
                ok = decrypt(leftover.read_bytes(), keys=[key]) == _plain(n)
            except EnvelopeError:
                ok = False
            _leftover(leftover, [leftover.read_bytes()] if ok else [], tally, problems)
        for n in range(len(SIZES)):
            tally.ciphertexts += 1
            try:
                ok = decrypt((folder / f"m{n}.env").read_bytes(), keys=[key]) == _plain(n)
            except EnvelopeError:
                ok = False
            tally.undecryptable += not ok
            if not ok:
                problems.append(f"m{n}.env does not decrypt")
        for path in (folder / "out").iterdir():
            tally.outputs += 1
            if path.name.startswith("."):  # a temporary file: complete, or a failure
                n = int(path.name.split(".")[1][1:])
                expected = [_plain(n)]
                if path.name[1] == "e":
                    with contextlib.suppress(EnvelopeError):
                        expected = [path.read_bytes()] if decrypt(
                            path.read_bytes(), keys=[key]) == _plain(n) else []  # fmt: skip
                _leftover(path, expected, tally, problems)
                continue
            n = int(path.name.split(".")[0][1:])
            if path.name.endswith(".out"):
                bad = path.read_bytes() != _plain(n)
            else:
                try:
                    bad = decrypt(path.read_bytes(), keys=[key]) != _plain(n)
                except EnvelopeError:
                    bad = True
            tally.half_written += bad
            if bad:
                problems.append(f"{path.name} is not the complete output")
    return problems


@pytest.mark.slow
def test_sigkill_during_rewrap_and_file_output_leaves_no_partial_file(tmp_path: Path) -> None:
    rng = random.Random(16_2027)
    home, folder = tmp_path / "home", tmp_path / "messages"
    (folder / "out").mkdir(parents=True)
    with LocalKeyService(home) as kms:
        arn = kms.create_key().key_metadata.arn
        key = KmsKey(kms, arn)
        for n in range(len(SIZES)):
            message = encrypt(_plain(n), keys=[key], frame_length=4096)
            (folder / f"m{n}.env").write_bytes(message)
    tally = Tally("messages")
    reported = 0
    for _ in range(KILLS):
        seed = rng.randrange(2**32)
        reported += len(fork_and_kill(lambda report, s=seed: _work(home, folder, arn, s, report),
                                      rng, max_delay=0.4))  # fmt: skip
        tally.kills += 1
        problems = _check(home, folder, arn, tally)
        assert tally.failures() == 0, (tally, problems)
    assert reported > KILLS  # the children did real work before dying
    tally.save()
