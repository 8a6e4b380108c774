"""Encrypting and decrypting 1 GiB through the CLI stays in constant memory (< 100 MB RSS)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Run, ok_json

GIB = 1024**3
CHUNK = 1024**2
LIMIT = 100 * 1000**2

# A fresh interpreter runs the command as its only child and reports that child's peak RSS, so
# no other process of the test run can count towards the figure.
MEASURE = """
import resource, subprocess, sys
code = subprocess.call([sys.executable, "-m", "envelope_cli", *sys.argv[1:]])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
sys.exit(code)
"""


def _peak_rss(*args: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, *args], capture_output=True, timeout=900
    )
    assert result.returncode == 0, result.stderr.decode()
    return int(result.stdout.strip().splitlines()[-1])


def _digest(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.digest()


@pytest.mark.slow
def test_one_gib_round_trip_in_constant_memory(envelope: Run, tmp_path: Path) -> None:
    key = ok_json(envelope("key", "create", "--json"))["KeyMetadata"]["Arn"]
    source, encrypted, decrypted = tmp_path / "big", tmp_path / "big.env", tmp_path / "big.out"
    block = os.urandom(CHUNK)
    digest = hashlib.sha256()
    with source.open("wb") as handle:
        for i in range(GIB // CHUNK):
            chunk = i.to_bytes(8, "big") + block[8:]  # no two chunks alike
            handle.write(chunk)
            digest.update(chunk)
    try:
        encrypt_peak = _peak_rss("encrypt", str(source), "-o", str(encrypted), "--key", key)
        source.unlink()
        decrypt_peak = _peak_rss("decrypt", str(encrypted), "-o", str(decrypted))
        assert encrypted.stat().st_size > GIB
        assert _digest(decrypted) == digest.digest()
    finally:
        for path in (source, encrypted, decrypted):
            path.unlink(missing_ok=True)
    assert encrypt_peak < LIMIT, f"encrypt peaked at {encrypt_peak / 1e6:.1f} MB"
    assert decrypt_peak < LIMIT, f"decrypt peaked at {decrypt_peak / 1e6:.1f} MB"
