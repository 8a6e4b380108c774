"""Names that packages import on first use stay what they name, whatever was imported before."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import importlib, pkgutil, types
import envelope, envelope.message
for package in (envelope, envelope.message):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if info.name.startswith(("envelope.server", "envelope.s3", "envelope.keys.aws")):
            continue  # extras' modules: not what this probe is about
        importlib.import_module(info.name)
bad = [f"{p.__name__}.{n}" for p in (envelope, envelope.message) for n in p.__all__
       if isinstance(getattr(p, n), types.ModuleType)]
print(",".join(bad))
"""


def test_an_exported_name_is_never_shadowed_by_a_submodule() -> None:
    """envelope.message.rewrap was a module and a function: once the module had been imported
    (by ``rewrap_file``, say), ``from envelope.message import rewrap`` gave the module."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == ""
