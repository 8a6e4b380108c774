"""CLI start-up: ``envelope --version`` and ``envelope key list`` in a fresh process (s/run)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from envelope.keys.local import LocalKeyService


def _command() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m envelope_cli``."""
    script = Path(sys.executable).with_name("envelope")
    if script.exists():
        return [str(script)]
    found = shutil.which("envelope")
    return [found] if found else [sys.executable, "-m", "envelope_cli"]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path: Path = tmp_path_factory.mktemp("bench-cli-home")
    with LocalKeyService(path) as kms:  # a keystore with a few keys to list
        for n in range(3):
            kms.create_key(description=f"benchmark {n}")
    return path


def _run(args: list[str], home: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        args, capture_output=True, env={**os.environ, "ENVELOPE_HOME": str(home)}, check=True
    )


@pytest.mark.benchmark(group="cli-startup")
def test_version(benchmark: BenchmarkFixture, home: Path) -> None:
    result = benchmark(_run, [*_command(), "--version"], home)
    assert result.stdout.startswith(b"envelope ")


@pytest.mark.benchmark(group="cli-startup")
def test_key_list(benchmark: BenchmarkFixture, home: Path) -> None:
    result = benchmark(_run, [*_command(), "key", "list", "--json"], home)
    assert result.stdout.count(b'"KeyId"') == 3


@pytest.mark.benchmark(group="cli-startup")
def test_key_list_table(benchmark: BenchmarkFixture, home: Path) -> None:
    result = benchmark(_run, [*_command(), "key", "list"], home)
    assert result.stdout.count(b"SYMMETRIC_DEFAULT") == 3
