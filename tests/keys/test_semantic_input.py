"""Inputs of the right type but the wrong meaning get the error AWS KMS gives them.

The property in ``test_bad_input.py`` throws arbitrary types at every operation; these are the
well-typed values an attacker or a confused caller sends: strings that are not Unicode text,
markers this list never returned, ARNs that name a key through an alias, keys of another AWS
partition.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from envelope.errors import InvalidMarkerException, NotFoundException, ValidationException
from envelope.keys.local import LocalKeyService

LONE = "\udcff"  # a lone surrogate: what os.fsdecode makes of a byte that is not UTF-8


@pytest.fixture
def kms(tmp_path: Path) -> Iterator[LocalKeyService]:
    with LocalKeyService(tmp_path) as service:
        yield service


# --- strings that are not text ------------------------------------------------------------------
def test_a_description_that_is_not_text_is_a_validation_error(kms: LocalKeyService) -> None:
    """Before: a raw UnicodeEncodeError from SQLite's binding."""
    with pytest.raises(ValidationException, match="description"):
        kms.create_key(description=f"made by {LONE}")
    assert kms.list_keys().keys == ()


@pytest.mark.parametrize(
    "key_id",
    [f"alias/{LONE}", f"arn:aws:kms:us-east-1:123456789012:alias/x{LONE}", f"key{LONE}"],
)
def test_a_key_id_that_is_not_text_is_a_validation_error(
    kms: LocalKeyService, key_id: str
) -> None:
    """Before: an alias name with a lone surrogate raised a raw UnicodeEncodeError."""
    with pytest.raises(ValidationException, match="keyId"):
        kms.describe_key(key_id=key_id)
    with pytest.raises(ValidationException, match="keyId"):
        kms.encrypt(key_id=key_id, plaintext=b"x")


def test_a_grant_token_that_is_not_text_is_a_validation_error(kms: LocalKeyService) -> None:
    """Before: accepted (KMS could not even receive it)."""
    key_id = kms.create_key().key_metadata.key_id
    with pytest.raises(ValidationException, match="grantTokens"):
        kms.encrypt(key_id=key_id, plaintext=b"x", grant_tokens=[LONE])


# --- markers ------------------------------------------------------------------------------------
def _two_pages(kms: LocalKeyService) -> tuple[str, str]:
    for n in range(3):
        key_id = kms.create_key().key_metadata.key_id
        kms.create_alias(alias_name=f"alias/a{n}", target_key_id=key_id)
    keys_marker = kms.list_keys(limit=1).next_marker
    aliases_marker = kms.list_aliases(limit=1).next_marker
    assert keys_marker is not None and aliases_marker is not None
    return keys_marker, aliases_marker


@pytest.mark.parametrize("marker", ["!!!!", "é", "AAAA", "bm90IGEgbWFya2Vy"])
def test_a_marker_this_service_never_returned_is_refused(
    kms: LocalKeyService, marker: str
) -> None:
    """Before: anything base64 could be made to skip or ignore characters in was taken as a
    position (``!!!!`` and ``é`` decode to nothing: the list started over)."""
    _two_pages(kms)
    with pytest.raises(InvalidMarkerException):
        kms.list_keys(marker=marker)
    with pytest.raises(InvalidMarkerException):
        kms.list_aliases(marker=marker)


def test_a_marker_from_another_list_is_refused(kms: LocalKeyService) -> None:
    """Before: a ListAliases marker was taken by ListKeys as a position among key ids (and the
    other way round), so the page silently held the wrong entries."""
    keys_marker, aliases_marker = _two_pages(kms)
    with pytest.raises(InvalidMarkerException):
        kms.list_keys(marker=aliases_marker)
    with pytest.raises(InvalidMarkerException):
        kms.list_aliases(marker=keys_marker)
    first = kms.list_keys().keys[0].key_id
    for _ in range(2):
        kms.rotate_key_on_demand(key_id=first)
    rotations_marker = kms.list_key_rotations(key_id=first, limit=1).next_marker
    assert rotations_marker is not None
    other = kms.list_keys().keys[1].key_id
    with pytest.raises(InvalidMarkerException):
        kms.list_key_rotations(key_id=other, marker=rotations_marker)
    with pytest.raises(InvalidMarkerException):
        kms.list_keys(marker=rotations_marker)
    # The markers still page their own lists.
    assert len(kms.list_keys(marker=keys_marker).keys) == 2
    assert len(kms.list_aliases(marker=aliases_marker).aliases) == 2
    assert len(kms.list_key_rotations(key_id=first, marker=rotations_marker).rotations) == 1


# --- ARNs ---------------------------------------------------------------------------------------
def test_a_key_arn_whose_resource_is_an_alias_names_no_key(kms: LocalKeyService) -> None:
    """Before: ``arn:...:key/alias/NAME`` was resolved through the alias."""
    meta = kms.create_key().key_metadata
    kms.create_alias(alias_name="alias/through", target_key_id=meta.key_id)
    prefix = meta.arn.rsplit(":", 1)[0]
    with pytest.raises(NotFoundException):
        kms.describe_key(key_id=f"{prefix}:key/alias/through")
    with pytest.raises(NotFoundException):
        kms.encrypt(key_id=f"{prefix}:key/alias/through", plaintext=b"x")
    assert kms.describe_key(key_id=f"{prefix}:alias/through").key_metadata.key_id == meta.key_id


@pytest.mark.parametrize(
    ("region", "partition"),
    [("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"), ("eu-west-3", "aws")],
)
def test_arns_name_the_partition_of_the_region(
    tmp_path: Path, region: str, partition: str
) -> None:
    """Before: always ``arn:aws:``; AWS names China and GovCloud keys ``arn:aws-cn:`` and
    ``arn:aws-us-gov:``, and the local service refused those ARNs as unknown."""
    with LocalKeyService(tmp_path, region=region) as kms:
        meta = kms.create_key().key_metadata
        assert meta.arn == f"arn:{partition}:kms:{region}:123456789012:key/{meta.key_id}"
        assert kms.describe_key(key_id=meta.arn).key_metadata.key_id == meta.key_id
        blob = kms.encrypt(key_id=meta.arn, plaintext=b"x")
        assert blob.key_id == meta.arn
        kms.create_alias(alias_name="alias/p", target_key_id=meta.key_id)
        alias_arn = kms.list_aliases().aliases[0].alias_arn
        assert alias_arn == f"arn:{partition}:kms:{region}:123456789012:alias/p"
        assert kms.describe_key(key_id=alias_arn).key_metadata.key_id == meta.key_id
        other = "aws-cn" if partition == "aws" else "aws"
        with pytest.raises(NotFoundException):
            kms.describe_key(key_id=meta.arn.replace(f"arn:{partition}:", f"arn:{other}:"))


# --- key policies -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "policy",
    [
        '{"Statement": ' + "[" * 3000 + "]" * 3000 + "}",  # 6 KB, deeper than Python's stack
        '{"Statement": [], "Sid": NaN}',  # not JSON: Python's parser takes it, KMS's does not
        '{"Statement": [{"Effect": "Allow", "Resource": Infinity}]}',
    ],
)
def test_a_policy_that_is_not_plain_json_is_malformed(kms: LocalKeyService, policy: str) -> None:
    """Before: deep nesting raised a raw RecursionError (a 500 from ``envelope serve``), and
    NaN or Infinity were accepted."""
    from envelope.errors import MalformedPolicyDocumentException

    with pytest.raises(MalformedPolicyDocumentException):
        kms.create_key(policy=policy)
    assert kms.list_keys().keys == ()
