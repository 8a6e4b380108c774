"""The fault campaign's tally: each campaign writes its counts, the summary line adds them up."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

from tests.faults.tally import REPORTS_ENV, Tally


def pytest_configure(config: pytest.Config) -> None:
    if REPORTS_ENV not in os.environ:  # the controller; xdist workers inherit it
        os.environ[REPORTS_ENV] = tempfile.mkdtemp(prefix="envelope-faults-")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.faults)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    folder = Path(os.environ.get(REPORTS_ENV, ""))
    reports = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not reports:
        return
    total = Tally("all")
    parts = []
    for path in reports:
        tally = Tally(**json.loads(path.read_text()))
        total.add(tally)
        parts.append(f"{tally.campaign} {tally.kills}")
    terminalreporter.write_line(
        f"fault campaign: {total.kills} kills ({', '.join(parts)}), {total.full_disk} full-disk "
        f"cases; {total.lost_versions} lost versions, {total.undecryptable} undecryptable "
        f"ciphertexts, {total.half_written} half-written outputs, {total.half_rewrapped} "
        f"half-rewrapped objects (checked {total.versions} versions, {total.ciphertexts} "
        f"ciphertexts, {total.outputs} outputs, {total.objects} objects)"
    )
