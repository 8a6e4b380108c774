"""Contract: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant, grant tokens.

Grants here name principals that are not the caller, so these tests need no second identity;
what a grant lets its grantee do is tested with two principals in ``tests/server`` and in
``tests/keys/test_access.py``.
"""

from __future__ import annotations

import pytest

from envelope.errors import (
    DryRunOperationException,
    InvalidGrantIdException,
    InvalidGrantTokenException,
    NotFoundException,
    ValidationException,
)
from envelope.keys.base import KeyService


@pytest.fixture
def key_id(kms: KeyService) -> str:
    return kms.create_key().key_metadata.key_id


def _principal(kms: KeyService, key_id: str, name: str) -> str:
    account = kms.describe_key(key_id=key_id).key_metadata.aws_account_id
    return f"arn:aws:iam::{account}:user/{name}"


def test_grant_lifecycle(kms: KeyService, key_id: str) -> None:
    grantee = _principal(kms, key_id, "app")
    retiring = _principal(kms, key_id, "ops")
    created = kms.create_grant(
        key_id=key_id, grantee_principal=grantee, retiring_principal=retiring,
        operations=["Decrypt", "Encrypt"],
        constraints={"EncryptionContextSubset": {"Department": "IT"}},
    )  # fmt: skip
    assert created.grant_id and created.grant_token
    grants = kms.list_grants(key_id=key_id).grants
    assert [g.grant_id for g in grants] == [created.grant_id]
    grant = grants[0]
    assert grant.key_id.endswith(key_id) and grant.key_id.startswith("arn:aws:kms:")
    assert grant.grantee_principal == grantee
    assert grant.retiring_principal == retiring
    assert sorted(grant.operations) == ["Decrypt", "Encrypt"]
    assert grant.constraints is not None
    assert grant.constraints.encryption_context_subset == {"Department": "IT"}
    assert grant.issuing_account.endswith(":root")
    retirable = kms.list_retirable_grants(retiring_principal=retiring).grants
    assert created.grant_id in [g.grant_id for g in retirable]
    kms.revoke_grant(key_id=key_id, grant_id=created.grant_id)
    assert kms.list_grants(key_id=key_id).grants == ()


def test_list_grants_filters_and_pages(kms: KeyService, key_id: str) -> None:
    ids = [
        kms.create_grant(key_id=key_id, grantee_principal=_principal(kms, key_id, f"u{i}"),
                         operations=["DescribeKey"]).grant_id
        for i in range(3)
    ]  # fmt: skip
    only = kms.list_grants(key_id=key_id, grant_id=ids[1]).grants
    assert [g.grant_id for g in only] == [ids[1]]
    by_grantee = kms.list_grants(key_id=key_id, grantee_principal=_principal(kms, key_id, "u2"))
    assert [g.grant_id for g in by_grantee.grants] == [ids[2]]
    seen: list[str] = []
    page = kms.list_grants(key_id=key_id, limit=2)
    assert page.truncated and len(page.grants) == 2
    seen += [g.grant_id for g in page.grants]
    page = kms.list_grants(key_id=key_id, limit=2, marker=page.next_marker)
    seen += [g.grant_id for g in page.grants]
    assert not page.truncated
    assert sorted(seen) == sorted(ids)


def test_name_makes_retries_idempotent(kms: KeyService, key_id: str) -> None:
    grantee = _principal(kms, key_id, "app")
    first = kms.create_grant(key_id=key_id, grantee_principal=grantee, operations=["Decrypt"],
                             name="IT-app-decrypt")  # fmt: skip
    again = kms.create_grant(key_id=key_id, grantee_principal=grantee, operations=["Decrypt"],
                             name="IT-app-decrypt")  # fmt: skip
    assert again.grant_id == first.grant_id
    other = kms.create_grant(key_id=key_id, grantee_principal=grantee, operations=["Encrypt"],
                             name="IT-app-decrypt")  # fmt: skip
    assert other.grant_id != first.grant_id
    assert len(kms.list_grants(key_id=key_id).grants) == 2


def test_grant_token_is_usable_at_once(kms: KeyService, key_id: str) -> None:
    token = kms.create_grant(key_id=key_id, grantee_principal=_principal(kms, key_id, "app"),
                             operations=["Encrypt", "Decrypt"]).grant_token  # fmt: skip
    blob = kms.encrypt(key_id=key_id, plaintext=b"x", grant_tokens=[token]).ciphertext_blob
    assert kms.decrypt(ciphertext_blob=blob, grant_tokens=[token]).plaintext == b"x"
    assert kms.describe_key(key_id=key_id, grant_tokens=[token]).key_metadata.enabled


