"""SigV4 verification: requests signed by botocore pass; every altered or stale one is refused.

Requests are signed here with botocore's own signers (``SigV4Auth`` for the header form,
``SigV4QueryAuth`` for the query-string form) and handed to ``verify`` as a server receives them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from envelope.server.protocol import ProtocolError
from envelope.server.sigv4 import SignedRequest, verify

KEY_ID = "AKIAABCDEFGHIJKLMNOP"
SECRET = "s3cr3t/AccessKey+forTestsOnly0123456789"
HOST = "127.0.0.1:4599"
BODY = b'{"KeyId":"alias/demo","KeySpec":"AES_256"}'
TARGET = "TrentService.GenerateDataKey"


def secret_for(access_key_id: str) -> str | None:
    return SECRET if access_key_id == KEY_ID else None


def _received(request: AWSRequest, body: bytes) -> SignedRequest:
    """What a server sees of a signed botocore request."""
    parts = urlsplit(request.url)
    headers = [(k, v) for k, v in request.headers.items()]
    if not any(k.lower() == "host" for k, _ in headers):
        headers.append(("Host", parts.netloc))
    headers.append(("Content-Length", str(len(body))))
    return SignedRequest("POST", parts.path or "/", parts.query, headers, body)


def signed(
    *,
    body: bytes = BODY,
    secret: str = SECRET,
    key_id: str = KEY_ID,
    region: str = "us-east-1",
    service: str = "kms",
    headers: dict[str, str] | None = None,
    token: str | None = None,
) -> SignedRequest:
    request = AWSRequest(
        method="POST",
        url=f"http://{HOST}/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET,
                 **(headers or {})},
    )  # fmt: skip
    SigV4Auth(Credentials(key_id, secret, token), service, region).add_auth(request)
    return _received(request, body)


def query_signed(*, body: bytes = BODY, expires: int = 300) -> SignedRequest:
    """The query-string form, with the body's hash in the canonical request."""
    request = AWSRequest(
        method="POST",
        url=f"http://{HOST}/",
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET},
    )
    signer = SigV4QueryAuth(Credentials(KEY_ID, SECRET), "kms", "us-east-1", expires=expires)
    # botocore's add_auth, step by step, so that the (JSON) body stays a body and is hashed.
    request.context["timestamp"] = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    signer._modify_request_before_signing(request)
    request.data = body
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    signer._inject_signature_to_request(request, signature)
    return _received(request, body)


def replace(request: SignedRequest, **changes: object) -> SignedRequest:
    fields = {"method": request.method, "path": request.path, "query": request.query,
              "headers": request.headers, "body": request.body, **changes}  # fmt: skip
    return SignedRequest(**fields)  # type: ignore[arg-type]


def with_header(request: SignedRequest, name: str, value: str) -> SignedRequest:
    headers = [(k, v) for k, v in request.headers if k.lower() != name.lower()]
    return replace(request, headers=[*headers, (name, value)])


def refused(code: str, action: Callable[[], object], match: str | None = None) -> ProtocolError:
    with pytest.raises(ProtocolError, match=match) as caught:
        action()
    assert caught.value.code == code
    return caught.value


def check(request: SignedRequest, **options: object) -> object:
    return verify(request, secret_for, region="us-east-1", **options)  # type: ignore[arg-type]


def test_header_form_verifies() -> None:
    verified = verify(signed(), secret_for, region="us-east-1")
    assert (verified.access_key_id, verified.region) == (KEY_ID, "us-east-1")


def test_query_form_verifies() -> None:
    assert check(query_signed()).access_key_id == KEY_ID  # type: ignore[attr-defined]


def test_query_form_binds_the_body() -> None:
    request = query_signed()
    refused("InvalidSignatureException", lambda: check(replace(request, body=BODY + b" ")))


def test_query_form_expires() -> None:
    request = query_signed(expires=60)
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=61)
    refused("InvalidSignatureException", lambda: check(request, now=later), "expired")


def test_wrong_secret() -> None:
    refused("InvalidSignatureException", lambda: check(signed(secret="x" * 40)),
            "does not match")  # fmt: skip


