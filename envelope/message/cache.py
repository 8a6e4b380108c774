"""An opt-in cache of encryption materials, so many small messages share one data key."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

M = TypeVar("M")

# Limits from the ESDK caching CMM specification (framework/caching-cmm.md, "Limit Messages" and
# "Limit Bytes"): a data key never encrypts more than 2^32 messages or 2^63-1 bytes.
MAX_MESSAGES_PER_KEY = 2**32
MAX_BYTES_PER_KEY = 2**63 - 1


@dataclass
class _Entry(Generic[M]):
    materials: M
    created: float
    messages: int
    bytes: int


def _check_int(name: str, value: object, lowest: int, highest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not lowest <= value <= highest:
        raise ValueError(f"{name} is {value}; it must be between {lowest} and {highest}")
    return value


class DataKeyCache:
    """Encryption materials (a data key and its encrypted data keys) reused across messages.

    Follows the ESDK caching CMM (``framework/caching-cmm.md``): an entry is used for at most
    ``max_age`` seconds, ``max_messages`` messages and ``max_bytes`` plaintext bytes, then replaced
    by fresh materials; at most ``capacity`` entries are kept, least recently used evicted first.
    A request whose plaintext length is unknown (a stream) bypasses the cache, as the
    specification requires, so a data key never encrypts more than the limits allow.

    Reusing a data key is safe with the ESDK's suites because every message derives its own
    content key from the data key and a fresh message id; the cost is that one compromised data
    key opens every message that shared it. Keep the limits small.

    The cache is thread-safe. It holds no key material in its repr.
    """

    def __init__(
        self,
        *,
        max_age: float,
        max_messages: int = MAX_MESSAGES_PER_KEY,
        max_bytes: int = 2**62,
        capacity: int = 100,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create an empty cache.

        Args:
            max_age: Seconds an entry may be used after it was created; positive and finite.
            max_messages: Messages one entry may encrypt, 1 to 2^32.
            max_bytes: Plaintext bytes one entry may encrypt, 0 to 2^63-1.
            capacity: Entries kept at most, at least 1.
            clock: Monotonic seconds; injectable for tests.

        Raises:
            TypeError: An argument has the wrong type.
            ValueError: An argument is out of range; the message names the limit.
        """
        if isinstance(max_age, bool) or not isinstance(max_age, (int, float)):
            raise TypeError(f"max_age must be a number of seconds, not {type(max_age).__name__}")
        if not (math.isfinite(max_age) and max_age > 0):
            raise ValueError(
                f"max_age is {max_age}; it must be a positive, finite number of seconds"
            )
        self._max_age = float(max_age)
        self._max_messages = _check_int("max_messages", max_messages, 1, MAX_MESSAGES_PER_KEY)
        self._max_bytes = _check_int("max_bytes", max_bytes, 0, MAX_BYTES_PER_KEY)
        self._capacity = _check_int("capacity", capacity, 1, 2**31)
        if not callable(clock):
            raise TypeError("clock must be callable")
        self._clock = clock
        self._entries: OrderedDict[bytes, _Entry[object]] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    @property
    def max_age(self) -> float:
        return self._max_age

    @property
    def max_messages(self) -> int:
        return self._max_messages

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def hits(self) -> int:
        """Requests answered from the cache."""
        return self._hits

    @property
    def misses(self) -> int:
        """Requests that called ``create`` (misses, expiries, limits reached and bypasses)."""
        return self._misses

    def __len__(self) -> int:
        with self._lock:
            self._purge_expired(self._clock())
            return len(self._entries)

    def __repr__(self) -> str:
        return (
            f"DataKeyCache(max_age={self._max_age!r}, max_messages={self._max_messages!r}, "
            f"max_bytes={self._max_bytes!r}, capacity={self._capacity!r}, "
            f"entries={len(self._entries)})"
        )

    def clear(self) -> None:
        """Forget every entry (the materials are dropped; nothing else is affected)."""
        with self._lock:
            self._entries.clear()

    def get_encryption_materials(
        self, cache_key: bytes, plaintext_length: int | None, create: Callable[[], M]
    ) -> M:
        """Return cached materials for ``cache_key`` (or new ones from ``create()``); count the use.

        The caller builds ``cache_key`` from everything the materials depend on (wrapping keys,
        algorithm suite, encryption context); entries are never shared across keys.

        Args:
            cache_key: Identifies the materials (for example a SHA-512 digest).
            plaintext_length: Bytes the message will encrypt, or None when unknown (the cache is
                bypassed: ``create()`` is called and nothing is stored).
            create: Makes fresh materials (calls the key service); called without the lock held.

        Returns:
            Materials that have encrypted at most ``max_messages`` messages and ``max_bytes``
            bytes, including this one, and are younger than ``max_age``.

        Raises:
            TypeError: ``cache_key`` is not bytes.
            ValueError: ``plaintext_length`` is negative.
            Exception: Whatever ``create()`` raises (nothing is cached then).
        """
        if not isinstance(cache_key, bytes):
            raise TypeError(f"cache_key must be bytes, not {type(cache_key).__name__}")
        if plaintext_length is not None:
            _check_int("plaintext_length", plaintext_length, 0, MAX_BYTES_PER_KEY)
        if plaintext_length is None or plaintext_length > self._max_bytes:
            # Caching CMM, "Get Encryption Materials": without a max plaintext length the
            # materials are neither taken from nor stored in the cache; a message larger than
            # the byte limit cannot share a data key either.
            with self._lock:
                self._misses += 1
            return create()

        with self._lock:
            now = self._clock()
            entry = self._entries.get(cache_key)
            if entry is not None:
                if self._usable(entry, now, plaintext_length):
                    entry.messages += 1
                    entry.bytes += plaintext_length
                    self._entries.move_to_end(cache_key)
                    self._hits += 1
                    return entry.materials  # type: ignore[return-value]
                # Too old, or this message would take it past a limit: evict and replace.
                del self._entries[cache_key]
            self._misses += 1

        # The key service is called outside the lock so other keys are not held up; two
        # threads missing the same key at once may both create, and the last one is kept.
        materials = create()
        with self._lock:
            now = self._clock()
            self._purge_expired(now)
            self._entries[cache_key] = _Entry(materials, now, 1, plaintext_length)
            self._entries.move_to_end(cache_key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return materials

    def _usable(self, entry: _Entry[object], now: float, plaintext_length: int) -> bool:
        return (
            now - entry.created < self._max_age
            and entry.messages + 1 <= self._max_messages
            and entry.bytes + plaintext_length <= self._max_bytes
        )

    def _purge_expired(self, now: float) -> None:
        expired = [k for k, e in self._entries.items() if now - e.created >= self._max_age]
        for key in expired:
            del self._entries[key]
