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
