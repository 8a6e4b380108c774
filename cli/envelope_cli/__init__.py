"""The ``envelope`` command-line interface (a thin layer over the Python API)."""

from __future__ import annotations


def main() -> None:
    """Entry point of the ``envelope`` console script."""
    from envelope_cli.app import main as run

    run()
