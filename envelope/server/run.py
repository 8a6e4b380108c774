"""Serving: ``envelope serve`` on granian, loopback by default, stopped gracefully by SIGTERM.

granian (a Rust HTTP/1.1 server) parses HTTP and keeps connections alive. Each worker reads
request bodies on its event loop with a deadline (``front.py``), then runs the WSGI application:
the hot read-only operations on the loop, everything else on a few threads, so a slow request (an
RSA-4096 CreateKey, a keystore write waiting for another process) never stalls the others and a
client that never sends its body holds no thread. Chosen by measurement on
the 2-core development machine, one worker each, 8 client threads replaying requests over
keep-alive: a trivial app answered 26,000 requests/s on granian (WSGI) against 10,700 on uvicorn
(ASGI, uvloop, httptools) and 6,900 on uvicorn with h11; with this application (SigV4 and a
GenerateDataKey per request) granian stayed ahead of uvicorn, which must also move the
synchronous key service off its event loop. granian's WSGI bridge, used first, gave each body to
a thread to read with no deadline, so a few silent clients stalled the server; its RSGI interface
with our own front costs about the same CPU per request (0.45-0.5 ms of the worker's CPU per
GenerateDataKey against 0.4-0.5 ms, one worker) and finishes requests in flight on SIGTERM too.

On SIGTERM or SIGINT granian stops accepting connections, lets every request in flight finish, and
the worker closes the keystore. Every keystore write is one SQLite transaction, so even a worker
killed outright leaves the keystore whole.
"""

from __future__ import annotations

import ipaddress
import os
import socket

from envelope.errors import ValidationException
from envelope.server.app import (
    BODY_TIMEOUT_S,
    ENV_BODY_TIMEOUT,
    ENV_LOG_REQUESTS,
    ENV_MAX_BODY,
    ENV_THREADS,
    MAX_BODY,
)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4599
BLOCKING_THREADS = 4
"""Request threads per worker: enough that slow requests do not block quick ones; more only
contend for the interpreter lock."""
MAX_AUTO_WORKERS = 4


def default_workers() -> int:
    """One worker process per core, at most four: each request is CPU-bound Python (SigV4,
    JSON, AES-GCM), so processes, not threads, add capacity; each opens its own keystore
    connection, which the keystore allows."""
    return max(1, min(MAX_AUTO_WORKERS, os.cpu_count() or 1))


BACKPRESSURE = 1024
"""Requests a worker takes on at once; more wait in the socket backlog. A request waiting for
its body costs the worker no thread (``front.py``), so this is the number of slow clients that
can stall a worker until their body deadline, not the work in progress (``BLOCKING_THREADS``)."""
SHUTDOWN_GRACE_S = 30
"""How long SIGTERM waits for requests in flight before the worker is killed."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, *, allow_remote: bool) -> None:
    """Refuse a non-loopback address unless the caller asked for it by name.

    Raises:
        ValidationException: ``host`` is not loopback and ``allow_remote`` is false.
    """
    if not is_loopback(host) and not allow_remote:
        raise ValidationException(
            f"refusing to listen on {host}: envelope serve answers on loopback only unless "
            "--allow-remote is given (requests and data keys then cross the network; use TLS)"
        )


def serve(
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    allow_remote: bool = False,
    log_requests: bool = False,
    workers: int | None = None,
    max_body: int = MAX_BODY,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    body_timeout: float = BODY_TIMEOUT_S,
) -> None:
    """Serve the KMS JSON protocol over the keystore in ``ENVELOPE_HOME`` until SIGTERM/SIGINT.

    Args:
        host: address to listen on; loopback unless ``allow_remote``.
        port: TCP port.
        allow_remote: permit a non-loopback ``host``.
        log_requests: one JSON access-log line per request on standard error.
        workers: worker processes (each with its own connection to the keystore); default one
            per core, at most four.
        max_body: the largest request body accepted, in bytes.
        tls_cert: PEM certificate file: serve HTTPS (with ``tls_key``).
        tls_key: PEM private key file (PKCS#8) for ``tls_cert``.
        body_timeout: seconds a request may take to send its body after its headers.

    Raises:
        ValidationException: a non-loopback host without ``allow_remote``, a bad port or worker
            count, or only one of the TLS files.
    """
    from pathlib import Path

    from granian.constants import Interfaces
    from granian.server import Server

    check_bind(host, allow_remote=allow_remote)
    if workers is None:
        workers = default_workers()
    if not 0 < port < 65536:
        raise ValidationException(f"port {port} is not 1-65535")
    if not 1 <= workers <= 64:
        raise ValidationException(f"workers must be 1-64, not {workers}")
    if not 0 < body_timeout <= 3600:
        raise ValidationException(
            f"body_timeout must be above 0 and at most 3600 s, not {body_timeout}"
        )
    if (tls_cert is None) != (tls_key is None):
        raise ValidationException("TLS needs both a certificate and its key")
    _check_port_free(host, port)
    # The worker processes read their configuration from the environment they inherit.
    os.environ[ENV_LOG_REQUESTS] = "1" if log_requests else "0"
    os.environ[ENV_MAX_BODY] = str(max_body)
    os.environ[ENV_THREADS] = str(BLOCKING_THREADS)
    os.environ[ENV_BODY_TIMEOUT] = str(body_timeout)
    server = Server(
        "envelope.server.front:create_app",
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        factory=True,
        workers=workers,
        blocking_threads=1,  # granian's; the front runs requests on its own BLOCKING_THREADS
        backpressure=BACKPRESSURE,
        websockets=False,
        log_enabled=True,
        log_access=False,
        workers_kill_timeout=SHUTDOWN_GRACE_S,
        ssl_cert=Path(tls_cert) if tls_cert else None,
        ssl_key=Path(tls_key) if tls_key else None,
    )
    server.serve()


def _check_port_free(host: str, port: int) -> None:
    """Fail with a clear message, not a worker crash loop, when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            raise ValidationException(
                f"cannot listen on {host}:{port}: {e.strerror or e}"
            ) from None
