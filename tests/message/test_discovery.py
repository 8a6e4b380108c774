"""Strict KmsKey and KmsDiscovery: which encrypted data keys are ever sent to a key service."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from envelope.errors import MessageError, NoMatchingKeyError
from envelope.keys.local import LocalKeyService
from envelope.message import KmsDiscovery, KmsKey, decrypt, encrypt, inspect, rewrap
from envelope.message.api import _encrypt_message
from envelope.message.header import EncryptedDataKey
from envelope.message.materials import EncryptionMaterials, create_materials
from envelope.message.suites import SUITES

ACCOUNT = "123456789012"  # LocalKeyService's default account


class CountingService:
    """A real LocalKeyService that records the KeyId of every Decrypt."""

    def __init__(self, inner: LocalKeyService) -> None:
        self.inner = inner
        self.decrypts: list[str | None] = []

    def decrypt(self, **kwargs: Any) -> Any:
        self.decrypts.append(kwargs.get("key_id"))
        return self.inner.decrypt(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def kms(tmp_path: Path) -> Iterator[CountingService]:
    with LocalKeyService(tmp_path / "home") as inner:
        yield CountingService(inner)


def _arn(kms: CountingService) -> str:
    arn: str = kms.create_key().key_metadata.arn
    return arn


def _with_extra_edk(kms: CountingService, arn: str, extra: EncryptedDataKey) -> bytes:
    """A message under ``arn`` whose header also names ``extra`` first."""
    m = create_materials(SUITES[0x0478], [KmsKey(kms, arn)], {})
    fixed = EncryptionMaterials(m.suite, m.data_key, (extra, *m.encrypted_data_keys), {})
    return _encrypt_message(b"data", fixed, message_id=os.urandom(32), frame_length=64)


def test_kms_key_named_by_arn_or_key_id_sends_only_its_own_edk(kms: CountingService) -> None:
    """aws-kms-keyring.md, "OnDecrypt": the EDKs are filtered first and "The provider info MUST
    match the configured AWS KMS key identifier"; only those are decrypted, with "KeyId ... the
    configured AWS KMS key identifier"."""
    a, b = _arn(kms), _arn(kms)
    message = encrypt(b"x", keys=[KmsKey(kms, a), KmsKey(kms, b)])
    assert decrypt(message, keys=[KmsKey(kms, b)]) == b"x"
    assert kms.decrypts == [b]
    kms.decrypts.clear()
    key_id = b.rsplit("/", 1)[1]
    assert decrypt(message, keys=[KmsKey(kms, key_id)]) == b"x"
    assert kms.decrypts == [key_id]


@pytest.mark.parametrize(
    "provider_info",
    [
        b"alias/orders",
        b"arn:aws:kms:us-east-1:123456789012:alias/orders",
        b"arn:aws:kms:us-east-1::key/1234",
        b"arn:aws:s3:us-east-1:123456789012:key/1234",
        b"not an arn at all",
        b"\xff\xfe",
    ],
)
def test_edk_whose_provider_info_is_not_a_key_arn_is_never_sent(
    kms: CountingService, provider_info: bytes
) -> None:
    """aws-kms-keyring.md and aws-kms-discovery-keyring.md, "OnDecrypt": "The provider info MUST
    be a valid AWS KMS ARN with a resource type of ``key``" (aws-kms-key-arn.md, "A valid AWS KMS
    ARN"); such an EDK is not sent to the key service by KmsKey (even named by alias) or by
    KmsDiscovery."""
    arn = _arn(kms)
    kms.create_alias(alias_name="alias/orders", target_key_id=arn)
    message = _with_extra_edk(kms, arn, EncryptedDataKey("aws-kms", provider_info, b"junk"))
    for key in (
        KmsKey(kms, "alias/orders"),
        KmsDiscovery(kms),
        KmsDiscovery(kms, accounts=[ACCOUNT]),
    ):
        kms.decrypts.clear()
        assert decrypt(message, keys=[key]) == b"data"
        assert len(kms.decrypts) == 1  # only the real EDK


def test_discovery_decrypts_whatever_key_the_header_names(kms: CountingService) -> None:
    """aws-kms-discovery-keyring.md, "OnDecrypt": Decrypt is called with "KeyId: The AWS KMS ARN
    from the provider info", and "The KeyId field in the response MUST equal" it."""
    a, b = _arn(kms), _arn(kms)
    for arn in (a, b):
        message = encrypt(b"x", keys=[KmsKey(kms, arn)])
        kms.decrypts.clear()
        assert decrypt(message, keys=[KmsDiscovery(kms)]) == b"x"
        assert kms.decrypts == [arn]


@pytest.mark.parametrize(
    ("accounts", "partition"),
    [(["111122223333"], "aws"), ([ACCOUNT], "aws-cn"), (["111122223333", "444455556666"], "aws")],
)
def test_discovery_filter_keeps_other_accounts_and_partitions_away_from_the_key_service(
    kms: CountingService, accounts: list[str], partition: str
) -> None:
    """aws-kms-discovery-keyring.md, "OnDecrypt": "If a discovery filter is configured, its
    partition and the provider info partition MUST match" and "its set of accounts MUST contain
    the provider info account" -- otherwise the EDK is filtered out before any call (the
    unfiltered discovery of the AWS Encryption CLI was advisory GMS-2020-6)."""
    message = encrypt(b"x", keys=[KmsKey(kms, _arn(kms))])
    discovery = KmsDiscovery(kms, accounts=accounts, partition=partition)
    with pytest.raises(NoMatchingKeyError, match="key check failed"):
        decrypt(message, keys=[discovery])
    assert kms.decrypts == []
    allowed = KmsDiscovery(kms, accounts=[*accounts, ACCOUNT])
    assert decrypt(message, keys=[allowed]) == b"x"


def test_discovery_refuses_to_encrypt_and_empty_filters(kms: CountingService) -> None:
    """aws-kms-discovery-keyring.md, "OnEncrypt": "This function MUST fail"."""
    with pytest.raises(MessageError, match="decrypts only"):
        encrypt(b"x", keys=[KmsDiscovery(kms)])
    with pytest.raises(MessageError, match="decrypts only"):
        encrypt(b"x", keys=[KmsKey(kms, _arn(kms)), KmsDiscovery(kms)])
    with pytest.raises(MessageError, match="empty"):
        KmsDiscovery(kms, accounts=[])
    with pytest.raises(MessageError, match="empty"):
        KmsDiscovery(kms, accounts=[""])
    assert "123456789012" in repr(KmsDiscovery(kms, accounts=[ACCOUNT]))


def test_discovery_rewraps_to_the_newest_version(kms: CountingService) -> None:
    """aws-kms-discovery-keyring.md applies to rewrap too: the EDK the filter allows is moved
    with ReEncrypt, one outside the filter is left alone."""
    import io

    arn = _arn(kms)
    message = encrypt(b"x", keys=[KmsKey(kms, arn)])
    kms.rotate_key_on_demand(key_id=arn)
    out = io.BytesIO()
    rewrap(io.BytesIO(message), out, keys=[KmsDiscovery(kms, accounts=[ACCOUNT])])
    assert out.getvalue() != message
    assert inspect(out.getvalue()).encrypted_data_keys == inspect(message).encrypted_data_keys
    assert decrypt(out.getvalue(), keys=[KmsKey(kms, arn)]) == b"x"
