"""``make demo-s3``'s script: an S3 round trip on moto's server, which it starts and stops."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "scripts" / "demo-s3.sh"


@pytest.mark.skipif(shutil.which("bash") is None, reason="the demo is a bash script")
def test_demo_s3_round_trip_and_moto_stopped(tmp_path: Path) -> None:
    wrapper = tmp_path / "envelope"  # the console script may not be on PATH: call the module
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m envelope_cli "$@"\n')
    wrapper.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["ENVELOPE_HOME"] = str(tmp_path / "home")
    result = subprocess.run(["bash", str(SCRIPT), str(wrapper), sys.executable],
                            capture_output=True, env=env, timeout=300)
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode() + out
    assert "plaintext visible:  False" in out
    assert "S3EncryptionContextError" in result.stderr.decode()
    assert "(no wrong.txt written)" in out and "byte-identical" in out
    assert "a line through a pipe" in out and "done: moto stopped" in out
    port = int(re.search(r"moto on http://127\.0\.0\.1:(\d+)", out).group(1))  # type: ignore[union-attr]
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
