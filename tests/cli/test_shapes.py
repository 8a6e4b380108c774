"""``envelope.keys.shapes``: result dataclasses in the shape of AWS KMS responses."""

from __future__ import annotations

import datetime as dt

from envelope.keys.base import (
    AliasListEntry,
    DecryptResult,
    KeyMetadata,
    KeyMetadataResult,
    ListAliasesResult,
)
from envelope.keys.shapes import kms_name, to_kms_shape

WHEN = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


def _meta(**changes: object) -> KeyMetadata:
    fields: dict[str, object] = {
        "key_id": "k1",
        "arn": "arn:aws:kms:us-east-1:123456789012:key/k1",
        "aws_account_id": "123456789012",
        "creation_date": WHEN,
        "enabled": True,
        "key_state": "Enabled",
    }
    fields.update(changes)
    return KeyMetadata(**fields)  # type: ignore[arg-type]


def test_names() -> None:
    assert kms_name("key_metadata") == "KeyMetadata"
    assert kms_name("aws_account_id") == "AWSAccountId"
    assert kms_name("pending_deletion_window_in_days") == "PendingDeletionWindowInDays"


def test_key_metadata_shape() -> None:
    shaped = to_kms_shape(KeyMetadataResult(_meta(description="d")))
    meta = shaped["KeyMetadata"]
    assert meta["KeyId"] == "k1"
    assert meta["AWSAccountId"] == "123456789012"
    assert meta["CreationDate"] is WHEN  # datetimes stay datetimes; the renderer decides
    assert meta["KeySpec"] == meta["CustomerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    assert meta["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert meta["Description"] == "d"
    assert "DeletionDate" not in meta  # None is left out, as KMS leaves absent members out
    assert "PendingDeletionWindowInDays" not in meta


def test_deletion_fields_appear_when_set() -> None:
    meta = to_kms_shape(_meta(key_state="PendingDeletion", enabled=False, deletion_date=WHEN,
                              pending_deletion_window_in_days=7))
    assert meta["DeletionDate"] is WHEN
    assert meta["PendingDeletionWindowInDays"] == 7
    assert meta["Enabled"] is False


def test_lists_nest() -> None:
    result = ListAliasesResult((AliasListEntry("alias/a", "arn:alias/a", "k1"),))
    assert to_kms_shape(result) == {
        "Aliases": [{"AliasName": "alias/a", "AliasArn": "arn:alias/a", "TargetKeyId": "k1"}],
        "Truncated": False,
    }


def test_plaintext_is_never_shaped() -> None:
    shaped = to_kms_shape(DecryptResult(plaintext=b"secret", key_id="k1"))
    assert "Plaintext" not in shaped
    assert b"secret" not in repr(shaped).encode()
    assert shaped["KeyId"] == "k1"
