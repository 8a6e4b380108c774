"""The AWS KMS JSON 1.1 wire protocol over any KeyService: requests in, responses and errors out.

A request is ``POST /`` with ``X-Amz-Target: TrentService.<Operation>`` and a JSON body of the
operation's input shape (PascalCase members, blobs in base64). The shapes come from botocore's own
KMS service model, so member names, types and required members are exactly those every AWS SDK
sends; each member becomes the snake_case keyword argument of the KeyService method (boto3's
names). Responses use the output shapes (blobs in base64, dates in epoch seconds) and failures
the ``{"__type": ..., "message": ...}`` body with the HTTP status of the KMS Smithy model, so
botocore's parser raises the same ``ClientError`` codes as against AWS KMS.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any

from botocore import xform_name
from botocore.loaders import create_loader
from botocore.model import ServiceModel, Shape, StructureShape

from envelope.errors import (
    KeyServiceError,
    UnsupportedOperationException,
    ValidationException,
)
from envelope.keys.base import KeyService
from envelope.keys.shapes import to_kms_shape

TARGET_PREFIX = "TrentService."
CONTENT_TYPE = "application/x-amz-json-1.1"

# HTTP status per error code. KMS errors: the ``smithy.api#httpError`` trait of each error shape in
# the KMS Smithy model (botocore's JSON model keeps only client/server fault). The rest are the AWS
# JSON protocol's own errors (the AWS "Common Errors" reference).
STATUS: dict[str, int] = {
    "AlreadyExistsException": 409,
    "ConflictException": 409,
    "DependencyTimeoutException": 503,
    "DisabledException": 409,
    "DryRunOperationException": 412,
    "ExpiredImportTokenException": 400,
    "IncorrectKeyMaterialException": 400,
    "IncorrectKeyException": 400,
    "InvalidAliasNameException": 400,
    "InvalidArnException": 400,
    "InvalidCiphertextException": 400,
    "InvalidGrantIdException": 400,
    "InvalidGrantTokenException": 400,
    "InvalidImportTokenException": 400,
    "InvalidKeyUsageException": 400,
    "InvalidMarkerException": 400,
    "KMSInternalException": 500,
    "KMSInvalidMacException": 400,
    "KMSInvalidSignatureException": 400,
    "KMSInvalidStateException": 409,
    "KeyUnavailableException": 500,
    "LimitExceededException": 400,
    "MalformedPolicyDocumentException": 400,
    "NotFoundException": 404,
    "TagException": 400,
    "UnsupportedOperationException": 400,
    # The protocol and authentication layer.
    "AccessDeniedException": 400,
    "IncompleteSignatureException": 400,
    "InvalidSignatureException": 400,
    "MissingAuthenticationTokenException": 403,
    "RequestEntityTooLargeException": 413,
    "RequestTimeoutException": 408,
    "SerializationException": 400,
    "UnknownOperationException": 400,
    "UnrecognizedClientException": 400,
    "ValidationException": 400,
}

# Members a KeyService method may lack, and what a request that uses them gets then.
_IGNORED_WHEN_UNSUPPORTED = frozenset({"GrantTokens"})
"""A backend method without ``grant_tokens`` has no grants to use them on."""
_NEUTRAL: dict[str, object] = {"Origin": "AWS_KMS", "KeyManager": "CUSTOMER"}
"""Values equal to what the service does anyway (besides false, empty and null)."""
_ALIASES = {"CustomerMasterKeySpec": "key_spec"}
"""Deprecated members that name another member's argument (CreateKey's old KeySpec)."""


class ProtocolError(KeyServiceError):
    """A request the protocol layer refuses; ``code`` is the AWS error name it answers with."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


def serialization_error(message: str) -> ProtocolError:
    return ProtocolError("SerializationException", message)


@dataclasses.dataclass(frozen=True)
class Operation:
    """One KMS operation served: its input shape and the KeyService method it calls."""

    name: str
    method: str
    input: StructureShape | None
    accepts: frozenset[str]
    """The keyword arguments the method takes."""
    needs: tuple[tuple[str, str], ...] = ()
    """The keyword arguments the method cannot do without, each with its member's name: the
    model leaves some optional that a KeyService requires (GenerateRandom's NumberOfBytes)."""


