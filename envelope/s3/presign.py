"""Pre-signed reads: a GET URL that yields only ciphertext to whoever holds it, and decryption of
such an object with the caller's keys (a plain HTTP GET; no S3 credentials needed)."""

from __future__ import annotations

import datetime as dt
import http.client
import io
import re
import shutil
import socket
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, cast

from envelope.errors import S3MetadataError, S3ObjectTooLargeError, S3PresignedUrlError
from envelope.s3 import metadata as md
from envelope.s3.content import content_key_for
from envelope.s3.results import OpenObject
from envelope.s3.stored import read_metadata
from envelope.s3.transfer import stream_decrypt

if TYPE_CHECKING:  # pragma: no cover
    from envelope.s3.client import EncryptedS3Client

MAX_EXPIRES = 7 * 24 * 3600  # SigV4 pre-signed URLs live at most 7 days
_META_PREFIX = "x-amz-meta-"
_ERROR_BODY = 64 * 1024
_READ = 1024 * 1024


@dataclass(frozen=True)
class PresignedGet:
    """A pre-signed GET of an encrypted object; ``instruction_url`` when its metadata lives in an
    instruction file (the reader needs both). The URLs grant read access to ciphertext only."""

    url: str
    instruction_url: str | None
    expires_in: int

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        # The signatures grant access: keep them out of logs and tracebacks.
        return f"PresignedGet(url={redact(self.url)!r}, expires_in={self.expires_in})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "Url": self.url,
            "InstructionUrl": self.instruction_url,
            "ExpiresIn": self.expires_in,
        }


