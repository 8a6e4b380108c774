"""Crash safety: SIGKILL a writer at random moments; everything it returned must survive."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from envelope.keys import blob
from envelope.keys.local import LocalKeyService

WORKER = Path(__file__).with_name("_worker.py")
KILLS = 20


def _run_and_kill(home: Path, rng: random.Random) -> list[dict[str, object]]:
    child = subprocess.Popen(
        [sys.executable, str(WORKER), "churn", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    time.sleep(rng.uniform(0.3, 1.0))
    child.send_signal(signal.SIGKILL)
    out, _ = child.communicate()
    assert child.returncode == -signal.SIGKILL
    # Only complete lines were returned to the "caller"; a cut-off last line was not.
    lines = out.decode().split("\n")[:-1]
    return [json.loads(line) for line in lines]


@pytest.mark.slow
def test_sigkill_loses_nothing_returned(tmp_path: Path) -> None:
    rng = random.Random(20261128)
    home = tmp_path / "crash-home"
    reported: list[dict[str, object]] = []
    for _ in range(KILLS):
        reported += _run_and_kill(home, rng)
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
