"""The ``envelope`` command: global options, sub-commands, and the error boundary."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from types import FrameType
from typing import Annotated

import typer

from envelope import __version__
from envelope.errors import EnvelopeError
from envelope_cli.common import CliError, CliUsageError, state, terminal_safe
from envelope_cli.lazy import Entry, LazyGroup

# Every command and group by name, in the order of ``envelope --help``; each module is imported
# only when one of its commands runs (or help lists it): see envelope_cli.lazy.
LazyGroup.entries = {
    "key": Entry("envelope_cli.keys", "app"),
    "keystore": Entry("envelope_cli.keystore", "app"),
    "principal": Entry("envelope_cli.principal", "app"),
    "s3": Entry("envelope_cli.s3", "app"),
    "decrypt-url": Entry("envelope_cli.s3_urls", "decrypt_url"),
    "encrypt": Entry("envelope_cli.messages", "encrypt"),
    "decrypt": Entry("envelope_cli.messages", "decrypt"),
    "inspect": Entry("envelope_cli.messages", "inspect_command"),
    "rewrap": Entry("envelope_cli.messages", "rewrap"),
    "serve": Entry("envelope_cli.serve", "serve"),
}

app = typer.Typer(
    name="envelope",
    cls=LazyGroup,
    help="Envelope encryption under keys you never see.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"envelope {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    kms: Annotated[
        str | None,
        typer.Option(
            "--kms",
            help="Key service: local (default) or aws. Defaults to $ENVELOPE_KMS.",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Envelope encryption under keys you never see."""
    state.kms = kms


def _error(message: str, hint: str | None = None) -> None:
    # An error may quote what others chose (a remote service's message, a file's field).
    sys.stderr.write(f"envelope: error: {terminal_safe(message)}\n")
    if hint:
        sys.stderr.write(f"envelope: hint: {terminal_safe(hint)}\n")


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwind like Ctrl-C, so temporary files are removed."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


def _on_signal(signum: int, frame: FrameType | None) -> None:
    # Later signals must not interrupt the clean-up this one starts.
    for other in (*_SIGNALS, signal.SIGINT):
        signal.signal(other, signal.SIG_IGN)
    raise Terminated(signum)


def main() -> None:
    """Run the CLI: expected failures print ``envelope: error: ...`` and exit 1.

    Usage errors exit 2. SIGINT, SIGTERM and SIGHUP unwind the command (its temporary files
    are removed, no partial output is left) and exit with 128 + the signal number.
    """
    for signum in _SIGNALS:
        signal.signal(signum, _on_signal)
    try:
        app(prog_name="envelope")
    except CliUsageError as e:
        _error(str(e), e.hint)
        sys.exit(2)
    except CliError as e:
        _error(str(e), e.hint)
        sys.exit(1)
    except EnvelopeError as e:
        _error(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)
        sys.exit(1)
    except BrokenPipeError:
        # The reader went away (``envelope decrypt ... -o - | head``): stop quietly.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except OSError as e:
        _error(f"{e.strerror or e}" + (f": {e.filename}" if e.filename else ""))
        sys.exit(1)
    except KeyboardInterrupt:
        _error("interrupted")
        sys.exit(128 + signal.SIGINT)
    except Terminated as e:
        _error(f"terminated by {signal.Signals(e.signum).name}")
        sys.exit(128 + e.signum)
