"""Child process for the durability and concurrency tests (run as a script, not collected).

Modes:
  churn HOME            loop forever: create / rotate / encrypt, one JSON line per returned result
  mixed HOME KEY N SEED  N mixed operations on a shared key, then one JSON summary line
  race HOME             open a fresh keystore, create a key, encrypt once, print one JSON line
  states HOME KEYS N SEED  N random state changes on the shared keys (comma-separated ids),
                        then one JSON line: every operation and whether KMS acknowledged it
"""

from __future__ import annotations

import json
import os
import random
import sys

from envelope.keys import blob
from envelope.keys.local import LocalKeyService


def _emit(record: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def churn(home: str) -> None:
    kms = LocalKeyService(home)
    key_id = kms.create_key().key_metadata.key_id
    rotations = 0
    while True:
        choice = random.random()
        if choice < 0.15:
            key_id = kms.create_key().key_metadata.key_id
            rotations = 0
        elif choice < 0.45 and rotations < 25:
            kms.rotate_key_on_demand(key_id=key_id)
            rotations += 1
        plaintext = os.urandom(random.randint(1, 64))
        ciphertext = kms.encrypt(key_id=key_id, plaintext=plaintext).ciphertext_blob
        _emit(
            {
                "ciphertext": ciphertext.hex(),
                "plaintext": plaintext.hex(),
                "version": blob.parse(ciphertext).version,
            }
        )


def mixed(home: str, shared: str, count: int, seed: int) -> None:
    rng = random.Random(seed)
    kms = LocalKeyService(home)
    own = kms.create_key().key_metadata.key_id
    rotations = 0
    created = 1
    outputs = []
    for _ in range(count):
        op = rng.choices(
            ["create", "rotate", "encrypt", "decrypt", "data_key"], weights=[2, 1, 4, 4, 4]
        )[0]
        if op == "create":
            kms.create_key()
            created += 1
        elif op == "rotate":
            kms.rotate_key_on_demand(key_id=shared)
            rotations += 1
        elif op == "encrypt":
            plaintext = rng.randbytes(16)
            ct = kms.encrypt(key_id=shared, plaintext=plaintext).ciphertext_blob
            outputs.append((ct.hex(), plaintext.hex()))
        elif op == "decrypt" and outputs:
            ct_hex, plain_hex = outputs[rng.randrange(len(outputs))]
            got = kms.decrypt(ciphertext_blob=bytes.fromhex(ct_hex)).plaintext
            assert got.hex() == plain_hex
        else:
            dk = kms.generate_data_key(key_id=own, key_spec="AES_256")
            outputs.append((dk.ciphertext_blob.hex(), dk.plaintext.hex()))
    _emit({"rotations": rotations, "created": created, "outputs": outputs})


def race(home: str) -> None:
    with LocalKeyService(home) as kms:
        key_id = kms.create_key().key_metadata.key_id
        ciphertext = kms.encrypt(key_id=key_id, plaintext=b"race").ciphertext_blob
    _emit({"ciphertext": ciphertext.hex()})


def states(home: str, keys: str, count: int, seed: int) -> None:
    from envelope.errors import KeyServiceError

    rng = random.Random(seed)
    shared = keys.split(",")
    log = []
    with LocalKeyService(home) as kms:
        for n in range(count):
            key = rng.choice(shared)
            op = rng.choice(["schedule", "cancel", "enable", "disable", "rotate", "alias"])
            try:
                if op == "schedule":
                    kms.schedule_key_deletion(key_id=key, pending_window_in_days=7)
                elif op == "cancel":
                    kms.cancel_key_deletion(key_id=key)
                elif op == "enable":
                    kms.enable_key(key_id=key)
                elif op == "disable":
                    kms.disable_key(key_id=key)
                elif op == "rotate":
                    kms.rotate_key_on_demand(key_id=key)
                else:
                    kms.create_alias(alias_name=f"alias/race-{seed}-{n}", target_key_id=key)
                outcome = "ok"
            except KeyServiceError as e:
                outcome = e.code
            log.append({"op": op, "key": key, "n": n, "outcome": outcome})
    _emit({"log": log})


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "churn":
        churn(sys.argv[2])
    elif mode == "mixed":
        mixed(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif mode == "states":
        states(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        race(sys.argv[2])
