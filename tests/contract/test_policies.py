"""Contract: GetKeyPolicy, PutKeyPolicy (validation, 32 KB, the lockout safety check),
ListKeyPolicies, CreateKey's policy, and a key policy's Deny enforced.

The caller is each backend's own principal (LocalKeyService: the account principal; envelope
serve: the test principal; moto: its default identity), so policies here name a principal that
is never the caller when they mean to lock it out.
"""

from __future__ import annotations

import json

import pytest

from envelope.errors import (
    AccessDeniedException,
    LimitExceededException,
    MalformedPolicyDocumentException,
    NotFoundException,
)
from envelope.keys.base import KeyService


def _account(kms: KeyService, key_id: str) -> str:
    return kms.describe_key(key_id=key_id).key_metadata.aws_account_id


def _policy(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow_account(account: str) -> dict[str, object]:
    return {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*",
            "Resource": "*"}  # fmt: skip


@pytest.fixture
def key_id(kms: KeyService) -> str:
    return kms.create_key().key_metadata.key_id


def test_default_policy_lets_the_account_do_everything(kms: KeyService, key_id: str) -> None:
    result = kms.get_key_policy(key_id=key_id, policy_name="default")
    document = json.loads(result.policy)
    account = _account(kms, key_id)
    statements = document["Statement"]
    assert any(
        s["Effect"] == "Allow"
        and s["Principal"] == {"AWS": f"arn:aws:iam::{account}:root"}
        and s["Action"] == "kms:*"
        for s in statements
    )
    assert kms.get_key_policy(key_id=key_id).policy == result.policy  # the name is optional


def test_put_then_get_returns_the_document(kms: KeyService, key_id: str) -> None:
    account = _account(kms, key_id)
    policy = _policy(
        _allow_account(account),
        {"Sid": "Only the app context", "Effect": "Deny", "Principal": {"AWS": "*"},
         "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringEquals": {"kms:EncryptionContext:stage": "retired"}}},
    )  # fmt: skip
    kms.put_key_policy(key_id=key_id, policy_name="default", policy=policy)
    assert json.loads(kms.get_key_policy(key_id=key_id).policy) == json.loads(policy)


def test_create_key_keeps_its_policy(kms: KeyService) -> None:
    account = kms.create_key().key_metadata.aws_account_id
    policy = _policy(_allow_account(account))
    key_id = kms.create_key(policy=policy).key_metadata.key_id
    assert json.loads(kms.get_key_policy(key_id=key_id).policy) == json.loads(policy)


def test_list_key_policies(kms: KeyService, key_id: str) -> None:
    result = kms.list_key_policies(key_id=key_id)
    assert result.policy_names == ("default",)
    assert not result.truncated


def test_other_policy_names_do_not_exist(kms: KeyService, key_id: str) -> None:
    with pytest.raises(NotFoundException):
        kms.get_key_policy(key_id=key_id, policy_name="other")


def test_policy_of_missing_key(kms: KeyService, key_id: str) -> None:
    missing = "0" * 8 + "-0000-4000-8000-" + "0" * 12
    with pytest.raises(NotFoundException):
        kms.get_key_policy(key_id=missing)


@pytest.mark.parametrize(
    "policy",
    ["not json", "[]", '{"Version": "2012-10-17"}', '{"Statement": []}',
     '{"Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}',
     '{"Statement": [{"Effect": "Permit", "Principal": "*", "Action": "kms:*", "Resource": "*"}]}'],
    ids=["not-json", "array", "no-statement", "no-statements", "no-principal", "bad-effect"],
)  # fmt: skip
def test_malformed_policies_are_refused(kms: KeyService, key_id: str, policy: str) -> None:
    before = kms.get_key_policy(key_id=key_id).policy
    with pytest.raises(MalformedPolicyDocumentException):
        kms.put_key_policy(key_id=key_id, policy=policy)
    assert kms.get_key_policy(key_id=key_id).policy == before


def test_policy_over_32_kilobytes(kms: KeyService, key_id: str) -> None:
    account = _account(kms, key_id)
    statement = {**_allow_account(account), "Sid": "x" * 33000}
    with pytest.raises(LimitExceededException):
        kms.put_key_policy(key_id=key_id, policy=_policy(statement))
    with pytest.raises(LimitExceededException):
        kms.create_key(policy=_policy(statement))


def test_lockout_safety_check(kms: KeyService, key_id: str) -> None:
    """A policy that would not let the caller call PutKeyPolicy again is refused, unless the
    check is bypassed; after that the caller is locked out of the key."""
    account = _account(kms, key_id)
    someone_else = f"arn:aws:iam::{account}:user/someone-else-{key_id[:8]}"
    locked = _policy({"Effect": "Allow", "Principal": {"AWS": someone_else}, "Action": "kms:*",
                      "Resource": "*"})  # fmt: skip
    with pytest.raises(MalformedPolicyDocumentException):
        kms.put_key_policy(key_id=key_id, policy=locked)
    with pytest.raises(MalformedPolicyDocumentException):
        kms.create_key(policy=locked)
    kms.put_key_policy(key_id=key_id, policy=locked, bypass_policy_lockout_safety_check=True)
    with pytest.raises(AccessDeniedException):
        kms.put_key_policy(key_id=key_id, policy=_policy(_allow_account(account)))
    with pytest.raises(AccessDeniedException):
        kms.encrypt(key_id=key_id, plaintext=b"x")


def test_a_deny_statement_is_enforced(kms: KeyService, key_id: str) -> None:
    account = _account(kms, key_id)
    blob = kms.encrypt(key_id=key_id, plaintext=b"x").ciphertext_blob
    kms.put_key_policy(key_id=key_id, policy=_policy(
        _allow_account(account),
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:Encrypt", "Resource": "*"},
    ))  # fmt: skip
    with pytest.raises(AccessDeniedException, match="kms:Encrypt"):
        kms.encrypt(key_id=key_id, plaintext=b"x")
    assert kms.decrypt(ciphertext_blob=blob).plaintext == b"x"  # other actions are spared


def test_context_condition_admits_only_matching_requests(kms: KeyService, key_id: str) -> None:
    account = _account(kms, key_id)
    crypto = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]
    admin = {**_allow_account(account), "NotAction": crypto}
    del admin["Action"]
    kms.put_key_policy(key_id=key_id, policy=_policy(admin, {
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": crypto, "Resource": "*",
        "Condition": {"StringEquals": {"kms:EncryptionContext:tenant": "a"}},
    }))  # fmt: skip
    blob = kms.encrypt(key_id=key_id, plaintext=b"x", encryption_context={"tenant": "a"})
    kms.decrypt(ciphertext_blob=blob.ciphertext_blob, encryption_context={"tenant": "a"})
    kms.generate_data_key(key_id=key_id, key_spec="AES_256", encryption_context={"tenant": "a"})
    for context in ({"tenant": "b"}, {}, {"TENANT": "A"}):
        with pytest.raises(AccessDeniedException):
            kms.encrypt(key_id=key_id, plaintext=b"x", encryption_context=context)
        with pytest.raises(AccessDeniedException):
            kms.generate_data_key(key_id=key_id, key_spec="AES_256", encryption_context=context)
