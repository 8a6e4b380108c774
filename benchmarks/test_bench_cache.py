"""The data-key cache on 10,000 messages of 1 KiB under one LocalKeyService key.

Each round encrypts COUNT messages (10,000; 100 in the smoke run). envelope with and without a
``DataKeyCache`` (at most 1,000 messages per data key); aws-encryption-sdk with and without its
caching CMM (same limits), its master key provider being envelope's bridge on the same
LocalKeyService; raw AES-GCM on the same plaintexts as the limit. The key-service calls of one
round are counted by a wrapper around the service and reported beside the time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from convention import figure, quick, tag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from envelope import DataKeyCache
from envelope.keys.local import LocalKeyService
from envelope.message import KmsKey, encrypt

PLAINTEXT = os.urandom(1024)
CONTEXT = {"purpose": "benchmark"}
MAX_MESSAGES = 1000
CALLS = ("generate_data_key", "encrypt", "decrypt")


class Counting:
    """A KeyService wrapper that counts the data-key calls made through it."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name not in CALLS:
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return attribute(*args, **kwargs)

        return counted


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Counting, str]]:
    with LocalKeyService(Path(tmp_path_factory.mktemp("bench-cache"))) as kms:
        yield Counting(kms), kms.create_key().key_metadata.arn


def _count(request: pytest.FixtureRequest) -> int:
    return 100 if quick(request.config) else 10_000


def _esdk(service: Counting, arn: str, cached: bool) -> Any:
    import aws_encryption_sdk
    from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy

    from envelope.esdk import KeyServiceMasterKeyProvider

    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )
    provider = KeyServiceMasterKeyProvider(service=service, key_ids=[arn])
    source: Any = provider
    if cached:
        source = aws_encryption_sdk.CachingCryptoMaterialsManager(
            master_key_provider=provider,
            cache=aws_encryption_sdk.LocalCryptoMaterialsCache(capacity=100),
            max_age=300.0,
            max_messages_encrypted=MAX_MESSAGES,
        )
    argument = "materials_manager" if cached else "key_provider"
    algorithm = Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY

    def one() -> bytes:
        message: bytes = client.encrypt(source=PLAINTEXT, encryption_context=CONTEXT,
                                        algorithm=algorithm, **{argument: source})[0]  # fmt: skip
        return message

    return one


@pytest.mark.parametrize("impl", ["envelope", "aws-encryption-sdk", "raw AES-GCM"])
@pytest.mark.parametrize("cached", [False, True], ids=["no-cache", "cache"])
def test_many_small_messages(
    benchmark: Any,
    request: pytest.FixtureRequest,
    service: tuple[Counting, str],
    impl: str,
    cached: bool,
) -> None:
    counting, arn = service
    count = _count(request)
    label = f"{count:,} x 1 KiB, " + (f"cache ({MAX_MESSAGES:,} messages per data key)"
                                       if cached else "no cache")  # fmt: skip
    role = {"envelope": "subject", "aws-encryption-sdk": "peer"}.get(impl, "limit")
    tag(benchmark, area="cache", case=label, impl=impl, role=role, ops=count,
        nbytes=count * len(PLAINTEXT))  # fmt: skip
    if impl == "envelope":
        key = KmsKey(counting, arn)  # type: ignore[arg-type]
        cache = DataKeyCache(max_age=300, max_messages=MAX_MESSAGES) if cached else None

        def one() -> bytes:
            return encrypt(PLAINTEXT, keys=[key], encryption_context=CONTEXT, cache=cache)

    elif impl == "aws-encryption-sdk":
        one = _esdk(counting, arn, cached)
    else:
        aesgcm = AESGCM(os.urandom(32))

        def one() -> bytes:
            return aesgcm.encrypt(os.urandom(12), PLAINTEXT, None)

    def run() -> int:
        before = counting.calls
        for _ in range(count):
            one()
        return counting.calls - before

    calls = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=0)
    calls = run() if calls is None else calls  # counted again when timing is disabled
    figure(benchmark, "key-service calls per round", calls)
    if impl == "raw AES-GCM":
        assert calls == 0
    elif cached:
        assert 0 < calls <= -(-count // MAX_MESSAGES) + 1
    else:
        assert calls == count
