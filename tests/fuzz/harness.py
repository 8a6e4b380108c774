"""What every fuzz target shares: the property checker, the memory bound, the target record.

A target's ``one_input(data)`` feeds one input to a parser and says nothing when the parser either
accepted it (and then the target checks what it returned) or refused it with an allowed error
(an ``EnvelopeError`` subclass, or an AWS-shaped error from the server). Anything else escaping is
a finding: atheris reports an uncaught exception as a crash, ``tests/fuzz/test_fuzz.py`` replays
every corpus entry the same way. Hangs are libFuzzer's ``-timeout``; memory is checked here.
"""

from __future__ import annotations

import resource
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"
MAX_LEN = 16384
"""The longest input libFuzzer makes (``-max_len``); seeds may be longer."""
MEMORY_BOUND_MB = 64
"""How much the process's peak RSS may grow while one input runs. No input is longer than a few
tens of KB, so a parser that allocates from a declared length (a 2^31 frame, 65535 EDKs of
65535 bytes) shows up here long before libFuzzer's whole-process RSS limit would."""


class Finding(AssertionError):
    """A property of a parser failed on one input (not an allowed refusal)."""


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


@dataclass
class Target:
    """One fuzz target: a parser, the inputs it takes, and what it may refuse them with."""

    name: str
    doc: str
    run: Callable[[bytes], None]
    """Feeds one input; raises only the allowed errors, or ``Finding``."""
    allowed: tuple[type[BaseException], ...]
    setup: Callable[[], None] = lambda: None
    """Builds what the target needs (a keystore, keys); called once per process before inputs."""
    _ready: bool = field(default=False, init=False)

    @property
    def corpus(self) -> Path:
        return CORPUS / self.name

    def prepare(self) -> None:
        if not self._ready:
            self.setup()
            self._ready = True

    def one_input(self, data: bytes) -> None:
        """Run one input and check the target's properties.

        Raises:
            Finding: an error outside ``allowed``, a broken property, or memory growth past
                ``MEMORY_BOUND_MB`` on this input.
        """
        self.prepare()
        before = _peak_rss_mb()
        try:
            self.run(data)
        except self.allowed:
            pass
        except Finding:
            raise
        except Exception as e:  # the finding: a parser let some other exception out
            raise Finding(f"{self.name}: {type(e).__name__} escaped: {e!r}"[:2000]) from e
        grown = _peak_rss_mb() - before
        if grown > MEMORY_BOUND_MB:
            raise Finding(f"{self.name}: peak RSS grew by {grown:.0f} MB on one input")


def expect(condition: bool, message: str) -> None:
    """A target's property check: raise ``Finding`` when it fails."""
    if not condition:
        raise Finding(message)


def split_fields(data: bytes, count: int) -> list[bytes]:
    """``count`` fields from ``data``, each prefixed by a 2-byte big-endian length.

    Lengths longer than what is left take what is left, missing fields are empty: every input
    means something, so libFuzzer's mutations are never wasted on an unusable framing.
    """
    fields, pos = [], 0
    for _ in range(count):
        n = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        fields.append(data[pos : pos + n])
        pos += n
    return fields


def join_fields(*fields: bytes) -> bytes:
    """The inverse of :func:`split_fields` (for writing seeds)."""
    return b"".join(len(f).to_bytes(2, "big") + f for f in fields)
