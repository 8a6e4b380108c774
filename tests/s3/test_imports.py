"""envelope.s3 never imports boto3 by itself: the caller's S3 client is injected."""

from __future__ import annotations

import subprocess
import sys


def test_importing_envelope_s3_loads_no_boto3() -> None:
    code = (
        "import sys, envelope, envelope.s3\n"
        "from envelope.s3 import EncryptedS3Client\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip() == "[]"


def test_the_cli_loads_envelope_s3_only_for_s3_commands() -> None:
    code = (
        "import sys\n"
        "from envelope_cli import app\n"
        "print('envelope.s3' in sys.modules, 'boto3' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().split() == ["False", "False"]
