"""The fault campaign's tally: each campaign writes its counts, the summary line adds them up."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.faults.tally import REPORTS_ENV, summary


def pytest_configure(config: pytest.Config) -> None:
    if REPORTS_ENV not in os.environ:  # the controller; xdist workers inherit it
        os.environ[REPORTS_ENV] = tempfile.mkdtemp(prefix="envelope-faults-")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.faults)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    line, _ = summary(Path(os.environ.get(REPORTS_ENV, "")))
    if line:
        terminalreporter.write_line(line)
