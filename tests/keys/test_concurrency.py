"""Several processes on one keystore: no error, no lost version, one root key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from envelope.keys.local import LocalKeyService

WORKER = Path(__file__).with_name("_worker.py")
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )


def _collect(procs: list[subprocess.Popen[bytes]]) -> list[dict[str, object]]:
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        results.append(json.loads(out.decode().strip().splitlines()[-1]))
    return results


@pytest.mark.slow
def test_four_processes_mixed_operations(tmp_path: Path) -> None:
    home = tmp_path / "shared-home"
    with LocalKeyService(home) as kms:
        shared = kms.create_key().key_metadata.key_id
        keys_before = len(kms.list_keys(limit=1000).keys)
    # 4 x 80 operations, 1 in 15 a rotation: ~21 rotations in all, under the 25 on-demand limit.
    procs = [_spawn("mixed", str(home), shared, "80", str(seed)) for seed in range(4)]
    results = _collect(procs)
    rotations = sum(int(str(r["rotations"])) for r in results)
    created = sum(int(str(r["created"])) for r in results)
    assert rotations <= 25
    with LocalKeyService(home) as kms:
        listed = kms.list_key_rotations(key_id=shared, limit=1000).rotations
        assert len(listed) == rotations
        assert len(kms.list_keys(limit=1000).keys) == keys_before + created
        ciphertext = kms.encrypt(key_id=shared, plaintext=b"x").ciphertext_blob
        from envelope.keys import blob

        assert blob.parse(ciphertext).version == rotations + 1
        for result in results:
            for ct_hex, plain_hex in result["outputs"]:  # type: ignore[attr-defined]
                assert (
                    kms.decrypt(ciphertext_blob=bytes.fromhex(ct_hex)).plaintext.hex() == plain_hex
                )


@pytest.mark.slow
def test_first_open_race_creates_one_root_key(tmp_path: Path) -> None:
    home = tmp_path / "fresh-home"
    procs = [_spawn("race", str(home)) for _ in range(4)]
    results = _collect(procs)
    assert len((home / "root.key").read_bytes()) == 32
    assert sorted(p.name for p in home.iterdir() if p.name.startswith(".root")) == []
    with LocalKeyService(home) as kms:
        for result in results:
            plain = kms.decrypt(ciphertext_blob=bytes.fromhex(str(result["ciphertext"])))
            assert plain.plaintext == b"race"
