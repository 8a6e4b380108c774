"""LocalKeyService throughput: GenerateDataKey, Encrypt and Decrypt (ops/s), side by side."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from envelope.keys.local import LocalKeyService

CONTEXT = {"purpose": "benchmark"}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalKeyService, str]]:
    home: Path = tmp_path_factory.mktemp("bench-home")
    kms = LocalKeyService(home)
    key_id = kms.create_key(description="benchmark").key_metadata.key_id
    yield kms, key_id
    kms.close()


@pytest.mark.benchmark(group="local-kms")
def test_generate_data_key(
    benchmark: BenchmarkFixture, service: tuple[LocalKeyService, str]
) -> None:
    kms, key_id = service
    result = benchmark(
        kms.generate_data_key, key_id=key_id, key_spec="AES_256", encryption_context=CONTEXT
    )
    assert len(result.plaintext) == 32


@pytest.mark.benchmark(group="local-kms")
def test_encrypt_4k(benchmark: BenchmarkFixture, service: tuple[LocalKeyService, str]) -> None:
    kms, key_id = service
    plaintext = b"p" * 4096
    result = benchmark(kms.encrypt, key_id=key_id, plaintext=plaintext, encryption_context=CONTEXT)
    assert result.ciphertext_blob


@pytest.mark.benchmark(group="local-kms")
def test_decrypt_data_key(
    benchmark: BenchmarkFixture, service: tuple[LocalKeyService, str]
) -> None:
    kms, key_id = service
    blob = kms.generate_data_key(
        key_id=key_id, key_spec="AES_256", encryption_context=CONTEXT
    ).ciphertext_blob
    result = benchmark(kms.decrypt, ciphertext_blob=blob, encryption_context=CONTEXT)
    assert len(result.plaintext) == 32
