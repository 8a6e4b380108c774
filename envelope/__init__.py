"""envelope: envelope encryption under keys you never see.

Public names are re-exported here and imported lazily, so ``import envelope`` stays cheap and the
local path never imports boto3.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # key services
    "KeyService": "envelope.keys.base",
    "LocalKeyService": "envelope.keys.local",
    "AwsKmsKeyService": "envelope.keys.aws",
    "open_key_service": "envelope.config",
    # messages
    "encrypt": "envelope.message",
    "decrypt": "envelope.message",
    "encrypt_stream": "envelope.message",
    "decrypt_stream": "envelope.message",
    "inspect": "envelope.message",
    "rewrap": "envelope.message",
    "KmsKey": "envelope.message",
    "KmsDiscovery": "envelope.message",
    "RawAesKey": "envelope.message",
    "RawRsaKey": "envelope.message",
    "DataKeyCache": "envelope.message",
    # S3 objects (S3 Encryption Client formats)
    "EncryptedS3Client": "envelope.s3",
    # errors
    "EnvelopeError": "envelope.errors",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # pragma: no cover
    from envelope.config import open_key_service as open_key_service
    from envelope.errors import EnvelopeError as EnvelopeError
    from envelope.keys.aws import AwsKmsKeyService as AwsKmsKeyService
    from envelope.keys.base import KeyService as KeyService
    from envelope.keys.local import LocalKeyService as LocalKeyService


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'envelope' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
