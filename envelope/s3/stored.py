"""Reading an object's stored content metadata: from its headers, or from its instruction file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from envelope.errors import S3MetadataError
from envelope.s3 import metadata as md

INSTRUCTION_SUFFIX = ".instruction"


def read_metadata(
    s3: Any,
    bucket: str,
    key: str,
    metadata: Mapping[str, str],
    *,
    suffix: str = INSTRUCTION_SUFFIX,
) -> md.ContentMetadata:
    """An object's content metadata, fetching its instruction file when the object's own
    metadata names no data key.

    Raises:
        S3MetadataError: Missing, malformed or mixed metadata, or no instruction file.
    """
    if not md.needs_instruction_file(metadata):
        return md.decode(metadata)
    try:
        response = s3.get_object(Bucket=bucket, Key=key + suffix)
    except Exception as e:
        code = getattr(e, "response", {}).get("Error", {}).get("Code")
        if code not in ("NoSuchKey", "404"):
            raise
        what = "has V3 content metadata but" if md.is_encrypted(metadata) else "is not encrypted:"
        raise S3MetadataError(
            f"object {key!r} {what} it has no S3EC metadata and no instruction file "
            f"{key + suffix!r}"
        ) from None
    with response["Body"] as body:
        data = body.read(md.MAX_INSTRUCTION_FILE + 1)
    return md.decode(metadata, md.parse_instruction_file(data))


def instruction_slot(s3: Any, bucket: str, name: str) -> str:
    """What ``name`` (an object's ``KEY.instruction``) is now: ``"absent"``, ``"instruction"``
    (it carries the S3EC's instruction-file marker, or, from a writer that sets none, reads as
    one) or ``"foreign"`` (an object of its own that only has the name, which an instruction file
    must never replace or take with it)."""
    try:
        head = s3.head_object(Bucket=bucket, Key=name)
    except Exception as e:
        if _code(e) not in ("404", "NoSuchKey", "NotFound"):
            raise
        return "absent"
    if md.INSTRUCTION_MARKER in (head.get("Metadata") or {}):
        return "instruction"
    if int(head.get("ContentLength") or 0) > md.MAX_INSTRUCTION_FILE:
        return "foreign"
    with s3.get_object(Bucket=bucket, Key=name, IfMatch=head["ETag"])["Body"] as body:
        data = body.read(md.MAX_INSTRUCTION_FILE + 1)
    try:
        md.parse_instruction_file(data)
    except S3MetadataError:
        return "foreign"
    return "instruction"


def _code(error: Exception) -> str | None:
    code: str | None = getattr(error, "response", {}).get("Error", {}).get("Code")
    return code