def redact(url: str) -> str:
    """``url`` without its query (which carries the signature) or user:password, and with any
    space or control character percent-encoded, for error messages and logs."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "(a malformed URL)"
    host = parts.netloc.rpartition("@")[2]
    shown = urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))
    return urllib.parse.quote(shown, safe=":/@[]%-._~!$&'()*+,;=")


def presign_get(
    s3: Any,
    bucket: str,
    key: str,
    *,
    expires_in: int = 3600,
    suffix: str = ".instruction",
) -> PresignedGet:
    """HeadObject (the object must be an S3EC object), then boto3's ``generate_presigned_url``
    for the object and, when it has one, its instruction file. No wrapping key is needed.

    Args:
        s3: A boto3 S3 client.
        bucket: The bucket.
        key: The object key.
        expires_in: Seconds the URLs are valid, 1 to 604800 (7 days).
        suffix: Where the instruction file is, if the object has one.

    Raises:
        S3PresignedUrlError: ``expires_in`` outside 1 s to 7 days.
        S3MetadataError: The object is not encrypted, or its metadata is malformed.
    """
    if not isinstance(expires_in, int) or not 1 <= expires_in <= MAX_EXPIRES:
        raise S3PresignedUrlError(f"expires_in must be 1 to {MAX_EXPIRES} seconds")
    head = s3.head_object(Bucket=bucket, Key=key)
    meta = read_metadata(s3, bucket, key, head.get("Metadata") or {}, suffix=suffix)

    def sign(name: str) -> str:
        url: str = s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": name}, ExpiresIn=expires_in
        )
        return url

    return PresignedGet(
        sign(key), sign(key + suffix) if meta.instruction_file else None, expires_in
    )


def expiry(url: str) -> dt.datetime | None:
    """When a pre-signed URL expires: SigV4 ``X-Amz-Date`` + ``X-Amz-Expires``, or SigV2's
    ``Expires`` (seconds since the epoch); None when it says neither.

    Raises:
        S3PresignedUrlError: The fields are there but malformed.
    """
    query = {k.lower(): v for k, v in urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query)}
    try:
        if "x-amz-date" in query and "x-amz-expires" in query:
            start = dt.datetime.strptime(query["x-amz-date"], "%Y%m%dT%H%M%SZ")
            seconds = int(query["x-amz-expires"])
            return start.replace(tzinfo=dt.timezone.utc) + dt.timedelta(seconds=seconds)
        if "expires" in query and "signature" in query:
            return dt.datetime.fromtimestamp(int(query["expires"]), dt.timezone.utc)
    except (ValueError, OverflowError, OSError):  # OSError: beyond the platform's time_t
        raise S3PresignedUrlError("the pre-signed URL's expiry fields are malformed") from None
    return None


def _s3_error(body: bytes) -> tuple[str, str]:
    code = re.search(rb"<Code>([^<]{1,200})</Code>", body)
    message = re.search(rb"<Message>([^<]{1,500})</Message>", body)
    return (
        code.group(1).decode("utf-8", "replace") if code else "",
        message.group(1).decode("utf-8", "replace") if message else "",
    )


def _check_url(url: object, what: str) -> str:
    """``url`` if urllib can fetch it as it is: http(s), a host, a numeric port, printable ASCII.

    A pre-signed URL is ASCII (S3 keys are percent-encoded in it); anything else would fail
    inside urllib or http.client with an error whose text may quote the query, signature and all.

    Raises:
        S3PresignedUrlError: Which of these it is not (never quoting the URL's query).
    """
    try:
        parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
        port = parts.port if parts is not None else None
    except ValueError:
        raise S3PresignedUrlError(f"the {what} URL is malformed (host or port)") from None
    if parts is None or parts.scheme not in ("http", "https"):
        raise S3PresignedUrlError(f"the {what} URL must be an http:// or https:// URL")
    assert isinstance(url, str)
    if not url.isascii() or any(c <= " " or c == "\x7f" for c in url):
        raise S3PresignedUrlError(
            f"the {what} URL holds spaces, control characters or non-ASCII text; a pre-signed "
            "URL is printable ASCII (is it cut or pasted with something else?)"
        )
    if "@" in parts.netloc:
        raise S3PresignedUrlError(
            f"the {what} URL names a user or password; a pre-signed URL carries neither"
        )
    host = parts.hostname or ""
    labels = [] if ":" in host else host.removesuffix(".").split(".")  # IPv6 has no labels
    if not host or port == 0 or any(not 0 < len(label) < 64 for label in labels):
        raise S3PresignedUrlError(f"the {what} URL has no valid host")
    return url


def _failure(url: str, what: str, error: BaseException) -> S3PresignedUrlError:
    """A fetch or read failure, named by its kind: the texts of urllib's and http.client's
    errors may quote the URL with its signature, or the server's bytes."""
    inner_reason = getattr(error, "reason", None)
    if isinstance(error, (TimeoutError, socket.timeout)) or isinstance(
        inner_reason, (TimeoutError, socket.timeout)
    ):
        reason = "timed out"
    elif isinstance(error, urllib.error.URLError) and isinstance(error.reason, str):
        reason = error.reason  # "no host given", "unknown url type": no URL in them
    elif isinstance(error, (urllib.error.URLError, OSError)):
        inner = getattr(error, "reason", error)
        reason = getattr(inner, "strerror", None) or type(inner).__name__
    elif isinstance(error, http.client.HTTPException):
        reason = f"the server's answer is not valid HTTP ({type(error).__name__})"
    else:
        reason = type(error).__name__
    return S3PresignedUrlError(f"cannot fetch the {what} URL {redact(url)}: {reason}")


class _Body:
    """A urllib response whose read failures are S3PresignedUrlError (the body comes from a
    server that may be anything; what it sends is checked by the tag, how it fails here)."""

    def __init__(self, response: Any, url: str, what: str) -> None:
        self._response = response
        self._url, self._what = url, what
        self.status: int = response.status
        self.headers: Any = response.headers

    def read(self, size: int = -1) -> bytes:
        try:
            data: bytes = self._response.read(size)
        except (OSError, http.client.HTTPException, ValueError) as e:
            raise _failure(self._url, self._what, e) from None
        return data

    def close(self) -> None:
        self._response.close()

    def __enter__(self) -> _Body:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open(url: str, what: str, timeout: float) -> Any:
    """GET ``url`` with urllib; S3's refusals and network failures as S3PresignedUrlError."""
    url = _check_url(url, what)
    ends = expiry(url)
    now = dt.datetime.now(dt.timezone.utc)
    if ends is not None and ends <= now:
        raise S3PresignedUrlError(
            f"the pre-signed {what} URL expired at {ends.isoformat()} (by this machine's clock); "
            "ask for a new one"
        )
    try:
        # The scheme is checked above, and redirects may not leave http(s) either.
        request = urllib.request.Request(url, method="GET")  # noqa: S310
        response = urllib.request.build_opener(_HttpRedirects).open(request, timeout=timeout)
    except S3PresignedUrlError:
        raise
    except urllib.error.HTTPError as e:
        try:
            with e:
                code, message = _s3_error(e.read(_ERROR_BODY))
        except (OSError, http.client.HTTPException):
            code, message = "", ""
        detail = f"{e.code} {code or _printable(str(e.reason))}" + (
            f": {message}" if message else ""
        )
        raise S3PresignedUrlError(
            f"S3 refused the pre-signed {what} URL ({redact(url)}): {detail}"
        ) from None
    except (OSError, http.client.HTTPException, ValueError) as e:  # URLError is an OSError
        raise _failure(url, what, e) from None
    return _Body(response, url, what)


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text[:200])


