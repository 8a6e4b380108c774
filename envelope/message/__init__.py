"""AWS Encryption SDK messages, natively on ``cryptography``: encrypt, decrypt, stream, inspect."""

from __future__ import annotations

from typing import Any

from envelope.message.api import decrypt, decrypt_stream, encrypt, encrypt_stream, inspect
from envelope.message.discovery import KmsDiscovery
from envelope.message.header import EncryptedDataKey
from envelope.message.info import EncryptedDataKeyInfo, MessageInfo
from envelope.message.materials import DataKeyCache as DataKeyCacheProtocol
from envelope.message.materials import EncryptionMaterials
from envelope.message.rewrap import rewrap, rewrap_file
from envelope.message.suites import SUITES, Suite
from envelope.message.wrapping import KmsKey, RawAesKey, RawRsaKey, WrappingKey

__all__ = [
    "SUITES",
    "DataKeyCache",
    "DataKeyCacheProtocol",
    "EncryptedDataKey",
    "EncryptedDataKeyInfo",
    "EncryptionMaterials",
    "KmsDiscovery",
    "KmsKey",
    "MessageInfo",
    "RawAesKey",
    "RawRsaKey",
    "Suite",
    "WrappingKey",
    "decrypt",
    "decrypt_stream",
    "encrypt",
    "encrypt_stream",
    "inspect",
    "rewrap",
    "rewrap_file",
]


def __getattr__(name: str) -> Any:
    # DataKeyCache (cache.py) is loaded on first use.
    if name == "DataKeyCache":
        from envelope.message.cache import DataKeyCache

        return DataKeyCache
    raise AttributeError(f"module 'envelope.message' has no attribute {name!r}")
