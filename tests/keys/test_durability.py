"""Crash safety: SIGKILL a writer at random moments; everything it returned must survive.

A forked child opens the keystore and loops over creating keys, rotating them, encrypting, and
now and then rekeying the store (a new root key, every backing key re-wrapped), reporting each
result on a pipe as soon as the call returns. The parent kills it after a random few
milliseconds, 200 times in all. After every kill the store must open (finishing a rekey that died
between its commit and moving its new root key into place), pass SQLite's integrity check, and
decrypt every ciphertext that was ever reported, at the version it reported.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from envelope.keys import blob
from envelope.keys.local import LocalKeyService

KILLS = 200


def _churn(home: Path, write_fd: int, seed: int) -> None:
    """The child: work until killed, reporting every returned result on the pipe."""
    rng = random.Random(seed)
    kms = LocalKeyService(home)
    key_id = kms.create_key().key_metadata.key_id
    while True:
        choice = rng.random()
        if choice < 0.1:
            key_id = kms.create_key().key_metadata.key_id
        elif choice < 0.35:
            try:
                kms.rotate_key_on_demand(key_id=key_id)
            except Exception:  # the 25 on-demand rotations are used up: take a new key
                key_id = kms.create_key().key_metadata.key_id
        elif choice < 0.4:
            kms.rekey()
        plaintext = os.urandom(rng.randint(1, 64))
        ciphertext = kms.encrypt(key_id=key_id, plaintext=plaintext).ciphertext_blob
        line = json.dumps(
            {
                "ciphertext": ciphertext.hex(),
                "plaintext": plaintext.hex(),
                "version": blob.parse(ciphertext).version,
            }
        )
        os.write(write_fd, (line + "\n").encode())  # one write of < PIPE_BUF bytes: atomic


def _run_and_kill(home: Path, rng: random.Random) -> list[dict[str, object]]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        os.close(read_fd)
        try:
            _churn(home, write_fd, rng.randrange(2**32))
        finally:
            os._exit(1)
    os.close(write_fd)
    time.sleep(rng.uniform(0.0, 0.08))
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    with os.fdopen(read_fd, "rb") as pipe:
        out = pipe.read()
    # Only complete lines were returned to the "caller"; a cut-off last line was not.
    return [json.loads(line) for line in out.decode().split("\n")[:-1]]


@pytest.mark.slow
def test_sigkill_loses_nothing_returned(tmp_path: Path) -> None:
    rng = random.Random(20261129)
    home = tmp_path / "crash-home"
    reported: list[dict[str, object]] = []
    for _ in range(KILLS):
        reported += _run_and_kill(home, rng)
        if not (home / "keystore.db").exists():
            continue  # killed before the store was made
        LocalKeyService(home).close()  # opens, and finishes a rekey cut short
        db = sqlite3.connect(home / "keystore.db")
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()
    assert len(reported) > KILLS  # the children did real work before dying
    assert max(int(str(r["version"])) for r in reported) > 1  # rotations were under way
    with LocalKeyService(home) as kms:
        for record in reported:
            ciphertext = bytes.fromhex(str(record["ciphertext"]))
            assert blob.parse(ciphertext).version == record["version"]
            assert kms.decrypt(ciphertext_blob=ciphertext).plaintext.hex() == record["plaintext"]
    assert not (home / "root.key.new").exists() or len((home / "root.key").read_bytes()) == 32
