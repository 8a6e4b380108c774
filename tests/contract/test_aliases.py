"""Contract: alias names, uniqueness, listing with paging, and deletion."""

from __future__ import annotations

import pytest

from envelope.errors import (
    AlreadyExistsException,
    InvalidAliasNameException,
    KeyServiceError,
    NotFoundException,
    ValidationException,
)
from envelope.keys.base import KeyService


def test_alias_round_trip(kms: KeyService) -> None:
    meta = kms.create_key().key_metadata
    kms.create_alias(alias_name="alias/app_key-1/x", target_key_id=meta.arn)
    blob = kms.encrypt(key_id="alias/app_key-1/x", plaintext=b"hi").ciphertext_blob
    assert kms.decrypt(ciphertext_blob=blob).plaintext == b"hi"
    entries = kms.list_aliases(key_id=meta.key_id).aliases
    assert [a.alias_name for a in entries] == ["alias/app_key-1/x"]
    assert entries[0].target_key_id == meta.key_id
    assert entries[0].alias_arn.endswith(":alias/app_key-1/x")
    kms.delete_alias(alias_name="alias/app_key-1/x")
    assert kms.list_aliases(key_id=meta.key_id).aliases == ()
    with pytest.raises(NotFoundException):
        kms.describe_key(key_id="alias/app_key-1/x")


def test_duplicate_alias(kms: KeyService) -> None:
    a = kms.create_key().key_metadata.key_id
    b = kms.create_key().key_metadata.key_id
    kms.create_alias(alias_name="alias/dup", target_key_id=a)
    with pytest.raises(AlreadyExistsException):
        kms.create_alias(alias_name="alias/dup", target_key_id=b)
    assert kms.describe_key(key_id="alias/dup").key_metadata.key_id == a


def test_reserved_prefix(kms: KeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    with pytest.raises(KeyServiceError) as caught:
        kms.create_alias(alias_name="alias/aws/mine", target_key_id=key_id)
    assert isinstance(caught.value, (InvalidAliasNameException, ValidationException))


@pytest.mark.parametrize("name", ["noprefix", "alias/has space", "alias/bad*char"])
def test_invalid_names(kms: KeyService, name: str) -> None:
    key_id = kms.create_key().key_metadata.key_id
    with pytest.raises((InvalidAliasNameException, ValidationException)):
        kms.create_alias(alias_name=name, target_key_id=key_id)


def test_name_length_limit(kms: KeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    longest = "alias/" + "a" * 250
    kms.create_alias(alias_name=longest, target_key_id=key_id)
    assert kms.describe_key(key_id=longest).key_metadata.key_id == key_id
    with pytest.raises((InvalidAliasNameException, ValidationException)):
        kms.create_alias(alias_name=longest + "b", target_key_id=key_id)


def test_alias_for_unknown_key(kms: KeyService) -> None:
    with pytest.raises(NotFoundException):
        kms.create_alias(
            alias_name="alias/orphan", target_key_id="11111111-2222-3333-4444-555555555555"
        )


def test_delete_unknown_alias(kms: KeyService) -> None:
    with pytest.raises(NotFoundException):
        kms.delete_alias(alias_name="alias/not-there")


def test_list_aliases_pages(kms: KeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    names = {f"alias/page-{i}" for i in range(5)}
    for name in names:
        kms.create_alias(alias_name=name, target_key_id=key_id)
    seen: list[str] = []
    marker = None
    while True:
        page = kms.list_aliases(key_id=key_id, limit=2, marker=marker)
        assert len(page.aliases) <= 2
        seen.extend(a.alias_name for a in page.aliases)
        if not page.truncated:
            break
        marker = page.next_marker
    assert sorted(seen) == sorted(names)


@pytest.mark.parametrize("limit", [0, 101])
def test_list_aliases_limit_bounds(kms: KeyService, limit: int) -> None:
    with pytest.raises(ValidationException):
        kms.list_aliases(limit=limit)


def test_list_aliases_limit_edges(kms: KeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    kms.create_alias(alias_name="alias/edge", target_key_id=key_id)
    assert len(kms.list_aliases(key_id=key_id, limit=1).aliases) == 1
    assert len(kms.list_aliases(key_id=key_id, limit=100).aliases) == 1
