"""The fuzz targets in CI: every corpus entry replayed, then each target fuzzed for a few seconds.

The replay is the regression suite: every input the fuzzer ever found (``regression-*``) and
every seed must keep meeting its target's properties. The seeds must also be accepted by the
parser they feed (they are valid inputs), so a change that starts refusing valid input fails
here, not only in a fuzz run. ``make fuzz`` runs the targets for longer.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fuzz import harness
from tests.fuzz.targets import NAMES, load

CI_SECONDS = int(os.environ.get("ENVELOPE_FUZZ_CI_SECONDS", "4"))
ENTRIES = [
    pytest.param(name, path, id=f"{name}/{path.name}")
    for name in NAMES
    for path in sorted((harness.CORPUS / name).iterdir())
]


@pytest.mark.parametrize(("name", "path"), ENTRIES)
def test_corpus_entry_meets_the_target_properties(name: str, path: Path) -> None:
    load(name).one_input(path.read_bytes())


@pytest.mark.parametrize("name", NAMES)
def test_every_seed_is_accepted(name: str) -> None:
    """Seeds are valid inputs: each one passes its target without a refusal."""
    target = load(name)
    target.prepare()
    refused = []
    for path in sorted(target.corpus.glob("seed-*")):
        try:
            target.run(path.read_bytes())
        except target.allowed as e:
            refused.append(f"{path.name}: {type(e).__name__}: {e}")
    assert not refused


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_fuzzing_briefly_finds_nothing(name: str, tmp_path: Path) -> None:
    from tests.fuzz.run import fuzz

    result = fuzz(name, seconds=CI_SECONDS, work=tmp_path, timeout=20, quiet=True)
    log = result.log.read_text(errors="replace")[-4000:]
    assert result.ok, f"{name}: {[p.name for p in result.findings]}\n{log}"
    assert result.runs > len(list(harness.CORPUS.joinpath(name).iterdir())), log
