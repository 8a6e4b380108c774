"""Rewrite an S3 object's metadata in place, on the server: CopyObject onto itself, or
UploadPartCopy in the object's own part layout (a multipart object keeps its ETag)."""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from envelope.errors import S3EncryptionError, S3MetadataError

MIB = 1024 * 1024
MAX_COPY_OBJECT = 5 * 1024 * MIB  # S3: CopyObject copies at most 5 GiB in one request
MAX_PARTS = 10_000
MIN_PART = 5 * MIB  # S3: every part but the last is at least 5 MiB
MAX_USER_METADATA = 2048  # S3: user-defined metadata, UTF-8 bytes of every key and value
# Archived storage classes: GetObject and CopyObject fail until the object is restored.
ARCHIVED = frozenset({"GLACIER", "DEEP_ARCHIVE"})
# HeadObject fields that a copy with MetadataDirective=REPLACE must restate, or S3 resets them.
_RESTATED = (
    "CacheControl",
    "ContentDisposition",
    "ContentEncoding",
    "ContentLanguage",
    "ContentType",
    "WebsiteRedirectLocation",
    "ServerSideEncryption",
    "SSEKMSKeyId",
    "BucketKeyEnabled",
    "ObjectLockMode",
    "ObjectLockRetainUntilDate",
    "ObjectLockLegalHoldStatus",
)


def metadata_size(metadata: Mapping[str, str]) -> int:
    """The size S3 counts against its 2 KB limit: the UTF-8 bytes of every key and value."""
    return sum(len(k.encode("utf-8")) + len(v.encode("utf-8")) for k, v in metadata.items())


def check_copyable(head: Mapping[str, Any]) -> None:
    """Refuse what S3 will not copy in place.

    Raises:
        S3EncryptionError: An archived object that is not restored, or an SSE-C object (its copy
            needs the customer key, which envelope does not hold).
    """
    storage = head.get("StorageClass")
    restore = str(head.get("Restore") or "")
    if storage in ARCHIVED and 'ongoing-request="false"' not in restore:
        raise S3EncryptionError(f"object is archived ({storage}); restore it before rewrapping")
    if head.get("ArchiveStatus"):
        raise S3EncryptionError(f"object is archived ({head['ArchiveStatus']}); restore it first")
    if head.get("SSECustomerAlgorithm"):
        raise S3EncryptionError("object uses SSE-C; envelope cannot copy it without that key")


def _restated(head: Mapping[str, Any]) -> dict[str, Any]:
    out = {name: head[name] for name in _RESTATED if head.get(name) not in (None, "")}
    if head.get("StorageClass") and head["StorageClass"] != "STANDARD":
        out["StorageClass"] = head["StorageClass"]
    expires = head.get("Expires")
    if expires is not None and not isinstance(expires, str):
        out["Expires"] = expires
    return out


def _source(bucket: str, key: str, head: Mapping[str, Any]) -> dict[str, str]:
    source = {"Bucket": bucket, "Key": key}
    if head.get("VersionId") and head["VersionId"] != "null":
        source["VersionId"] = head["VersionId"]
    return source


def part_layout(
    s3: Any, bucket: str, key: str, head: Mapping[str, Any], *, workers: int
) -> list[int]:
    """The sizes of a multipart object's parts (HeadObject with PartNumber), or [] when the object
    was not uploaded in parts or the server does not say. (No If-Match here: moto compares it
    with the part's ETag; the part copies carry the condition.)"""
    etag = str(head.get("ETag") or "")
    if "-" not in etag:
        return []
    first = s3.head_object(Bucket=bucket, Key=key, PartNumber=1)
    count = int(first.get("PartsCount") or 0)
    if count < 1 or count > MAX_PARTS:
        return []
    sizes = [int(first["ContentLength"])]
    if count > 1:

        def size(n: int) -> int:
            got = s3.head_object(Bucket=bucket, Key=key, PartNumber=n)
            return int(got["ContentLength"])

        with ThreadPoolExecutor(max_workers=workers) as pool:
            sizes += list(pool.map(size, range(2, count + 1)))
    if sum(sizes) != int(head["ContentLength"]):
        return []
    return sizes


