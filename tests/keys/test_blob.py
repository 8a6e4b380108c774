"""The local ciphertext-blob layouts: round trip, every malformation, and property tests.

Layout 2 (per-request derived keys) is written; layout 1 (sealed directly under the backing key)
is still read, so ciphertexts from before the change keep decrypting.
"""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envelope.errors import InvalidCiphertextException, ValidationException
from envelope.keys import blob

KEY = str(uuid.uuid4())
FIELD = {blob.LAYOUT_DIRECT: blob.NONCE_SIZE, blob.LAYOUT_DERIVED: blob.SALT_SIZE}
LAYOUTS = sorted(FIELD)


def _make(version: int = 3, body: bytes = b"c" * 20, layout: int = blob.LAYOUT_DERIVED) -> bytes:
    return blob.pack_prefix(KEY, version, layout) + b"n" * FIELD[layout] + body


def _smallest(layout: int) -> int:
    return blob.PREFIX_SIZE + FIELD[layout] + blob.TAG_SIZE + 1


def test_new_blobs_use_the_derived_layout() -> None:
    assert blob.LAYOUT_VERSION == blob.LAYOUT_DERIVED
    assert blob.pack_prefix(KEY, 1)[0] == blob.LAYOUT_DERIVED


@pytest.mark.parametrize("layout", LAYOUTS)
def test_round_trip(layout: int) -> None:
    parsed = blob.parse(_make(layout=layout))
    assert parsed.key_id == KEY
    assert parsed.version == 3
    assert parsed.layout == layout
    assert parsed.nonce == b"n" * FIELD[layout]
    assert parsed.ciphertext == b"c" * 20
    assert parsed.aad_prefix == blob.pack_prefix(KEY, 3, layout)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_size_bounds(layout: int) -> None:
    smallest = _make(body=b"c" * (blob.TAG_SIZE + 1), layout=layout)
    assert len(smallest) == _smallest(layout)
    blob.parse(smallest)
    with pytest.raises(InvalidCiphertextException):
        blob.parse(smallest[:-1])
    largest = _make(body=b"c" * (blob.MAX_SIZE - blob.PREFIX_SIZE - FIELD[layout]), layout=layout)
    blob.parse(largest)
    with pytest.raises(InvalidCiphertextException):
        blob.parse(largest + b"c")


def test_largest_plaintext_fits_the_kms_limit() -> None:
    assert blob.HEADER_SIZE + 4096 + blob.TAG_SIZE <= blob.MAX_SIZE


def test_unknown_layout_and_zero_version() -> None:
    for layout in (0, 3, 255):
        data = bytearray(_make())
        data[0] = layout
        with pytest.raises(InvalidCiphertextException, match="layout"):
            blob.parse(bytes(data))
    with pytest.raises(InvalidCiphertextException, match="version"):
        blob.parse(_make(version=0))


@pytest.mark.parametrize("value", [None, "text", 7, [1, 2]])
def test_wrong_types(value: object) -> None:
    with pytest.raises(InvalidCiphertextException):
        blob.parse(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_truncations(layout: int) -> None:
    data = _make(layout=layout)
    for cut in range(_smallest(layout)):
        with pytest.raises(InvalidCiphertextException):
            blob.parse(data[:cut])


def test_context_encoding_is_order_independent_and_unambiguous() -> None:
    a = blob.encode_context({"a": "1", "b": "2"})
    assert a == blob.encode_context({"b": "2", "a": "1"})
    assert blob.encode_context({"ab": "c"}) != blob.encode_context({"a": "bc"})
    assert blob.encode_context(None) == blob.encode_context({})
    assert blob.encode_context({}) != blob.encode_context({"": ""})


def test_context_encoding_refuses_what_it_cannot_encode() -> None:
    """Too many pairs for the 2-byte count, or a lone surrogate: a KMS error, never a raw one."""
    with pytest.raises(ValidationException, match="65535"):
        blob.encode_context({str(i): "" for i in range(0x10000)})
    with pytest.raises(ValidationException, match="Unicode"):
        blob.encode_context({"k": "\ud800"})


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=7000))
def test_random_bytes_only_raise_invalid_ciphertext(data: bytes) -> None:
    try:
        parsed = blob.parse(data)
    except InvalidCiphertextException:
        return
    assert parsed.version >= 1
    assert _smallest(parsed.layout) <= len(data) <= blob.MAX_SIZE


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutations_only_raise_invalid_ciphertext(data: st.DataObject) -> None:
    layout = data.draw(st.sampled_from(LAYOUTS))
    raw = bytearray(_make(version=data.draw(st.integers(1, 2**32 - 1)), layout=layout))
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
