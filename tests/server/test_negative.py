"""Hostile and broken requests to a running ``envelope serve``: each gets an AWS-shaped error.

Every case checks the HTTP status, the ``__type`` botocore reads as the error code, and that the
server still answers a good request afterwards.
"""

from __future__ import annotations

import base64
import datetime as dt
import socket
from typing import Any

import botocore.exceptions
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.serve_server import EnvelopeServer
from tests.server.conftest import Raw


def still_serving(raw: Raw) -> None:
    status, answer = raw.call("TrentService.ListKeys", {})
    assert status == 200 and "Keys" in answer


def aws_error(answer: Any, code: str) -> None:
    assert isinstance(answer, dict) and answer["__type"] == code, answer
    assert isinstance(answer.get("message"), str)


def test_unsigned(raw: Raw) -> None:
    status, _, answer = raw.send("POST", "/", b"{}", {"X-Amz-Target": "TrentService.ListKeys"})
    assert status == 403
    aws_error(answer, "MissingAuthenticationTokenException")
    still_serving(raw)


def test_badly_signed(raw: Raw) -> None:
    status, answer = raw.call("TrentService.ListKeys", {}, secret="w" * 40)
    assert status == 400
    aws_error(answer, "InvalidSignatureException")
    still_serving(raw)


def test_body_swapped_after_signing(raw: Raw) -> None:
    body = b'{"Limit": 1}'
    headers = raw.signed_headers("TrentService.ListKeys", body)
    status, _, answer = raw.send("POST", "/", b'{"Limit": 2}', headers)
    assert status == 400
    aws_error(answer, "InvalidSignatureException")


def test_unknown_access_key(raw: Raw) -> None:
    status, answer = raw.call("TrentService.ListKeys", {}, access_key_id="AKIAQQQQQQQQQQQQQQQQ")
    assert status == 400
    aws_error(answer, "UnrecognizedClientException")
    still_serving(raw)


def test_stale_request(raw: Raw) -> None:
    body = b"{}"
    request = AWSRequest(method="POST", url=f"{raw.server.url}/", data=body,
                         headers={"X-Amz-Target": "TrentService.ListKeys",
                                  "Content-Type": "application/x-amz-json-1.1"})  # fmt: skip
    signer = SigV4Auth(Credentials(raw.server.access_key_id, raw.server.secret_access_key),
                       "kms", "us-east-1")  # fmt: skip
    # botocore's signer with its clock set 6 minutes back (the window is 5).
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=6)
    request.context["timestamp"] = past.strftime("%Y%m%dT%H%M%SZ")
    signer._modify_request_before_signing(request)
    canonical = signer.canonical_request(request)
    signer._inject_signature_to_request(
        request, signer.signature(signer.string_to_sign(request, canonical), request)
    )
    status, _, answer = raw.send("POST", "/", body, dict(request.headers.items()))
    assert status == 400
    aws_error(answer, "InvalidSignatureException")
    assert answer["message"].startswith("Signature expired: ")
    still_serving(raw)


def test_boto3_sees_the_same_codes(serve_env: EnvelopeServer) -> None:
    wrong = serve_env.client(aws_secret_access_key="z" * 40)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        wrong.list_keys()
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    stranger = serve_env.client(aws_access_key_id="AKIAQQQQQQQQQQQQQQQQ")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        stranger.list_keys()
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"
    other_region = serve_env.client(region_name="eu-west-1")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        other_region.list_keys()
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    kms = serve_env.client()
    with pytest.raises(kms.exceptions.NotFoundException) as found:
        kms.describe_key(KeyId="alias/none")
    assert found.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "SerializationException"),
        (b"[]", "SerializationException"),
        (b'"text"', "SerializationException"),
        (b"\xff\xfe", "SerializationException"),
        (b"[" * 100_000, "SerializationException"),
    ],
    ids=["garbage", "array", "string", "bytes", "deep"],
)
def test_malformed_json(raw: Raw, body: bytes, code: str) -> None:
    status, answer = raw.call("TrentService.ListKeys", body)
    assert status == 400
    aws_error(answer, code)
    still_serving(raw)


