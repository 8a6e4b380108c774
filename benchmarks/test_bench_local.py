"""LocalKeyService throughput: GenerateDataKey, Encrypt and Decrypt (ops/s), side by side.

Each operation runs with today's per-request keys (blob layout 2, an HKDF-SHA256 derivation per
call) and with the old layout 1 (sealed directly under the backing key), so the cost of the
derivation is read off one run. The two layouts are timed interleaved, in blocks of calls that
alternate between them, in the calling thread's CPU time (every operation runs in that thread),
and each rate is the median over its blocks: on the shared machine, two wall-clock medians
taken a minute apart swung by 2x either way with other jobs' load.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from convention import quick, tag
from pytest_benchmark.fixture import BenchmarkFixture

from envelope.keys import blob
from envelope.keys.local import LocalKeyService

CONTEXT = {"purpose": "benchmark"}
LAYOUTS = {"derived": blob.LAYOUT_DERIVED, "direct-old": blob.LAYOUT_DIRECT}
NAMES = {"derived": "derived keys (layout 2)", "direct-old": "direct (old layout 1)"}
PLAINTEXT = b"p" * 4096


def _operations(kms: LocalKeyService, key_id: str) -> dict[str, Callable[[], Any]]:
    blob_ = kms.generate_data_key(
        key_id=key_id, key_spec="AES_256", encryption_context=CONTEXT
    ).ciphertext_blob
    return {
        "GenerateDataKey": lambda: kms.generate_data_key(
            key_id=key_id, key_spec="AES_256", encryption_context=CONTEXT
        ),
        "Encrypt 4 KiB": lambda: kms.encrypt(
            key_id=key_id, plaintext=PLAINTEXT, encryption_context=CONTEXT
        ),
        "Decrypt": lambda: kms.decrypt(ciphertext_blob=blob_, encryption_context=CONTEXT),
    }


@pytest.fixture(scope="module")
def calls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, Any]]]:
    """{layout: {operation: zero-argument call}}, one keystore and key per layout."""
    services = []
    result: dict[str, dict[str, Any]] = {}
    for name, layout in LAYOUTS.items():
        home: Path = tmp_path_factory.mktemp(f"bench-home-{name}")
        kms = LocalKeyService(home, _blob_layout=layout)
        services.append(kms)
        result[name] = _operations(kms, kms.create_key(description="bench").key_metadata.key_id)
    yield result
    for kms in services:
        kms.close()


@pytest.fixture(scope="module")
def seconds_per_call(
    request: pytest.FixtureRequest, calls: dict[str, dict[str, Any]]
) -> dict[tuple[str, str], float]:
    """{(operation, layout): median thread CPU seconds per call}, the layouts interleaved."""
    block, blocks = (5, 2) if quick(request.config) else (200, 15)
    result = {}
    for operation in calls["derived"]:
        times: dict[str, list[float]] = {name: [] for name in LAYOUTS}
        for i in range(blocks):
            order = list(LAYOUTS) if i % 2 == 0 else list(reversed(LAYOUTS))
            for name in order:
                call = calls[name][operation]
                start = time.thread_time()
                for _ in range(block):
                    call()
                times[name].append((time.thread_time() - start) / block)
        for name, values in times.items():
            result[(operation, name)] = statistics.median(values)
    return result


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("operation", ["GenerateDataKey", "Encrypt 4 KiB", "Decrypt"])
def test_layouts(
    benchmark: BenchmarkFixture,
    calls: dict[str, dict[str, Any]],
    seconds_per_call: dict[tuple[str, str], float],
    operation: str,
    layout: str,
) -> None:
    tag(benchmark, area="local-kms", case=operation, impl=NAMES[layout],
        role="subject" if layout == "derived" else "peer", ops=1,
        rate=1.0 / seconds_per_call[(operation, layout)])  # fmt: skip
    result = benchmark.pedantic(calls[layout][operation], rounds=1, iterations=1)
    if operation == "Encrypt 4 KiB":
        assert result.ciphertext_blob
    else:
        assert len(result.plaintext) == 32
