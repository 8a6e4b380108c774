"""Run the fuzz targets with atheris (libFuzzer), each in its own process, and sum up.

    python -m tests.fuzz.run [--seconds 60] [--work .fuzz] [TARGET ...]

Each target starts from its seed corpus (``tests/fuzz/corpus/TARGET``) plus the inputs earlier
runs kept in ``WORK/corpus/TARGET`` (new coverage goes there, never into the seeds), for
``--seconds`` seconds. A crash, a hang (``--timeout`` seconds on one input) or an input that grows
memory past the harness's bound leaves its input in ``WORK/findings/TARGET/`` and fails the run.
Turn each into a seed (``tests/fuzz/corpus/TARGET/regression-*``), which ``test_fuzz.py`` replays
on every ``make test``, and fix the parser.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.fuzz.harness import CORPUS, MAX_LEN

ROOT = Path(__file__).resolve().parents[2]
_DONE = re.compile(r"#(\d+)\s+DONE\s+cov: (\d+) ft: (\d+) corp: (\d+)")
_STAT_RUNS = re.compile(r"stat::number_of_executed_units:\s+(\d+)")


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    runs: int
    coverage: int
    corpus: int
    seconds: float
    findings: tuple[Path, ...]
    log: Path
    slow: tuple[Path, ...] = ()


def child(name: str, libfuzzer_args: list[str]) -> None:
    """In the fuzzing process: instrument envelope, load the target, hand over to libFuzzer."""
    import atheris

    with atheris.instrument_imports(include=["envelope"]):
        from tests.fuzz.targets import load

        target = load(name)
        target.prepare()
    atheris.Setup([sys.argv[0], *libfuzzer_args], target.one_input)
    atheris.Fuzz()


def fuzz(name: str, *, seconds: int, work: Path, timeout: int, quiet: bool) -> Result:
    """Fuzz one target for ``seconds`` in a child process; return what it found."""
    corpus = work / "corpus" / name
    findings = work / "findings" / name
    corpus.mkdir(parents=True, exist_ok=True)
    findings.mkdir(parents=True, exist_ok=True)
    before = set(findings.iterdir())
    log = work / f"{name}.log"
    command = [
        sys.executable, "-m", "tests.fuzz.run", "--child", name, "--",
        f"-max_total_time={seconds}", f"-timeout={timeout}", f"-max_len={MAX_LEN}",
        "-rss_limit_mb=3072", "-print_final_stats=1", f"-artifact_prefix={findings}/",
        str(corpus), str(CORPUS / name),
    ]  # fmt: skip
    started = time.monotonic()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(log, "wb") as out:
        code = subprocess.call(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    text = log.read_text(errors="replace")
    done = _DONE.findall(text)
    runs = int(done[-1][0]) if done else int((_STAT_RUNS.findall(text) or ["0"])[-1])
    new = sorted(set(findings.iterdir()) - before)
    # libFuzzer also saves inputs slower than its report threshold (slow-unit-*): not a property
    # failure (a hang is a timeout-* artifact), listed apart. One was RSA-4096 generation for
    # GetParametersForImport taking 10 s of wall time on a loaded machine.
    found = tuple(p for p in new if not p.name.startswith("slow-unit-"))
    slow = tuple(p for p in new if p.name.startswith("slow-unit-"))
    result = Result(
        name=name,
        ok=code == 0 and not found,
        runs=runs,
        coverage=int(done[-1][1]) if done else 0,
        corpus=len(list(corpus.iterdir())) + len(list((CORPUS / name).iterdir())),
        seconds=time.monotonic() - started,
        findings=found,
        slow=slow,
        log=log,
    )
    if not result.ok and not quiet:
        sys.stderr.write(text[-6000:])
    return result


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        child(argv[1], argv[3:] if argv[2:3] == ["--"] else argv[2:])
        return 0
    from tests.fuzz.targets import NAMES

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("targets", nargs="*", default=list(NAMES))
    parser.add_argument("--seconds", type=int, default=60, help="per target (default 60)")
    parser.add_argument("--timeout", type=int, default=10, help="seconds one input may take")
    parser.add_argument("--work", type=Path, default=ROOT / ".fuzz")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    results = []
    for name in args.targets:
        result = fuzz(
            name, seconds=args.seconds, work=args.work, timeout=args.timeout, quiet=args.quiet
        )
        results.append(result)
        verdict = "ok" if result.ok else f"FAILED ({len(result.findings)} finding(s))"
        print(
            f"fuzz {name:20} {verdict:10} {result.runs:>9} runs  cov {result.coverage:>5}  "
            f"corpus {result.corpus:>5}  {result.seconds:6.0f} s",
            flush=True,
        )
        for path in result.findings:
            print(f"    finding: {path}  (log: {result.log})", flush=True)
        for path in result.slow:
            print(f"    slow input (not a failure): {path}", flush=True)
    failed = [r.name for r in results if not r.ok]
    total = sum(r.runs for r in results)
    print(
        f"fuzz: {len(results)} targets, {total} runs, "
        f"{sum(r.seconds for r in results):.0f} s, {len(failed)} failed"
        + (f": {', '.join(failed)}" if failed else ""),
        flush=True,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
