"""The WSGI application of ``envelope serve``: one KMS request in, one KMS response out.

Each request is size-checked before its body is read, authenticated (SigV4) before anything else
is looked at, decoded against botocore's KMS model, run on the key service, and answered in the
AWS JSON 1.1 shapes. Every failure is an AWS-shaped error and the application keeps serving;
nothing about an internal failure but its type reaches the server's log, and nothing at all the
caller.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from typing import Protocol as TypingProtocol

from envelope.errors import EnvelopeError, KeyServiceError
from envelope.keys.base import KeyService
from envelope.server import log as access_log
from envelope.server.principals import Principal
from envelope.server.protocol import (
    CONTENT_TYPE,
    Protocol,
    ProtocolError,
    encode_error,
    encode_result,
    internal_error,
)
from envelope.server.sigv4 import SignedRequest, verify

MAX_BODY = 256 * 1024
"""Bytes a request body may have. The largest KMS request (CreateKey with a 32 KB policy, JSON
escaped) fits several times over; anything larger is refused before it is read."""

ENV_LOG_REQUESTS = "ENVELOPE_SERVE_LOG_REQUESTS"
ENV_MAX_BODY = "ENVELOPE_SERVE_MAX_BODY"
ENV_THREADS = "ENVELOPE_SERVE_THREADS"
ENV_BODY_TIMEOUT = "ENVELOPE_SERVE_BODY_TIMEOUT"
BODY_TIMEOUT_S = 30.0
"""Seconds from a request's headers to the end of its body (granian gives headers 30 s too)."""

StartResponse = Callable[[str, list[tuple[str, str]]], object]

_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 409: "Conflict", 412: "Precondition Failed",
            413: "Content Too Large", 500: "Internal Server Error",
            503: "Service Unavailable"}  # fmt: skip
_server_log = logging.getLogger("envelope.server")


class PrincipalLookup(TypingProtocol):
    def lookup(self, access_key_id: str) -> tuple[Principal, str] | None: ...


class _TooLarge(Exception):
    pass


def _headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    headers = [
        (name[5:].replace("_", "-").lower(), str(value))
        for name, value in environ.items()
        if name.startswith("HTTP_")
    ]
    for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(name):
            headers.append((name.replace("_", "-").lower(), str(environ[name])))
    return headers


