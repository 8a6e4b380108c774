"""The fuzz targets, one module per parser; each module defines ``TARGET``."""

from __future__ import annotations

import importlib

from tests.fuzz.harness import Target

NAMES = (
    "message_header",
    "message_decrypt",
    "kms_blob",
    "raw_keyring_info",
    "encryption_context",
    "s3_metadata",
    "kms_request",
    "sigv4_headers",
    "key_policy",
    "policy_evaluation",
)


def load(name: str) -> Target:
    """The target called ``name`` (imports its module, and so the parser it drives)."""
    if name not in NAMES:
        raise KeyError(f"no fuzz target {name!r}; targets: {', '.join(NAMES)}")
    target: Target = importlib.import_module(f"tests.fuzz.targets.{name}").TARGET
    return target