@pytest.mark.parametrize(
    ("target", "code"),
    [
        (None, "UnknownOperationException"),
        ("TrentService.NoSuchThing", "UnknownOperationException"),
        ("DynamoDB_20120810.ListTables", "UnknownOperationException"),
        ("TrentService.ReplicateKey", "UnsupportedOperationException"),
    ],
)
def test_unknown_targets(raw: Raw, target: str | None, code: str) -> None:
    status, answer = raw.call(target, {})
    assert status == 400
    aws_error(answer, code)
    still_serving(raw)


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ({"KeyId": 12, "KeySpec": "AES_256"}, "SerializationException"),
        ({"KeyId": "k", "NumberOfBytes": "32"}, "SerializationException"),
        ({"KeyId": "k", "NumberOfBytes": 32.5}, "SerializationException"),
        ({"KeyId": "k", "NumberOfBytes": True}, "SerializationException"),
        ({"KeyId": "k", "KeySpec": "AES_256", "EncryptionContext": ["a"]},
         "SerializationException"),
        ({"KeyId": "k", "KeySpec": "AES_256", "EncryptionContext": {"a": 1}},
         "SerializationException"),
        ({"KeySpec": "AES_256"}, "ValidationException"),
    ],
    ids=["key-number", "bytes-string", "bytes-float", "bytes-bool", "context-list",
         "context-value", "missing-key"],
)  # fmt: skip
def test_wrong_types(raw: Raw, document: dict[str, Any], code: str) -> None:
    status, answer = raw.call("TrentService.GenerateDataKey", document)
    assert status == 400
    aws_error(answer, code)
    if code == "ValidationException":
        assert "Value null at 'keyId'" in answer["message"]
    still_serving(raw)


@pytest.mark.parametrize(
    ("target", "body"),
    [
        ("TrentService.CreateKey", b'{"Description": "\\ud800"}'),
        ("TrentService.ListAliases", b'{"Marker": "a\\udfffb"}'),
        ("TrentService.ListKeys", '{"Limit": 1}'.encode("utf-16")),
        ("TrentService.ListKeys", b"\xef\xbb\xbf{}"),
        ("TrentService.ListKeys", b'{"Limit": NaN}'),
        ("TrentService.ListKeys", b'{"Limit": -Infinity}'),
        ("TrentService.ListKeys", b'{"Marker": "\xc3"}'),
    ],
    ids=["lone-surrogate", "lone-low-surrogate", "utf-16", "utf-8-bom", "nan", "infinity",
         "truncated-utf-8"],
)  # fmt: skip
def test_text_that_is_not_json_text(raw: Raw, target: str, body: bytes) -> None:
    """RFC 8259: JSON text exchanged between systems is UTF-8, without a byte order mark, with
    no NaN or Infinity; a string escape must be a Unicode scalar value. Before, a lone surrogate
    reached the keystore and came back as a 500 KMSInternalException, which botocore retries
    (the same bad request four times), and UTF-16 or NaN were taken as JSON."""
    status, answer = raw.call(target, body)
    assert status == 400
    aws_error(answer, "SerializationException")
    still_serving(raw)


def test_bad_base64_blob(raw: Raw) -> None:
    status, answer = raw.call("TrentService.Decrypt", {"CiphertextBlob": "not*base64!"})
    assert status == 400
    aws_error(answer, "SerializationException")


def test_unsupported_parameter_is_refused_not_ignored(raw: Raw) -> None:
    status, answer = raw.call("TrentService.CreateKey", {"MultiRegion": True})
    assert status == 400
    aws_error(answer, "UnsupportedOperationException")
    assert "MultiRegion" in answer["message"]
    status, answer = raw.call("TrentService.ListKeys", {})
    assert answer["Keys"] == []  # no key was created


def test_oversized_body_is_refused_before_it_is_read(raw: Raw) -> None:
    limit = 256 * 1024
    body = b'{"Description": "' + b"x" * limit + b'"}'
    status, _headers, answer = raw.send(
        "POST", "/", body, raw.signed_headers("TrentService.CreateKey", body)
    )
    assert status == 413
    aws_error(answer, "RequestEntityTooLargeException")
    still_serving(raw)


