"""AWS Signature Version 4 verification, header and query-string forms, with botocore's signer.

The signature is never recomputed by a canonicaliser of our own: the received request is rebuilt as
a botocore ``AWSRequest`` holding exactly the headers the client signed, and botocore's
``SigV4Auth`` computes the canonical request, the string to sign and the signature with the
principal's secret; the two signatures are compared in constant time. What botocore takes on trust
when it signs is checked here first: the body hash in ``X-Amz-Content-SHA256``, the credential
scope, the timestamp against the clock (5 minutes either way, as AWS KMS allows), and that the
headers which choose the operation are signed.

Errors are those AWS answers with: ``MissingAuthenticationTokenException`` (no signature),
``IncompleteSignatureException`` (a malformed one), ``UnrecognizedClientException`` (an unknown
access key) and ``InvalidSignatureException`` (a wrong signature, a stale or future timestamp, a
wrong scope).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from envelope.server.protocol import ProtocolError

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "kms"
MAX_SKEW = dt.timedelta(minutes=5)
MAX_EXPIRES = 604800  # seconds: the longest X-Amz-Expires SigV4 allows (7 days)
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

# Headers that must be signed whenever they are sent: they choose what the request does.
_MUST_SIGN = ("host", "x-amz-target", "content-type", "x-amz-security-token")
_CREDENTIAL = re.compile(r"([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")


@dataclass(frozen=True)
class SignedRequest:
    """An HTTP request as received: what the signature covers."""

    method: str
    path: str
    query: str
    """The raw query string, without ``?``."""
    headers: Sequence[tuple[str, str]]
    """Every header as received, in order (names in any case; repeats kept)."""
    body: bytes = field(repr=False)
    _index: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, str] = {}
        for name, value in self.headers:
            key = name.lower()
            index[key] = f"{index[key]},{value}" if key in index else value
        object.__setattr__(self, "_index", index)

    def header(self, name: str) -> str | None:
        """A header's value (repeated headers joined by commas); ``name`` in lower case."""
        return self._index.get(name)


@dataclass(frozen=True)
class Verified:
    """Who signed a request, and the scope they signed it for."""

    access_key_id: str
    region: str


def _error(code: str, message: str) -> ProtocolError:
    return ProtocolError(code, message)


def _mismatch() -> ProtocolError:
    return _error(
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided. Check "
        "your AWS Secret Access Key and signing method. Consult the service documentation for "
        "details.",
    )