class _HttpRedirects(urllib.request.HTTPRedirectHandler):
    """urllib's redirects, but only to http(s) URLs (urllib alone would follow ftp:// too)."""

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        try:
            _check_url(newurl, "redirect")
        except S3PresignedUrlError as e:
            raise S3PresignedUrlError(
                f"the URL redirected to one that cannot be fetched: {e}"
            ) from None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _metadata(headers: Any) -> dict[str, str]:
    """The object's user metadata from its GET response headers (what boto3's Metadata holds).

    Raises:
        S3MetadataError: A metadata header appears more than once (in any case): readers would
            not agree which one counts.
    """
    out: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered.startswith(_META_PREFIX):
            key = lowered[len(_META_PREFIX) :]
            if key in out:
                raise S3MetadataError(f"metadata {key} appears more than once in the response")
            out[key] = value
    return out


def open_url(
    client: EncryptedS3Client,
    url: str,
    *,
    instruction_url: str | None = None,
    context: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> OpenObject:
    """GET a pre-signed URL, read the metadata from the response headers (or the instruction
    file's URL) and unwrap the data key; the body is not read. The caller must close it.

    Raises:
        S3PresignedUrlError: A malformed, expired or refused URL.
        S3EncryptionError: A subclass for a failed metadata, context, key or commitment check.
    """
    response = _open(url, "object", timeout)
    try:
        if response.status != 200 or response.headers.get("Content-Range"):
            raise S3MetadataError(f"the URL answered {response.status}, not the whole object")
        length = response.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise S3MetadataError("the URL's response has no Content-Length")
        metadata = _metadata(response.headers)
        if md.needs_instruction_file(metadata):
            if instruction_url is None:
                raise S3MetadataError(
                    "the object keeps its metadata in an instruction file: give that file's "
                    "pre-signed URL too (presign_get returns it)"
                )
            with _open(instruction_url, "instruction file", timeout) as instruction:
                data = instruction.read(md.MAX_INSTRUCTION_FILE + 1)
            meta = md.decode(metadata, md.parse_instruction_file(data))
        else:
            meta = md.decode(metadata)
        key = content_key_for(meta, client.unwrap(meta, context))
        return OpenObject({"Body": response, "ContentLength": int(length)}, meta, key)
    except BaseException:
        response.close()
        raise


class PresignMethods:
    """``presign_get``, ``decrypt_url`` and ``download_url``, for ``EncryptedS3Client``."""

    def presign_get(
        self,
        Bucket: str,
        Key: str,
        *,
        ExpiresIn: int = 3600,
        InstructionFileSuffix: str = ".instruction",
    ) -> PresignedGet:
        """A pre-signed GET URL of an encrypted object (and of its instruction file, if any).

        Whoever holds the URL reads the ciphertext only; ``decrypt_url`` / ``download_url`` (or
        ``envelope decrypt-url``) with the object's keys read the plaintext.

        Args:
            Bucket: The bucket.
            Key: The object key.
            ExpiresIn: Seconds the URL is valid, 1 to 604800 (7 days).
            InstructionFileSuffix: Where the instruction file is, if the object has one.

        Returns:
            The URL(s); ``str()`` of it is the object's URL.

        Raises:
            S3PresignedUrlError: ``ExpiresIn`` out of range.
            S3MetadataError: The object is not encrypted.
        """
        return presign_get(
            cast("EncryptedS3Client", self).s3_client,
            Bucket,
            Key,
            expires_in=ExpiresIn,
            suffix=InstructionFileSuffix,
        )

    def download_url(
        self,
        Url: str | PresignedGet,
        Fileobj: IO[bytes],
        *,
        InstructionUrl: str | None = None,
        EncryptionContext: Mapping[str, str] | None = None,
        release_unauthenticated: bool = False,
        timeout: float = 60.0,
    ) -> None:
        """Fetch a pre-signed URL (a plain HTTP GET) and decrypt the object into ``Fileobj``.

        As ``download_fileobj``: nothing reaches ``Fileobj`` before the tag verified (it is
        decrypted into a private temporary file first) unless ``release_unauthenticated``.

        Raises:
            S3PresignedUrlError: A malformed, expired (by this machine's clock) or refused URL.
            S3EncryptionError: A subclass for a failed metadata, context, key or tag check.
        """
        client = cast("EncryptedS3Client", self)
        url, instruction = _urls(Url, InstructionUrl)
        obj = open_url(
            client, url, instruction_url=instruction, context=EncryptionContext, timeout=timeout
        )
        try:
            if release_unauthenticated:
                stream_decrypt(obj, Fileobj, None)
                return
            with tempfile.TemporaryFile(dir=client.spool_dir) as temp:
                stream_decrypt(obj, temp, None)
                temp.seek(0)
                shutil.copyfileobj(temp, Fileobj, _READ)
        finally:
            obj.close()

    def decrypt_url(
        self,
        Url: str | PresignedGet,
        *,
        InstructionUrl: str | None = None,
        EncryptionContext: Mapping[str, str] | None = None,
        timeout: float = 60.0,
    ) -> bytes:
        """Fetch a pre-signed URL and return the object's plaintext, once its tag verified (at
        most ``max_in_memory`` bytes; larger objects: ``download_url``).

        Raises:
            S3ObjectTooLargeError: The object is larger than ``max_in_memory``.
            S3PresignedUrlError: A malformed, expired or refused URL.
            S3EncryptionError: A subclass for a failed metadata, context, key or tag check.
        """
        client = cast("EncryptedS3Client", self)
        url, instruction = _urls(Url, InstructionUrl)
        obj = open_url(
            client, url, instruction_url=instruction, context=EncryptionContext, timeout=timeout
        )
        try:
            if obj.length > client.max_in_memory:
                raise S3ObjectTooLargeError(
                    f"object is {obj.length} bytes, above max_in_memory "
                    f"({client.max_in_memory}); use download_url"
                )
            sink = io.BytesIO()
            stream_decrypt(obj, sink, None)
        finally:
            obj.close()
        return sink.getvalue()


def _urls(url: str | PresignedGet, instruction: str | None) -> tuple[str, str | None]:
    if isinstance(url, PresignedGet):
        return url.url, instruction or url.instruction_url
    return url, instruction