def _read_body(environ: dict[str, Any], limit: int) -> bytes:
    """The request body, refused (``_TooLarge``) past ``limit`` bytes without reading the rest."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH") or ""
    if length:
        try:
            size = int(length)
        except ValueError:
            raise _TooLarge from None
        if size < 0 or size > limit:
            raise _TooLarge
        chunks, left = [], size
        while left:
            chunk = stream.read(left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    # Chunked (no Content-Length): read until the end, but never past the limit.
    chunks, total = [], 0
    while True:
        chunk = stream.read(min(65536, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise _TooLarge


def _key_named(arguments: dict[str, Any], result: object) -> str | None:
    for name in ("key_id", "destination_key_id", "target_key_id"):
        value = arguments.get(name)
        if isinstance(value, str):
            return value[:2048]
    value = getattr(result, "key_id", None)
    return value if isinstance(value, str) else None


class KmsApplication:
    """AWS KMS's JSON protocol over a key service, for the principals of one account.

    Args:
        service: the key service requests run on.
        principals: finds a principal and its secret by access key id.
        region: the region requests must be signed for (the service's region).
        max_body: the largest request body accepted, in bytes.
        log_requests: write one access-log line per request (``envelope.server.log``).
    """

    def __init__(
        self,
        service: KeyService,
        principals: PrincipalLookup,
        *,
        region: str,
        max_body: int = MAX_BODY,
        log_requests: bool = False,
    ) -> None:
        self.service = service
        self.protocol = Protocol(service)
        self.principals = principals
        self.region = region
        self.max_body = max_body
        self._log = access_log.access_logger() if log_requests else None

    def _acting_for(self, principal: Principal, environ: dict[str, Any]) -> KeyService:
        """The key service as the request's signer, from the connection's address: key policies
        and grants are evaluated for them (a service without callers is used as it is)."""
        with_caller = getattr(self.service, "with_caller", None)
        if with_caller is None:
            return self.service
        service: KeyService = with_caller(
            principal.arn,
            source_ip=_peer(environ),
            secure_transport=environ.get("wsgi.url_scheme") == "https",
        )
        return service

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        path, method = environ.get("PATH_INFO") or "/", environ.get("REQUEST_METHOD", "GET")
        extra: list[tuple[str, str]] = []
        if path == "/health":
            status, body = (200, b'{"status":"ok"}') if method in ("GET", "HEAD") else (405, b"")
            return self._respond(start_response, status, body, request_id, [])
        facts: dict[str, Any] = {"operation": None, "principal": None, "key": None}
        try:
            status, body = self._handle(environ, path, method, facts)
        except _TooLarge:
            status, body = encode_error(ProtocolError(
                "RequestEntityTooLargeException",
                f"the request body is larger than {self.max_body} bytes",
            ))  # fmt: skip
            extra.append(("Connection", "close"))  # the rest of the body was never read
        if self._log is not None:
            error = None
            if status >= 300:
                error = json.loads(body).get("__type") if body else None
            access_log.write(self._log, access_log.AccessRecord(
                request_id=request_id, operation=facts["operation"],
                principal=facts["principal"], key=facts["key"], status=status, error=error,
                latency_ms=(time.perf_counter() - started) * 1000,
            ))  # fmt: skip
        return self._respond(start_response, status, body, request_id, extra)

    def log_refused(self, status: int, error: str, started: float) -> None:
        """An access-log line (when logging) for a request refused before it reached ``__call__``
        (a body that did not arrive in time): no operation, principal or key is known."""
        if self._log is not None:
            access_log.write(self._log, access_log.AccessRecord(
                request_id=str(uuid.uuid4()), operation=None, principal=None, key=None,
                status=status, error=error, latency_ms=(time.perf_counter() - started) * 1000,
            ))  # fmt: skip

    def _respond(
        self,
        start_response: StartResponse,
        status: int,
        body: bytes,
        request_id: str,
        extra: list[tuple[str, str]],
    ) -> list[bytes]:
        headers = [
            ("Content-Type", CONTENT_TYPE),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", request_id),
            *extra,
        ]
        start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
        return [body]

    def _handle(
        self, environ: dict[str, Any], path: str, method: str, facts: dict[str, Any]
    ) -> tuple[int, bytes]:
        try:
            if path != "/":
                raise ProtocolError("UnknownOperationException", "KMS requests go to POST /")
            body = _read_body(environ, self.max_body)
            if method != "POST":
                raise ProtocolError("UnknownOperationException", "KMS requests go to POST /")
            request = SignedRequest(
                method=method,
                path=path,
                query=environ.get("QUERY_STRING", ""),
                headers=_headers(environ),
                body=body,
            )
            found: list[Principal] = []

            def secret_for(access_key_id: str) -> str | None:
                entry = self.principals.lookup(access_key_id)
                if entry is None:
                    return None
                found.append(entry[0])
                return entry[1]

            verify(request, secret_for, region=self.region)
            principal = found[0]
            facts["principal"] = principal.arn
            operation = self.protocol.operation(request.header("x-amz-target"))
            facts["operation"] = operation.name
            arguments = self.protocol.arguments(operation, body)
            facts["key"] = _key_named(arguments, None)
            service = self._acting_for(principal, environ)
            result = self.protocol.call(operation, arguments, service=service)
            facts["key"] = facts["key"] or _key_named({}, result)
            return 200, encode_result(result)
        except _TooLarge:
            raise
        except KeyServiceError as e:
            return encode_error(e)
        except EnvelopeError as e:  # the keystore failed (locked too long, damaged, disk full)
            _server_log.error("request %s failed: %s", facts.get("operation"), type(e).__name__)
            return internal_error()
        except Exception as e:  # a bug: answer 500, keep serving, say nothing to the caller
            _server_log.error("request %s failed: %s", facts.get("operation"), type(e).__name__)
            return internal_error()


def _peer(environ: dict[str, Any]) -> str | None:
    """The connection's source address (``aws:SourceIp``), without an IPv6 zone."""
    address = str(environ.get("REMOTE_ADDR") or "").partition("%")[0]
    return address or None


def create_app() -> KmsApplication:
    """The application for one server worker, configured by the environment.

    ``ENVELOPE_HOME`` and ``ENVELOPE_PASSPHRASE`` open the keystore (as for every command);
    ``ENVELOPE_SERVE_LOG_REQUESTS=1`` turns the access log on; ``ENVELOPE_SERVE_MAX_BODY`` sets the
    body limit. The keystore is closed when the worker exits.
    """
    from envelope.keys.local import LocalKeyService
    from envelope.server.principals import Principals

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(message)s")
    service = LocalKeyService()
    principals = Principals(region=service.region, account_id=service.account_id)
    atexit.register(principals.close)
    atexit.register(service.close)
    return KmsApplication(
        service,
        principals,
        region=service.region,
        max_body=int(os.environ.get(ENV_MAX_BODY) or MAX_BODY),
        log_requests=os.environ.get(ENV_LOG_REQUESTS) == "1",
    )