@dataclass(frozen=True)
class _Claim:
    """The signature parameters the client sent, before anything is verified."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    timestamp: str
    expires: int | None
    query: list[tuple[str, str]]
    """The query parameters minus ``X-Amz-Signature`` (what the query form signs)."""


def _parse_authorization(value: str) -> dict[str, str]:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise _error(
            "IncompleteSignatureException", f"Unsupported AWS 'algorithm': '{algorithm[:32]}'"
        )
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, item = part.strip().partition("=")
        if sep:
            fields[name] = item
    missing = [n for n in ("Credential", "SignedHeaders", "Signature") if n not in fields]
    if missing:
        raise _error(
            "IncompleteSignatureException",
            " ".join(f"Authorization header requires '{n}' parameter." for n in missing),
        )
    return fields


def _claim(request: SignedRequest) -> _Claim:
    authorization = request.header("authorization")
    pairs = parse_qsl(request.query, keep_blank_values=True)
    params = dict(pairs)
    if authorization is not None:
        fields = _parse_authorization(authorization)
        credential, signed, signature = (
            fields["Credential"], fields["SignedHeaders"], fields["Signature"],
        )  # fmt: skip
        timestamp = request.header("x-amz-date")
        if timestamp is None:
            raise _error(
                "IncompleteSignatureException",
                "Authorization header requires existence of a 'X-Amz-Date' header.",
            )
        expires = None
        query = pairs
    elif "X-Amz-Signature" in params or "X-Amz-Credential" in params:
        if params.get("X-Amz-Algorithm") != ALGORITHM:
            raise _error("IncompleteSignatureException", "Unsupported or missing X-Amz-Algorithm")
        missing = [
            n
            for n in ("X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Date")
            if n not in params
        ]
        if missing:
            raise _error(
                "IncompleteSignatureException", f"Query-string authentication requires {missing}"
            )
        credential, signed = params["X-Amz-Credential"], params["X-Amz-SignedHeaders"]
        signature, timestamp = params["X-Amz-Signature"], params["X-Amz-Date"]
        try:
            expires = int(params.get("X-Amz-Expires", "0"))
        except ValueError:
            raise _error("IncompleteSignatureException", "X-Amz-Expires is not a number") from None
        if not 1 <= expires <= MAX_EXPIRES:
            raise _error(
                "IncompleteSignatureException", f"X-Amz-Expires must be 1 to {MAX_EXPIRES} seconds"
            )
        query = [(k, v) for k, v in pairs if k != "X-Amz-Signature"]
    else:
        raise _error("MissingAuthenticationTokenException", "Missing Authentication Token")
    match = _CREDENTIAL.fullmatch(credential)
    if match is None:
        raise _error(
            "IncompleteSignatureException",
            "Credential must have the form ACCESS_KEY/YYYYMMDD/REGION/SERVICE/aws4_request",
        )
    if not _SIGNATURE.fullmatch(signature):
        raise _error("IncompleteSignatureException", "Signature must be 64 hexadecimal digits")
    headers = tuple(signed.split(";"))
    if not signed or any(not h or h != h.lower().strip() for h in headers):
        raise _error("IncompleteSignatureException", "SignedHeaders is malformed")
    key, date, region, service = match.groups()
    return _Claim(key, date, region, service, headers, signature, timestamp, expires, query)


def _parse_timestamp(value: str) -> dt.datetime:
    """``YYYYMMDDTHHMMSSZ`` (SIGV4_TIMESTAMP) as an aware datetime; faster than strptime."""
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        raise ValueError(value)
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.timezone.utc)


def _check_time(claim: _Claim, now: dt.datetime) -> None:
    try:
        moment = _parse_timestamp(claim.timestamp)
    except ValueError:
        raise _error(
            "IncompleteSignatureException", "X-Amz-Date must have the form YYYYMMDDTHHMMSSZ"
        ) from None
    if claim.date != claim.timestamp[:8]:
        raise _error(
            "InvalidSignatureException",
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            "from HTTP",
        )
    stamp = now.strftime(SIGV4_TIMESTAMP)
    if claim.expires is not None:  # the query form: valid from its date for X-Amz-Expires
        if now > moment + dt.timedelta(seconds=claim.expires):
            raise _error("InvalidSignatureException", "Signature expired: the request has expired")
        if moment - now > MAX_SKEW:
            raise _error("InvalidSignatureException", "Signature not yet current")
        return
    # The AWS wording, with the 5-minute window AWS KMS applies to signed requests.
    if now - moment > MAX_SKEW:
        earliest = (now - MAX_SKEW).strftime(SIGV4_TIMESTAMP)
        raise _error(
            "InvalidSignatureException",
            f"Signature expired: {claim.timestamp} is now earlier than {earliest} "
            f"({stamp} - 5 min.)",
        )
    if moment - now > MAX_SKEW:
        latest = (now + MAX_SKEW).strftime(SIGV4_TIMESTAMP)
        raise _error(
            "InvalidSignatureException",
            f"Signature not yet current: {claim.timestamp} is still later than {latest} "
            f"({stamp} + 5 min.)",
        )


def _rebuild(request: SignedRequest, claim: _Claim) -> AWSRequest:
    """The received request as botocore's ``AWSRequest``, with only the signed headers."""
    host = request.header("host") or ""
    rebuilt = AWSRequest(method=request.method, url=f"http://{host}{request.path}",
                         data=request.body)  # fmt: skip
    signed = set(claim.signed_headers)
    for name, value in request.headers:
        if name.lower() in signed:
            rebuilt.headers[name.lower()] = value  # HTTPHeaders keeps repeated names
    # Decoded pairs: botocore re-encodes them strictly (RFC 3986), as the canonical form wants.
    rebuilt.params = claim.query  # type: ignore[assignment]  # botocore takes pairs too
    rebuilt.context["timestamp"] = claim.timestamp
    return rebuilt


