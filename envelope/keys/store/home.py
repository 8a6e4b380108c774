"""Where a keystore lives when nobody says: ``ENVELOPE_HOME``, else the platform's data folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def default_home() -> Path:
    """The keystore folder: ``ENVELOPE_HOME``, else the per-user data folder of the platform."""
    env = os.environ.get("ENVELOPE_HOME")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "envelope"
