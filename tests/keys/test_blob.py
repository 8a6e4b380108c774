"""The local ciphertext-blob layout: round trip, every malformation, and a property test."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envelope.errors import InvalidCiphertextException
from envelope.keys import blob

KEY = str(uuid.uuid4())


def _make(version: int = 3, body: bytes = b"c" * 20) -> bytes:
    return blob.pack_prefix(KEY, version) + b"n" * blob.NONCE_SIZE + body


def test_round_trip() -> None:
    parsed = blob.parse(_make())
    assert parsed.key_id == KEY
    assert parsed.version == 3
    assert parsed.nonce == b"n" * 12
    assert parsed.ciphertext == b"c" * 20
    assert parsed.aad_prefix == blob.pack_prefix(KEY, 3)


def test_size_bounds() -> None:
    smallest = _make(body=b"c" * (blob.TAG_SIZE + 1))
    assert len(smallest) == blob.MIN_SIZE
    blob.parse(smallest)
    with pytest.raises(InvalidCiphertextException):
        blob.parse(smallest[:-1])
    largest = _make(body=b"c" * (blob.MAX_SIZE - blob.HEADER_SIZE))
    blob.parse(largest)
    with pytest.raises(InvalidCiphertextException):
        blob.parse(largest + b"c")


def test_unknown_layout_and_zero_version() -> None:
    data = bytearray(_make())
    data[0] = 2
    with pytest.raises(InvalidCiphertextException, match="layout"):
        blob.parse(bytes(data))
    with pytest.raises(InvalidCiphertextException, match="version"):
        blob.parse(_make(version=0))


@pytest.mark.parametrize("value", [None, "text", 7, [1, 2]])
def test_wrong_types(value: object) -> None:
    with pytest.raises(InvalidCiphertextException):
        blob.parse(value)  # type: ignore[arg-type]


def test_truncations() -> None:
    data = _make()
    for cut in range(blob.MIN_SIZE):
        with pytest.raises(InvalidCiphertextException):
            blob.parse(data[:cut])


def test_context_encoding_is_order_independent_and_unambiguous() -> None:
    a = blob.encode_context({"a": "1", "b": "2"})
    assert a == blob.encode_context({"b": "2", "a": "1"})
    assert blob.encode_context({"ab": "c"}) != blob.encode_context({"a": "bc"})
    assert blob.encode_context(None) == blob.encode_context({})
    assert blob.encode_context({}) != blob.encode_context({"": ""})


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=7000))
def test_random_bytes_only_raise_invalid_ciphertext(data: bytes) -> None:
    try:
        parsed = blob.parse(data)
    except InvalidCiphertextException:
        return
    assert parsed.version >= 1
    assert blob.MIN_SIZE <= len(data) <= blob.MAX_SIZE


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutations_only_raise_invalid_ciphertext(data: st.DataObject) -> None:
    raw = bytearray(_make(version=data.draw(st.integers(1, 2**32 - 1))))
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "cut", "grow"]))
        if kind == "flip" and raw:
            raw[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
        elif kind == "cut":
            raw = raw[: data.draw(st.integers(0, len(raw)))]
        else:
            raw += data.draw(st.binary(max_size=64))
    try:
        parsed = blob.parse(bytes(raw))
    except InvalidCiphertextException:
        return
    assert parsed.aad_prefix + parsed.nonce + parsed.ciphertext == bytes(raw)
