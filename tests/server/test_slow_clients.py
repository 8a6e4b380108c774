"""Slow and silent clients of ``envelope serve``: they get a deadline, everyone else an answer.

Before the asynchronous front (``envelope/server/front.py``), each request's body was read by one
of the worker's four request threads, with no deadline and before any signature check: a few
connections announcing a body they never sent stopped the server answering anyone.
"""

from __future__ import annotations

import json
import select
import socket
import time
from pathlib import Path

import botocore.config

from tests.serve_server import EnvelopeServer

SILENT = 24
"""Connections that send headers and one byte of body: six times the request threads of the one
worker, so the old server had none left."""
DEADLINE = 6.0
"""Long enough that the other clients' calls finish before it even on a loaded machine (checked
by the silent sockets' having no answer yet, not by a clock)."""


def _stalled(port: int, request: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(request)
    return sock


def _answer(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_silent_bodies_neither_block_others_nor_last(tmp_path: Path) -> None:
    server = EnvelopeServer(
        tmp_path / "home",
        args=("--workers", "1", "--body-timeout", str(DEADLINE), "--log-requests"),
    ).start()
    try:
        head = (
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\n"
            "X-Amz-Target: TrentService.ListKeys\r\n"
        )
        silent = [
            _stalled(server.port, (head + "Content-Length: 1000\r\n\r\n{").encode())
            for _ in range(SILENT)
        ]
        # A chunked body that trickles: one byte a while, never finished.
        trickle = _stalled(
            server.port, (head + "Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n").encode()
        )
        started = time.monotonic()
        kms = server.client(
            config=botocore.config.Config(read_timeout=20, retries={"max_attempts": 1})
        )
        assert kms.list_keys()["Keys"] == []
        key = kms.create_key()["KeyMetadata"]["Arn"]  # on a request thread
        assert kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"] == key  # on the event loop
        # ... answered while every silent client still waits for its answer.
        ready, _, _ = select.select([*silent, trickle], [], [], 0)
        assert ready == []

        trickle.sendall(b"1\r\n \r\n")
        for sock in [*silent, trickle]:
            answer = _answer(sock)  # the server closes each one after its 408
            sock.close()
            status, _, rest = answer.partition(b"\r\n\r\n")
            assert status.startswith(b"HTTP/1.1 408"), answer
            assert json.loads(rest)["__type"] == "RequestTimeoutException"
        assert time.monotonic() - started >= DEADLINE  # not before their deadline
        assert kms.list_keys()["Keys"][0]["KeyArn"] == key  # and still serving
        # SIGTERM with a silent client connected: the server stops once its deadline is up
        # (before, its thread never came back and the worker had to be killed).
        last = _stalled(server.port, (head + "Content-Length: 10\r\n\r\n{").encode())
        assert server.stop() == 0
        last.close()
    finally:
        server.stop()
    lines = [json.loads(x) for x in server.log_text().splitlines() if x.startswith("{")]
    timeouts = [x for x in lines if x["error"] == "RequestTimeoutException"]
    assert len(timeouts) == SILENT + 2 and all(x["status"] == 408 for x in timeouts)
