"""Exact-length readers over bytes and binary streams; a short read is a MessageFormatError."""

from __future__ import annotations

from typing import BinaryIO

from envelope.errors import MessageFormatError


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
        if data is None:
            data = b""
        if len(data) < n:
            parts = [data]
            got = len(data)
            while got < n:
                more = self._source.read(n - got)
                if not more:
                    raise MessageFormatError(f"message is truncated: {what} needs {n} bytes")
                parts.append(more)
                got += len(more)
            data = b"".join(parts)
        return data

    def at_end(self) -> bool:
        """True when the stream has no more bytes (reads one byte to find out)."""
        return not self._source.read(1)


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
