"""``python -m envelope_cli``: the same as the ``envelope`` command."""

from envelope_cli import main

main()
