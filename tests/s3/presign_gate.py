"""S3's pre-signed URL check in front of moto's server, which does not check them (moto 5.2.5).

A loopback HTTP server that verifies a query-signed GET as S3 does (signature version 2, which
boto3 uses for these test clients: ``Signature`` = base64 HMAC-SHA1 of ``GET\\n\\n\\nEXPIRES\\n
/BUCKET/KEY`` under the secret key; ``Expires`` in the past is refused) and answers S3's own 403
XML errors; a request that passes is relayed to moto and its answer relayed back unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import http.server
import threading
import time
import urllib.parse
from typing import Any

from tests.moto_server import free_port

SECRET = "testing"


def _error(code: str, message: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        f"<Message>{message}</Message></Error>"
    ).encode()


class _Handler(http.server.BaseHTTPRequestHandler):
    upstream: tuple[str, int] = ("127.0.0.1", 0)

    def log_message(self, *args: Any) -> None:
        pass

    def _refuse(self, code: str, message: str) -> None:
        body = _error(code, message)
        self.send_response(403)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self) -> None:
        self._relay("HEAD")

    def do_GET(self) -> None:
        if "Authorization" in self.headers:  # a boto3 call, signed in its header: relayed
            self._relay("GET")
            return
        path, _, query = self.path.partition("?")
        params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        expires, signature = params.get("Expires"), params.get("Signature")
        if not expires or not signature or not params.get("AWSAccessKeyId"):
            self._refuse("AccessDenied", "Query-string authentication requires Signature")
            return
        if not expires.isdigit() or int(expires) < time.time():
            self._refuse("AccessDenied", "Request has expired")
            return
        to_sign = f"GET\n\n\n{expires}\n{path}".encode()
        expected = base64.b64encode(
            hmac.new(SECRET.encode(), to_sign, hashlib.sha1).digest()
        ).decode()
        if not hmac.compare_digest(expected, signature):
            self._refuse(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
            return
        self._relay("GET")

    def _relay(self, method: str) -> None:
        connection = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            connection.request(method, self.path, headers=dict(self.headers.items()))
            answer = connection.getresponse()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("connection", "transfer-encoding", "server", "date"):
                    self.send_header(name, value)
            self.end_headers()
            while chunk := answer.read(1 << 20):
                self.wfile.write(chunk)
        finally:
            connection.close()


class PresignGate:
    """The gate on a free port of 127.0.0.1, relaying to ``upstream_url``; stop() when done."""

    def __init__(self, upstream_url: str) -> None:
        parts = urllib.parse.urlsplit(upstream_url)
        handler = type("Handler", (_Handler,), {"upstream": (parts.hostname, parts.port)})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
