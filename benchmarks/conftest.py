"""Benchmark conventions enforced, and the machine described in the JSON (see convention.py)."""

from __future__ import annotations

import dataclasses
import os
import platform
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from convention import AREAS, ROLES, TARGETS

ROOT = Path(__file__).resolve().parent.parent
LIBRARIES = ("envelope", "cryptography", "aws-encryption-sdk", "tink", "boto3", "botocore",
             "moto", "granian", "typer", "pytest-benchmark")  # fmt: skip
# Peers in venvs of their own: (venv, distribution).
OTHER_VENVS = ((".venv-esdkcli", "aws-encryption-sdk-cli"), (".venv-esdkcli", "aws-encryption-sdk"),
               (".venv-s3ec", "amazon-s3-encryption-client-python"))  # fmt: skip


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Every benchmark must say what it measured (convention.tag), or it fails: the report
    generator is generic, and a case without an area, case, implementation and role would be
    left out of the report without a word."""
    result = yield
    bench = getattr(item, "funcargs", {}).get("benchmark")
    if bench is not None:
        info = bench.extra_info
        missing = [k for k in ("area", "case", "impl", "role") if k not in info]
        if missing:
            pytest.fail(f"{item.nodeid}: benchmark not tagged ({', '.join(missing)})")
        if info["area"] not in AREAS or info["role"] not in ROLES:
            pytest.fail(f"{item.nodeid}: unknown area or role in {info}")
    return result


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _other_version(venv: str, name: str) -> str | None:
    python = ROOT / venv / "bin" / "python"
    if not python.exists():
        return None
    code = f"from importlib.metadata import version; print(version({name!r}))"
    result = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    return result.stdout.strip() or None


def pytest_benchmark_update_machine_info(
    config: pytest.Config, machine_info: dict[str, Any]
) -> None:
    from cryptography.hazmat.backends.openssl.backend import backend

    versions = {name: _version(name) for name in LIBRARIES}
    for venv, name in OTHER_VENVS:
        versions[f"{name} ({venv})"] = _other_version(venv, name)
    machine_info["envelope_report"] = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": sys.version.split()[0],
        "openssl": backend.openssl_version_text(),
        "system": f"{platform.system()} {platform.release()}",
        "versions": {k: v for k, v in versions.items() if v},
    }


def pytest_benchmark_update_json(
    config: pytest.Config, benchmarks: list[Any], output_json: dict[str, Any]
) -> None:
    output_json["areas"] = {name: dataclasses.asdict(area) for name, area in AREAS.items()}
    output_json["targets"] = [dataclasses.asdict(target) for target in TARGETS]
