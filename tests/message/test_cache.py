"""DataKeyCache: ages, usage limits, LRU capacity, bypass and thread safety (unit tests)."""

from __future__ import annotations

import threading
from itertools import count

import pytest

from envelope.message.cache import DataKeyCache


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Maker:
    """create() callable that returns a new distinct object each time and counts calls."""

    def __init__(self) -> None:
        self.calls = 0
        self._ids = count()

    def __call__(self) -> str:
        self.calls += 1
        return f"materials-{next(self._ids)}"


def make(**kwargs: object) -> tuple[DataKeyCache, FakeClock, Maker]:
    clock = FakeClock()
    kwargs.setdefault("max_age", 60.0)
    return DataKeyCache(clock=clock, **kwargs), clock, Maker()  # type: ignore[arg-type]


def test_hit_returns_same_materials_and_counts() -> None:
    cache, _, maker = make()
    first = cache.get_encryption_materials(b"k", 10, maker)
    for _ in range(5):
        assert cache.get_encryption_materials(b"k", 10, maker) == first
    assert maker.calls == 1
    assert (cache.hits, cache.misses) == (5, 1)


def test_different_keys_do_not_share() -> None:
    cache, _, maker = make()
    a = cache.get_encryption_materials(b"a", 1, maker)
    b = cache.get_encryption_materials(b"b", 1, maker)
    assert a != b
    assert cache.get_encryption_materials(b"a", 1, maker) == a
    assert maker.calls == 2


def test_expires_by_age() -> None:
    cache, clock, maker = make(max_age=10.0)
    first = cache.get_encryption_materials(b"k", 1, maker)
    clock.now += 9.999
    assert cache.get_encryption_materials(b"k", 1, maker) == first
    clock.now += 0.001
    second = cache.get_encryption_materials(b"k", 1, maker)
    assert second != first
    assert maker.calls == 2
    # The replacement's age starts when it was created.
    clock.now += 9.0
    assert cache.get_encryption_materials(b"k", 1, maker) == second


def test_len_drops_expired_entries() -> None:
    cache, clock, maker = make(max_age=5.0)
    cache.get_encryption_materials(b"a", 1, maker)
    cache.get_encryption_materials(b"b", 1, maker)
    assert len(cache) == 2
    clock.now += 5.0
    assert len(cache) == 0


def test_message_limit() -> None:
    cache, _, maker = make(max_messages=3)
    got = [cache.get_encryption_materials(b"k", 1, maker) for _ in range(7)]
    # Each data key encrypts exactly three messages, then is replaced.
    assert got == ["materials-0"] * 3 + ["materials-1"] * 3 + ["materials-2"]
    assert maker.calls == 3


def test_max_messages_one_never_reuses() -> None:
    cache, _, maker = make(max_messages=1)
    got = {cache.get_encryption_materials(b"k", 1, maker) for _ in range(4)}
    assert len(got) == 4


def test_byte_limit_counts_this_message() -> None:
    cache, _, maker = make(max_bytes=100)
    first = cache.get_encryption_materials(b"k", 60, maker)
    assert cache.get_encryption_materials(b"k", 40, maker) == first  # exactly 100: allowed
    second = cache.get_encryption_materials(b"k", 1, maker)  # 101 would exceed
    assert second != first
    assert cache.get_encryption_materials(b"k", 99, maker) == second  # 1 + 99 = 100
    assert maker.calls == 2


def test_message_larger_than_byte_limit_bypasses() -> None:
    cache, _, maker = make(max_bytes=100)
    cached = cache.get_encryption_materials(b"k", 10, maker)
    big = cache.get_encryption_materials(b"k", 101, maker)
    assert big != cached
    # The bypass neither used nor replaced the cached entry.
    assert cache.get_encryption_materials(b"k", 10, maker) == cached
    assert maker.calls == 2


def test_unknown_length_bypasses_and_stores_nothing() -> None:
    cache, _, maker = make()
    a = cache.get_encryption_materials(b"k", None, maker)
    b = cache.get_encryption_materials(b"k", None, maker)
    assert a != b
    assert len(cache) == 0
    assert maker.calls == 2


