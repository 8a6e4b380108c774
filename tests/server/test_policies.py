"""Key policies and grants through ``envelope serve``, with two principals of the account.

``owner`` is the server's test principal, ``other`` a second one created in the same keystore.
Both sign with their own access keys from 127.0.0.1, so ``aws:SourceIp`` is the loopback address.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from envelope.errors import AccessDeniedException, MalformedPolicyDocumentException
from envelope.keys.aws import AwsKmsKeyService
from envelope.server.principals import Principals
from tests.serve_server import REGION, EnvelopeServer


@pytest.fixture(scope="module")
def other_keys(serve_server: EnvelopeServer) -> tuple[str, str, str]:
    """A second principal of the server's account: (arn, access key id, secret)."""
    with Principals(serve_server.home, region=REGION) as principals:
        created = principals.create("other")
    return created.principal.arn, created.principal.access_key_id, created.secret_access_key


@pytest.fixture
def owner(serve_env: EnvelopeServer) -> Iterator[AwsKmsKeyService]:
    with AwsKmsKeyService(serve_env.client()) as service:
        yield service


@pytest.fixture
def other(
    serve_env: EnvelopeServer, other_keys: tuple[str, str, str]
) -> Iterator[AwsKmsKeyService]:
    _arn, access_key_id, secret = other_keys
    client = serve_env.client(aws_access_key_id=access_key_id, aws_secret_access_key=secret)
    with AwsKmsKeyService(client) as service:
        yield service


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(
    principal: str | list[str], action: str | list[str] = "kms:*", **extra: Any
) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": action,
            "Resource": "*", **extra}  # fmt: skip


def test_source_ip_deny_blocks_encrypt_from_loopback(
    serve_env: EnvelopeServer, owner: AwsKmsKeyService, other: AwsKmsKeyService
) -> None:
    key = owner.create_key().key_metadata
    blob = owner.encrypt(key_id=key.key_id, plaintext=b"before").ciphertext_blob
    account = key.aws_account_id
    owner.put_key_policy(key_id=key.key_id, policy=policy(
        allow(f"arn:aws:iam::{account}:root"),
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.1/32"}}},
    ))  # fmt: skip
    for service in (owner, other):
        with pytest.raises(AccessDeniedException, match="explicit deny"):
            service.encrypt(key_id=key.key_id, plaintext=b"x")
        assert service.decrypt(ciphertext_blob=blob).plaintext == b"before"
        service.generate_data_key(key_id=key.key_id, key_spec="AES_256")
        service.describe_key(key_id=key.key_id)
    # The same Deny for another address leaves loopback callers alone.
    owner.put_key_policy(key_id=key.key_id, policy=policy(
        allow(f"arn:aws:iam::{account}:root"),
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}},
    ))  # fmt: skip
    other.encrypt(key_id=key.key_id, plaintext=b"x")


def test_context_condition_admits_only_matching_requests(
    owner: AwsKmsKeyService,
    other: AwsKmsKeyService,
    other_keys: tuple[str, str, str],
    serve_env: EnvelopeServer,
) -> None:
    key = owner.create_key().key_metadata
    crypto = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]
    owner.put_key_policy(key_id=key.key_id, policy=policy(
        allow(serve_env.arn),
        allow(other_keys[0], crypto,
              Condition={"StringEquals": {"kms:EncryptionContext:tenant": "a"}}),
    ))  # fmt: skip
    a = other.encrypt(key_id=key.key_id, plaintext=b"a", encryption_context={"tenant": "a"})
    assert other.decrypt(ciphertext_blob=a.ciphertext_blob,
                         encryption_context={"tenant": "a"}).plaintext == b"a"  # fmt: skip
    data_key = other.generate_data_key(key_id=key.key_id, key_spec="AES_256",
                                       encryption_context={"tenant": "a", "x": "y"})  # fmt: skip
    b = owner.encrypt(key_id=key.key_id, plaintext=b"b", encryption_context={"tenant": "b"})
    with pytest.raises(AccessDeniedException):
        other.encrypt(key_id=key.key_id, plaintext=b"x", encryption_context={"tenant": "b"})
    with pytest.raises(AccessDeniedException):
        other.encrypt(key_id=key.key_id, plaintext=b"x")
    with pytest.raises(AccessDeniedException):
        other.decrypt(ciphertext_blob=b.ciphertext_blob, encryption_context={"tenant": "b"})
    with pytest.raises(AccessDeniedException):
        other.generate_data_key(key_id=key.key_id, key_spec="AES_256",
                                encryption_context={"tenant": "A"})  # fmt: skip
    assert owner.decrypt(ciphertext_blob=data_key.ciphertext_blob,
                         encryption_context={"tenant": "a", "x": "y"}).plaintext == (
        data_key.plaintext)  # fmt: skip


