"""1 KiB messages under a KMS key: with the data-key cache, without it, and raw AES-GCM."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pytest_benchmark.fixture import BenchmarkFixture

from envelope import DataKeyCache
from envelope.keys.local import LocalKeyService
from envelope.message import KmsKey, encrypt

PLAINTEXT = os.urandom(1024)


@pytest.fixture
def kms_key(tmp_path: Path) -> Iterator[KmsKey]:
    with LocalKeyService(tmp_path / "home") as kms:
        yield KmsKey(kms, kms.create_key().key_metadata.arn)


@pytest.mark.benchmark(group="1 KiB encrypt with a KMS key")
def test_envelope_kms_key_no_cache(benchmark: BenchmarkFixture, kms_key: KmsKey) -> None:
    message = benchmark(lambda: encrypt(PLAINTEXT, keys=[kms_key]))
    assert len(message) > len(PLAINTEXT)


@pytest.mark.benchmark(group="1 KiB encrypt with a KMS key")
def test_envelope_kms_key_cached(benchmark: BenchmarkFixture, kms_key: KmsKey) -> None:
    cache = DataKeyCache(max_age=300, max_messages=1000)
    message = benchmark(lambda: encrypt(PLAINTEXT, keys=[kms_key], cache=cache))
    assert len(message) > len(PLAINTEXT)


@pytest.mark.benchmark(group="1 KiB encrypt with a KMS key")
def test_raw_aes_gcm(benchmark: BenchmarkFixture) -> None:
    aes = AESGCM(os.urandom(32))
    nonce = os.urandom(12)
    sealed = benchmark(lambda: aes.encrypt(nonce, PLAINTEXT, None))
    assert len(sealed) == len(PLAINTEXT) + 16