class _SignedHeadersOnly(SigV4Auth):
    """botocore's SigV4 signer over exactly the headers the client listed as signed.

    botocore leaves a few headers out when it signs (``user-agent``, ``expect``, ...); another SDK
    may sign them, and then they must count here.
    """

    def __init__(
        self, credentials: ReadOnlyCredentials, region: str, signed: tuple[str, ...], body: bytes
    ) -> None:
        super().__init__(credentials, SERVICE, region)
        self._signed = signed
        self._body_hash = hashlib.sha256(body).hexdigest()

    def payload(self, request: AWSRequest) -> str:
        # What botocore's payload() computes (the body's SHA-256), without re-preparing the
        # request to get at the body.
        return self._body_hash

    def headers_to_sign(self, request: AWSRequest) -> object:  # type: ignore[override]
        headers = super().headers_to_sign(request)
        for name in self._signed:
            if name not in headers and name in request.headers:
                for value in request.headers.get_all(name) or ():
                    headers[name] = value
        return headers


def _same(a: str, b: str) -> bool:
    # compare_digest takes str only when both are ASCII; a header may hold any Latin-1 text.
    return hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )


def verify(
    request: SignedRequest,
    secret_for: Callable[[str], str | None],
    *,
    region: str,
    now: dt.datetime | None = None,
) -> Verified:
    """Check a request's SigV4 signature.

    Args:
        request: the request as received.
        secret_for: the secret access key of an access key id, or None if it is unknown.
        region: the region this service answers for; requests must be scoped to it.
        now: the current time (a test seam).

    Returns:
        The access key id and region the request was signed with.

    Raises:
        ProtocolError: the AWS error for what is wrong with the signature.
    """
    claim = _claim(request)
    now = now or dt.datetime.now(dt.timezone.utc)
    secret = secret_for(claim.access_key_id)
    if secret is None:
        raise _error(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    if request.header("x-amz-security-token") is not None:
        # Principals here hold long-term keys; a session token belongs to other credentials.
        raise _error(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    _check_time(claim, now)
    if claim.service != SERVICE:
        raise _error(
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{SERVICE}'.",
        )
    if claim.region != region:
        raise _error(
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region, not '{claim.region[:32]}'. "
            f"This server answers for '{region}'.",
        )
    signed = set(claim.signed_headers)
    if claim.expires is None:
        signed_date = "x-amz-date" in signed
        if not signed_date:
            raise _error("InvalidSignatureException", "X-Amz-Date must be a signed header")
    for name in _MUST_SIGN:
        if request.header(name) is not None and name not in signed:
            raise _error("InvalidSignatureException", f"the '{name}' header must be signed")
    declared = request.header("x-amz-content-sha256")
    if declared is not None and not _same(
        declared.strip().lower(), hashlib.sha256(request.body).hexdigest()
    ):
        # botocore signs whatever this header says; the body must be what it says.
        raise _error(
            "InvalidSignatureException",
            "The provided 'x-amz-content-sha256' header does not match the request body",
        )
    for name in claim.signed_headers:
        if request.header(name) is None:  # Host too: the rebuilt request needs its value
            raise _error("InvalidSignatureException", f"signed header '{name}' is missing")
    signer = _SignedHeadersOnly(
        ReadOnlyCredentials(claim.access_key_id, secret, None),
        claim.region,
        claim.signed_headers,
        request.body,
    )
    try:
        rebuilt = _rebuild(request, claim)
        canonical = signer.canonical_request(rebuilt)
        expected = signer.signature(signer.string_to_sign(rebuilt, canonical), rebuilt)
    except ValueError:
        # botocore parses the URL that Host and the path make; "[" without "]" is an invalid
        # IPv6 literal to it (found by the sigv4_headers fuzz target). No client signs that.
        raise _error(
            "InvalidSignatureException", "the Host header is not a valid host and port"
        ) from None
    if not _same(expected, claim.signature):
        raise _mismatch()
    return Verified(claim.access_key_id, claim.region)
