"""Ranged gets: a byte range of an object's plaintext by AES-CTR over the AES-GCM key stream.

UNAUTHENTICATED: the GCM tag covers the whole object, so a range cannot be checked; a damaged or
tampered range decrypts to wrong bytes without an error. Only the V3 key commitment (when the
object has one) and the KMS encryption context are checked. Clients opt in by name
(``allow_unauthenticated_ranges=True``), as the S3 Encryption Clients do (decryption.md, "Ranged
Gets": the GCM suites are read with their CTR counterparts).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any, cast

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from envelope.errors import (
    S3AuthenticationError,
    S3EncryptionError,
    S3MetadataError,
    S3ObjectTooLargeError,
)
from envelope.s3 import metadata as md
from envelope.s3.content import TAG_LENGTH, content_key_for

if TYPE_CHECKING:  # pragma: no cover
    from envelope.s3.client import EncryptedS3Client

BLOCK = 16
_CHUNK = 1024 * 1024
# NIST SP 800-38D: GCM encrypts at most 2^32 - 2 blocks under one IV (counters 2 .. 2^32 - 1).
MAX_BLOCKS = 2**32 - 2
_RANGE = re.compile(r"bytes=(\d{0,19})-(\d{0,19})")


def parse_range(value: str, length: int) -> tuple[int, int]:
    """One HTTP byte range (RFC 9110 §14.1.2: ``bytes=a-b``, ``bytes=a-``, ``bytes=-n``) over a
    plaintext of ``length`` bytes, as inclusive (first, last) offsets; ``b`` past the end is cut.

    Raises:
        S3EncryptionError: Malformed, several ranges, or not satisfiable (starts at or after the
            end, or an empty object).
    """
    match = _RANGE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None or match.group(1) == match.group(2) == "":
        raise S3EncryptionError(
            f"Range {value!r} is not one byte range of the form bytes=FIRST-LAST, bytes=FIRST- "
            "or bytes=-SUFFIX"
        )
    first_text, last_text = match.groups()
    if first_text == "":
        suffix = int(last_text)
        if suffix == 0 or length == 0:
            raise S3EncryptionError(
                f"Range {value!r} is not satisfiable: the plaintext is {length} bytes"
            )
        return max(0, length - suffix), length - 1
    first = int(first_text)
    last = int(last_text) if last_text else max(first, length - 1)
    if last < first:
        raise S3EncryptionError(f"Range {value!r} ends before it starts")
    if first >= length:
        raise S3EncryptionError(
            f"Range {value!r} is not satisfiable: the plaintext is {length} bytes"
        )
    return first, min(last, length - 1)


def counter_block(iv: bytes, block: int) -> bytes:
    """The AES-CTR counter block that encrypts plaintext block ``block`` of an AES-GCM stream.

    NIST SP 800-38D §7.1: with a 96-bit IV the pre-counter block is J0 = IV || 0^31 || 1, and
    the first plaintext block is encrypted under inc32(J0), so block ``n`` uses IV || (n + 2)
    (the Java S3EC's AesCtr adjusts its IV the same way).

    Raises:
        S3EncryptionError: Not a 12-byte IV, or a block past GCM's limit.
    """
    if len(iv) != md.GCM_IV_LENGTH:
        raise S3EncryptionError(f"AES-CTR over AES-GCM needs a 12-byte IV, not {len(iv)} bytes")
    if not 0 <= block < MAX_BLOCKS:
        raise S3EncryptionError(f"block {block} is past AES-GCM's {MAX_BLOCKS} blocks")
    return iv + (block + 2).to_bytes(4, "big")


def download_range(
    client: EncryptedS3Client,
    sink: IO[bytes],
    *,
    bucket: str,
    key: str,
    range: str,
    context: Mapping[str, str] | None = None,
    suffix: str = ".instruction",
    version_id: str | None = None,
    max_length: int | None = None,
) -> dict[str, Any]:
    """Decrypt one byte range of an object's plaintext into ``sink``, UNAUTHENTICATED.

    HeadObject first (metadata, instruction file, size), then one GetObject of exactly the
    16-byte blocks that hold the range, conditional on the ETag just read (so the key stream
    belongs to the same object).

    Returns:
        The GetObject response (without its body), with ``ContentRange`` and ``ContentLength``
        of the plaintext range.

    Raises:
        S3EncryptionError: The client did not opt in, a bad or unsatisfiable range, AES-CBC, or a
            subclass for a failed metadata, context, key or commitment check.
    """
    if not client.allow_unauthenticated_ranges:
        raise S3EncryptionError(
            "a ranged get releases plaintext that is not authenticated (AES-CTR, no tag check): "
            "create the client with allow_unauthenticated_ranges=True to allow it"
        )
    s3 = client.s3_client
    version = {"VersionId": version_id} if version_id else {}
    head = s3.head_object(Bucket=bucket, Key=key, **version)
    meta = client.read_metadata(bucket, key, head.get("Metadata") or {}, suffix=suffix)
    if meta.content_cipher == md.CIPHER_CBC:
        raise S3EncryptionError("ranged gets of AES-CBC objects are not supported")
    content_key = content_key_for(meta, client.unwrap(meta, context))
    total = int(head["ContentLength"])
    length = total - TAG_LENGTH
    if length < 0:
        raise S3AuthenticationError("object is shorter than the 16-byte AES-GCM tag (truncated)")
    first, last = parse_range(range, length)
    if max_length is not None and last - first + 1 > max_length:
        raise S3ObjectTooLargeError(
            f"the range is {last - first + 1} bytes, above max_in_memory ({max_length}); use "
            "download_range"
        )
    block = first // BLOCK
    fetch_first, fetch_last = block * BLOCK, min(last // BLOCK * BLOCK + BLOCK - 1, length - 1)
    response: dict[str, Any] = s3.get_object(
        Bucket=bucket,
        Key=key,
        Range=f"bytes={fetch_first}-{fetch_last}",
        IfMatch=head["ETag"],
        **version,
    )
    body = response.pop("Body")
    with body:
        expected = f"bytes {fetch_first}-{fetch_last}/{total}"
        if response.get("ContentRange") != expected:
            raise S3MetadataError(
                f"S3 answered range {response.get('ContentRange')!r}, not {expected!r}"
            )
        nonce = counter_block(content_key.iv, block)
        decryptor = Cipher(algorithms.AES(content_key.key), modes.CTR(nonce)).decryptor()
        skip, remaining = first - fetch_first, fetch_last - fetch_first + 1
        wanted = last - first + 1
        while remaining > 0:
            chunk = body.read(min(_CHUNK, remaining))
            if not chunk:
                raise S3AuthenticationError("object body ended early (truncated)")
            remaining -= len(chunk)
            plain = decryptor.update(chunk)
            if skip:
                plain, skip = plain[skip:], max(0, skip - len(plain))
            if wanted < len(plain):
                plain = plain[:wanted]
            wanted -= len(plain)
            sink.write(plain)
        if body.read(1):
            raise S3MetadataError("S3 sent more bytes than the range it answered")
    response["ContentRange"] = f"bytes {first}-{last}/{length}"
    response["ContentLength"] = last - first + 1
    return response


class RangeMethods:
    """``download_range`` for ``EncryptedS3Client`` (``get_object(Range=...)`` uses it too)."""

    def download_range(
        self,
        Bucket: str,
        Key: str,
        Range: str,
        Fileobj: IO[bytes],
        *,
        EncryptionContext: Mapping[str, str] | None = None,
        VersionId: str | None = None,
        InstructionFileSuffix: str = ".instruction",
    ) -> dict[str, Any]:
        """Decrypt one byte range of an object's plaintext into ``Fileobj``, UNAUTHENTICATED:
        the bytes are not checked (see the module's note); the client must have been created
        with ``allow_unauthenticated_ranges=True``.

        Args:
            Bucket: The bucket.
            Key: The object key.
            Range: ``bytes=FIRST-LAST``, ``bytes=FIRST-`` or ``bytes=-SUFFIX``, in plaintext
                offsets.
            Fileobj: Receives the plaintext of the range.
            EncryptionContext: As for ``get_object``.
            VersionId: A version of the object.
            InstructionFileSuffix: Where the instruction file is, if the object has one.

        Returns:
            The GetObject response without its body; ``ContentRange`` and ``ContentLength``
            describe the plaintext range.

        Raises:
            S3EncryptionError: See ``download_range`` in this module.
        """
        return download_range(
            cast("EncryptedS3Client", self),
            Fileobj,
            bucket=Bucket,
            key=Key,
            range=Range,
            context=EncryptionContext,
            suffix=InstructionFileSuffix,
            version_id=VersionId,
        )

    def _get_range(
        self,
        bucket: str,
        key: str,
        range: str,
        context: Mapping[str, str] | None,
        extra: Mapping[str, Any],
    ) -> dict[str, Any]:
        unknown = sorted(set(extra) - {"VersionId"})
        if unknown:
            raise S3EncryptionError(f"{', '.join(unknown)} cannot be combined with Range here")
        sink = io.BytesIO()
        response = download_range(
            cast("EncryptedS3Client", self),
            sink,
            bucket=bucket,
            key=key,
            range=range,
            context=context,
            version_id=extra.get("VersionId"),
            max_length=cast("EncryptedS3Client", self).max_in_memory,
        )
        sink.seek(0)
        response["Body"] = sink
        return response
