"""Results of S3 calls: a new object's materials, an opened object, an object's description."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from envelope.s3 import metadata as md
from envelope.s3.content import ContentKey


@dataclass(frozen=True)
class Prepared:
    """A new object's content key and the metadata to store (nothing here is sent yet)."""

    key: ContentKey = field(repr=False)
    meta: md.ContentMetadata


@dataclass
class OpenObject:
    """A GetObject response whose data key is unwrapped; ``body`` is still encrypted."""

    response: dict[str, Any]
    meta: md.ContentMetadata
    key: ContentKey = field(repr=False)

    @property
    def body(self) -> Any:
        return self.response["Body"]

    @property
    def length(self) -> int:
        return int(self.response["ContentLength"])

    @property
    def plaintext_length(self) -> int | None:
        return None if self.key.tag_length == 0 else self.length - self.key.tag_length

    def close(self) -> None:
        close = getattr(self.body, "close", None)
        if close is not None:
            close()


@dataclass(frozen=True)
class S3ObjectInfo:
    """What an encrypted object's metadata says (``inspect_object``); nothing secret."""

    bucket: str
    key: str
    format: str  # "V3", "V2" or "V1"
    content_cipher: str
    wrap_alg: str
    context: dict[str, str]
    metadata_location: str  # "object" or "instruction file"
    size: int
    plaintext_size: int | None
    message_id: str | None = None
    etag: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "Bucket": self.bucket,
            "Key": self.key,
            "Format": self.format,
            "ContentCipher": self.content_cipher,
            "WrappingAlgorithm": self.wrap_alg,
            "EncryptionContext": dict(self.context),
            "MetadataLocation": self.metadata_location,
            "Size": self.size,
            "PlaintextSize": self.plaintext_size,
            "MessageId": self.message_id,
            "ETag": self.etag,
        }
