"""Contract: creating, describing, listing, enabling, disabling and deleting keys."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from envelope.errors import (
    DisabledException,
    KMSInvalidStateException,
    NotFoundException,
    ValidationException,
)
from envelope.keys.base import KeyService

ARN = re.compile(r"^arn:aws:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$")
MISSING = "11111111-2222-3333-4444-555555555555"


def test_create_key_defaults(kms: KeyService) -> None:
    meta = kms.create_key(description="first").key_metadata
    assert ARN.match(meta.arn)
    assert meta.arn.endswith("key/" + meta.key_id)
    assert meta.key_state == "Enabled"
    assert meta.enabled is True
    assert meta.key_spec == "SYMMETRIC_DEFAULT"
    assert meta.key_usage == "ENCRYPT_DECRYPT"
    assert meta.encryption_algorithms == ("SYMMETRIC_DEFAULT",)
    assert meta.description == "first"
    assert meta.creation_date.tzinfo is not None


def test_description_limit(kms: KeyService) -> None:
    assert kms.create_key(description="d" * 8192).key_metadata.description == "d" * 8192
    with pytest.raises(ValidationException, match="8192"):
        kms.create_key(description="d" * 8193)


def test_describe_by_id_arn_alias_and_alias_arn(kms: KeyService) -> None:
    meta = kms.create_key().key_metadata
    kms.create_alias(alias_name="alias/describe-me", target_key_id=meta.key_id)
    alias_arn = meta.arn.split(":key/")[0] + ":alias/describe-me"
    for name in (meta.key_id, meta.arn, "alias/describe-me", alias_arn):
        assert kms.describe_key(key_id=name).key_metadata.key_id == meta.key_id


def test_unknown_key_is_not_found(kms: KeyService) -> None:
    with pytest.raises(NotFoundException):
        kms.describe_key(key_id=MISSING)
    with pytest.raises(NotFoundException):
        kms.describe_key(key_id="alias/never-created")


def test_list_keys_pages(kms: KeyService) -> None:
    created = {kms.create_key().key_metadata.key_id for _ in range(3)}
    seen: list[str] = []
    marker = None
    while True:
        page = kms.list_keys(limit=1, marker=marker)
        assert len(page.keys) <= 1
        seen.extend(entry.key_id for entry in page.keys)
        if not page.truncated:
            break
        marker = page.next_marker
    assert created <= set(seen)
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("limit", [0, 1001])
def test_list_keys_limit_bounds(kms: KeyService, limit: int) -> None:
    with pytest.raises(ValidationException):
        kms.list_keys(limit=limit)


@pytest.mark.parametrize("limit", [1, 1000])
def test_list_keys_limit_accepted(kms: KeyService, limit: int) -> None:
    kms.create_key()
    assert len(kms.list_keys(limit=limit).keys) >= 1


def test_disable_then_enable(kms: KeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    kms.disable_key(key_id=key_id)
    meta = kms.describe_key(key_id=key_id).key_metadata
    assert (meta.key_state, meta.enabled) == ("Disabled", False)
    with pytest.raises(DisabledException):
        kms.encrypt(key_id=key_id, plaintext=b"x")
    with pytest.raises(DisabledException):
        kms.generate_data_key(key_id=key_id, key_spec="AES_256")
    kms.enable_key(key_id=key_id)
    assert kms.describe_key(key_id=key_id).key_metadata.key_state == "Enabled"
    assert kms.encrypt(key_id=key_id, plaintext=b"x").ciphertext_blob


def test_decrypt_under_disabled_key(kms: KeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    blob = kms.encrypt(key_id=key_id, plaintext=b"secret").ciphertext_blob
    kms.disable_key(key_id=key_id)
    with pytest.raises(DisabledException):
        kms.decrypt(ciphertext_blob=blob)


def test_schedule_and_cancel_deletion(kms: KeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    before = dt.datetime.now(dt.timezone.utc)
    result = kms.schedule_key_deletion(key_id=key_id, pending_window_in_days=7)
    assert result.key_state == "PendingDeletion"
    assert result.pending_window_in_days == 7
    assert result.key_id.endswith(key_id)
    delta = result.deletion_date - before
    assert dt.timedelta(days=6, hours=23) <= delta <= dt.timedelta(days=8)
    meta = kms.describe_key(key_id=key_id).key_metadata
    assert meta.key_state == "PendingDeletion"
    assert meta.deletion_date is not None
    cancel = kms.cancel_key_deletion(key_id=key_id)
    assert cancel.key_id.endswith(key_id)
    meta = kms.describe_key(key_id=key_id).key_metadata
    assert meta.key_state == "Disabled"
    assert meta.deletion_date is None


def test_deletion_window_default_is_30(kms: KeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    assert kms.schedule_key_deletion(key_id=key_id).pending_window_in_days == 30


@pytest.mark.parametrize("days", [6, 31])
def test_deletion_window_out_of_range(kms: KeyService, days: int) -> None:
    key_id = kms.create_key().key_metadata.key_id
    with pytest.raises(ValidationException):
        kms.schedule_key_deletion(key_id=key_id, pending_window_in_days=days)
    assert kms.describe_key(key_id=key_id).key_metadata.key_state == "Enabled"


@pytest.mark.parametrize("days", [7, 30])
def test_deletion_window_edges_accepted(kms: KeyService, days: int) -> None:
    key_id = kms.create_key().key_metadata.key_id
    assert (
        kms.schedule_key_deletion(key_id=key_id, pending_window_in_days=days).pending_window_in_days
        == days
    )


def test_pending_deletion_refuses_use_and_state_changes(kms: KeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    blob = kms.encrypt(key_id=key_id, plaintext=b"p").ciphertext_blob
    kms.schedule_key_deletion(key_id=key_id, pending_window_in_days=7)
    with pytest.raises(KMSInvalidStateException):
        kms.encrypt(key_id=key_id, plaintext=b"x")
    with pytest.raises(KMSInvalidStateException):
        kms.decrypt(ciphertext_blob=blob)
    with pytest.raises(KMSInvalidStateException):
        kms.generate_data_key(key_id=key_id, number_of_bytes=32)
    with pytest.raises(KMSInvalidStateException):
        kms.enable_key(key_id=key_id)
    with pytest.raises(KMSInvalidStateException):
        kms.disable_key(key_id=key_id)
    with pytest.raises(KMSInvalidStateException):
        kms.schedule_key_deletion(key_id=key_id, pending_window_in_days=7)


def test_cancel_deletion_of_key_not_pending(kms: KeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    with pytest.raises(KMSInvalidStateException):
        kms.cancel_key_deletion(key_id=key_id)


def test_state_changes_by_arn(kms: KeyService) -> None:
    meta = kms.create_key().key_metadata
    kms.disable_key(key_id=meta.arn)
    assert kms.describe_key(key_id=meta.key_id).key_metadata.key_state == "Disabled"
    kms.enable_key(key_id=meta.arn)
    assert kms.describe_key(key_id=meta.key_id).key_metadata.key_state == "Enabled"


@pytest.mark.parametrize("op", ["enable_key", "disable_key", "schedule_key_deletion"])
def test_state_operations_refuse_aliases(kms: KeyService, op: str) -> None:
    key_id = kms.create_key().key_metadata.key_id
    kms.create_alias(alias_name="alias/no-state-ops", target_key_id=key_id)
    with pytest.raises(NotFoundException):
        getattr(kms, op)(key_id="alias/no-state-ops")
    assert kms.describe_key(key_id=key_id).key_metadata.key_state == "Enabled"


def test_generate_random_bounds(kms: KeyService) -> None:
    assert len(kms.generate_random(number_of_bytes=1).plaintext) == 1
    assert len(kms.generate_random(number_of_bytes=1024).plaintext) == 1024
    for bad in (0, 1025):
        with pytest.raises(ValidationException):
            kms.generate_random(number_of_bytes=bad)
    a = kms.generate_random(number_of_bytes=32).plaintext
    b = kms.generate_random(number_of_bytes=32).plaintext
    assert a != b
