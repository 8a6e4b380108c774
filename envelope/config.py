"""Configuration from the environment: where the keystore lives and which key service to use."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from envelope.errors import ValidationException
from envelope.keys.base import KeyService

BACKENDS = ("local", "aws")


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


def open_key_service(kms: str | None = None, **options: Any) -> KeyService:
    """Open the key service named by ``kms``, else by ``ENVELOPE_KMS`` (default ``local``).

    Args:
        kms: ``"local"`` (LocalKeyService in ``ENVELOPE_HOME``) or ``"aws"`` (AwsKmsKeyService
            configured from the standard AWS variables and profiles).
        options: passed to the backend's constructor (``home=`` for local; ``region_name=``,
            ``endpoint_url=``, ``profile_name=`` for aws).

    Raises:
        ValidationException: for an unknown backend name.
    """
    name = (kms or os.environ.get("ENVELOPE_KMS") or "local").strip().lower()
    if name == "local":
        from envelope.keys.local import LocalKeyService

        return LocalKeyService(**options)
    if name == "aws":
        from envelope.keys.aws import AwsKmsKeyService

        return AwsKmsKeyService(**options)
    raise ValidationException(f"unknown key service {name!r}; choose one of: {', '.join(BACKENDS)}")
