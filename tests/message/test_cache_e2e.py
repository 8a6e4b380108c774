"""The data-key cache end to end: fewer key-service calls, every message still decrypts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from envelope import DataKeyCache
from envelope.keys.local import LocalKeyService
from envelope.message import KmsKey, decrypt, encrypt, inspect


class CountingService:
    """A real LocalKeyService that counts the calls made to it."""

    def __init__(self, inner: LocalKeyService) -> None:
        self.inner = inner
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return method(*args, **kwargs)

        return counted


@pytest.fixture
def service(tmp_path: Path) -> Iterator[CountingService]:
    with LocalKeyService(tmp_path / "home") as kms:
        yield CountingService(kms)


def test_cache_cuts_key_service_calls(service: CountingService) -> None:
    arn = service.inner.create_key().key_metadata.arn
    key = KmsKey(service, arn)  # type: ignore[arg-type]
    cache = DataKeyCache(max_age=300, max_messages=50)
    messages = [encrypt(os.urandom(1024), keys=[key], cache=cache) for _ in range(200)]
    # 200 messages, at most 50 per data key: 4 data keys instead of 200.
    assert service.calls.get("generate_data_key") == 4
    assert len({inspect(m).message_id for m in messages}) == 200  # ids stay unique
    plain = KmsKey(service.inner, arn)
    assert all(len(decrypt(m, keys=[plain])) == 1024 for m in messages)


def test_without_cache_every_message_calls_the_service(service: CountingService) -> None:
    arn = service.inner.create_key().key_metadata.arn
    key = KmsKey(service, arn)  # type: ignore[arg-type]
    for _ in range(10):
        encrypt(b"x" * 1024, keys=[key])
    assert service.calls.get("generate_data_key") == 10


def test_cache_separates_contexts_and_byte_limit(service: CountingService) -> None:
    arn = service.inner.create_key().key_metadata.arn
    key = KmsKey(service, arn)  # type: ignore[arg-type]
    cache = DataKeyCache(max_age=300, max_bytes=4096)
    for tenant in ("a", "b"):
        for _ in range(4):  # 4 x 1 KiB fits one key per context
            encrypt(b"x" * 1024, keys=[key], cache=cache, encryption_context={"tenant": tenant})
    assert service.calls.get("generate_data_key") == 2
    encrypt(b"x" * 1024, keys=[key], cache=cache, encryption_context={"tenant": "a"})
    assert service.calls.get("generate_data_key") == 3  # the 5th KiB needs a new data key
