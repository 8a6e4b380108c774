"""Racing processes cannot undo each other's acknowledged key-state changes.

Each state change (EnableKey, DisableKey, ScheduleKeyDeletion, CancelKeyDeletion, CreateAlias,
RotateKeyOnDemand) checks the key's state and writes the change in one write transaction. Before,
two processes could each pass the check and then overwrite each other: an acknowledged
ScheduleKeyDeletion was silently undone (the row ended ``Disabled`` with a deletion date), and a
key pending deletion could still be rotated or aliased. Here 4 processes race 300 random state
changes on 3 keys, and the outcome must be one that AWS KMS could reach by applying the
acknowledged changes one at a time.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from envelope.keys.local import LocalKeyService

WORKER = Path(__file__).with_name("_worker.py")
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
PROCESSES = 4
OPERATIONS = 75  # per process: 300 in all


@pytest.mark.slow
def test_acknowledged_state_changes_all_hold(tmp_path: Path) -> None:
    home = tmp_path / "race-home"
    with LocalKeyService(home) as kms:
        keys = [kms.create_key().key_metadata.key_id for _ in range(3)]
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), "states", str(home), ",".join(keys), str(OPERATIONS),
             str(seed)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
        )
        for seed in range(PROCESSES)
    ]
    log = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
        log += json.loads(out.decode().strip().splitlines()[-1])["log"]
    assert len(log) == PROCESSES * OPERATIONS
    acked = Counter((e["op"], e["key"]) for e in log if e["outcome"] == "ok")
    refused = {e["outcome"] for e in log if e["outcome"] != "ok"}
    # Only the refusals KMS gives for these calls; never a lock or storage error.
    assert refused <= {"KMSInvalidStateException", "DisabledException", "LimitExceededException"}, (
        refused
    )
    assert sum(acked.values()) > 100  # the race did real work

    with LocalKeyService(home) as kms:
        for key in keys:
            meta = kms.describe_key(key_id=key).key_metadata
            scheduled, cancelled = acked[("schedule", key)], acked[("cancel", key)]
            # Schedule succeeds only when not pending, cancel only when pending: acknowledged
            # ones alternate, so at most one schedule is outstanding, and the key is pending
            # deletion exactly when one is.
            assert scheduled - cancelled in (0, 1), (key, scheduled, cancelled)
            assert (meta.key_state == "PendingDeletion") == (scheduled - cancelled == 1)
            # A key that is not pending deletion has no deletion date (the lost-update shape).
            if meta.key_state != "PendingDeletion":
                assert meta.deletion_date is None
        aliases = {}
        page = kms.list_aliases(limit=100)
        while True:
            aliases.update({a.alias_name: a.target_key_id for a in page.aliases})
            if not page.truncated:
                break
            page = kms.list_aliases(limit=100, marker=page.next_marker)
    db = sqlite3.connect(home / "keystore.db")
    for key in keys:
        # Every acknowledged rotation made exactly one version, and none was lost.
        (made,) = db.execute(
            "SELECT COUNT(*) FROM versions WHERE key_id = ? AND rotation_type = 'ON_DEMAND'",
            (key,),
        ).fetchone()
        assert made == acked[("rotate", key)], key
    db.close()
    # Every acknowledged alias exists and names its key.
    named = [
        (f"alias/race-{seed}-{e['n']}", e["key"])
        for seed in range(PROCESSES)
        for e in log[seed * OPERATIONS : (seed + 1) * OPERATIONS]
        if e["op"] == "alias" and e["outcome"] == "ok"
    ]
    assert named
    for name, key in named:
        assert aliases.get(name) == key, name
