"""What a fault campaign counts, and the fork-and-SIGKILL loop the campaigns share."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

REPORTS_ENV = "ENVELOPE_FAULTS_REPORTS"
FULL_ENV = "ENVELOPE_FAULTS"
"""``ENVELOPE_FAULTS=full`` (``make test-faults``) runs the full campaign; ``make test`` a part."""
MIN_FULL_KILLS = 200


def kills(campaign: str, *, full: int, ci: int) -> int:
    """How many kills a campaign makes: ``ENVELOPE_FAULTS_<CAMPAIGN>_KILLS`` if set, else
    ``full`` under ``ENVELOPE_FAULTS=full``, else ``ci``."""
    default = full if os.environ.get(FULL_ENV) == "full" else ci
    return int(os.environ.get(f"ENVELOPE_FAULTS_{campaign.upper()}_KILLS", default))


def kill_self() -> None:
    """SIGKILL this process now (a kill at an exact point: between two writes)."""
    os.kill(os.getpid(), signal.SIGKILL)


@dataclasses.dataclass
class Tally:
    """One campaign's counts. Every ``lost``/``undecryptable``/``half`` count must end at 0."""

    campaign: str
    kills: int = 0
    full_disk: int = 0
    versions: int = 0
    ciphertexts: int = 0
    outputs: int = 0
    objects: int = 0
    lost_versions: int = 0
    undecryptable: int = 0
    half_written: int = 0
    half_rewrapped: int = 0
    leftovers: int = 0
    """Complete outputs left under a temporary name (a replacement killed between naming its
    file and the rename): not failures, but counted."""

    def add(self, other: Tally) -> None:
        for field in dataclasses.fields(self):
            if field.name != "campaign":
                setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    def failures(self) -> int:
        return self.lost_versions + self.undecryptable + self.half_written + self.half_rewrapped

    def save(self) -> None:
        """Write the counts where the summary line finds them (when run under the conftest)."""
        folder = os.environ.get(REPORTS_ENV)
        if folder:
            path = Path(folder) / f"{self.campaign}.json"
            path.write_text(json.dumps(dataclasses.asdict(self)))


def summary(folder: Path) -> tuple[str, Tally]:
    """The summary line of the campaigns whose counts are in ``folder`` (empty if none), and
    their sum."""
    reports = sorted(folder.glob("*.json")) if folder.is_dir() else []
    total = Tally("all")
    parts = []
    for path in reports:
        tally = Tally(**json.loads(path.read_text()))
        total.add(tally)
        if tally.kills:
            parts.append(f"{tally.campaign} {tally.kills}")
    if not reports:
        return "", total
    line = (
        f"fault campaign: {total.kills} kills ({', '.join(parts)}), {total.full_disk} full-disk "
        f"cases; {total.lost_versions} lost versions, {total.undecryptable} undecryptable "
        f"ciphertexts, {total.half_written} half-written outputs, {total.half_rewrapped} "
        f"half-rewrapped objects (checked {total.versions} versions, {total.ciphertexts} "
        f"ciphertexts, {total.outputs} outputs, {total.objects} objects; {total.leftovers} "
        "complete outputs left under a temporary name)"
    )
    return line, total


def main(argv: list[str]) -> int:
    """``python -m tests.faults.tally FOLDER``: print the summary line; fail unless the full
    campaign ran (at least ``MIN_FULL_KILLS`` kills, a full-disk case) with no failure."""
    line, total = summary(Path(argv[0]))
    print(line or "fault campaign: no counts found")
    short = total.kills < MIN_FULL_KILLS or not total.full_disk
    if short:
        print(f"fault campaign: FAILED: {total.kills} kills (at least {MIN_FULL_KILLS} needed), "
              f"{total.full_disk} full-disk cases")  # fmt: skip
    return 1 if short or total.failures() else 0


def fork_and_kill(
    work: Callable[[Callable[[dict[str, object]], None]], None],
    rng: random.Random,
    *,
    max_delay: float,
    ready: Callable[[], bool] | None = None,
) -> list[dict[str, object]]:
    """Run ``work(report)`` in a forked child, SIGKILL it after a random delay, and return what
    it reported (``report(record)`` sends one JSON line on a pipe the moment a call returned).

    Only complete lines count: a line cut off by the kill was never "told to a caller". With
    ``ready``, the delay starts once ``ready()`` is true (the child reached the write path). A
    child that SIGKILLs itself first (``kill_self``) is reaped as soon as it dies.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        os.close(read_fd)
        try:

            def report(record: dict[str, object]) -> None:
                os.write(write_fd, (json.dumps(record) + "\n").encode())

            work(report)
        except BaseException:
            import traceback

            traceback.print_exc()  # the child's failure, on the test's stderr
        finally:
            os._exit(1)
    os.close(write_fd)
    if ready is not None:
        deadline = time.monotonic() + 60
        while not ready() and time.monotonic() < deadline:
            time.sleep(0.002)
    deadline = time.monotonic() + rng.uniform(0.0, max_delay)
    done, status = 0, 0
    while not done and time.monotonic() < deadline:  # the child may kill itself (kill_self)
        done, status = os.waitpid(pid, os.WNOHANG)
        time.sleep(0.001)
    if not done:
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
    chunks = []
    while chunk := os.read(read_fd, 1 << 16):
        chunks.append(chunk)
    os.close(read_fd)
    return [json.loads(line) for line in b"".join(chunks).decode().split("\n")[:-1]]


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
