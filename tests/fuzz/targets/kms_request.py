"""The server's KMS requests (``envelope/server/protocol.py`` and ``app.py``): the X-Amz-Target
operation and the JSON body, checked against botocore's KMS model and run on a LocalKeyService.

Input: the operation name on the first line, then the JSON body. The harness signs each request
properly (so every input gets past SigV4 into the protocol) and calls the WSGI application as
granian would. Properties: every answer is AWS-shaped (a JSON body, ``__type`` and a known status
for errors) and never a 500: the application turns an unexpected exception into a 500 and keeps
serving, so a 500 here is a bug it caught.
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from envelope.server.app import KmsApplication
from envelope.server.protocol import STATUS
from tests.fuzz import fixtures, signing
from tests.fuzz.harness import Target, expect

_app: list[KmsApplication] = []
_logged: list[str] = []


class _Capture(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        _logged.append(record.getMessage())


def setup() -> None:
    from envelope.server.principals import Principals

    kms = fixtures.kms()
    principals = Principals(fixtures.home(), region=fixtures.REGION)
    known = {signing.ACCESS_KEY_ID: signing.SECRET}
    real = principals.create("fuzz")

    class _Lookup:
        def lookup(self, access_key_id: str) -> Any:
            if access_key_id in known:
                return real.principal, known[access_key_id]
            return None

    logger = logging.getLogger("envelope.server")
    logger.addHandler(_Capture())
    logger.propagate = False
    _app.append(KmsApplication(kms, _Lookup(), region=fixtures.REGION))


def split(data: bytes) -> tuple[str, bytes]:
    first, _, body = data.partition(b"\n")
    operation = "".join(c for c in first.decode("latin-1") if 0x21 <= ord(c) < 0x7F)
    return operation[:128], body


def run(data: bytes) -> None:
    operation, body = split(data)
    query, headers = signing.sign(operation, body)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    for name, value in headers:
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    answer: list[str] = []
    _logged.clear()
    chunks = _app[0](environ, lambda status, _headers: answer.append(status))
    payload = b"".join(chunks)
    status = int(answer[0].split()[0])
    expect(status != 500, f"HTTP 500 for {operation}: {'; '.join(_logged)[:500]}")
    if status == 200:
        if payload:
            expect(isinstance(json.loads(payload), dict), "a 200 answer is not a JSON object")
        return
    error = json.loads(payload)
    expect(isinstance(error.get("__type"), str), "an error answer has no __type")
    expect(STATUS.get(error["__type"]) == status, f"{error['__type']} answered with {status}")


TARGET = Target(
    name="kms_request",
    doc=__doc__ or "",
    run=run,
    allowed=(),
    setup=setup,
)
