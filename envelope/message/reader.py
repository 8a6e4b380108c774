"""Exact-length readers over bytes and binary streams; a short read is a MessageFormatError."""

from __future__ import annotations

from typing import BinaryIO

from envelope.errors import MessageError, MessageFormatError

NOT_EOF = (
    "read check failed: the source returned None (a non-blocking stream with no data ready), "
    "which is not the end of the input; give a blocking stream"
)


def read_exactly(source: BinaryIO, n: int) -> bytes:
    """Read up to ``n`` bytes, fewer only at the end of the input; a ``None`` read is an error.

    A non-blocking stream returns None when no data is ready yet (``io.RawIOBase.read``); taking
    that for the end of the input would write a valid message of truncated data.

    Raises:
        MessageError: The source returned None.
    """
    return _complete(source, n, source.read(n))


def _complete(source: BinaryIO, n: int, data: bytes | None) -> bytes:
    """Finish a read of ``n`` bytes whose first ``source.read(n)`` returned ``data``."""
    if data is None:
        raise MessageError(NOT_EOF)
    if len(data) == n or not data:
        return data
    parts = [data]
    got = len(data)
    while got < n:
        more = source.read(n - got)
        if more is None:
            raise MessageError(NOT_EOF)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


class BytesReader:
    """Reads exact slices of an in-memory message without copying it."""

    __slots__ = ("_view", "data", "offset")

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self.data: bytes | bytearray = data if isinstance(data, (bytes, bytearray)) else bytes(data)
        self._view = memoryview(self.data)
        self.offset = 0

    def read(self, n: int, what: str) -> memoryview:
        """Return the next ``n`` bytes (a view) or raise naming the field ``what``."""
        start = self.offset
        end = start + n
        if end > len(self._view):
            raise MessageFormatError(f"message is truncated: {what} needs {n} bytes")
        self.offset = end
        return self._view[start:end]

    def at_end(self) -> bool:
        return self.offset == len(self._view)

    def remaining(self) -> int:
        return len(self._view) - self.offset


class StreamReader:
    """Reads exact lengths from a binary stream; remembers nothing it has given out."""

    __slots__ = ("_source",)

    def __init__(self, source: BinaryIO) -> None:
        self._source = source

    def read(self, n: int, what: str) -> bytes:
        """Return exactly ``n`` bytes or raise naming the field ``what``."""
        if n == 0:
            return b""
        data = self._source.read(n)
        if data is not None and len(data) == n:
            return data
        data = _complete(self._source, n, data)
        if len(data) < n:
            raise MessageFormatError(f"message is truncated: {what} needs {n} bytes")
        return data

    def at_end(self) -> bool:
        """True when the stream has no more bytes (reads one byte to find out).

        Raises:
            MessageError: The source returned None (no data ready is not the end).
        """
        return not read_exactly(self._source, 1)


class HashingReader:
    """Wraps an exact reader; every byte it gives out goes to a hash (for the footer signature)."""

    __slots__ = ("_hasher", "_inner")

    def __init__(self, inner: StreamReader, hasher: object) -> None:
        self._inner = inner
        self._hasher = hasher

    def read(self, n: int, what: str) -> bytes:
        data = self._inner.read(n, what)
        self._hasher.update(data)  # type: ignore[attr-defined]
        return data
