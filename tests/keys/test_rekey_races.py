"""Rekeys racing other processes: nothing is ever wrapped under a retired root key, and no
interleaving of rekeys, openers and crashes leaves the store without the root key it needs.

A process that opens the store while another one rekeys must hold a root key and a generation
that belong together; one that wraps new material under the retired root key (and a stale
generation number says it is current) makes that key unreadable for everyone else and opens it
to whoever stole the old root key.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from envelope.errors import EnvelopeError
from envelope.keys.local import LocalKeyService

FAST = 2**10  # scrypt cost for the rekeyer's new passphrase
SLOW = 2**17  # the stored cost an opener must pay: about half a second of scrypt

OPENER = """
import json, sys
from envelope.errors import EnvelopeError
from envelope.keys.local import LocalKeyService
print("opening", flush=True)
try:
    kms = LocalKeyService(sys.argv[1], passphrase="old passphrase")
except EnvelopeError as e:
    print(json.dumps({"open": type(e).__name__}), flush=True)
    raise SystemExit(0)
try:
    key_id = kms.create_key().key_metadata.key_id
    blob = kms.encrypt(key_id=key_id, plaintext=b"made after the rekey").ciphertext_blob
    print(json.dumps({"blob": blob.hex()}), flush=True)
except EnvelopeError as e:
    print(json.dumps({"write": type(e).__name__}), flush=True)
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(Path.cwd())}


def test_an_opener_racing_a_passphrase_change_never_wraps_under_the_old_one(
    tmp_path: Path,
) -> None:
    """Before: the opener derived the old root key from one read of the metadata and took the
    generation from a second read made after the rekey, so it believed the old key current and
    wrapped its new key under it: unreadable with the new passphrase, readable with the old."""
    for attempt in range(3):  # the opener must read the metadata before the rekey commits
        home = tmp_path / f"home-{attempt}"
        LocalKeyService(home, passphrase="old passphrase", _scrypt_n=SLOW).close()
        rekeyer = LocalKeyService(home, passphrase="old passphrase", _scrypt_n=FAST)
        opener = subprocess.Popen(
            [sys.executable, "-c", OPENER, str(home)], stdout=subprocess.PIPE, env=_env()
        )
        assert opener.stdout is not None
        assert opener.stdout.readline() == b"opening\n"
        time.sleep(0.1)  # the opener is now inside scrypt (half a second) with the old metadata
        rekeyer.rekey(new_passphrase="new passphrase")
        rekeyer.close()
        outcome = json.loads(opener.stdout.readline())
        assert opener.wait(timeout=60) == 0
        if outcome.get("open") == "WrongPassphraseError":
            continue  # it opened after the rekey: no race this time, try again
        assert "open" not in outcome, outcome
        if "write" in outcome:
            assert outcome["write"] == "KeystoreError"  # told to reopen with the new passphrase
        else:
            with LocalKeyService(home, passphrase="new passphrase") as kms:
                plaintext = kms.decrypt(ciphertext_blob=bytes.fromhex(outcome["blob"])).plaintext
            assert plaintext == b"made after the rekey"
        return
    pytest.fail("the opener never read the metadata before the rekey committed")



# --- rekeys racing rekeys, openers and SIGKILL ------------------------------------------------
RACE_SECONDS = 6.0


def _report(out: int, line: dict[str, object]) -> None:
    os.write(out, (json.dumps(line) + "\n").encode())  # < PIPE_BUF: one atomic append


def _rekeyer(home: Path, out: int, blob: bytes) -> None:
    kms = LocalKeyService(home)
    while True:
        try:
            kms.rekey()
            _report(out, {"rekeyed": 1})
        except EnvelopeError as e:
            _report(out, {"error": f"{type(e).__name__}: {e}"})


def _opener(home: Path, out: int, blob: bytes) -> None:
    while True:
        try:
            with LocalKeyService(home) as kms:
                assert kms.decrypt(ciphertext_blob=blob).plaintext == b"reference"
            _report(out, {"opened": 1})
        except EnvelopeError as e:
            _report(out, {"error": f"{type(e).__name__}: {e}"})


def _fork(work: Callable[[Path, int, bytes], None], home: Path, log: Path, blob: bytes) -> int:
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        try:
            work(home, os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), blob)
        finally:
            os._exit(1)
    return pid


