"""Properties of decrypt, decrypt_stream and inspect on hostile bytes: a MessageError or the truth.

For arbitrary bytes and for valid messages mutated in every way hypothesis finds (bit flips,
length fields set to extremes, truncation, insertion, duplication), each entry point returns or
raises a ``MessageError``, never anything else, within a bounded time (hypothesis' deadline) and
a bounded memory peak (tracemalloc). Whatever comes out is the original plaintext: a successful
decrypt returns it whole, and a failed ``decrypt_stream`` has written at most a prefix of it.
"""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from envelope.errors import MessageError
from envelope.message import RawAesKey, decrypt, decrypt_stream, encrypt, inspect

SECRET = bytes(range(32))
KEY = RawAesKey("ns", "k", SECRET)
OTHER = RawAesKey("other", "k2", bytes(32))
PLAINTEXT = bytes(range(256)) * 3  # 768 bytes
LARGE = bytes(range(256)) * 4097  # just over 1 MiB: decrypt's in-place path
MEMORY_LIMIT = 16 * 1024 * 1024  # peak bytes allocated by one call (the largest input is 1 MiB)


def _unframed(plaintext: bytes) -> bytes:
    from tests.message.conftest import esdk_aes_master_key, esdk_client

    message, _ = esdk_client().encrypt(
        source=plaintext, key_provider=esdk_aes_master_key("ns", "k", SECRET), frame_length=0
    )
    return bytes(message)


MESSAGES = [
    encrypt(PLAINTEXT, keys=[KEY], frame_length=256, encryption_context={"a": "b"}),
    encrypt(PLAINTEXT, keys=[KEY], frame_length=256, suite=0x0578),  # 3 frames + empty final
    encrypt(PLAINTEXT, keys=[KEY], frame_length=100, suite=0x0578),
    encrypt(PLAINTEXT, keys=[OTHER, KEY], frame_length=512),
    encrypt(b"", keys=[KEY]),
    _unframed(PLAINTEXT),
    _unframed(LARGE),
    encrypt(LARGE, keys=[KEY], frame_length=4096),
]
ORIGINAL = {
    m: (b"" if i == 4 else LARGE if len(m) > 1024 * 1024 else PLAINTEXT)
    for i, m in enumerate(MESSAGES)
}
ENTRY_POINTS: dict[str, Callable[[bytes], Any]] = {
    "decrypt": lambda m: decrypt(m, keys=[KEY], allow_legacy=True, max_encrypted_data_keys=65535),
    "inspect": lambda m: inspect(m, max_encrypted_data_keys=65535),
    "inspect(stream)": lambda m: inspect(io.BytesIO(m)),
}
SETTINGS = settings(
    max_examples=250,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _bounded(call: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    """Run ``call``; return (result, MessageError or None) and check its memory peak."""
    tracemalloc.start()
    try:
        try:
            return call(), None
        except MessageError as error:
            assert str(error)
            return None, error
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < MEMORY_LIMIT, peak


def _check_all(data: bytes, original: bytes) -> None:
    for name, entry in ENTRY_POINTS.items():
        result, error = _bounded(lambda entry=entry: entry(data))  # type: ignore[misc]
        if error is None and name == "decrypt":
            assert result == original
    out = io.BytesIO()
    _, error = _bounded(
        lambda: decrypt_stream(io.BytesIO(data), out, keys=[KEY], allow_legacy=True)
    )
    written = out.getvalue()
    if error is None:
        assert written == original
    else:
        # Only authenticated frames, and never the last one (it waits for every check).
        assert original.startswith(written)
        assert len(written) < len(original) or not written


@SETTINGS
@given(
    st.one_of(
        st.binary(max_size=3000),
        st.binary(max_size=3000).map(lambda b: b"\x02\x04\x78" + b),
        st.binary(max_size=3000).map(lambda b: b"\x01\x80\x03\x78" + b),
    )
)
def test_arbitrary_bytes(data: bytes) -> None:
    """decrypt.md, "Authenticated Data": the operation "MUST NOT release any unauthenticated
    plaintext"; and every parse failure is one MessageError (STYLE: one error family)."""
    _check_all(data, PLAINTEXT)


_EXTREMES = [b"\x00", b"\xff", b"\x7f", b"\x80"]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[bytes, bytes]:
    base = draw(st.sampled_from(MESSAGES))
    data = bytearray(base)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        if not data:
            break
        # Two thirds of the positions fall in the first 400 bytes (the header and the first
        # length fields) or the last 150 (final frame and signature footer).
        at = draw(
            st.one_of(
                st.integers(min_value=0, max_value=min(len(data), 400) - 1),
                st.integers(min_value=max(0, len(data) - 150), max_value=len(data) - 1),
                st.integers(min_value=0, max_value=len(data) - 1),
            )
        )
        kind = draw(st.sampled_from(["flip", "field", "truncate", "insert", "duplicate", "drop"]))
        if kind == "flip":
            data[at] ^= draw(st.integers(min_value=1, max_value=255))
        elif kind == "field":  # a 1/2/4/8-byte length or count set to an extreme value
            width = draw(st.sampled_from([1, 2, 4, 8]))
            fill = draw(st.sampled_from(_EXTREMES)) * width
            data[at : at + width] = fill[: len(data[at : at + width])]
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "duplicate":
            end = draw(st.integers(min_value=at, max_value=len(data)))
            data[at:at] = data[at:end]
        else:
            end = draw(st.integers(min_value=at, max_value=len(data)))
            del data[at:end]
    return bytes(data), ORIGINAL[base]


def _flip(message: bytes, at: int) -> bytes:
    data = bytearray(message)
    data[at] ^= 1
    return bytes(data)


@SETTINGS
@given(mutated())
@example((_flip(MESSAGES[1], -3), PLAINTEXT))  # the signature of 3 full frames + an empty final
@example((MESSAGES[1][:-1], PLAINTEXT))
def test_mutated_valid_messages(case: tuple[bytes, bytes]) -> None:
    """decrypt.md, "Verify the header" / "Decrypt the message body" / "Verify the signature":
    any failed check "MUST immediately halt and fail"; what is released is authenticated, so it
    is the original plaintext or a prefix of it."""
    _check_all(*case)


def test_every_base_message_decrypts() -> None:
    for message in MESSAGES:
        _check_all(message, ORIGINAL[message])
        assert decrypt(message, keys=[KEY]) == ORIGINAL[message]