def test_zero_length_messages_are_cached() -> None:
    cache, _, maker = make(max_bytes=0)
    a = cache.get_encryption_materials(b"k", 0, maker)
    assert cache.get_encryption_materials(b"k", 0, maker) == a
    assert cache.get_encryption_materials(b"k", 1, maker) != a


def test_lru_capacity() -> None:
    cache, _, maker = make(capacity=2)
    a = cache.get_encryption_materials(b"a", 1, maker)
    cache.get_encryption_materials(b"b", 1, maker)
    cache.get_encryption_materials(b"a", 1, maker)  # a is now most recently used
    cache.get_encryption_materials(b"c", 1, maker)  # evicts b
    assert len(cache) == 2
    assert cache.get_encryption_materials(b"a", 1, maker) == a
    calls = maker.calls
    cache.get_encryption_materials(b"b", 1, maker)
    assert maker.calls == calls + 1


def test_create_failure_caches_nothing() -> None:
    cache, _, maker = make()

    def boom() -> str:
        raise RuntimeError("key service down")

    with pytest.raises(RuntimeError, match="key service down"):
        cache.get_encryption_materials(b"k", 1, boom)
    assert len(cache) == 0
    assert cache.get_encryption_materials(b"k", 1, maker) == "materials-0"


def test_clear() -> None:
    cache, _, maker = make()
    cache.get_encryption_materials(b"k", 1, maker)
    cache.clear()
    cache.get_encryption_materials(b"k", 1, maker)
    assert maker.calls == 2


def test_repr_holds_no_materials() -> None:
    cache, _, _ = make()
    secret = b"\x13\x37" * 16
    cache.get_encryption_materials(b"k", 1, lambda: secret)
    text = repr(cache)
    assert "entries=1" in text
    assert secret.hex() not in text and repr(secret) not in text


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"max_age": 0}, ValueError, "max_age"),
        ({"max_age": -1.0}, ValueError, "max_age"),
        ({"max_age": float("inf")}, ValueError, "finite"),
        ({"max_age": float("nan")}, ValueError, "max_age"),
        ({"max_age": "60"}, TypeError, "max_age"),
        ({"max_age": True}, TypeError, "max_age"),
        ({"max_age": 1.0, "max_messages": 0}, ValueError, "between 1 and 4294967296"),
        ({"max_age": 1.0, "max_messages": 2**32 + 1}, ValueError, "max_messages"),
        ({"max_age": 1.0, "max_messages": 1.5}, TypeError, "max_messages"),
        ({"max_age": 1.0, "max_bytes": -1}, ValueError, "max_bytes"),
        ({"max_age": 1.0, "max_bytes": 2**63}, ValueError, "9223372036854775807"),
        ({"max_age": 1.0, "capacity": 0}, ValueError, "capacity"),
        ({"max_age": 1.0, "clock": 5}, TypeError, "clock"),
    ],
)
def test_arguments_validated(kwargs: dict[str, object], error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        DataKeyCache(**kwargs)  # type: ignore[arg-type]


def test_max_age_is_required() -> None:
    with pytest.raises(TypeError):
        DataKeyCache()  # type: ignore[call-arg]


def test_bad_requests() -> None:
    cache, _, maker = make()
    with pytest.raises(TypeError, match="cache_key"):
        cache.get_encryption_materials("k", 1, maker)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="plaintext_length"):
        cache.get_encryption_materials(b"k", -1, maker)
    assert maker.calls == 0


def test_threads_never_exceed_message_limit() -> None:
    limit = 7
    cache = DataKeyCache(max_age=3600.0, max_messages=limit)
    uses: dict[int, int] = {}
    lock = threading.Lock()
    ids = count()

    def create() -> int:
        return next(ids)

    def worker() -> None:
        for _ in range(300):
            m = cache.get_encryption_materials(b"k", 1, create)
            with lock:
                uses[m] = uses.get(m, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(uses.values()) == 8 * 300
    assert max(uses.values()) <= limit
    # Reuse happened: far fewer data keys than messages.
    assert len(uses) < 8 * 300 / 2
