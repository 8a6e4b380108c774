"""SigV4 verification (``envelope/server/sigv4.py``): the Authorization header, X-Amz-* headers,
the query-string form, and the body hash.

Input: a request as text: ``METHOD PATH[?QUERY]``, header lines ``Name: value``, an empty line,
the body; verified with a fixed clock against one known principal. Properties: ``verify``
accepts (naming that principal and the region) or raises ``ProtocolError`` with an AWS error
code the server answers with; never another exception.
"""

from __future__ import annotations

from envelope.server.protocol import STATUS, ProtocolError
from envelope.server.sigv4 import SignedRequest, verify
from tests.fuzz import signing
from tests.fuzz.harness import Target, expect

REGION = "us-east-1"


def secret_for(access_key_id: str) -> str | None:
    return signing.SECRET if access_key_id == signing.ACCESS_KEY_ID else None


def parse_request(data: bytes) -> SignedRequest:
    head, _, body = data.partition(b"\n\n")
    lines = head.decode("latin-1").split("\n")
    method, _, target = lines[0].partition(" ")
    path, _, query = target.partition("?")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(": ")
        if sep:
            headers.append((name, value))
    return SignedRequest(method, path or "/", query, headers, body)


def render_request(query: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    """The inverse of :func:`parse_request` (for writing seeds)."""
    lines = [f"POST /{'?' + query if query else ''}", *(f"{k}: {v}" for k, v in headers)]
    return "\n".join(lines).encode("latin-1") + b"\n\n" + body


def run(data: bytes) -> None:
    request = parse_request(data)
    try:
        verified = verify(request, secret_for, region=REGION, now=signing.FIXED_NOW)
    except ProtocolError as e:
        expect(e.code in STATUS, f"verify answered with an unknown code {e.code!r}")
        raise
    expect(verified.access_key_id == signing.ACCESS_KEY_ID, "verified another principal")
    expect(verified.region == REGION, "verified another region")


TARGET = Target(
    name="sigv4_headers",
    doc=__doc__ or "",
    run=run,
    allowed=(ProtocolError,),
)
