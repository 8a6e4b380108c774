"""Streaming S3 transfers in constant memory: encrypted multipart upload and verified download."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, TYPE_CHECKING, Any, cast

from envelope.errors import S3AuthenticationError, S3EncryptionError
from envelope.files import atomic_write
from envelope.s3.checks import refuse_body_params
from envelope.s3.content import ContentDecryptor, ContentEncryptor, encrypt_bytes

if TYPE_CHECKING:  # pragma: no cover
    from envelope.s3.client import EncryptedS3Client
    from envelope.s3.results import OpenObject

_MAX_PARTS = 10_000  # S3's limit per multipart upload
_READ = 1024 * 1024  # download read size
Callback = Callable[[int], Any]


def _read_full(source: IO[bytes], size: int) -> bytes:
    """Read ``size`` bytes, fewer only at the end of the stream.

    Raises:
        S3EncryptionError: A non-blocking source returned None (not end of input).
    """
    chunks: list[bytes] = []
    remaining = size
    while remaining > 0:
        chunk = source.read(remaining)
        if chunk is None:
            raise S3EncryptionError("the source returned no data without ending (non-blocking?)")
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def upload_stream(
    client: EncryptedS3Client,
    source: IO[bytes],
    *,
    bucket: str,
    key: str,
    context: Mapping[str, str] | None,
    extra: dict[str, Any],
    callback: Callback | None = None,
    instruction_file: bool | None = None,
    format: str | None = None,
) -> dict[str, Any]:
    """Encrypt ``source`` into ``bucket/key``: one PutObject up to the client's threshold,
    otherwise a multipart upload whose parts are encrypted in order by one AES-GCM stream and
    uploaded ``max_concurrency`` at a time (memory: about ``(max_concurrency + 2) * part_size``).

    Returns:
        The PutObject or CompleteMultipartUpload response.

    Raises:
        S3EncryptionError: A subclass saying which check failed; botocore's errors from S3 (the
            multipart upload is aborted first).
    """
    s3 = client.s3_client
    first = _read_full(source, client.multipart_threshold + 1)
    user_metadata = extra.pop("Metadata", None)
    prepared = client.prepare(context, format=format)
    metadata = client.store_metadata(
        prepared,
        bucket=bucket,
        key=key,
        user_metadata=user_metadata,
        instruction_file=instruction_file,
    )
    if len(first) <= client.multipart_threshold:
        body = encrypt_bytes(prepared.key, first)
        result: dict[str, Any] = s3.put_object(
            Bucket=bucket, Key=key, Body=body, Metadata=metadata, **extra
        )
        if callback is not None:
            callback(len(first))
        return result

    part_size = client.part_size
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, Metadata=metadata, **extra)[
        "UploadId"
    ]
    try:
        prefix, first = [first], b""
        parts = _upload_parts(
            client, source, prefix, prepared.key, bucket, key, upload_id, part_size, callback
        )
        done: dict[str, Any] = s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
        return done
    except BaseException:
        with contextlib.suppress(Exception):
            s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise


def _upload_parts(
    client: EncryptedS3Client,
    source: IO[bytes],
    prefix: list[bytes],
    content_key: Any,
    bucket: str,
    key: str,
    upload_id: str,
    part_size: int,
    callback: Callback | None,
) -> list[dict[str, Any]]:
    s3 = client.s3_client
    encryptor = ContentEncryptor(content_key)
    pending: deque[Future[dict[str, Any]]] = deque()
    parts: list[dict[str, Any]] = []

    def send(number: int, body: bytes, plain: int) -> dict[str, Any]:
        etag = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
        )["ETag"]
        if callback is not None:
            callback(plain)
        return {"ETag": etag, "PartNumber": number}

    # ``prefix`` (threshold + 1 bytes already read) is cut into parts first, then the source.
    buffer = prefix.pop()

    def next_chunk() -> bytes:
        nonlocal buffer
        if not buffer:
            return _read_full(source, part_size)
        chunk, buffer = buffer[:part_size], buffer[part_size:]
        if len(chunk) < part_size:
            chunk += _read_full(source, part_size - len(chunk))
        return chunk

    number = 0
    with ThreadPoolExecutor(max_workers=client.max_concurrency) as pool:
        chunk = next_chunk()
        while True:
            following = next_chunk()  # read ahead: the last part carries the tag
            number += 1
            if number > _MAX_PARTS:
                raise S3EncryptionError(
                    f"more than {_MAX_PARTS} parts of {part_size} bytes: raise part_size"
                )
            body = encryptor.update(chunk)
            plain = len(chunk)
            if not following:
                body += encryptor.finalize()
            while len(pending) >= client.max_concurrency:
                parts.append(pending.popleft().result())
            pending.append(pool.submit(send, number, body, plain))
            del body
            if not following:
                break
            chunk = following
        while pending:
            parts.append(pending.popleft().result())
    return parts


def _stream_decrypt(obj: OpenObject, sink: IO[bytes], callback: Callback | None) -> None:
    """Decrypt ``obj``'s body into ``sink`` chunk by chunk; raises after the last chunk if the tag
    (or padding) fails, so what ``sink`` holds is authenticated only when this returns."""
    decryptor = ContentDecryptor(obj.key)
    tag_length = decryptor.tag_length
    remaining = obj.length - tag_length
    if remaining < 0:
        raise S3AuthenticationError("object is shorter than the 16-byte AES-GCM tag (truncated)")
    body = obj.body
    while remaining > 0:
        chunk = body.read(min(_READ, remaining))
        if not chunk:
            raise S3AuthenticationError("object body ended early (truncated)")
        remaining -= len(chunk)
        sink.write(decryptor.update_into(chunk))
        if callback is not None:
            callback(len(chunk))
    tag = body.read(tag_length) if tag_length else b""
    if len(tag) != tag_length or body.read(1):
        raise S3AuthenticationError("object body length differs from its ContentLength")
    sink.write(decryptor.finalize(tag))


def download_stream(
    client: EncryptedS3Client,
    sink: IO[bytes],
    *,
    bucket: str,
    key: str,
    context: Mapping[str, str] | None,
    extra: dict[str, Any],
    callback: Callback | None,
    spool: bool,
) -> None:
    """Decrypt ``bucket/key`` into ``sink``. With ``spool``, into a private temporary file first,
    copied to ``sink`` only after the tag verified.

    Raises:
        S3EncryptionError: A subclass saying which check failed.
    """
    obj = client.open_object(Bucket=bucket, Key=key, EncryptionContext=context, **extra)
    try:
        if not spool:
            _stream_decrypt(obj, sink, callback)
            return
        with tempfile.TemporaryFile(dir=client.spool_dir) as temp:
            _stream_decrypt(obj, temp, callback)
            temp.seek(0)
            shutil.copyfileobj(temp, sink, _READ)
    finally:
        obj.close()


class TransferMethods:
    """boto3's file and stream transfer methods, for ``EncryptedS3Client``."""

    def upload_fileobj(
        self,
        Fileobj: IO[bytes],
        Bucket: str,
        Key: str,
        ExtraArgs: Mapping[str, Any] | None = None,
        Callback: Callback | None = None,
        *,
        EncryptionContext: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Encrypt a binary stream into an object, multipart above the threshold, in constant
        memory (encryption is sequential; up to ``max_concurrency`` parts upload at once).

        Args:
            Fileobj: A binary file-like object (a pipe is fine).
            Bucket: The bucket.
            Key: The object key.
            ExtraArgs: Other PutObject / CreateMultipartUpload parameters.
            Callback: Called with the number of plaintext bytes sent, as boto3 does.
            EncryptionContext: As for ``put_object``.

        Returns:
            The PutObject or CompleteMultipartUpload response.

        Raises:
            S3EncryptionError: A subclass saying which check failed.
        """
        extra = dict(ExtraArgs or {})
        refuse_body_params(extra)
        client = cast("EncryptedS3Client", self)
        return upload_stream(
            client,
            Fileobj,
            bucket=Bucket,
            key=Key,
            context=EncryptionContext,
            extra=extra,
            callback=Callback,
            instruction_file=extra.pop("InstructionFile", None),
            format=extra.pop("Format", None),
        )

    def upload_file(
        self,
        Filename: str,
        Bucket: str,
        Key: str,
        ExtraArgs: Mapping[str, Any] | None = None,
        Callback: Callback | None = None,
        *,
        EncryptionContext: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """``upload_fileobj`` of a file (see there)."""
        with open(Filename, "rb") as handle:
            return self.upload_fileobj(
                handle, Bucket, Key, ExtraArgs, Callback, EncryptionContext=EncryptionContext
            )

    def download_fileobj(
        self,
        Bucket: str,
        Key: str,
        Fileobj: IO[bytes],
        ExtraArgs: Mapping[str, Any] | None = None,
        Callback: Callback | None = None,
        *,
        EncryptionContext: Mapping[str, str] | None = None,
        release_unauthenticated: bool = False,
    ) -> None:
        """Decrypt an object into a binary stream, in constant memory.

        Nothing reaches ``Fileobj`` before the tag verified: the plaintext is decrypted into a
        private temporary file (``spool_dir``) first, then copied. With
        ``release_unauthenticated=True`` it is written as it is decrypted, and a failed check
        raises after unauthenticated plaintext was written: the caller must discard it.

        Raises:
            S3EncryptionError: A subclass saying which check failed.
        """
        download_stream(
            cast("EncryptedS3Client", self),
            Fileobj,
            bucket=Bucket,
            key=Key,
            context=EncryptionContext,
            extra=dict(ExtraArgs or {}),
            callback=Callback,
            spool=not release_unauthenticated,
        )

    def download_file(
        self,
        Bucket: str,
        Key: str,
        Filename: str,
        ExtraArgs: Mapping[str, Any] | None = None,
        Callback: Callback | None = None,
        *,
        EncryptionContext: Mapping[str, str] | None = None,
    ) -> None:
        """Decrypt an object into a file: written under a temporary name in the same folder and
        renamed only after the tag verified (no partial or unauthenticated file is left).

        Raises:
            S3EncryptionError: A subclass saying which check failed.
        """
        with atomic_write(Filename) as handle:
            download_stream(
                cast("EncryptedS3Client", self),
                handle,
                bucket=Bucket,
                key=Key,
                context=EncryptionContext,
                extra=dict(ExtraArgs or {}),
                callback=Callback,
                spool=False,
            )
