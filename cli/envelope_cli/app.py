"""The ``envelope`` command: global options, sub-commands, and the error boundary."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Annotated

import typer

from envelope import __version__
from envelope.errors import EnvelopeError
from envelope_cli import keys, keystore, messages
from envelope_cli.common import CliError, state

app = typer.Typer(
    name="envelope",
    help="Envelope encryption under keys you never see.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(keys.app, name="key")
app.add_typer(keystore.app, name="keystore")
messages.register(app)


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
    sys.stderr.write(f"envelope: error: {message}\n")
    if hint:
        sys.stderr.write(f"envelope: hint: {hint}\n")


def main() -> None:
    """Run the CLI: expected failures print ``envelope: error: ...`` and exit 1."""
    try:
        app(prog_name="envelope")
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
        sys.exit(130)
