"""Configuration from the environment: which key service to open, and where the keystore lives."""

from __future__ import annotations

import os
from typing import Any

from envelope.errors import ValidationException
from envelope.keys.base import KeyService
from envelope.keys.store.home import default_home

__all__ = ["BACKENDS", "default_home", "open_key_service"]

BACKENDS = ("local", "aws")


def open_key_service(kms: str | None = None, **options: Any) -> KeyService:
    """Open the key service named by ``kms``, else by ``ENVELOPE_KMS`` (default ``local``).

    Args:
        kms: ``"local"`` (LocalKeyService in ``ENVELOPE_HOME``) or ``"aws"`` (AwsKmsKeyService
            configured from the standard AWS variables and profiles).
        options: passed to the backend's constructor (``home=`` for local; ``region_name=``,
            ``endpoint_url=``, ``profile_name=`` for aws).

    Raises:
        ValidationException: for an unknown backend name.
        KeyServiceConfigurationError: ``aws`` without boto3 installed (the ``envelope[aws]``
            extra).
    """
    name = (kms or os.environ.get("ENVELOPE_KMS") or "local").strip().lower()
    if name == "local":
        from envelope.keys.local import LocalKeyService

        return LocalKeyService(**options)
    if name == "aws":
        from envelope.keys.aws import AwsKmsKeyService

        return AwsKmsKeyService(**options)
    raise ValidationException(f"unknown key service {name!r}; choose one of: {', '.join(BACKENDS)}")
