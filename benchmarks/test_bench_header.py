"""Header parsing against the declared EDK count (1, 10, 1,000, 65,535): linear, and refused early.

Each header is read from a stream (``io.BytesIO``), the way ``decrypt_stream``, ``rewrap`` and the
CLI's header pre-read see it. ``parse-all`` lifts the cap (65535) and parses every EDK; ``cap-10``
uses the default cap and stops at the EDK count. The peer is aws-encryption-sdk's own header
deserializer with the same cap. Groups are named ``<mode>`` so each table reads as cost per count.
"""

from __future__ import annotations

import io
import os
from typing import Any

import pytest
from convention import tag

from envelope.errors import TooManyEncryptedDataKeysError
from envelope.message.header import FRAMED, EncryptedDataKey, Header, parse_header, serialize_header
from envelope.message.reader import StreamReader
from envelope.message.suites import SUITES

COUNTS = [1, 10, 1000, 65535]
_HEADERS: dict[int, bytes] = {}


def _header(count: int) -> bytes:
    if count not in _HEADERS:
        header = Header(
            version=2,
            suite=SUITES[0x0478],
            message_id=os.urandom(32),
            encryption_context={"bench": "header"},
            encrypted_data_keys=tuple(
                EncryptedDataKey("aws-kms", b"arn:aws:kms:us-east-1:111122223333:key/k", b"%d" % i)
                for i in range(count)
            ),
            content_type=FRAMED,
            frame_length=65536,
            suite_data=bytes(32),
        )
        _HEADERS[count] = serialize_header(header) + bytes(16)
    return _HEADERS[count]


def _edks(count: int) -> str:
    return f"{count:,} EDK" + ("s" if count > 1 else "")


def _rounds(count: int) -> dict[str, int]:
    return {"rounds": 5 if count == 65535 else 50, "iterations": 1}


@pytest.mark.parametrize("impl", ["envelope", "aws-encryption-sdk"])
@pytest.mark.parametrize("count", COUNTS)
def test_parse_all(benchmark: Any, count: int, impl: str) -> None:
    tag(benchmark, area="header", case=f"parse all {_edks(count)} (cap 65535)", impl=impl,
        role="subject" if impl == "envelope" else "peer", ops=1)  # fmt: skip
    data = _header(count)
    if impl == "envelope":
        result = benchmark.pedantic(
            lambda: parse_header(StreamReader(io.BytesIO(data)), max_encrypted_data_keys=65535),
            warmup_rounds=1,
            **_rounds(count),
        )
        assert len(result[0].encrypted_data_keys) == count
    else:
        from aws_encryption_sdk.internal.formatting.deserialize import deserialize_header

        result = benchmark.pedantic(
            lambda: deserialize_header(io.BytesIO(data), 65535), warmup_rounds=1, **_rounds(count)
        )
        assert len(result[0].encrypted_data_keys) == count


def _refuse(data: bytes) -> None:
    try:
        parse_header(StreamReader(io.BytesIO(data)))
    except TooManyEncryptedDataKeysError:
        return
    raise AssertionError("not refused")


@pytest.mark.parametrize("count", COUNTS)
def test_cap_10(benchmark: Any, count: int) -> None:
    tag(benchmark, area="header", case=f"{_edks(count)}, default cap 10", impl="envelope",
        role="subject", ops=1)  # fmt: skip
    data = _header(count)
    if count <= 10:
        benchmark(lambda: parse_header(StreamReader(io.BytesIO(data))))
    else:
        benchmark(lambda: _refuse(data))
