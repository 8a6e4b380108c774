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
import subprocess
import sys
import time
from pathlib import Path

import pytest

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

