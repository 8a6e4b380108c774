"""Contract: TagResource, UntagResource, ListResourceTags and CreateKey's Tags, with KMS's limits,
and a key policy condition on ``aws:ResourceTag/KEY``."""

from __future__ import annotations

import json

import pytest

from envelope.errors import (
    AccessDeniedException,
    KeyServiceError,
    KMSInvalidStateException,
    TagException,
    ValidationException,
)
from envelope.keys.base import KeyService


def _tags(kms: KeyService, key_id: str) -> dict[str, str]:
    return {t.tag_key: t.tag_value for t in kms.list_resource_tags(key_id=key_id).tags}


def test_tag_untag_list(kms: KeyService) -> None:
    key_id = kms.create_key(tags=[{"TagKey": "team", "TagValue": "blue"}]).key_metadata.key_id
    assert _tags(kms, key_id) == {"team": "blue"}
    kms.tag_resource(key_id=key_id, tags=[{"TagKey": "team", "TagValue": "red"},
                                          {"TagKey": "cost", "TagValue": ""}])  # fmt: skip
    assert _tags(kms, key_id) == {"team": "red", "cost": ""}
    kms.untag_resource(key_id=key_id, tag_keys=["cost", "not-there"])
    assert _tags(kms, key_id) == {"team": "red"}
    arn = kms.describe_key(key_id=key_id).key_metadata.arn
    kms.tag_resource(key_id=arn, tags=[{"TagKey": "Team", "TagValue": "x"}])  # case-sensitive
    assert _tags(kms, arn) == {"team": "red", "Team": "x"}


def test_list_resource_tags_pages(kms: KeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    kms.tag_resource(key_id=key_id, tags=[{"TagKey": f"k{i:02d}", "TagValue": str(i)}
                                          for i in range(5)])  # fmt: skip
    page = kms.list_resource_tags(key_id=key_id, limit=2)
    seen = [t.tag_key for t in page.tags]
    assert page.truncated and len(seen) == 2
    while page.truncated:
        page = kms.list_resource_tags(key_id=key_id, limit=2, marker=page.next_marker)
        seen += [t.tag_key for t in page.tags]
    assert sorted(seen) == [f"k{i:02d}" for i in range(5)]


def test_tag_limits(kms: KeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    with pytest.raises(TagException):
        kms.tag_resource(key_id=key_id, tags=[{"TagKey": "aws:reserved", "TagValue": "x"}])
    with pytest.raises(ValidationException):
        kms.tag_resource(key_id=key_id, tags=[{"TagKey": "k" * 129, "TagValue": "x"}])
    with pytest.raises(ValidationException):
        kms.tag_resource(key_id=key_id, tags=[{"TagKey": "k", "TagValue": "v" * 257}])
    kms.tag_resource(key_id=key_id, tags=[{"TagKey": "k" * 128, "TagValue": "v" * 256}])
    assert _tags(kms, key_id) == {"k" * 128: "v" * 256}


def test_fifty_tags_at_most(kms: KeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    kms.tag_resource(key_id=key_id, tags=[{"TagKey": f"k{i}", "TagValue": ""} for i in range(50)])
    with pytest.raises(KeyServiceError) as refused:
        kms.tag_resource(key_id=key_id, tags=[{"TagKey": "one-more", "TagValue": ""}])
    assert refused.value.code in ("LimitExceededException", "TagException")
    assert len(_tags(kms, key_id)) == 50
    kms.tag_resource(key_id=key_id, tags=[{"TagKey": "k0", "TagValue": "changed"}])  # no new tag


def test_tags_of_key_pending_deletion(kms: KeyService) -> None:
    key_id = kms.create_key(tags=[{"TagKey": "a", "TagValue": "b"}]).key_metadata.key_id
    kms.schedule_key_deletion(key_id=key_id, pending_window_in_days=7)
    assert _tags(kms, key_id) == {"a": "b"}
    with pytest.raises(KMSInvalidStateException):
        kms.tag_resource(key_id=key_id, tags=[{"TagKey": "c", "TagValue": "d"}])
    with pytest.raises(KMSInvalidStateException):
        kms.untag_resource(key_id=key_id, tag_keys=["a"])


def test_resource_tag_condition(kms: KeyService) -> None:
    """A Deny on a tag: tagging the key takes its use away, untagging gives it back."""
    key_id = kms.create_key().key_metadata.key_id
    account = kms.describe_key(key_id=key_id).key_metadata.aws_account_id
    kms.put_key_policy(key_id=key_id, policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"StringEquals": {"aws:ResourceTag/frozen": "true"}}}]}))  # fmt: skip
    kms.encrypt(key_id=key_id, plaintext=b"x")
    kms.tag_resource(key_id=key_id, tags=[{"TagKey": "frozen", "TagValue": "true"}])
    with pytest.raises(AccessDeniedException):
        kms.encrypt(key_id=key_id, plaintext=b"x")
    kms.untag_resource(key_id=key_id, tag_keys=["frozen"])
    kms.encrypt(key_id=key_id, plaintext=b"x")
