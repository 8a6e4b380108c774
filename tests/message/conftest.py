"""Shared fixtures for message tests: raw keys and their aws-encryption-sdk counterparts."""

from __future__ import annotations

import os
from typing import Any

import pytest

from envelope.message import RawAesKey


@pytest.fixture
def aes_key() -> RawAesKey:
    return RawAesKey("test-ns", "key-1", os.urandom(32))


def esdk_aes_master_key(namespace: str, name: str, key: bytes) -> Any:
    """An aws-encryption-sdk RawMasterKey with the same namespace, name and AES key."""
    from aws_encryption_sdk.identifiers import EncryptionKeyType, WrappingAlgorithm
    from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
    from aws_encryption_sdk.key_providers.raw import RawMasterKey

    return RawMasterKey(
        provider_id=namespace,
        key_id=name.encode(),
        wrapping_key=WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
            wrapping_key=key,
            wrapping_key_type=EncryptionKeyType.SYMMETRIC,
        ),
    )


def esdk_rsa_master_key(namespace: str, name: str, pem: bytes) -> Any:
    """An aws-encryption-sdk RawMasterKey for an RSA private key (OAEP-SHA256)."""
    from aws_encryption_sdk.identifiers import EncryptionKeyType, WrappingAlgorithm
    from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
    from aws_encryption_sdk.key_providers.raw import RawMasterKey

    return RawMasterKey(
        provider_id=namespace,
        key_id=name.encode(),
        wrapping_key=WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.RSA_OAEP_SHA256_MGF1,
            wrapping_key=pem,
            wrapping_key_type=EncryptionKeyType.PRIVATE,
        ),
    )


def esdk_client() -> Any:
    import aws_encryption_sdk
    from aws_encryption_sdk.identifiers import CommitmentPolicy

    return aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )
