"""envelope vs aws-encryption-sdk vs raw single-shot AES-GCM: 1 KiB, 1 MiB, 64 MiB, both directions.

Same suite (0x0478), same frame length (65536), raw AES wrapping key on both SDKs. Groups are
named ``<size>-<direction>`` so each table compares the three side by side.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from envelope.message import RawAesKey, decrypt, encrypt

SIZES = {"1KiB": 1024, "1MiB": 1024 * 1024, "64MiB": 64 * 1024 * 1024}
FRAME = 65536
KEY_BYTES = os.urandom(32)
CONTEXT = {"bench": "message"}


def _esdk() -> tuple[Any, Any, Any]:
    import aws_encryption_sdk
    from aws_encryption_sdk.identifiers import (
        Algorithm,
        CommitmentPolicy,
        EncryptionKeyType,
        WrappingAlgorithm,
    )
    from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
    from aws_encryption_sdk.key_providers.raw import RawMasterKey

    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )
    master_key = RawMasterKey(
        provider_id="bench",
        key_id=b"key",
        wrapping_key=WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
            wrapping_key=KEY_BYTES,
            wrapping_key_type=EncryptionKeyType.SYMMETRIC,
        ),
    )
    return client, master_key, Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY


_PLAINTEXTS: dict[str, bytes] = {}


def _plaintext(size: str) -> bytes:
    if size not in _PLAINTEXTS:
        _PLAINTEXTS[size] = os.urandom(SIZES[size])
    return _PLAINTEXTS[size]


def _rounds(size: str) -> dict[str, int]:
    return {"1KiB": {"rounds": 2000, "iterations": 1}, "1MiB": {"rounds": 50, "iterations": 1}}.get(
        size, {"rounds": 10, "iterations": 1}
    )


IMPLEMENTATIONS = ["envelope", "aws-encryption-sdk", "raw-aesgcm"]


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("size", list(SIZES))
def test_encrypt(benchmark: Any, size: str, impl: str) -> None:
    benchmark.group = f"{size}-encrypt"
    plaintext = _plaintext(size)
    if impl == "envelope":
        key = RawAesKey("bench", "key", KEY_BYTES)
        result = benchmark.pedantic(
            lambda: encrypt(plaintext, keys=[key], encryption_context=CONTEXT, frame_length=FRAME),
            warmup_rounds=2,
            **_rounds(size),
        )
        assert decrypt(result, keys=[key]) == plaintext
    elif impl == "aws-encryption-sdk":
        client, master_key, algorithm = _esdk()
        result, _ = benchmark.pedantic(
            lambda: client.encrypt(
                source=plaintext,
                key_provider=master_key,
                algorithm=algorithm,
                frame_length=FRAME,
                encryption_context=CONTEXT,
            ),
            warmup_rounds=2,
            **_rounds(size),
        )
        assert client.decrypt(source=result, key_provider=master_key)[0] == plaintext
    else:
        aesgcm = AESGCM(KEY_BYTES)
        nonce = os.urandom(12)
        result = benchmark.pedantic(
            lambda: aesgcm.encrypt(nonce, plaintext, None), warmup_rounds=1, **_rounds(size)
        )
        assert len(result) == len(plaintext) + 16


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("size", list(SIZES))
def test_decrypt(benchmark: Any, size: str, impl: str) -> None:
    benchmark.group = f"{size}-decrypt"
    plaintext = _plaintext(size)
    key = RawAesKey("bench", "key", KEY_BYTES)
    client, master_key, algorithm = _esdk()
    if impl == "envelope":
        message = encrypt(plaintext, keys=[key], encryption_context=CONTEXT, frame_length=FRAME)
        result = benchmark.pedantic(
            lambda: decrypt(message, keys=[key]), warmup_rounds=1, **_rounds(size)
        )
    elif impl == "aws-encryption-sdk":
        message, _ = client.encrypt(
            source=plaintext,
            key_provider=master_key,
            algorithm=algorithm,
            frame_length=FRAME,
            encryption_context=CONTEXT,
        )
        result, _ = benchmark.pedantic(
            lambda: client.decrypt(source=message, key_provider=master_key),
            warmup_rounds=1,
            **_rounds(size),
        )
    else:
        aesgcm = AESGCM(KEY_BYTES)
        nonce = os.urandom(12)
        sealed = aesgcm.encrypt(nonce, plaintext, None)
        result = benchmark.pedantic(
            lambda: aesgcm.decrypt(nonce, sealed, None), warmup_rounds=1, **_rounds(size)
        )
    assert result == plaintext
