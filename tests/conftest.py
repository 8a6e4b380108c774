"""Shared fixtures: every test gets its own ENVELOPE_HOME so no test touches a real keystore."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "envelope-home"
    monkeypatch.setenv("ENVELOPE_HOME", str(home))
    monkeypatch.delenv("ENVELOPE_PASSPHRASE", raising=False)
    monkeypatch.delenv("ENVELOPE_KMS", raising=False)
    monkeypatch.delenv("ENVELOPE_CALLER", raising=False)
    yield home


# The fault campaign's summary line (tests/faults): hooks here, in the conftest every pytest
# process loads first, so that xdist's controller (which collects nothing) prints it too.
def pytest_configure(config: pytest.Config) -> None:
    from tests.faults.conftest import configure_reports

    configure_reports()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.faults.conftest import print_summary

    print_summary(terminalreporter)
