"""``make demo``'s script works on a fresh keystore and again on the same one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "scripts" / "demo.sh"


@pytest.mark.skipif(shutil.which("bash") is None, reason="the demo is a bash script")
def test_demo_runs_twice(tmp_path: Path) -> None:
    wrapper = tmp_path / "envelope"  # the console script may not be on PATH: call the module
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m envelope_cli "$@"\n')
    wrapper.chmod(0o755)
    env = {**os.environ, "ENVELOPE_HOME": str(tmp_path / "home")}
    first = subprocess.run(["bash", str(SCRIPT), str(wrapper)], capture_output=True, env=env,
                           timeout=300)
    assert first.returncode == 0, first.stderr.decode()
    assert "created alias/demo" in first.stdout.decode()
    assert "byte-identical" in first.stdout.decode()
    again = subprocess.run(["bash", str(SCRIPT), str(wrapper)], capture_output=True, env=env,
                           timeout=300)
    assert again.returncode == 0, again.stderr.decode()
    assert "reusing alias/demo" in again.stdout.decode()
