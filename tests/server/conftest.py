"""Fixtures for the server tests: a running ``envelope serve`` and raw signed HTTP requests."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.serve_server import EnvelopeServer, serve_env, serve_server

__all__ = ["serve_env", "serve_server"]  # fixtures, imported to be registered here


class Raw:
    """Raw HTTP to a server: exactly the bytes a test wants, signed or not."""

    def __init__(self, server: EnvelopeServer) -> None:
        self.server = server
        self.netloc = urlsplit(server.url).netloc

    def signed_headers(
        self, target: str | None, body: bytes, *, secret: str | None = None,
        access_key_id: str | None = None, extra: dict[str, str] | None = None,
    ) -> dict[str, str]:  # fmt: skip
        headers = {"Content-Type": "application/x-amz-json-1.1", **(extra or {})}
        if target is not None:
            headers["X-Amz-Target"] = target
        request = AWSRequest(method="POST", url=f"{self.server.url}/", data=body, headers=headers)
        credentials = Credentials(access_key_id or self.server.access_key_id,
                                  secret or self.server.secret_access_key)  # fmt: skip
        SigV4Auth(credentials, "kms", "us-east-1").add_auth(request)
        return dict(request.headers.items())

    def send(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        connection = http.client.HTTPConnection(self.netloc, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            data = response.read()
            answer = {k.lower(): v for k, v in response.getheaders()}
            return response.status, answer, json.loads(data) if data else None
        finally:
            connection.close()

    def call(self, target: str | None, document: Any, **options: Any) -> tuple[int, Any]:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        status, _headers, answer = self.send("POST", "/", body,
                                             self.signed_headers(target, body, **options))
        return status, answer


@pytest.fixture
def raw(serve_env: EnvelopeServer) -> Raw:
    return Raw(serve_env)
