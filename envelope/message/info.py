"""``MessageInfo``: what a message header says, with nothing secret in it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from envelope.message.header import CONTENT_TYPE_NAMES, EncryptedDataKey, Header

_AES_INFO_SUFFIX = (128).to_bytes(4, "big") + (12).to_bytes(4, "big")


@dataclass(frozen=True)
class EncryptedDataKeyInfo:
    """Who wrapped one data key: the provider id and the provider info as text (a KMS key ARN)."""

    provider_id: str
    provider_info: str


@dataclass(frozen=True)
class MessageInfo:
    """A message header's public facts."""

    version: int
    suite_id: int
    suite_name: str
    message_id: str
    encryption_context: Mapping[str, str]
    encrypted_data_keys: tuple[EncryptedDataKeyInfo, ...]
    content_type: str
    frame_length: int
    signed: bool
    signature_algorithm: str | None = None
    """``ECDSA P-256`` or ``ECDSA P-384`` for signed suites (from the suite table), else None."""
    verified: bool = False
    """True when the header's authentication tag (and key commitment) was checked with a key."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the fields (suite id as ``0x....`` text)."""
        return {
            "version": self.version,
            "suite_id": f"0x{self.suite_id:04x}",
            "suite_name": self.suite_name,
            "message_id": self.message_id,
            "encryption_context": dict(self.encryption_context),
            "encrypted_data_keys": [
                {"provider_id": e.provider_id, "provider_info": e.provider_info}
                for e in self.encrypted_data_keys
            ],
            "content_type": self.content_type,
            "frame_length": self.frame_length,
            "signed": self.signed,
            "signature_algorithm": self.signature_algorithm,
            "verified": self.verified,
        }


def _provider_text(edk: EncryptedDataKey) -> str:
    info = edk.provider_info
    if len(info) >= 20 and info[-20:-12] == _AES_INFO_SUFFIX:
        info = info[:-20]  # raw AES keyring: name, tag bits, IV length, IV -> the name
    return info.decode("utf-8", errors="backslashreplace")


def message_info(header: Header, *, verified: bool = False) -> MessageInfo:
    """Describe a parsed header (``verified``: its tag was checked with the data key)."""
    return MessageInfo(
        version=header.version,
        suite_id=header.suite.id,
        suite_name=header.suite.name,
        message_id=header.message_id.hex(),
        encryption_context=dict(header.encryption_context),
        encrypted_data_keys=tuple(
            EncryptedDataKeyInfo(e.provider_id, _provider_text(e))
            for e in header.encrypted_data_keys
        ),
        content_type=CONTENT_TYPE_NAMES[header.content_type],
        frame_length=header.frame_length,
        signed=header.suite.signed,
        signature_algorithm=header.suite.signature_algorithm,
        verified=verified,
    )
