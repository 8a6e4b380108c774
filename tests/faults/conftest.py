"""The fault campaign's tally: each campaign writes its counts, the summary line adds them up.

``tests/conftest.py`` calls ``configure_reports`` and ``print_summary`` (xdist's controller loads
only that conftest); the marker is added here.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.faults.tally import REPORTS_ENV, summary


def configure_reports() -> None:
    """Where the campaigns write their counts: one folder for the controller and its workers."""
    if REPORTS_ENV not in os.environ:  # the controller; xdist workers inherit it
        os.environ[REPORTS_ENV] = tempfile.mkdtemp(prefix="envelope-faults-")


def print_summary(terminalreporter: pytest.TerminalReporter) -> None:
    line, _ = summary(Path(os.environ.get(REPORTS_ENV, "")))
    if line:
        terminalreporter.write_line(line)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.faults)
