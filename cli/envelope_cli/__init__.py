"""The ``envelope`` command-line interface (a thin layer over the Python API)."""

from __future__ import annotations

import sys


def main() -> None:
    """Entry point of the ``envelope`` console script."""
    if sys.argv[1:] == ["--version"]:
        # The one answer that needs no command tree: skip importing typer for it.
        from envelope import __version__

        sys.stdout.write(f"envelope {__version__}\n")
        return
    from envelope_cli.app import main as run

    run()
