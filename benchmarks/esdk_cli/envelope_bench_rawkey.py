"""A raw AES-256 master key provider for ``aws-encryption-cli`` (benchmarks only).

``aws-encryption-cli --wrapping-keys provider=bench-raw key=NAME`` wraps data keys with the 32
bytes in the file that ``ENVELOPE_BENCH_RAW_KEY_FILE`` names, in the ESDK raw AES keyring layout
(AES-256-GCM, 12-byte IV, 16-byte tag), so the CLI benchmark needs no KMS.
"""

from __future__ import annotations

import os
from typing import Any

from aws_encryption_sdk.identifiers import EncryptionKeyType, WrappingAlgorithm
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.key_providers.base import MasterKeyProviderConfig
from aws_encryption_sdk.key_providers.raw import RawMasterKeyProvider

PROVIDER_ID = "bench-raw"


class BenchRawKeyProvider(RawMasterKeyProvider):  # type: ignore[misc]
    """Every key id names the same key: the one in ``ENVELOPE_BENCH_RAW_KEY_FILE``."""

    provider_id = PROVIDER_ID
    _config_class = MasterKeyProviderConfig

    def _get_raw_key(self, key_id: bytes) -> WrappingKey:
        with open(os.environ["ENVELOPE_BENCH_RAW_KEY_FILE"], "rb") as handle:
            material = handle.read()
        if len(material) != 32:
            raise ValueError("ENVELOPE_BENCH_RAW_KEY_FILE must hold exactly 32 bytes")
        return WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
            wrapping_key=material,
            wrapping_key_type=EncryptionKeyType.SYMMETRIC,
        )


def provider(**_config: Any) -> BenchRawKeyProvider:
    """The entry point: the CLI passes ``key_ids`` (and any other ``NAME=VALUE``), then adds the
    keys itself."""
    return BenchRawKeyProvider()
