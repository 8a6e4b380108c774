"""Requests to and responses from boto3's KMS client, in the shapes of the KeyService contract.

Pure conversions (no boto3 import): request arguments to boto3's parameters, response
dictionaries to the frozen result types of ``keys.base``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from envelope.errors import KeyServiceError, ValidationException
from envelope.keys.base import (
    DISABLED,
    ENCRYPT_DECRYPT,
    SYMMETRIC_DEFAULT,
    EncryptionContext,
    KeyMetadata,
)


def utc(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)
    return None


def required_utc(value: Any) -> dt.datetime:
    moment = utc(value)
    if moment is None:
        raise KeyServiceError(
            "the key service returned a response without a date", code="KMSInternalException"
        )
    return moment


def tokens(tokens: Sequence[str] | None) -> list[str] | None:
    return None if tokens is None else list(tokens)


def context(context: EncryptionContext | None) -> dict[str, str] | None:
    return None if context is None else dict(context)


def tag_list(tags: Sequence[Mapping[str, str]] | None) -> list[dict[str, str]] | None:
    return None if tags is None else [dict(tag) for tag in tags]


def metadata(raw: Mapping[str, Any]) -> KeyMetadata:
    state = str(raw.get("KeyState", DISABLED))
    window = raw.get("PendingDeletionWindowInDays")
    return KeyMetadata(
        key_id=str(raw["KeyId"]),
        arn=str(raw.get("Arn", "")),
        aws_account_id=str(raw.get("AWSAccountId", "")),
        creation_date=required_utc(raw.get("CreationDate")),
        enabled=bool(raw.get("Enabled", False)),
        key_state=state,
        description=str(raw.get("Description", "")),
        key_usage=str(raw.get("KeyUsage", ENCRYPT_DECRYPT)),
        key_spec=str(raw.get("KeySpec") or raw.get("CustomerMasterKeySpec") or SYMMETRIC_DEFAULT),
        key_manager=str(raw.get("KeyManager", "CUSTOMER")),
        origin=str(raw.get("Origin", "AWS_KMS")),
        encryption_algorithms=tuple(raw.get("EncryptionAlgorithms") or ()),
        deletion_date=utc(raw.get("DeletionDate")),
        pending_deletion_window_in_days=int(window) if window is not None else None,
        multi_region=bool(raw.get("MultiRegion", False)),
        signing_algorithms=tuple(raw.get("SigningAlgorithms") or ()),
        mac_algorithms=tuple(raw.get("MacAlgorithms") or ()),
        valid_to=utc(raw.get("ValidTo")),
        expiration_model=raw.get("ExpirationModel"),
    )


def blob(member: str, value: bytes) -> bytes:
    """A blob member must be bytes on every backend (botocore would encode a str silently).

    Raises:
        ValidationException: it is not bytes-like.
    """
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise ValidationException(
            f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
            f"Member must be bytes, not {type(value).__name__}"
        )
    return bytes(value)