def rewrite_metadata(
    s3: Any,
    bucket: str,
    key: str,
    head: Mapping[str, Any],
    metadata: Mapping[str, str],
    *,
    copy_threshold: int = MAX_COPY_OBJECT,
    part_size: int = 512 * MIB,
    workers: int = 4,
) -> tuple[str, str | None]:
    """Replace the object's user metadata with ``metadata``, keeping its body, content headers,
    storage class, server-side encryption settings and tags.

    A multipart object is copied part by part in its own layout (its ETag stays the same); an
    object above ``copy_threshold`` in parts of ``part_size``; any other with one CopyObject.
    Every request is conditional on the ETag seen in ``head`` (the source, and the destination
    where S3 takes ``If-Match``), so a concurrent writer's object is never overwritten.

    Returns:
        (method, new ETag): method ``"copy"`` or ``"multipart copy"``.

    Raises:
        S3MetadataError: The new metadata exceeds S3's 2 KB.
        S3EncryptionError: The object cannot be copied in place (``check_copyable``).
        botocore.exceptions.ClientError: S3 refused (PreconditionFailed when the object changed).
            A multipart copy is aborted first: the object is either rewritten or left alone.
    """
    size = metadata_size(metadata)
    if size > MAX_USER_METADATA:
        raise S3MetadataError(
            f"the rewrapped metadata is {size} bytes; S3 allows {MAX_USER_METADATA} (keep this "
            "object's metadata in an instruction file instead)"
        )
    check_copyable(head)
    etag = str(head["ETag"])
    layout = part_layout(s3, bucket, key, head, workers=workers)
    length = int(head["ContentLength"])
    if not layout and length <= copy_threshold:
        response = s3.copy_object(
            Bucket=bucket,
            Key=key,
            CopySource=_source(bucket, key, head),
            CopySourceIfMatch=etag,
            IfMatch=etag,
            MetadataDirective="REPLACE",
            TaggingDirective="COPY",
            Metadata=dict(metadata),
            **_restated(head),
        )
        return "copy", response.get("CopyObjectResult", {}).get("ETag")
    if not layout:
        part = max(part_size, MIN_PART, -(-length // MAX_PARTS))
        layout = [min(part, length - offset) for offset in range(0, length, part)]
    return "multipart copy", _multipart_copy(s3, bucket, key, head, metadata, layout, workers)


def _multipart_copy(
    s3: Any,
    bucket: str,
    key: str,
    head: Mapping[str, Any],
    metadata: Mapping[str, str],
    layout: list[int],
    workers: int,
) -> str | None:
    etag = str(head["ETag"])
    extra = _restated(head)
    if int(head.get("TagCount") or 0):
        tags = s3.get_object_tagging(Bucket=bucket, Key=key, **_version(head))["TagSet"]
        extra["Tagging"] = urllib.parse.urlencode([(t["Key"], t["Value"]) for t in tags])
    upload_id = s3.create_multipart_upload(
        Bucket=bucket, Key=key, Metadata=dict(metadata), **extra
    )["UploadId"]
    source = _source(bucket, key, head)
    offsets = _offsets(layout)

    def copy(number: int) -> dict[str, Any]:
        start = offsets[number - 1]
        end = start + layout[number - 1] - 1
        got = s3.upload_part_copy(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            CopySource=source,
            CopySourceRange=f"bytes={start}-{end}",
            CopySourceIfMatch=etag,
        )
        return {"ETag": got["CopyPartResult"]["ETag"], "PartNumber": number}

    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(copy, range(1, len(layout) + 1)))
        done = s3.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
            IfMatch=etag,
        )
    except BaseException:
        with contextlib.suppress(Exception):
            s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise
    result: str | None = done.get("ETag")
    return result


def _offsets(layout: list[int]) -> list[int]:
    out, position = [], 0
    for size in layout:
        out.append(position)
        position += size
    return out


def _version(head: Mapping[str, Any]) -> dict[str, str]:
    version = head.get("VersionId")
    return {"VersionId": version} if version and version != "null" else {}
