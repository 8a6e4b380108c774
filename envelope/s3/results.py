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


@dataclass(frozen=True)
class RewrapResult:
    """One object's rewrap: what moved, how the metadata was rewritten, the ETags around it.

    ``status`` is ``"rewrapped"``, ``"dry run"`` (every check passed, nothing written) or
    ``"skipped"`` (``reason`` says why: an instruction file, a plain object, a raw key with
    nothing to move). ``method`` is ``"copy"`` (CopyObject onto itself), ``"multipart copy"``
    (UploadPartCopy), ``"instruction file"`` or ``""``.
    """

    bucket: str
    key: str
    status: str
    method: str = ""
    format: str = ""
    wrap_alg_before: str = ""
    wrap_alg_after: str = ""
    key_id_before: str | None = None  # KMS key ARNs, where the key service named them
    key_id_after: str | None = None
    etag_before: str | None = None
    etag_after: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "Bucket": self.bucket,
            "Key": self.key,
            "Status": self.status,
            "Method": self.method,
            "Format": self.format,
            "WrappingAlgorithmBefore": self.wrap_alg_before,
            "WrappingAlgorithmAfter": self.wrap_alg_after,
            "KeyIdBefore": self.key_id_before,
            "KeyIdAfter": self.key_id_after,
            "ETagBefore": self.etag_before,
            "ETagAfter": self.etag_after,
            "Reason": self.reason,
        }


@dataclass(frozen=True)
class RewrapFailure:
    """An object that was left as it was: the error's class name and text (nothing secret)."""

    bucket: str
    key: str
    error: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "Bucket": self.bucket,
            "Key": self.key,
            "Error": self.error,
            "Message": self.message,
        }


@dataclass(frozen=True)
class RewrapSummary:
    """What ``rewrap_prefix`` did: every object is in ``results`` or in ``failures``."""

    bucket: str
    prefix: str
    results: tuple[RewrapResult, ...]
    failures: tuple[RewrapFailure, ...]

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def rewrapped(self) -> int:
        return self.count("rewrapped")

    @property
    def skipped(self) -> int:
        return self.count("skipped")

    @property
    def failed(self) -> int:
        return len(self.failures)

    def to_dict(self) -> dict[str, Any]:
        return {
            "Bucket": self.bucket,
            "Prefix": self.prefix,
            "Rewrapped": self.rewrapped,
            "DryRun": self.count("dry run"),
            "Skipped": self.skipped,
            "Failed": self.failed,
            "Results": [r.to_dict() for r in self.results],
            "Failures": [f.to_dict() for f in self.failures],
        }
