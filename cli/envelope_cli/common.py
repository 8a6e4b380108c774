"""What every CLI command shares: the key service, errors, JSON output and atomic files."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast

from envelope.errors import EnvelopeError
from envelope.files import atomic_write, signals_deferred

if TYPE_CHECKING:
    from envelope.keys.base import KeyService

# json, base64, datetime, tempfile and shutil are imported where they are used: start-up time
# is a benchmark figure (envelope_cli.lazy), and most commands need none of them.


class CliError(EnvelopeError):
    """A problem the CLI itself found (bad option value, refusal to write to a terminal)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class CliUsageError(CliError):
    """The options do not fit together or one is missing: exit code 2, like other usage errors."""


class _State:
    """Options given before the command (``envelope --kms aws key list``)."""

    kms: str | None = None


state = _State()


@contextlib.contextmanager
def key_service() -> Iterator[KeyService]:
    """Open the configured key service for one command and close it afterwards."""
    from envelope.config import open_key_service

    service = open_key_service(state.kms)
    try:
        yield service
    finally:
        close = getattr(service, "close", None)
        if callable(close):
            close()


def every_page(fetch: Callable[[str | None], Any], entries: str) -> list[Any]:
    """Every entry of a paged KMS list call, all pages followed.

    Args:
        fetch: Returns the page that starts at a marker (None: the first page).
        entries: The name of the page's entries field (``keys``, ``grants``, ``tags``, ...).

    Returns:
        The entries of every page, in order.
    """
    found: list[Any] = []
    marker: str | None = None
    while True:
        page = fetch(marker)
        found.extend(getattr(page, entries))
        if not page.truncated or not page.next_marker:
            return found
        marker = page.next_marker


def _json_default(value: object) -> object:
    import base64
    import datetime as dt

    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot render {type(value).__name__} as JSON")


def print_json(document: Any) -> None:
    """Write ``document`` as indented JSON on stdout (datetimes ISO 8601, bytes base64)."""
    import json

    sys.stdout.write(json.dumps(document, indent=2, default=_json_default) + "\n")


def parse_context(pairs: list[str] | None) -> dict[str, str] | None:
    """``["k=v", ...]`` -> ``{"k": "v"}``; ``None`` when no pair was given."""
    if not pairs:
        return None
    context: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CliError(f"encryption context pair {pair!r} is not of the form KEY=VALUE")
        if name in context:
            raise CliError(f"encryption context key {name!r} is given twice")
        context[name] = value
    return context


@contextlib.contextmanager
def open_input(path: str) -> Iterator[BinaryIO]:
    """Open ``path`` for binary reading; ``-`` is standard input."""
    if path == "-":
        yield cast(BinaryIO, sys.stdin.buffer)
        return
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as e:
        raise CliError(f"cannot read {path}: {e.strerror or e}") from None
    with handle:
        yield handle


def refuse_terminal(stream: IO[Any]) -> None:
    """Refuse to write binary to a terminal."""
    if stream.isatty():
        raise CliError(
            "refusing to write binary output to a terminal",
            hint="give -o FILE, or redirect standard output",
        )


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[BinaryIO]:
    """Yield a binary stream for ``path`` that appears under that name only on success.

    The data goes to a temporary file in the destination folder, which is synced and renamed
    over ``path`` when the block ends without an exception, and removed otherwise: a failed run
    leaves neither a partial output nor a temporary file. A new file is private (mode 0600, as
    it may hold plaintext); a replaced file keeps its mode. ``-`` is standard output, written
    directly (never to a terminal).
    """
    if path == "-":
        refuse_terminal(sys.stdout)
        yield cast(BinaryIO, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise CliError(f"cannot write {path}: folder {str(folder)!r} does not exist")
    if target.is_dir():
        raise CliError(f"cannot write {path}: it is a folder")
    # Enter by hand so that only a failure to create the output is reported as "cannot write";
    # errors raised while the command runs pass through (and the temporary file is removed).
    writer = atomic_write(target)
    try:
        handle = writer.__enter__()
    except OSError as e:
        raise CliError(f"cannot write {path}: {e.strerror or e}") from None
    with contextlib.ExitStack() as stack:
        stack.push(writer)
        yield handle


_COPY_CHUNK = 1024 * 1024


@contextlib.contextmanager
def verified_output(path: str, *, spool: bool) -> Iterator[BinaryIO]:
    """Like :func:`atomic_output`; with ``spool``, standard output too gets only verified data.

    A signed message's signature is checked only at its end (decrypt.md, "Security
    Considerations": released plaintext "MUST NOT be considered signed data until this operation
    finishes successfully"). For ``-`` and ``spool`` the plaintext goes to a private temporary
    file (mode 0600 in a new 0700 folder) and is copied to standard output only when the block
    ends without an exception; the folder is removed in every case, signals included.
    """
    if path != "-" or not spool:
        with atomic_output(path) as handle:
            yield handle
        return
    import shutil
    import tempfile

    refuse_terminal(sys.stdout)
    folder = None
    try:
        with signals_deferred():
            folder = tempfile.mkdtemp(prefix="envelope-")  # 0700, created by us alone
        fd, name = tempfile.mkstemp(dir=folder, suffix=".part")  # 0600, O_EXCL
        with os.fdopen(fd, "w+b") as spooled:
            os.unlink(name)  # the data lives only as long as this descriptor
            yield spooled
            spooled.flush()
            spooled.seek(0)
            out = sys.stdout.buffer
            while chunk := spooled.read(_COPY_CHUNK):
                out.write(chunk)
            out.flush()
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def input_size(stream: BinaryIO) -> int | None:
    """The size of a regular file behind ``stream``, else None (pipes, terminals)."""
    import stat

    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def terminal_safe(text: str) -> str:
    """``text`` with every control and format character escaped (``\\x1b``, ``\\n``, ``\\u202e``).

    For text others chose (a key description, a message's encryption context, an error a
    remote service sent): raw, an escape sequence could retitle the terminal, clear it, or move
    the cursor to overwrite earlier lines, and a newline or a bidirectional override could fake
    a line of output. JSON output needs none of this (``json.dumps`` escapes them itself).
    """
    if text.isprintable():
        return text
    import unicodedata

    return "".join(
        repr(c)[1:-1] if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text
    )


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """Print rows as a borderless rich table on stdout (never wrapped when piped); cells are
    shown as given (``terminal_safe``, no rich markup)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(*headers, box=None, pad_edge=False, header_style="bold")
    for row in rows:
        table.add_row(*(escape(terminal_safe(cell)) for cell in row))
    console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 400)
    console.print(table)
