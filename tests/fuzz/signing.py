"""Requests signed with botocore's own SigV4 signers, as ``envelope serve`` receives them."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS_KEY_ID = "AKIAFUZZFUZZFUZZFUZZ"
SECRET = "fuzz/secret+AccessKeyForTheFuzzTargetsOnly"
HOST = "127.0.0.1:4599"
CONTENT_TYPE = "application/x-amz-json-1.1"
FIXED_NOW = dt.datetime(2026, 11, 29, 12, 0, 0, tzinfo=dt.timezone.utc)


def sign(
    operation: str,
    body: bytes,
    *,
    now: dt.datetime | None = None,
    access_key_id: str = ACCESS_KEY_ID,
    secret: str = SECRET,
    region: str = "us-east-1",
    query: bool = False,
) -> tuple[str, list[tuple[str, str]]]:
    """A KMS request signed at ``now``: (query string, headers as sent, Host included)."""
    request = AWSRequest(
        method="POST",
        url=f"http://{HOST}/",
        data=body,
        headers={"Content-Type": CONTENT_TYPE, "X-Amz-Target": f"TrentService.{operation}"},
    )
    credentials = Credentials(access_key_id, secret)
    signer = (
        SigV4QueryAuth(credentials, "kms", region, expires=300)
        if query
        else SigV4Auth(credentials, "kms", region)
    )
    # botocore's add_auth, step by step, with our clock.
    request.context["timestamp"] = (now or dt.datetime.now(dt.timezone.utc)).strftime(
        SIGV4_TIMESTAMP
    )
    signer._modify_request_before_signing(request)
    request.data = body
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    signer._inject_signature_to_request(request, signature)
    headers = [(k, v) for k, v in request.headers.items()]
    if not any(k.lower() == "host" for k, _ in headers):
        headers.append(("Host", HOST))
    return urlsplit(request.url).query, headers