def test_invalid_grant_token(kms: KeyService, key_id: str) -> None:
    with pytest.raises(InvalidGrantTokenException):
        kms.encrypt(key_id=key_id, plaintext=b"x", grant_tokens=["not-a-grant-token"])


def test_retire_by_token(kms: KeyService, key_id: str) -> None:
    created = kms.create_grant(key_id=key_id, grantee_principal=_principal(kms, key_id, "app"),
                               operations=["Decrypt"])  # fmt: skip
    kms.retire_grant(grant_token=created.grant_token)
    assert kms.list_grants(key_id=key_id).grants == ()


def test_retire_by_key_and_grant_id(kms: KeyService, key_id: str) -> None:
    """The account that issued a grant may retire it (every caller here is that account's)."""
    created = kms.create_grant(key_id=key_id, grantee_principal=_principal(kms, key_id, "app"),
                               operations=["Decrypt"],
                               retiring_principal=_principal(kms, key_id, "ops"))  # fmt: skip
    arn = kms.describe_key(key_id=key_id).key_metadata.arn
    kms.retire_grant(key_id=arn, grant_id=created.grant_id)
    assert kms.list_grants(key_id=key_id).grants == ()


def test_unknown_and_malformed_grant_ids(kms: KeyService, key_id: str) -> None:
    with pytest.raises(NotFoundException):
        kms.revoke_grant(key_id=key_id, grant_id="ab" * 32)
    with pytest.raises(InvalidGrantIdException):
        kms.revoke_grant(key_id=key_id, grant_id="not-a-grant-id")


def test_grant_of_another_key_is_not_found(kms: KeyService, key_id: str) -> None:
    other = kms.create_key().key_metadata.key_id
    created = kms.create_grant(key_id=other, grantee_principal=_principal(kms, key_id, "app"),
                               operations=["Decrypt"])  # fmt: skip
    with pytest.raises(NotFoundException):
        kms.revoke_grant(key_id=key_id, grant_id=created.grant_id)
    assert len(kms.list_grants(key_id=other).grants) == 1


@pytest.mark.parametrize(
    "arguments",
    [{"operations": ["Sign"]}, {"operations": ["NoSuchOperation"]}, {"operations": []},
     {"operations": ["Decrypt"], "constraints": {"EncryptionContextEquals": {
         f"k{i}": "v" for i in range(9)}}},
     {"operations": ["Decrypt"], "name": "spaces are not allowed"}],
    ids=["unsupported-by-key", "unknown-operation", "no-operation", "nine-context-pairs",
         "bad-name"],
)  # fmt: skip
def test_invalid_grants_are_refused(
    kms: KeyService, key_id: str, arguments: dict[str, object]
) -> None:
    with pytest.raises(ValidationException):
        kms.create_grant(key_id=key_id, grantee_principal=_principal(kms, key_id, "app"),
                         **arguments)  # type: ignore[arg-type]  # fmt: skip
    assert kms.list_grants(key_id=key_id).grants == ()


def test_rsa_keys_take_no_data_key_grants_or_constraints(kms: KeyService) -> None:
    rsa = kms.create_key(key_spec="RSA_2048").key_metadata.key_id
    grantee = _principal(kms, rsa, "app")
    with pytest.raises(ValidationException):
        kms.create_grant(key_id=rsa, grantee_principal=grantee, operations=["GenerateDataKey"])
    with pytest.raises(ValidationException):
        kms.create_grant(key_id=rsa, grantee_principal=grantee, operations=["Decrypt"],
                         constraints={"EncryptionContextSubset": {"a": "b"}})  # fmt: skip
    kms.create_grant(key_id=rsa, grantee_principal=grantee, operations=["Decrypt", "GetPublicKey"])


def test_dry_run_creates_and_deletes_nothing(kms: KeyService, key_id: str) -> None:
    grantee = _principal(kms, key_id, "app")
    with pytest.raises(DryRunOperationException):
        kms.create_grant(key_id=key_id, grantee_principal=grantee, operations=["Decrypt"],
                         dry_run=True)  # fmt: skip
    assert kms.list_grants(key_id=key_id).grants == ()
    created = kms.create_grant(key_id=key_id, grantee_principal=grantee, operations=["Decrypt"])
    with pytest.raises(DryRunOperationException):
        kms.revoke_grant(key_id=key_id, grant_id=created.grant_id, dry_run=True)
    assert len(kms.list_grants(key_id=key_id).grants) == 1
