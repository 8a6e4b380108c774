"""Header parsing reads each byte once and stops at the EDK count when it is over the cap."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from envelope.errors import MessageFormatError, TooManyEncryptedDataKeysError
from envelope.message import RawAesKey, decrypt, decrypt_stream, encrypt, inspect, rewrap
from envelope.message.header import (
    FRAMED,
    EncryptedDataKey,
    Header,
    parse_header,
    serialize_header,
)
from envelope.message.reader import BytesReader, StreamReader
from envelope.message.suites import SUITES

KEY = RawAesKey("ns", "k", os.urandom(32))
# version, suite, message id, AAD length, the AAD ("k"="v": count, two length-prefixed fields)
COUNT_END = 1 + 2 + 32 + 2 + (2 + 2 + 1 + 2 + 1) + 2


def _header(edk_count: int) -> bytes:
    """A v2 header declaring (and carrying) ``edk_count`` small EDKs, plus a dummy tag."""
    header = Header(
        version=2,
        suite=SUITES[0x0478],
        message_id=os.urandom(32),
        encryption_context={"k": "v"},
        encrypted_data_keys=tuple(
            EncryptedDataKey("p", b"", i.to_bytes(2, "big")) for i in range(edk_count)
        ),
        content_type=FRAMED,
        frame_length=4096,
        suite_data=bytes(32),
    )
    return serialize_header(header) + bytes(16)


MANY = _header(65535)


class Counting(io.RawIOBase):
    """A source that counts the bytes it hands out."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)
        self.given = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._inner.readinto(buffer)
        self.given += n
        return n


ENTRY_POINTS: dict[str, Callable[[Counting], object]] = {
    "decrypt_stream": lambda src: decrypt_stream(src, io.BytesIO(), keys=[KEY]),  # type: ignore[arg-type]
    "inspect(stream)": lambda src: inspect(src),  # type: ignore[arg-type]
    "rewrap": lambda src: rewrap(src, io.BytesIO(), keys=[KEY]),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_65535_edks_stop_every_stream_entry_point_at_the_count(entry: str) -> None:
    """decrypt.md, "Parse the header": when the EDK count is over the client's maximum, "as soon
    as that can be determined during deserializing decrypt MUST process no more bytes and yield
    an error". inspect and rewrap apply the same default cap of 10 (client.md, "Maximum Number
    Of Encrypted Data Keys")."""
    source = Counting(MANY)
    with pytest.raises(TooManyEncryptedDataKeysError, match="65535 keys, the limit is 10"):
        ENTRY_POINTS[entry](source)
    assert source.given == COUNT_END  # not one EDK byte was read


@pytest.mark.parametrize("entry", ["decrypt", "inspect"])
def test_65535_edks_in_memory_are_refused_at_the_count(entry: str) -> None:
    """decrypt.md, "Parse the header" ("MUST process no more bytes and yield an error"), for
    messages held in memory, including inspect's default cap."""
    with pytest.raises(TooManyEncryptedDataKeysError, match="65535 keys, the limit is 10"):
        if entry == "decrypt":
            decrypt(MANY, keys=[KEY])
        else:
            inspect(MANY)
    reader = BytesReader(MANY)
    with pytest.raises(TooManyEncryptedDataKeysError):
        parse_header(reader)
    assert reader.offset == COUNT_END


def test_cap_is_configurable_for_every_entry_point() -> None:
    """client.md, "Maximum Number Of Encrypted Data Keys": "Callers MUST have a way to disable
    this limit" (65535 is the format's own)."""
    eleven = _header(11)
    with pytest.raises(TooManyEncryptedDataKeysError, match="11 keys, the limit is 10"):
        inspect(eleven)
    assert len(inspect(eleven, max_encrypted_data_keys=11).encrypted_data_keys) == 11
    assert len(inspect(io.BytesIO(MANY), max_encrypted_data_keys=65535).encrypted_data_keys) == (
        65535
    )
    with pytest.raises(TooManyEncryptedDataKeysError, match="11 keys, the limit is 3"):
        inspect(io.BytesIO(eleven), max_encrypted_data_keys=3)


def test_whole_header_with_every_edk_is_read_once_from_a_stream() -> None:
    """decrypt.md, "Parse the header": "MUST process those bytes sequentially"; the stream is
    left right after the header (message-header.md) and no byte is asked for twice."""
    source = Counting(MANY + b"body")
    header, header_bytes, auth = parse_header(
        StreamReader(source),
        max_encrypted_data_keys=65535,  # type: ignore[arg-type]
    )
    assert len(header.encrypted_data_keys) == 65535
    assert header_bytes + auth == MANY
    assert source.given == len(MANY)


def _parser_lines(edk_count: int) -> int:
    """Python lines run inside header.py while a stream header of ``edk_count`` EDKs is parsed."""
    data = _header(edk_count)
    here = str(Path(parse_header.__code__.co_filename))
    lines = 0

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal lines
        if frame.f_code.co_filename != here:
            return None
        if event == "line":
            lines += 1
        return tracer

    sys.settrace(tracer)
    try:
        parse_header(StreamReader(io.BytesIO(data)), max_encrypted_data_keys=65535)
    finally:
        sys.settrace(None)
    return lines


def test_stream_header_parsing_is_linear_in_the_edk_count() -> None:
    """decrypt.md, "Parse the header": bytes are processed "sequentially", so doubling the EDK
    count doubles the parser's work (counted in executed lines, not time: the timing is in
    benchmarks/test_bench_header.py). Re-parsing from byte 0 after each read made it quadratic."""
    small, large = _parser_lines(100), _parser_lines(200)
    assert large <= 2 * small + 50, (small, large)


def test_truncated_header_is_one_clear_error_on_streams() -> None:
    """decrypt.md, "Parse the header": when the caller "indicates an end" before a valid header,
    the operation must halt with a failure."""
    for length in (0, 1, 20, COUNT_END, COUNT_END + 3, len(_header(2)) - 1):
        with pytest.raises(MessageFormatError, match="truncated"):
            inspect(io.BytesIO(_header(2)[:length]))


def test_real_message_still_parses_and_decrypts_through_streams() -> None:
    message = encrypt(b"hello", keys=[KEY], encryption_context={"a": "b"})
    assert inspect(io.BytesIO(message)).encryption_context == {"a": "b"}
    out = io.BytesIO()
    decrypt_stream(io.BytesIO(message), out, keys=[KEY])
    assert out.getvalue() == b"hello"
