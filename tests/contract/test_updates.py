"""Contract: UpdateAlias and UpdateKeyDescription."""

from __future__ import annotations

import pytest

from envelope.errors import KMSInvalidStateException, NotFoundException, ValidationException
from envelope.keys.base import KeyService


def test_update_alias_moves_it(kms: KeyService) -> None:
    first = kms.create_key().key_metadata.key_id
    second = kms.create_key().key_metadata.key_id
    kms.create_alias(alias_name="alias/moving", target_key_id=first)
    old = kms.encrypt(key_id="alias/moving", plaintext=b"x")
    kms.update_alias(alias_name="alias/moving", target_key_id=second)
    new = kms.encrypt(key_id="alias/moving", plaintext=b"x")
    assert old.key_id.endswith(first) and new.key_id.endswith(second)
    assert kms.decrypt(ciphertext_blob=old.ciphertext_blob).plaintext == b"x"
    assert [a.target_key_id for a in kms.list_aliases(key_id=second).aliases] == [second]
    assert kms.list_aliases(key_id=first).aliases == ()


def test_update_alias_needs_the_same_kind_of_key(kms: KeyService) -> None:
    symmetric = kms.create_key().key_metadata.key_id
    rsa = kms.create_key(key_spec="RSA_2048").key_metadata.key_id
    kms.create_alias(alias_name="alias/kind", target_key_id=symmetric)
    with pytest.raises(ValidationException):
        kms.update_alias(alias_name="alias/kind", target_key_id=rsa)
    assert kms.describe_key(key_id="alias/kind").key_metadata.key_id == symmetric


def test_update_missing_alias(kms: KeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    with pytest.raises(NotFoundException):
        kms.update_alias(alias_name="alias/no-such-alias", target_key_id=key_id)


def test_update_alias_to_key_pending_deletion(kms: KeyService) -> None:
    first = kms.create_key().key_metadata.key_id
    second = kms.create_key().key_metadata.key_id
    kms.create_alias(alias_name="alias/pending", target_key_id=first)
    kms.schedule_key_deletion(key_id=second, pending_window_in_days=7)
    with pytest.raises(KMSInvalidStateException):
        kms.update_alias(alias_name="alias/pending", target_key_id=second)


def test_update_key_description(kms: KeyService) -> None:
    key_id = kms.create_key(description="before").key_metadata.key_id
    kms.update_key_description(key_id=key_id, description="after")
    assert kms.describe_key(key_id=key_id).key_metadata.description == "after"
    kms.update_key_description(key_id=key_id, description="")
    assert kms.describe_key(key_id=key_id).key_metadata.description == ""
    with pytest.raises(ValidationException, match="8192"):
        kms.update_key_description(key_id=key_id, description="d" * 8193)


def test_update_description_of_key_pending_deletion(kms: KeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    kms.schedule_key_deletion(key_id=key_id, pending_window_in_days=7)
    with pytest.raises(KMSInvalidStateException):
        kms.update_key_description(key_id=key_id, description="late")
