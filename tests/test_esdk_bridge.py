"""The ESDK bridge: ESDK messages made with a KeyService are read by envelope, and back."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import aws_encryption_sdk
import pytest
from aws_encryption_sdk.exceptions import AWSEncryptionSDKClientError
from aws_encryption_sdk.identifiers import CommitmentPolicy

from envelope.esdk import KeyServiceMasterKeyProvider
from envelope.keys.local import LocalKeyService
from envelope.message import KmsKey, decrypt, encrypt

PLAINTEXT = os.urandom(100_000)
CONTEXT = {"tenant": "a"}


@pytest.fixture
def kms(tmp_path: Path) -> Iterator[LocalKeyService]:
    with LocalKeyService(tmp_path / "home") as service:
        yield service


@pytest.fixture
def client() -> aws_encryption_sdk.EncryptionSDKClient:
    return aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )


def test_esdk_encrypts_envelope_decrypts(kms: LocalKeyService, client: object) -> None:
    arn = kms.create_key().key_metadata.arn
    kms.create_alias(alias_name="alias/bridge", target_key_id=arn)
    provider = KeyServiceMasterKeyProvider(service=kms, key_ids=["alias/bridge"])
    message, header = client.encrypt(  # type: ignore[attr-defined]
        source=PLAINTEXT, key_provider=provider, encryption_context=CONTEXT, frame_length=4096
    )
    assert [k.key_provider.key_info for k in header.encrypted_data_keys] == [arn.encode()]
    assert decrypt(message, keys=[KmsKey(kms, arn)], encryption_context=CONTEXT) == PLAINTEXT


def test_envelope_encrypts_esdk_decrypts(kms: LocalKeyService, client: object) -> None:
    first = kms.create_key().key_metadata.arn
    second = kms.create_key().key_metadata.arn
    message = encrypt(PLAINTEXT, keys=[KmsKey(kms, first), KmsKey(kms, second)],
                      encryption_context=CONTEXT, suite=0x0578)
    provider = KeyServiceMasterKeyProvider(service=kms, key_ids=[second])
    plaintext, header = client.decrypt(source=message, key_provider=provider)  # type: ignore[attr-defined]
    assert plaintext == PLAINTEXT
    assert header.encryption_context["tenant"] == "a"


def test_several_keys_each_decrypt(kms: LocalKeyService, client: object) -> None:
    arns = [kms.create_key().key_metadata.arn for _ in range(2)]
    provider = KeyServiceMasterKeyProvider(service=kms, key_ids=arns)
    message, _ = client.encrypt(source=b"two keys", key_provider=provider)  # type: ignore[attr-defined]
    for arn in arns:
        assert decrypt(message, keys=[KmsKey(kms, arn)]) == b"two keys"


def test_other_key_is_refused_by_the_esdk(kms: LocalKeyService, client: object) -> None:
    owner = kms.create_key().key_metadata.arn
    stranger = kms.create_key().key_metadata.arn
    message = encrypt(b"secret", keys=[KmsKey(kms, owner)])
    provider = KeyServiceMasterKeyProvider(service=kms, key_ids=[stranger])
    with pytest.raises(AWSEncryptionSDKClientError):
        client.decrypt(source=message, key_provider=provider)  # type: ignore[attr-defined]


def test_disabled_key_is_refused_by_the_esdk(kms: LocalKeyService, client: object) -> None:
    arn = kms.create_key().key_metadata.arn
    message = encrypt(b"secret", keys=[KmsKey(kms, arn)])
    kms.disable_key(key_id=arn)
    provider = KeyServiceMasterKeyProvider(service=kms, key_ids=[arn])
    with pytest.raises(AWSEncryptionSDKClientError):
        client.decrypt(source=message, key_provider=provider)  # type: ignore[attr-defined]
