"""The asynchronous front of ``envelope serve``: bodies are read with a deadline before any work.

granian's WSGI bridge hands a request to a Python thread as soon as its headers arrive and lets
that thread block on the body for as long as the client takes: a few connections that announce a
body and never send it held every request thread of every worker, and the server stopped
answering anyone (the body is read before the signature can be checked). Here the body is read on
the worker's event loop, where a waiting connection costs no thread: at most ``max_body`` bytes,
within ``body_timeout`` seconds of the headers, else the connection gets
``RequestTimeoutException`` (408) and is closed. Only a complete request reaches the WSGI
application.
"""

from __future__ import annotations

import asyncio
import io
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from granian._granian import RSGIProtocolClosed as ProtocolClosed

from envelope.server.app import BODY_TIMEOUT_S, ENV_BODY_TIMEOUT, ENV_THREADS, KmsApplication
from envelope.server.protocol import CONTENT_TYPE, ProtocolError, encode_error

INLINE_OPERATIONS = frozenset(
    {
        "Decrypt",
        "DescribeKey",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateRandom",
        "ReEncrypt",
    }
)
"""Operations run on the event loop itself: half a millisecond of CPU that only reads the
keystore. Handing each to a thread cost more than the work: 0.6-0.9 ms of the worker's CPU per
GenerateDataKey against 0.45-0.5 ms inline (one worker, signed requests replayed from 4 threads;
granian's WSGI bridge took 0.4-0.5 ms). Everything else (key generation, keystore writes that
sync to disk) runs on the threads, so a slow CreateKey never holds up the loop."""
_REAP_S = 0.5
"""How often overdue body reads are looked for: deadlines hold to within this."""


def _timed_out(seconds: float) -> tuple[int, list[tuple[str, str]], bytes]:
    status, body = encode_error(
        ProtocolError(
            "RequestTimeoutException",
            f"the request body did not arrive within {seconds:g} seconds",
        )
    )
    headers = [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))]
    return status, [*headers, ("Connection", "close")], body


def _address(client: str) -> tuple[str, str]:
    """``host:port`` (IPv6 hosts possibly in brackets) as (host, port)."""
    host, _, port = client.rpartition(":")
    return host.strip("[]"), port


class RsgiFront:
    """RSGI application that reads each body asynchronously, then runs ``app`` on a thread.

    Args:
        app: the WSGI application.
        threads: request threads (the key service's work is synchronous).
        body_timeout: seconds a request may take to send its body.
    """

    def __init__(
        self, app: KmsApplication, *, threads: int, body_timeout: float = BODY_TIMEOUT_S
    ) -> None:
        self.app = app
        self.body_timeout = body_timeout
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="envelope-serve")
        self._reading: dict[asyncio.Task[Any], float] = {}
        """Requests waiting for their body, and when their deadline passes (loop time)."""

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.call_later(_REAP_S, self._reap, loop)

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._pool.shutdown(wait=True)

    def _reap(self, loop: asyncio.AbstractEventLoop) -> None:
        # One timer for every request rather than one per request: a deadline then costs a dict
        # entry, not a task and a timer handle each.
        now = loop.time()
        for task, deadline in list(self._reading.items()):
            if deadline <= now:
                del self._reading[task]  # so the task knows the cancellation is a timeout
                task.cancel()
        loop.call_later(_REAP_S, self._reap, loop)

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        if scope.proto != "http":  # websockets are off; nothing else reaches an RSGI app
            return
        started = time.perf_counter()
        limit = self.app.max_body
        declared = scope.headers.get("content-length")
        body = b""
        if declared is None or (declared.isdigit() and int(declared) <= limit):
            # A declared length above the limit is refused by the application before any read.
            task = asyncio.current_task()
            assert task is not None
            self._reading[task] = asyncio.get_running_loop().time() + self.body_timeout
            try:
                body = await (proto() if declared is not None else self._read(proto, limit))
            except asyncio.CancelledError:
                if task in self._reading:
                    raise  # not ours: the server is stopping
                proto.response_bytes(*_timed_out(self.body_timeout))
                self.app.log_refused(408, "RequestTimeoutException", started)
                return
            except ProtocolClosed:
                return  # the client went away; nobody to answer
            finally:
                self._reading.pop(task, None)
        environ = self._environ(scope, body)
        target = scope.headers.get("x-amz-target") or ""
        if target.startswith("TrentService.") and target[13:] in INLINE_OPERATIONS:
            status, response_headers, payload = self._run(environ)
        else:
            loop = asyncio.get_running_loop()
            status, response_headers, payload = await loop.run_in_executor(
                self._pool, self._run, environ
            )
        proto.response_bytes(status, response_headers, payload)

    @staticmethod
    async def _read(proto: Any, limit: int) -> bytes:
        """A chunked body, or its first ``limit + 1`` bytes (enough for the application to
        refuse it)."""
        chunks, total = [], 0
        async for chunk in proto:
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                break
        return b"".join(chunks)

    def _environ(self, scope: Any, body: bytes) -> dict[str, Any]:
        host, port = _address(scope.client)
        environ: dict[str, Any] = {
            "REQUEST_METHOD": scope.method,
            "PATH_INFO": scope.path,
            "QUERY_STRING": scope.query_string,
            "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
            "REMOTE_ADDR": host,
            "REMOTE_PORT": port,
            "wsgi.url_scheme": scope.scheme,
            "wsgi.input": io.BytesIO(body),
        }
        for name, value in scope.headers.items():
            if "_" in name:
                # WSGI spells "-" as "_": x_amz_target would pass for X-Amz-Target. Dropped, as
                # nginx and gunicorn drop them.
                continue
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
            # Repeated headers are one comma-separated value (RFC 9110 §5.3), as in WSGI servers.
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        if "CONTENT_LENGTH" not in environ and len(body) <= self.app.max_body:
            # Chunked: the whole body is here now, and the application reads by length.
            environ["CONTENT_LENGTH"] = str(len(body))
        return environ

    def _run(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]]) -> None:
            answer["status"], answer["headers"] = int(status.split(" ", 1)[0]), headers

        payload = b"".join(self.app(environ, start_response))
        return answer["status"], answer["headers"], payload


def create_app() -> RsgiFront:
    """The RSGI application of one server worker: ``app.create_app()`` behind the front.

    ``ENVELOPE_SERVE_THREADS`` sets the request threads, ``ENVELOPE_SERVE_BODY_TIMEOUT`` the
    seconds a body may take.
    """
    from envelope.server.app import create_app as create_wsgi_app

    return RsgiFront(
        create_wsgi_app(),
        threads=int(os.environ.get(ENV_THREADS) or 4),
        body_timeout=float(os.environ.get(ENV_BODY_TIMEOUT) or BODY_TIMEOUT_S),
    )
