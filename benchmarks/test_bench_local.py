"""LocalKeyService throughput: GenerateDataKey, Encrypt and Decrypt (ops/s), side by side.

Each operation runs twice in the same session: with today's per-request keys (blob layout 2, an
HKDF-SHA256 derivation per call) and with the old layout 1 (sealed directly under the backing
key), so the cost of the derivation is read off one run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from convention import tag
from pytest_benchmark.fixture import BenchmarkFixture

from envelope.keys import blob
from envelope.keys.local import LocalKeyService

CONTEXT = {"purpose": "benchmark"}
LAYOUTS = {"derived": blob.LAYOUT_DERIVED, "direct-old": blob.LAYOUT_DIRECT}
NAMES = {"derived": "derived keys (layout 2)", "direct-old": "direct (old layout 1)"}


def _tag(benchmark: BenchmarkFixture, request: pytest.FixtureRequest, case: str) -> None:
    layout = request.node.callspec.params["service"]
    tag(benchmark, area="local-kms", case=case, impl=NAMES[layout],
        role="subject" if layout == "derived" else "peer", ops=1)  # fmt: skip


@pytest.fixture(scope="module", params=sorted(LAYOUTS))
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LocalKeyService, str]]:
    home: Path = tmp_path_factory.mktemp(f"bench-home-{request.param}")
    kms = LocalKeyService(home, _blob_layout=LAYOUTS[request.param])
    key_id = kms.create_key(description="benchmark").key_metadata.key_id
    yield kms, key_id
    kms.close()


def test_generate_data_key(
    benchmark: BenchmarkFixture,
    request: pytest.FixtureRequest,
    service: tuple[LocalKeyService, str],
) -> None:
    _tag(benchmark, request, "GenerateDataKey")
    kms, key_id = service
    result = benchmark(
        kms.generate_data_key, key_id=key_id, key_spec="AES_256", encryption_context=CONTEXT
    )
    assert len(result.plaintext) == 32


def test_encrypt_4k(
    benchmark: BenchmarkFixture,
    request: pytest.FixtureRequest,
    service: tuple[LocalKeyService, str],
) -> None:
    _tag(benchmark, request, "Encrypt 4 KiB")
    kms, key_id = service
    plaintext = b"p" * 4096
    result = benchmark(kms.encrypt, key_id=key_id, plaintext=plaintext, encryption_context=CONTEXT)
    assert result.ciphertext_blob


def test_decrypt_data_key(
    benchmark: BenchmarkFixture,
    request: pytest.FixtureRequest,
    service: tuple[LocalKeyService, str],
) -> None:
    _tag(benchmark, request, "Decrypt")
    kms, key_id = service
    blob_ = kms.generate_data_key(
        key_id=key_id, key_spec="AES_256", encryption_context=CONTEXT
    ).ciphertext_blob
    result = benchmark(kms.decrypt, ciphertext_blob=blob_, encryption_context=CONTEXT)
    assert len(result.plaintext) == 32