def test_a_key_that_does_not_name_the_caller(
    owner: AwsKmsKeyService, other: AwsKmsKeyService, serve_env: EnvelopeServer
) -> None:
    key = owner.create_key(policy=policy(allow(serve_env.arn))).key_metadata
    owner.encrypt(key_id=key.key_id, plaintext=b"x")
    with pytest.raises(AccessDeniedException) as denied:
        other.encrypt(key_id=key.key_id, plaintext=b"x")
    assert denied.value.message == (
        f"User: arn:aws:iam::{key.aws_account_id}:user/other is not authorized to perform: "
        f"kms:Encrypt on resource: {key.arn} because no resource-based policy allows the "
        "kms:Encrypt action"
    )
    with pytest.raises(AccessDeniedException):
        other.describe_key(key_id=key.key_id)
    with pytest.raises(AccessDeniedException):
        other.get_key_policy(key_id=key.key_id)
    # Over the wire it is AWS's error: botocore raises its AccessDeniedException class.
    client = other.client
    with pytest.raises(client.exceptions.ClientError) as raw:
        client.describe_key(KeyId=key.key_id)
    assert raw.value.response["Error"]["Code"] == "AccessDeniedException"
    assert raw.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_grant_lets_the_other_principal_decrypt_within_its_constraint(
    owner: AwsKmsKeyService,
    other: AwsKmsKeyService,
    other_keys: tuple[str, str, str],
    serve_env: EnvelopeServer,
) -> None:
    key = owner.create_key(policy=policy(allow(serve_env.arn))).key_metadata
    ours = owner.encrypt(key_id=key.key_id, plaintext=b"ours", encryption_context={"team": "a"})
    theirs = owner.encrypt(key_id=key.key_id, plaintext=b"theirs",
                           encryption_context={"team": "b"})  # fmt: skip
    with pytest.raises(AccessDeniedException):
        other.decrypt(ciphertext_blob=ours.ciphertext_blob, encryption_context={"team": "a"})
    grant = owner.create_grant(key_id=key.key_id, grantee_principal=other_keys[0],
                               operations=["Decrypt"],
                               constraints={"EncryptionContextEquals": {"team": "a"}})  # fmt: skip
    # Usable at once, with or without its token.
    assert other.decrypt(ciphertext_blob=ours.ciphertext_blob, encryption_context={"team": "a"},
                         grant_tokens=[grant.grant_token]).plaintext == b"ours"  # fmt: skip
    assert other.decrypt(ciphertext_blob=ours.ciphertext_blob,
                         encryption_context={"team": "a"}).plaintext == b"ours"  # fmt: skip
    with pytest.raises(AccessDeniedException):
        other.decrypt(ciphertext_blob=theirs.ciphertext_blob, encryption_context={"team": "b"})
    with pytest.raises(AccessDeniedException):
        other.encrypt(key_id=key.key_id, plaintext=b"x", encryption_context={"team": "a"})
    with pytest.raises(AccessDeniedException):  # not its grant to revoke: no key policy allows
        other.revoke_grant(key_id=key.key_id, grant_id=grant.grant_id)
    # RetireGrant takes it away.
    owner.retire_grant(grant_token=grant.grant_token)
    with pytest.raises(AccessDeniedException):
        other.decrypt(ciphertext_blob=ours.ciphertext_blob, encryption_context={"team": "a"})
    # So does RevokeGrant.
    again = owner.create_grant(key_id=key.key_id, grantee_principal=other_keys[0],
                               operations=["Decrypt"],
                               constraints={"EncryptionContextSubset": {"team": "a"}})  # fmt: skip
    other.decrypt(ciphertext_blob=ours.ciphertext_blob, encryption_context={"team": "a"})
    owner.revoke_grant(key_id=key.key_id, grant_id=again.grant_id)
    with pytest.raises(AccessDeniedException):
        other.decrypt(ciphertext_blob=ours.ciphertext_blob, encryption_context={"team": "a"})
    assert owner.list_grants(key_id=key.key_id).grants == ()


def test_lockout_check_refuses_a_policy_that_locks_the_caller_out(
    owner: AwsKmsKeyService, other: AwsKmsKeyService, other_keys: tuple[str, str, str]
) -> None:
    key = owner.create_key().key_metadata
    only_other = policy(allow(other_keys[0]))
    with pytest.raises(MalformedPolicyDocumentException, match="will not allow you"):
        owner.put_key_policy(key_id=key.key_id, policy=only_other)
    with pytest.raises(MalformedPolicyDocumentException, match="will not allow you"):
        owner.create_key(policy=only_other)
    # The other principal may hand the key to itself: the policy still lets it in.
    other.put_key_policy(key_id=key.key_id, policy=only_other)
    with pytest.raises(AccessDeniedException):
        owner.describe_key(key_id=key.key_id)
    other.describe_key(key_id=key.key_id)
