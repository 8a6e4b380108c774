"""AWS Encryption SDK messages, natively on ``cryptography``: encrypt, decrypt, stream, inspect.

Names are imported on first use, so a command that only encrypts loads neither rewrap nor the
discovery keys nor the data-key cache.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "decrypt": "envelope.message.api",
    "decrypt_stream": "envelope.message.api",
    "encrypt": "envelope.message.api",
    "encrypt_stream": "envelope.message.api",
    "inspect": "envelope.message.api",
    "KmsDiscovery": "envelope.message.discovery",
    "EncryptedDataKey": "envelope.message.header",
    "EncryptedDataKeyInfo": "envelope.message.info",
    "MessageInfo": "envelope.message.info",
    "DataKeyCacheProtocol": "envelope.message.materials",
    "EncryptionMaterials": "envelope.message.materials",
    "rewrap": "envelope.message.rewrapping",
    "rewrap_file": "envelope.message.rewrapping",
    "SUITES": "envelope.message.suites",
    "Suite": "envelope.message.suites",
    "KmsKey": "envelope.message.wrapping",
    "RawAesKey": "envelope.message.wrapping",
    "RawRsaKey": "envelope.message.wrapping",
    "WrappingKey": "envelope.message.wrapping",
    "DataKeyCache": "envelope.message.cache",
}
_RENAMED = {"DataKeyCacheProtocol": "DataKeyCache"}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from envelope.message.api import decrypt as decrypt
    from envelope.message.api import decrypt_stream as decrypt_stream
    from envelope.message.api import encrypt as encrypt
    from envelope.message.api import encrypt_stream as encrypt_stream
    from envelope.message.api import inspect as inspect
    from envelope.message.cache import DataKeyCache as DataKeyCache
    from envelope.message.discovery import KmsDiscovery as KmsDiscovery
    from envelope.message.header import EncryptedDataKey as EncryptedDataKey
    from envelope.message.info import EncryptedDataKeyInfo as EncryptedDataKeyInfo
    from envelope.message.info import MessageInfo as MessageInfo
    from envelope.message.materials import DataKeyCache as DataKeyCacheProtocol  # noqa: F401
    from envelope.message.materials import EncryptionMaterials as EncryptionMaterials
    from envelope.message.rewrapping import rewrap as rewrap
    from envelope.message.rewrapping import rewrap_file as rewrap_file
    from envelope.message.suites import SUITES as SUITES
    from envelope.message.suites import Suite as Suite
    from envelope.message.wrapping import KmsKey as KmsKey
    from envelope.message.wrapping import RawAesKey as RawAesKey
    from envelope.message.wrapping import RawRsaKey as RawRsaKey
    from envelope.message.wrapping import WrappingKey as WrappingKey


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'envelope.message' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