def test_unknown_access_key() -> None:
    refused("UnrecognizedClientException", lambda: check(signed(key_id="AKIAZZZZZZZZZZZZZZZZ")))


@pytest.mark.parametrize(
    "change",
    [
        lambda r: replace(r, body=r.body.replace(b"AES_256", b"AES_128")),
        lambda r: with_header(r, "X-Amz-Target", "TrentService.Decrypt"),
        lambda r: with_header(r, "Host", "127.0.0.1:4600"),
        lambda r: replace(r, path="/other"),
        lambda r: replace(r, query="a=b"),
        lambda r: replace(r, method="PUT"),
    ],
    ids=["body", "target", "host", "path", "query", "method"],
)
def test_every_signed_part_is_bound(change: Callable[[SignedRequest], SignedRequest]) -> None:
    refused("InvalidSignatureException", lambda: check(change(signed())))


def test_unsigned_headers_do_not_matter() -> None:
    assert check(with_header(signed(), "X-Forwarded-For", "10.0.0.1"))


def test_stale_and_future_timestamps() -> None:
    request = signed()
    now = dt.datetime.now(dt.timezone.utc)
    assert check(request, now=now + dt.timedelta(minutes=4, seconds=50))
    refused("InvalidSignatureException", lambda: check(request, now=now + dt.timedelta(minutes=6)),
            r"Signature expired: \d{8}T\d{6}Z is now earlier than .* - 5 min\.")  # fmt: skip
    refused("InvalidSignatureException", lambda: check(request, now=now - dt.timedelta(minutes=6)),
            r"Signature not yet current: .* \+ 5 min\.")  # fmt: skip


def test_scope_must_be_this_region_and_kms() -> None:
    refused("InvalidSignatureException", lambda: check(signed(region="eu-west-1")), "region")
    refused("InvalidSignatureException", lambda: check(signed(service="s3")), "service")


def test_missing_signature() -> None:
    request = signed()
    bare = replace(request, headers=[(k, v) for k, v in request.headers
                                     if k.lower() != "authorization"])  # fmt: skip
    refused("MissingAuthenticationTokenException", lambda: check(bare))


@pytest.mark.parametrize(
    "authorization",
    [
        "AWS4-HMAC-SHA256 Credential=AKIAABCDEFGHIJKLMNOP/20240101/us-east-1/kms/aws4_request",
        "AWS4-ECDSA-P256-SHA256 Credential=x, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=nonsense, SignedHeaders=host, Signature=" + "0" * 64,
        "AWS4-HMAC-SHA256 Credential=AKIAABCDEFGHIJKLMNOP/20240101/us-east-1/kms/aws4_request, "
        "SignedHeaders=host, Signature=zz",
        "Bearer abc",
    ],
)
def test_malformed_authorization(authorization: str) -> None:
    refused("IncompleteSignatureException",
            lambda: check(with_header(signed(), "Authorization", authorization)))  # fmt: skip


