"""Streaming S3 transfers in constant memory: encrypted multipart upload and verified download."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import stat
import tempfile
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
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


def _regular_file_size(source: IO[bytes]) -> int | None:
    """The bytes left in a regular file behind ``source``; None for pipes and other streams."""
    try:
        info = os.fstat(source.fileno())
        position = source.tell()
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        return None
    return info.st_size - position if stat.S_ISREG(info.st_mode) else None


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
    known = _regular_file_size(source)
    # A large regular file goes straight to multipart; otherwise up to threshold + 1 bytes are
    # read to tell a small input (one PutObject) from a large stream.
    large = known is not None and known > client.multipart_threshold
    first = b"" if large else _read_full(source, client.multipart_threshold + 1)
    user_metadata = extra.pop("Metadata", None)
    prepared, metadata, instruction = client.prepare_object(
        bucket=bucket, key=key, context=context, format=format,
        instruction_file=instruction_file, user_metadata=user_metadata,
    )  # fmt: skip
    if not large and len(first) <= client.multipart_threshold:
        body = encrypt_bytes(prepared.key, first)
        result: dict[str, Any] = s3.put_object(
            Bucket=bucket, Key=key, Body=body, Metadata=metadata, **extra
        )
        client.write_instruction_file(bucket=bucket, key=key, body=instruction)
        if callback is not None:
            callback(len(first))
        return result

    part_size = client.part_size
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, Metadata=metadata, **extra)[
        "UploadId"
    ]
    try:
        reader = _Reader(first, source)
        del first  # the reader drops it once consumed
        parts = _upload_parts(
            client, reader, prepared.key, bucket, key, upload_id, part_size, callback
        )
        done: dict[str, Any] = s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
    except BaseException:
        with contextlib.suppress(Exception):
            s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise
    client.write_instruction_file(bucket=bucket, key=key, body=instruction)
    return done


class _Reader:
    """Fills buffers from bytes already read, then from the stream (``readinto`` when it has it)."""

    def __init__(self, prefix: bytes, stream: IO[bytes]) -> None:
        self._prefix: memoryview | None = memoryview(prefix)
        self._stream = stream

    def fill(self, buffer: bytearray) -> int:
        """Fill ``buffer``; fewer bytes only at the end of the stream. Returns the count.

        Raises:
            S3EncryptionError: A non-blocking source returned None (not end of input).
        """
        view, filled = memoryview(buffer), 0
        if self._prefix is not None:
            take = min(len(view), self._prefix.nbytes)
            view[:take] = self._prefix[:take]
            self._prefix = self._prefix[take:] if take < self._prefix.nbytes else None
            filled = take
        readinto = getattr(self._stream, "readinto", None)
        while filled < len(view):
            if readinto is not None:
                got = readinto(view[filled:])
            else:
                data = self._stream.read(min(len(view) - filled, _READ))
                got = None if data is None else len(data)
                if got:
                    view[filled : filled + got] = data
            if got is None:
                raise S3EncryptionError(
                    "the source returned no data without ending (non-blocking?)"
                )
            if not got:
                break
            filled += got
        return filled


class _PartBody(io.RawIOBase):
    """A seekable, read-only file over a slice of a reused buffer (boto3 takes file-like bodies;
    ``bytes`` would cost a copy of each part)."""

    def __init__(self, view: memoryview) -> None:
        super().__init__()
        self._view = view
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def __len__(self) -> int:
        return len(self._view) - self._pos

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), len(self._view) - self._pos)
        buffer[:n] = self._view[self._pos : self._pos + n]
        self._pos += n
        return n

    def read(self, size: int | None = -1) -> bytes:
        end = (
            len(self._view) if size is None or size < 0 else min(len(self._view), self._pos + size)
        )
        data = bytes(self._view[self._pos : end])
        self._pos = max(self._pos, end)
        return data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos


def _upload_parts(
    client: EncryptedS3Client,
    reader: _Reader,
    content_key: Any,
    bucket: str,
    key: str,
    upload_id: str,
    part_size: int,
    callback: Callback | None,
) -> list[dict[str, Any]]:
    """Encrypt part after part into reused buffers: one for plaintext, one for the ciphertext of
    each part in flight (about ``(max_concurrency + 1) * part_size`` in all)."""
    s3 = client.s3_client
    encryptor = ContentEncryptor(content_key)
    pending: deque[tuple[Future[dict[str, Any]], bytearray]] = deque()
    free: list[bytearray] = []
    parts: list[dict[str, Any]] = []

    def send(number: int, body: memoryview, plain: int) -> dict[str, Any]:
        etag = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=_PartBody(body)
        )["ETag"]
        if callback is not None:
            callback(plain)
        return {"ETag": etag, "PartNumber": number}

    plain = bytearray(part_size)
    size = reader.fill(plain)
    number = 0
    with ThreadPoolExecutor(max_workers=client.max_concurrency) as pool:
        while True:
            number += 1
            if number > _MAX_PARTS:
                raise S3EncryptionError(
                    f"more than {_MAX_PARTS} parts of {part_size} bytes: raise part_size"
                )
            if len(pending) >= client.max_concurrency:
                done, buffer = pending.popleft()
                parts.append(done.result())
                free.append(buffer)
            out = free.pop() if free else bytearray(part_size + 32)
            n = encryptor.update_into(memoryview(plain)[:size], out)
            # Read the next part before sending this one: the last part carries the tag.
            next_size = reader.fill(plain)
            if not next_size:
                out[n : n + 16] = encryptor.finalize()
                n += 16
            pending.append((pool.submit(send, number, memoryview(out)[:n], size), out))
            if not next_size:
                break
            size = next_size
        while pending:
            parts.append(pending.popleft()[0].result())
    return parts


def stream_decrypt(obj: OpenObject, sink: IO[bytes], callback: Callback | None) -> None:
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
            stream_decrypt(obj, sink, callback)
            return
        with tempfile.TemporaryFile(dir=client.spool_dir) as temp:
            stream_decrypt(obj, temp, callback)
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
        target = Path(Filename)
        if target.exists() and not target.is_file():
            # atomic_write renames over the name: never over a device, pipe or folder.
            raise S3EncryptionError(f"{Filename} exists and is not a regular file")
        with atomic_write(target) as handle:
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
