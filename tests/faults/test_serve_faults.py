"""SIGKILL ``envelope serve`` (its main process and every worker) under load: after each kill the
keystore opens, passes its integrity check, and keeps every key, key version and ciphertext
the server acknowledged to a client.

Four client threads run KMS calls through boto3 (CreateKey, Encrypt, GenerateDataKey,
RotateKeyOnDemand, ReEncrypt, ScheduleKeyDeletion) and record every answer they got. After a
random stretch of load the whole process tree is killed at once, so workers die in the middle of
requests, some of them in the middle of a keystore transaction.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from envelope.errors import KeyServiceError
from envelope.keys import blob
from envelope.keys.local import LocalKeyService
from tests.faults.tally import Tally, kills
from tests.serve_server import EnvelopeServer

ROUNDS = kills("serve", full=20, ci=4)
THREADS = 4


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _client_loop(server: EnvelopeServer, seed: int, stop: threading.Event,
                 acked: list[dict[str, Any]]) -> None:  # fmt: skip
    from botocore.config import Config

    rng = random.Random(seed)
    kms = server.client(config=Config(retries={"max_attempts": 1}, connect_timeout=2,
                                      read_timeout=10))  # fmt: skip
    try:
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        acked.append({"op": "create", "key": key})
        rotations = 0
        while not stop.is_set():
            choice = rng.random()
            if choice < 0.1:
                key = kms.create_key()["KeyMetadata"]["KeyId"]
                rotations = 0
                acked.append({"op": "create", "key": key})
            elif choice < 0.2 and rotations < 25:
                kms.rotate_key_on_demand(KeyId=key)
                rotations += 1
                acked.append({"op": "rotate", "key": key})
            elif choice < 0.25:
                doomed = kms.create_key()["KeyMetadata"]["KeyId"]
                kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
                acked.append({"op": "schedule", "key": doomed})
            elif choice < 0.6:
                plaintext = rng.randbytes(rng.randint(1, 256))
                ct = kms.encrypt(KeyId=key, Plaintext=plaintext)["CiphertextBlob"]
                acked.append({"op": "encrypt", "ct": ct, "pt": plaintext})
            elif choice < 0.9:
                answer = kms.generate_data_key(KeyId=key, KeySpec="AES_256")
                acked.append({"op": "encrypt", "ct": answer["CiphertextBlob"],
                              "pt": answer["Plaintext"]})  # fmt: skip
            elif acked and acked[-1]["op"] == "encrypt":
                last = acked[-1]
                moved = kms.re_encrypt(CiphertextBlob=last["ct"], DestinationKeyId=key)
                acked.append({"op": "encrypt", "ct": moved["CiphertextBlob"], "pt": last["pt"]})
    except Exception as e:  # the server died under us: what was acknowledged before counts
        acked.append({"op": "error", "error": repr(e)[:300]})


def _kill_tree(server: EnvelopeServer) -> int:
    process = server.process
    assert process is not None
    tree = [process.pid, *_descendants(process.pid)]
    for pid in tree:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    process.wait(timeout=30)
    for pid in tree[1:]:  # the workers: reparented, reaped by init, or gone already
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        break
            except OSError:
                break
            time.sleep(0.01)
    server.process = None
    return len(tree)


def _check(home: Path, acked: list[dict[str, Any]], tally: Tally) -> None:
    db = sqlite3.connect(home / "keystore.db")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()
    rotations: Counter[str] = Counter(r["key"] for r in acked if r["op"] == "rotate")
    with LocalKeyService(home) as kms:
        for record in acked:
            if record["op"] == "create":
                listed = len(kms.list_key_rotations(key_id=record["key"]).rotations)
                tally.versions += 1 + rotations[record["key"]]
                tally.lost_versions += max(0, rotations[record["key"]] - listed)
            elif record["op"] == "schedule":
                state = kms.describe_key(key_id=record["key"]).key_metadata.key_state
                assert state == "PendingDeletion", record
            elif record["op"] == "encrypt":
                tally.ciphertexts += 1
                try:
                    plaintext = kms.decrypt(ciphertext_blob=record["ct"]).plaintext
                except KeyServiceError:
                    plaintext = None
                tally.undecryptable += plaintext != record["pt"]
                blob.parse(record["ct"])


@pytest.mark.slow
def test_sigkill_serve_under_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    rng = random.Random(16_2028)
    home = tmp_path / "home"
    acked: list[dict[str, Any]] = []
    processes = 0
    for n in range(ROUNDS):
        server = EnvelopeServer(home, log=tmp_path / "serve.log").start(principal=f"load{n}")
        stop = threading.Event()
        round_acked: list[dict[str, Any]] = []
        threads = [
            threading.Thread(target=_client_loop,
                             args=(server, rng.randrange(2**32), stop, round_acked))
            for _ in range(THREADS)
        ]  # fmt: skip
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while not any(r["op"] != "error" for r in round_acked) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 1.0))
        processes += _kill_tree(server)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        errors = [r["error"] for r in round_acked if r["op"] == "error"]
        round_acked = [r for r in round_acked if r["op"] != "error"]
        assert round_acked, f"round {n}: the server answered nothing before the kill: {errors}"
        acked += round_acked
        checked = Tally("serve")  # everything acknowledged so far, after every kill
        _check(home, acked, checked)
        assert checked.failures() == 0, (n, checked)
    assert processes >= 2 * ROUNDS  # the workers were killed too, not only the main process
    checked.kills = ROUNDS
    checked.save()