def test_content_sha256_header_must_match_the_body() -> None:
    # botocore signs whatever X-Amz-Content-SHA256 says: the body must be what it says.
    honest = signed(headers={"X-Amz-Content-SHA256": hashlib.sha256(BODY).hexdigest()})
    assert check(honest)
    # Signed over the hash of "{}" but sent with another body: the signature alone would pass.
    lying = signed(headers={"X-Amz-Content-SHA256": hashlib.sha256(b"{}").hexdigest()})
    assert check(replace(lying, body=b"{}"))
    refused("InvalidSignatureException", lambda: check(lying), "x-amz-content-sha256")
    unsigned = signed(headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    refused("InvalidSignatureException", lambda: check(unsigned))


def test_target_must_be_signed() -> None:
    request = AWSRequest(method="POST", url=f"http://{HOST}/", data=BODY,
                         headers={"Content-Type": "application/x-amz-json-1.1"})  # fmt: skip
    SigV4Auth(Credentials(KEY_ID, SECRET), "kms", "us-east-1").add_auth(request)
    received = with_header(_received(request, BODY), "X-Amz-Target", TARGET)
    refused("InvalidSignatureException", lambda: check(received), "x-amz-target")


def test_session_tokens_are_refused() -> None:
    refused("UnrecognizedClientException", lambda: check(signed(token="session-token")))


def test_headers_botocore_leaves_unsigned_count_when_another_sdk_signs_them() -> None:
    """Another SDK may sign User-Agent, which botocore's signer leaves out when it signs."""
    request = signed(headers={"User-Agent": "other-sdk/1.0"})
    authorization = request.header("authorization") or ""
    assert "user-agent" not in authorization
    # Sign it as such an SDK would: the same canonical form with user-agent among the headers.
    names = "content-type;host;user-agent;x-amz-date;x-amz-target"
    claimed = authorization.replace(
        "SignedHeaders=content-type;host;x-amz-date;x-amz-target", f"SignedHeaders={names}"
    )
    stamp = request.header("x-amz-date") or ""
    rebuilt = AWSRequest(method="POST", url=f"http://{HOST}/", data=BODY)
    for name, value in request.headers:
        if name.lower() in names.split(";"):
            rebuilt.headers[name.lower()] = value
    rebuilt.context["timestamp"] = stamp
    signer = SigV4Auth(Credentials(KEY_ID, SECRET), "kms", "us-east-1")
    canonical = signer.canonical_request(rebuilt).replace(
        "\ncontent-type;host;x-amz-date;x-amz-target\n", f"\n{names}\n"
    ).replace("host:127.0.0.1:4599\n", "host:127.0.0.1:4599\nuser-agent:other-sdk/1.0\n")
    signature = signer.signature(signer.string_to_sign(rebuilt, canonical), rebuilt)
    other_sdk = with_header(
        request, "Authorization", claimed.split("Signature=")[0] + f"Signature={signature}"
    )
    assert check(other_sdk)
    refused("InvalidSignatureException", lambda: check(with_header(other_sdk, "User-Agent", "x")))


def test_a_signed_host_header_that_was_not_sent_is_refused() -> None:
    """Found by the sigv4_headers fuzz target: SignedHeaders names host but no Host arrived
    (HTTP/1.0 allows that); botocore then read a host of None and raised AttributeError, which
    the server answered with a 500. It is an InvalidSignatureException like any missing one."""
    request = signed()
    no_host = replace(request, headers=[(k, v) for k, v in request.headers
                                        if k.lower() != "host"])  # fmt: skip
    refused("InvalidSignatureException", lambda: check(no_host), "signed header 'host'")
    no_host = replace(query_signed(), headers=[(k, v) for k, v in query_signed().headers
                                               if k.lower() != "host"])  # fmt: skip
    refused("InvalidSignatureException", lambda: check(no_host), "signed header 'host'")


def test_a_non_ascii_body_hash_or_signature_is_refused() -> None:
    """Found by the sigv4_headers fuzz target: an X-Amz-Content-SHA256 header (or a signature)
    holding a non-ASCII character reached ``hmac.compare_digest`` as a str, which raises
    TypeError for non-ASCII text (a 500). Both are compared as bytes now: a mismatch like any
    (a signature that is not hex never gets that far)."""
    request = signed()
    bad_hash = with_header(request, "X-Amz-Content-SHA256", "44136fa355b3\xa778a1146ad16f")
    refused("InvalidSignatureException", lambda: check(bad_hash), "x-amz-content-sha256")
    claimed = dict((k.lower(), v) for k, v in request.headers)["authorization"]
    bad_signature = with_header(request, "Authorization", claimed[:-1] + "\xe9")
    refused("IncompleteSignatureException", lambda: check(bad_signature))


@pytest.mark.parametrize("host", ["[127.0.0.1:4599", "127.0.0.1:4599]", "[::1"])
def test_a_host_that_is_no_valid_url_authority_is_refused(host: str) -> None:
    """Found by the sigv4_headers fuzz target: a signed Host header with an unbalanced bracket
    made botocore's URL parsing raise ValueError ("Invalid IPv6 URL"), a 500."""
    bad = with_header(signed(), "Host", host)
    refused("InvalidSignatureException", lambda: check(bad), "Host header")
