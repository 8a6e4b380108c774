"""The library installs alone and lean: ``pip install ./`` brings cryptography and nothing else.

The command line is its own distribution (``cli/``). An application that uses only the library
must not get typer, rich, click, pydantic or boto3, and must still have the local KMS and the
message format; asking for AWS without the ``aws`` extra is a clear error naming the extra.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, os, sys, tempfile
import envelope
from envelope import LocalKeyService, RawAesKey, decrypt, encrypt
from envelope.errors import KeyServiceConfigurationError

home = tempfile.mkdtemp()
with LocalKeyService(home) as kms:
    arn = kms.create_key().key_metadata.arn
    blob = kms.encrypt(key_id=arn, plaintext=b"local").ciphertext_blob
    local = kms.decrypt(ciphertext_blob=blob).plaintext.decode()
key = RawAesKey("ns", "name", os.urandom(32))
message = decrypt(encrypt(b"message", keys=[key]), keys=[key]).decode()
try:
    envelope.AwsKmsKeyService(region_name="us-east-1")
    aws = "constructed"
except KeyServiceConfigurationError as e:
    aws = str(e)
print(json.dumps({"local": local, "message": message, "aws": aws,
                  "loaded": sorted({m.split(".")[0] for m in sys.modules})}))
"""


@pytest.fixture(scope="module")
def library_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with ``pip install ./`` (from a copy of the source)."""
    work = tmp_path_factory.mktemp("library-only")
    source = work / "src"
    shutil.copytree(ROOT / "envelope", source / "envelope",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(source)], check=True,
                   capture_output=True, timeout=600)
    return python


def test_library_alone_installs_only_cryptography(library_only: Path) -> None:
    listing = subprocess.run(
        [str(library_only), "-m", "pip", "list", "--format", "json"],
        check=True, capture_output=True, timeout=120,
    )
    installed = {p["name"].lower() for p in json.loads(listing.stdout)}
    assert "envelope" in installed and "cryptography" in installed
    assert not installed & {"typer", "rich", "click", "pydantic", "boto3", "botocore",
                            "envelope-cli"}


def test_library_alone_works_and_names_the_aws_extra(library_only: Path) -> None:
    result = subprocess.run([str(library_only), "-c", PROBE], capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    report = json.loads(result.stdout)
    assert report["local"] == "local"
    assert report["message"] == "message"
    assert "envelope[aws]" in report["aws"]
    assert not set(report["loaded"]) & {"boto3", "botocore", "typer", "rich"}


def test_the_cli_is_its_own_distribution() -> None:
    """``cli/`` declares the ``envelope`` script and depends on the library with its aws and
    server extras."""
    import tomllib  # the test suite runs on 3.11+

    cli = tomllib.loads((ROOT / "cli" / "pyproject.toml").read_text())
    library = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert cli["project"]["name"] == "envelope-cli"
    assert cli["project"]["scripts"] == {"envelope": "envelope_cli:main"}
    assert any(d.startswith("envelope[aws,server]") for d in cli["project"]["dependencies"])
    assert {"aws", "server"} <= set(library["project"]["optional-dependencies"])
    assert library["project"]["dependencies"] == ["cryptography>=48"]
    assert "scripts" not in library["project"]
