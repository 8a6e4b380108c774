"""The local path stays light: no boto3 anywhere, no message package for key commands, and
``envelope encrypt``/``decrypt`` load nothing they do not use (no pydantic, rich, S3 or server)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Run, ok_json

# Runs the CLI in-process in a fresh interpreter, then reports which heavy packages it loaded.
PROBE = """
import sys
from envelope_cli import main
sys.argv = ["envelope", *sys.argv[1:]]
try:
    main()
except SystemExit as e:
    assert not e.code, e.code
loaded = {m.split(".")[0] for m in sys.modules} & {"boto3", "botocore"}
if "envelope.message" in sys.modules:
    loaded.add("envelope.message")
heavy = ("pydantic", "pydantic_core", "rich", "markdown_it", "pygments", "typer.rich_utils",
         "envelope.s3", "envelope.server", "envelope_cli.s3", "envelope_cli.serve",
         "envelope_cli.keys", "envelope_cli.principal", "granian", "envelope.keys.results",
         "envelope.keys.access_results")
loaded.update(m for m in heavy if m in sys.modules)
sys.stderr.write("LOADED:" + ",".join(sorted(loaded)) + "\\n")
"""


def _loaded(*args: str) -> set[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    line = result.stderr.decode().strip().splitlines()[-1]
    assert line.startswith("LOADED:")
    return set(filter(None, line[len("LOADED:"):].split(",")))


@pytest.mark.parametrize(
    "args",
    [["--version"], ["key", "list"], ["key", "create", "--json"],
     ["key", "create", "--key-spec", "HMAC_256", "--json"]],
    ids=" ".join,
)  # fmt: skip
def test_key_commands_load_neither_boto3_nor_messages(args: list[str]) -> None:
    assert _loaded(*args) & {"boto3", "botocore", "envelope.message", "pydantic"} == set()


def test_local_encrypt_and_decrypt_never_import_boto3(envelope: Run, tmp_path: Path) -> None:
    arn = ok_json(envelope("key", "create", "--json"))["KeyMetadata"]["Arn"]
    source, sealed, opened = tmp_path / "in", tmp_path / "in.env", tmp_path / "out"
    source.write_bytes(b"hello")
    assert _loaded("encrypt", str(source), "-o", str(sealed), "--key", arn) & {
        "boto3", "botocore"
    } == set()
    assert _loaded("decrypt", str(sealed), "-o", str(opened)) & {"boto3", "botocore"} == set()
    assert opened.read_bytes() == b"hello"


def test_local_encrypt_and_decrypt_load_no_pydantic_rich_s3_or_server(
    envelope: Run, tmp_path: Path
) -> None:
    """A 1 KiB encrypt and decrypt (the start-up benchmark's commands) import only what they use:
    typer's pydantic coercion is replaced for plain parameters (envelope_cli.lazy), rich is for
    tables, progress bars and typer's error boxes, and the other command groups stay unloaded;
    nor do they build the result classes of the other key operations (keys.results)."""
    arn = ok_json(envelope("key", "create", "--json"))["KeyMetadata"]["Arn"]
    source, sealed, opened = tmp_path / "in", tmp_path / "in.env", tmp_path / "out"
    source.write_bytes(bytes(1024))
    encrypt = ["encrypt", str(source), "-o", str(sealed), "--key", arn, "-c", "purpose=bench",
               "--frame-length", "65536"]  # fmt: skip
    assert _loaded(*encrypt) == {"envelope.message"}
    assert _loaded("decrypt", str(sealed), "-o", str(opened), "-c", "purpose=bench",
                   "--max-encrypted-data-keys", "3") == {"envelope.message"}  # fmt: skip
    assert opened.read_bytes() == bytes(1024)


@pytest.mark.parametrize(
    "module", ["pydantic", "rich", "envelope.s3", "envelope.server", "envelope.keys.results"]
)
def test_the_probe_would_see_each_heavy_module(module: str) -> None:
    """The probe is not blind to the modules the test above rules out."""
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}\n" + PROBE, "--version"],
        capture_output=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert module in result.stderr.decode().strip().splitlines()[-1]


def test_the_probe_would_see_boto3(tmp_path: Path) -> None:
    """The probe is not blind: a command that does load boto3 is reported."""
    result = subprocess.run(
        [sys.executable, "-c", "import boto3\n" + PROBE, "--version"],
        capture_output=True, timeout=120,
    )
    assert result.stderr.decode().strip().endswith("LOADED:boto3,botocore")