@pytest.mark.slow
def test_rekeys_racing_rekeys_openers_and_kills_lose_nothing(tmp_path: Path) -> None:
    """Before: a rekey moved ``root.key.new`` over ``root.key`` by name after its commit, when
    another rekey could already have written its own, uncommitted key there (and an opener
    finishing a rekey could do the same): openers failed with "the root-key file does not open
    the keystore" or "root.key.new is missing", a rekey killed before its commit could leave no
    root key that opens the store, and killed rekeys left temporary copies of root keys. (A
    first fix that removed leftovers by what the database showed lost the store too: a process
    killed inside SQLite's COMMIT can leave a commit that no live connection sees but the next
    recovery restores, and its root key had been removed meanwhile.) Two rekeyers (killed and
    restarted now and then) and two processes that open the store and decrypt run together for
    a few seconds; no operation may fail, and afterwards the store opens and decrypts."""
    rng = random.Random(8)
    home = tmp_path / "home"
    with LocalKeyService(home) as kms:
        blob = kms.encrypt(key_id=kms.create_key().key_metadata.key_id, plaintext=b"reference")
    logs = [tmp_path / f"worker-{n}.log" for n in range(4)]
    rekeyers = [_fork(_rekeyer, home, logs[n], blob.ciphertext_blob) for n in range(2)]
    openers = [_fork(_opener, home, logs[n], blob.ciphertext_blob) for n in range(2, 4)]
    kills = 0
    deadline = time.monotonic() + RACE_SECONDS
    while time.monotonic() < deadline:
        time.sleep(rng.uniform(0.05, 0.3))
        victim = rng.randrange(2)
        os.kill(rekeyers[victim], signal.SIGKILL)
        os.waitpid(rekeyers[victim], 0)
        kills += 1
        rekeyers[victim] = _fork(_rekeyer, home, logs[victim], blob.ciphertext_blob)
    for pid in rekeyers + openers:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    records = [
        json.loads(line)
        for log in logs
        for line in log.read_text().split("\n")[:-1]  # a line cut off by the kill was not sent
    ]
    assert [r["error"] for r in records if "error" in r] == []
    assert sum("rekeyed" in r for r in records) > 20 and sum("opened" in r for r in records) > 20
    assert kills > 10
    with LocalKeyService(home) as kms:
        assert kms.decrypt(ciphertext_blob=blob.ciphertext_blob).plaintext == b"reference"
    # No temporary copy of a root key is left; a root.key.new-* can only be the key of a rekey
    # killed before its commit (the next rekey removes it once its own commit is in).
    leftovers = {p.name for p in home.iterdir()} - {"keystore.db", "root.key"}
    leftovers -= {"keystore.db-wal", "keystore.db-shm"}
    assert all(name.startswith("root.key.new-") for name in leftovers), leftovers
    with LocalKeyService(home) as kms:
        kms.rekey()
    assert not [p for p in home.iterdir() if p.name.startswith("root.key.new")]


# --- processes creating one store at once -----------------------------------------------------
def _create(home: Path, out: int, start: float, secret: str | None) -> None:
    while time.time() < start:
        pass
    try:
        with LocalKeyService(home, passphrase=secret, _scrypt_n=FAST) as kms:
            key_id = kms.create_key().key_metadata.key_id
        line = {"ok": key_id, "secret": secret}
    except EnvelopeError as e:
        line = {"error": type(e).__name__, "message": str(e)}
    except BaseException as e:  # anything else is a failure of the test
        line = {"raw": f"{type(e).__name__}: {e}"}
    _report(out, line)


def test_processes_creating_one_store_with_different_secrets(tmp_path: Path) -> None:
    """Six processes create the same new store at the same moment, some with a root-key file
    and some with passphrases of their own. One secret wins (the processes with a root-key file
    share one, if it is theirs); every other process is told plainly that its secret does not
    open the store; and a passphrase store keeps no root.key that a losing process made
    (before: it stayed beside the store, protecting nothing, in most runs)."""
    home = tmp_path / "home"
    log = tmp_path / "created.log"
    start = time.time() + 1.0
    secrets = [None, "first", "second", None, "third", "fourth"]
    pids = []
    for secret in secrets:
        pid = os.fork()
        if pid == 0:  # the child never returns into pytest
            try:
                _create(home, os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT), start, secret)
            finally:
                os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == len(secrets)
    assert [line for line in lines if "raw" in line] == []
    winners = [line for line in lines if "ok" in line]
    assert len({line["secret"] for line in winners}) == 1, lines  # (root-key file users share)
    for line in lines:
        if "error" in line:
            assert line["error"] in ("WrongPassphraseError", "KeystoreError"), line
            assert "passphrase" in line["message"] or "root-key file" in line["message"]
    with LocalKeyService(home, passphrase=winners[0]["secret"]) as kms:
        for line in winners:
            assert kms.describe_key(key_id=line["ok"]).key_metadata.enabled
        mode = kms.root_mode
    assert (home / "root.key").exists() == (mode == "file")