def _camel(member: str) -> str:
    return member[:1].lower() + member[1:]


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array",
            dict: "object"}.get(type(value), type(value).__name__)  # fmt: skip


def _convert(shape: Shape, value: object, path: str) -> object:
    """A JSON value checked against its model shape and turned into the Python argument.

    Raises:
        ProtocolError: SerializationException for a value of the wrong JSON type or bad base64.
    """
    kind = shape.type_name
    if kind == "string":
        if isinstance(value, str):
            return _scalar_values(value, path)
    elif kind == "blob":
        if isinstance(value, str):
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise serialization_error(f"{path} is not valid base64") from None
    elif kind in ("integer", "long"):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind == "boolean":
        if isinstance(value, bool):
            return value
    elif kind in ("float", "double"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
    elif kind == "timestamp":
        # AWS JSON protocols send epoch seconds (botocore); ISO 8601 is accepted too.
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return dt.datetime.fromtimestamp(value, dt.timezone.utc)
            except (OverflowError, OSError, ValueError):
                raise serialization_error(f"{path} is not a valid timestamp") from None
        if isinstance(value, str):
            try:
                moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise serialization_error(f"{path} is not a valid timestamp") from None
            return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    elif kind == "list":
        if isinstance(value, list):
            member = shape.member  # type: ignore[attr-defined]
            return [_convert(member, item, f"{path}[{i}]") for i, item in enumerate(value)]
    elif kind == "map":
        if isinstance(value, dict):
            key_shape, value_shape = shape.key, shape.value  # type: ignore[attr-defined]
            return {
                _convert(key_shape, k, f"{path} key"): _convert(value_shape, v, f"{path}.{k}")
                for k, v in value.items()
            }
    elif kind == "structure":
        if isinstance(value, dict):
            members: Mapping[str, Shape] = shape.members  # type: ignore[attr-defined]
            return {
                name: _convert(members[name], item, f"{path}.{name}")
                for name, item in value.items()
                if name in members and item is not None
            }
    else:  # pragma: no cover - every KMS input shape is one of the kinds above
        raise serialization_error(f"{path} has an unsupported type {kind}")
    raise serialization_error(f"{path} must be a {kind}, not a JSON {_kind(value)}")


def _not_json(constant: str) -> object:
    raise ValueError(f"{constant} is not JSON")


def _scalar_values(value: str, path: str) -> str:
    """``value`` if it is Unicode text; a lone surrogate escape (``"\\ud800"``) is valid JSON
    syntax but no character (RFC 8259 §8.2), and would fail deep in the service with a 500.

    Raises:
        ProtocolError: SerializationException naming the member.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise serialization_error(f"{path} holds a lone surrogate, not Unicode text") from None
    return value


def _neutral(member: str, value: object) -> bool:
    return value in (None, False, "", [], {}) or _NEUTRAL.get(member, object()) == value


class Protocol:
    """The KMS operations that ``service`` implements, decoded and encoded as AWS KMS does.

    Args:
        service: the key service requests run on.
        model: botocore's KMS service model (loaded from botocore's data when omitted).
    """

    def __init__(self, service: KeyService, *, model: ServiceModel | None = None) -> None:
        if model is None:
            model = ServiceModel(create_loader().load_service_model("kms", "service-2"), "kms")
        self.service = service
        self.operations: dict[str, Operation] = {}
        for name in model.operation_names:
            method = xform_name(name)
            # Only the KeyService contract is served, never a backend's other methods.
            if not hasattr(KeyService, method):
                continue
            bound = getattr(service, method, None)
            if bound is None:
                continue
            parameters = inspect.signature(bound).parameters
            shape = model.operation_model(name).input_shape
            members = {xform_name(m): m for m in (shape.members if shape is not None else ())}
            needs = tuple(
                (p.name, members.get(p.name, p.name))
                for p in parameters.values()
                if p.default is inspect.Parameter.empty and p.kind is p.KEYWORD_ONLY
            )
            self.operations[name] = Operation(name, method, shape, frozenset(parameters), needs)
        self.known = frozenset(model.operation_names)

    def operation(self, target: str | None) -> Operation:
        """The operation an ``X-Amz-Target`` names.

        Raises:
            ProtocolError: UnknownOperationException for anything but ``TrentService.<KMS op>``;
                UnsupportedOperationException for a KMS operation this server does not serve.
        """
        if not target or not target.startswith(TARGET_PREFIX):
            raise ProtocolError("UnknownOperationException", "no TrentService operation named")
        name = target[len(TARGET_PREFIX) :]
        found = self.operations.get(name)
        if found is not None:
            return found
        if name in self.known:
            raise UnsupportedOperationException(f"envelope serve does not support {name}")
        raise ProtocolError("UnknownOperationException", f"unknown operation {name[:64]!r}")

    def arguments(self, operation: Operation, body: bytes) -> dict[str, Any]:
        """The keyword arguments of a request body, checked against the operation's input shape.

        Raises:
            ProtocolError: SerializationException for malformed JSON or a member of the wrong type.
            ValidationException: a required member is missing.
            UnsupportedOperationException: a member this server cannot honour is set.
        """
        try:
            # RFC 8259 §8.1: UTF-8 without a byte order mark (json.loads of bytes would also take
            # UTF-16 and UTF-32, and of text a BOM); NaN and Infinity are not JSON (§6).
            text = body.decode("utf-8")
            document = json.loads(text, parse_constant=_not_json) if text.strip() else {}
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            raise serialization_error("the request body is not valid JSON") from None
        if not isinstance(document, dict):
            raise serialization_error(
                f"the request body must be a JSON object, not {_kind(document)}"
            )
        shape = operation.input
        if shape is None:
            return {}
        arguments: dict[str, Any] = {}
        for member, member_shape in shape.members.items():
            value = document.get(member)
            if value is None:
                if member in shape.required_members:
                    raise ValidationException(
                        f"1 validation error detected: Value null at '{_camel(member)}' failed "
                        "to satisfy constraint: Member must not be null"
                    )
                continue
            converted = _convert(member_shape, value, member)
            name = xform_name(member)
            if name in operation.accepts:
                arguments[name] = converted
            elif member in _ALIASES and _ALIASES[member] in operation.accepts:
                alias = _ALIASES[member]
                if arguments.get(alias, converted) != converted:
                    raise ValidationException(f"{member} and its replacement disagree")
                arguments.setdefault(alias, converted)
            elif member in _IGNORED_WHEN_UNSUPPORTED or _neutral(member, converted):
                continue
            else:
                raise UnsupportedOperationException(
                    f"envelope serve does not support the {member} parameter of {operation.name}"
                )
        for name, member in operation.needs:
            if name not in arguments:
                raise ValidationException(
                    f"1 validation error detected: Value null at '{_camel(member)}' failed to "
                    "satisfy constraint: Member must not be null"
                )
        return arguments

    def call(
        self, operation: Operation, arguments: dict[str, Any], *, service: KeyService | None = None
    ) -> object:
        """Run the operation on ``service`` (default: the protocol's own service)."""
        method: Callable[..., object] = getattr(service or self.service, operation.method)
        return method(**arguments)


def _json_default(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.timestamp()  # epoch seconds, as KMS sends dates
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot encode {type(value).__name__}")


def encode_result(result: object) -> bytes:
    """A KeyService result as the JSON body of the KMS response (empty for ``None``)."""
    if result is None:
        return b""
    shaped = to_kms_shape(result)
    # to_kms_shape leaves plaintext out on purpose; on the wire it is the response itself.
    for field, member in (("plaintext", "Plaintext"), ("private_key_plaintext",
                                                        "PrivateKeyPlaintext")):
        plaintext = getattr(result, field, None)
        if isinstance(plaintext, bytes):
            shaped[member] = plaintext
    return json.dumps(shaped, default=_json_default, separators=(",", ":")).encode()


def encode_error(error: KeyServiceError) -> tuple[int, bytes]:
    """The HTTP status and ``{"__type", "message"}`` body for a refused request."""
    code = error.code if error.code in STATUS else "KMSInternalException"
    message = error.message if code == error.code else "internal error"
    body = json.dumps({"__type": code, "message": message}, separators=(",", ":"))
    return STATUS[code], body.encode()


def internal_error() -> tuple[int, bytes]:
    """The answer to a failure that is not the caller's: nothing about it leaves the server."""
    return encode_error(KeyServiceError("internal error", code="KMSInternalException"))
