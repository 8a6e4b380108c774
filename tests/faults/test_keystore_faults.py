"""SIGKILL during key creation, rotation, deletion (scheduling, cancelling, destruction), rekey
and encryption: the keystore opens, passes SQLite's integrity check, and keeps every key version
and ciphertext a caller was told about.

A forked child works on one keystore and reports each result the moment a call returns; the
parent kills it at a random moment. The keystore's clock moves 8 days per round, so keys
scheduled for deletion (7 days) in one round are destroyed by the next round's first write,
often under the kill too. tests/keys/test_durability.py is the narrower original (create,
rotate, encrypt, rekey); this campaign adds deletion, cancellation and data keys, and counts.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from envelope.errors import KeyServiceError, NotFoundException
from envelope.keys import blob
from envelope.keys.local import LocalKeyService
from tests.faults.tally import Tally, fork_and_kill, kills

KILLS = kills("keystore", full=80, ci=30)
ROUND = dt.timedelta(days=8)


def _clock(offset: dt.timedelta) -> object:
    return lambda: dt.datetime.now(dt.timezone.utc) + offset


def _work(home: Path, offset: dt.timedelta, seed: int, report: object) -> None:
    rng = random.Random(seed)
    send = report  # type: ignore[assignment]
    kms = LocalKeyService(home, _clock=_clock(offset))  # type: ignore[arg-type]
    key = kms.create_key().key_metadata.key_id
    send({"op": "create", "key": key})  # type: ignore[operator]
    rotations = 0
    doomed: list[str] = []
    while True:
        choice = rng.random()
        if choice < 0.1:
            key = kms.create_key().key_metadata.key_id
            rotations = 0
            send({"op": "create", "key": key})  # type: ignore[operator]
        elif choice < 0.3 and rotations < 25:
            kms.rotate_key_on_demand(key_id=key)
            rotations += 1
            send({"op": "rotate", "key": key})  # type: ignore[operator]
        elif choice < 0.38:
            victim = kms.create_key(description="doomed").key_metadata.key_id
            kms.schedule_key_deletion(key_id=victim, pending_window_in_days=7)
            doomed.append(victim)
            send({"op": "schedule", "key": victim})  # type: ignore[operator]
        elif choice < 0.41 and doomed:
            victim = doomed.pop()
            send({"op": "cancelling", "key": victim})  # type: ignore[operator]  # may land or not
            kms.cancel_key_deletion(key_id=victim)
            send({"op": "cancel", "key": victim})  # type: ignore[operator]
        elif choice < 0.45:
            kms.rekey()
            send({"op": "rekey"})  # type: ignore[operator]
        if rng.random() < 0.5:
            plaintext = os.urandom(rng.randint(1, 64))
            ciphertext = kms.encrypt(key_id=key, plaintext=plaintext).ciphertext_blob
        else:
            data_key = kms.generate_data_key(key_id=key, key_spec="AES_256")
            plaintext, ciphertext = data_key.plaintext, data_key.ciphertext_blob
        send({"op": "encrypt", "key": key, "ct": ciphertext.hex(), "pt": plaintext.hex(),  # type: ignore[operator]
              "version": blob.parse(ciphertext).version})  # fmt: skip


def _check(
    home: Path, offset: dt.timedelta, history: list[dict[str, object]], tally: Tally
) -> None:
    """Everything ever reported still holds (counted into ``tally``); the store is sound."""
    with LocalKeyService(home, _clock=_clock(offset)) as kms:  # type: ignore[arg-type]
        db = sqlite3.connect(home / "keystore.db")
        try:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            db.close()
        rotations: Counter[str] = Counter()
        pending: dict[str, str] = {}
        created = set()
        for record in history:
            op, key = record["op"], str(record.get("key"))
            if op == "create":
                created.add(key)
            elif op == "rotate":
                rotations[key] += 1
            elif op in ("schedule", "cancelling", "cancel"):
                pending[key] = str(op)
        for key in created:
            listed = len(kms.list_key_rotations(key_id=key).rotations)
            tally.versions += 1 + rotations[key]
            tally.lost_versions += max(0, rotations[key] - listed)
        for key, last in pending.items():
            try:
                state = kms.describe_key(key_id=key).key_metadata.key_state
            except NotFoundException:
                state = "destroyed"
            allowed = {
                "schedule": ("PendingDeletion", "destroyed"),
                "cancelling": ("PendingDeletion", "destroyed", "Disabled"),  # killed in the call
                "cancel": ("Disabled",),
            }[last]
            assert state in allowed, (key, last, state)
        for record in history:
            if record["op"] != "encrypt":
                continue
            tally.ciphertexts += 1
            ciphertext = bytes.fromhex(str(record["ct"]))
            try:
                plaintext = kms.decrypt(ciphertext_blob=ciphertext).plaintext
            except KeyServiceError:
                plaintext = None
            if plaintext is None or plaintext.hex() != record["pt"]:
                tally.undecryptable += 1
            elif blob.parse(ciphertext).version != record["version"]:
                tally.lost_versions += 1


@pytest.mark.slow
def test_sigkill_during_key_lifecycle_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(16_2026)
    home = tmp_path / "home"
    tally = Tally("keystore")
    history: list[dict[str, object]] = []
    for n in range(KILLS):
        offset = ROUND * n
        seed = rng.randrange(2**32)
        history += fork_and_kill(lambda report, o=offset, s=seed: _work(home, o, s, report), rng,
                                 max_delay=0.12)  # fmt: skip
        tally.kills += 1
        if not (home / "keystore.db").exists():
            continue
        last = Tally("round")
        _check(home, offset, history, last)
        assert last.failures() == 0, (n, last)
        if n == KILLS - 1:
            tally.add(last)
            tally.campaign = "keystore"
    ops = Counter(str(r["op"]) for r in history)
    assert ops["rotate"] and ops["schedule"] and ops["rekey"] and ops["cancel"], ops
    tally.save()
    assert tally.failures() == 0, tally