def test_oversized_announced_body_gets_an_answer_without_sending_it(raw: Raw) -> None:
    """A Content-Length of 1 GiB is refused at once; the server never waits for the bytes."""
    host, port = raw.netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: " + raw.netloc.encode() +
                     b"\r\nContent-Length: 1073741824\r\n\r\n{")  # fmt: skip
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"RequestEntityTooLargeException" in answer
    still_serving(raw)


def test_oversized_chunked_body(raw: Raw) -> None:
    host, port = raw.netloc.split(":")
    chunk = b"x" * 65536
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: " + raw.netloc.encode() +
                     b"\r\nTransfer-Encoding: chunked\r\n\r\n")  # fmt: skip
        try:
            for _ in range(8):  # 512 KiB, twice the limit
                sock.sendall(b"10000\r\n" + chunk + b"\r\n")
        except OSError:
            pass  # the server may close the connection once it has answered
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
    still_serving(raw)


@pytest.mark.parametrize(("method", "path"), [("GET", "/"), ("POST", "/other"),
                                              ("DELETE", "/")])  # fmt: skip
def test_other_routes(raw: Raw, method: str, path: str) -> None:
    status, _, answer = raw.send(method, path, b"", {})
    assert status in (400, 403, 404, 405)
    aws_error(answer, answer["__type"])
    still_serving(raw)


def test_health_needs_no_signature(raw: Raw) -> None:
    status, _, answer = raw.send("GET", "/health")
    assert (status, answer) == (200, {"status": "ok"})


def test_kms_errors_keep_their_status(raw: Raw) -> None:
    status, created = raw.call("TrentService.CreateKey", {})
    key_id = created["KeyMetadata"]["KeyId"]
    assert raw.call("TrentService.DisableKey", {"KeyId": key_id}) == (200, None)
    status, answer = raw.call("TrentService.Encrypt", {"KeyId": key_id, "Plaintext": "aGk="})
    assert status == 409
    aws_error(answer, "DisabledException")
    status, answer = raw.call("TrentService.Decrypt",
                              {"CiphertextBlob": base64.b64encode(b"x" * 60).decode()})
    assert status == 400
    aws_error(answer, "InvalidCiphertextException")
    status, answer = raw.call("TrentService.CreateAlias",
                              {"AliasName": "alias/aws/x", "TargetKeyId": key_id})
    aws_error(answer, "InvalidAliasNameException")


def test_dry_run_checks_everything_and_does_nothing(raw: Raw) -> None:
    _, created = raw.call("TrentService.CreateKey", {})
    key_id = created["KeyMetadata"]["KeyId"]
    _, grant = raw.call("TrentService.CreateGrant",
                        {"KeyId": key_id, "GranteePrincipal": raw.server.arn,
                         "Operations": ["GenerateDataKey"]})  # fmt: skip
    status, answer = raw.call("TrentService.GenerateDataKey",
                              {"KeyId": key_id, "KeySpec": "AES_256", "DryRun": True,
                               "GrantTokens": [grant["GrantToken"]]})  # fmt: skip
    assert status == 412
    aws_error(answer, "DryRunOperationException")
    status, answer = raw.call("TrentService.GenerateDataKey",
                              {"KeyId": key_id, "KeySpec": "AES_256", "DryRun": True,
                               "GrantTokens": ["t"]})  # fmt: skip
    aws_error(answer, "InvalidGrantTokenException")  # a token must name a grant
    status, answer = raw.call("TrentService.GenerateDataKey",
                              {"KeyId": key_id, "KeySpec": "AES_999", "DryRun": True})
    aws_error(answer, "ValidationException")  # a dry run still checks every argument
    status, answer = raw.call("TrentService.DisableKey", {"KeyId": key_id})
    assert status == 200
    status, answer = raw.call("TrentService.Encrypt",
                              {"KeyId": key_id, "Plaintext": "aGk=", "DryRun": True})
    aws_error(answer, "DisabledException")  # and the key's state
