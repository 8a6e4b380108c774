"""Run the real ``envelope`` command in a subprocess, with the test's own ENVELOPE_HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

Run = Callable[..., subprocess.CompletedProcess[bytes]]


@pytest.fixture
def envelope() -> Run:
    """``envelope(*args, input=b"...")`` runs ``python -m envelope_cli ARGS``."""

    def run(*args: str, input: bytes | None = None, env: dict[str, str] | None = None,
            cwd: str | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "envelope_cli", *args],
            input=input if input is not None else b"",
            capture_output=True,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            timeout=300,
        )

    return run


def ok_json(result: subprocess.CompletedProcess[bytes]) -> Any:
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def fails(result: subprocess.CompletedProcess[bytes], *needles: str) -> str:
    """Assert an expected failure: exit 1, one ``envelope: error:`` line, no traceback."""
    stderr = result.stderr.decode()
    assert result.returncode == 1, (result.returncode, stderr)
    assert stderr.startswith("envelope: error: "), stderr
    assert "Traceback" not in stderr
    for needle in needles:
        assert needle in stderr, (needle, stderr)
    return stderr
