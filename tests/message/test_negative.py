"""Bad input: every failure of decrypt is one MessageError subclass naming the failed check."""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envelope.errors import (
    EncryptionContextMismatchError,
    EnvelopeError,
    MessageAuthenticationError,
    MessageError,
    MessageFormatError,
    NoMatchingKeyError,
    TooManyEncryptedDataKeysError,
)
from envelope.message import RawAesKey, decrypt, decrypt_stream, encrypt, inspect
from envelope.message.api import _encrypt_message
from envelope.message.header import EncryptedDataKey, parse_header
from envelope.message.materials import EncryptionMaterials, create_materials
from envelope.message.reader import BytesReader, StreamReader
from envelope.message.suites import SUITES

SECRET = bytes(range(32))
KEY = RawAesKey("ns", "k", SECRET)
PLAINTEXT = b"attack at dawn! " * 5  # 80 bytes: 2 full 32-byte frames and a final frame of 16
CONTEXT = {"purpose": "test"}
# Words that name a check in every error message decrypt raises.
CHECK_WORDS = ("check failed", "truncated", "unknown", "not valid", "encryption context", "limit")


def _message(suite: int) -> bytes:
    return encrypt(PLAINTEXT, keys=[KEY], encryption_context=CONTEXT, suite=suite, frame_length=32)


def _assert_clear(error: BaseException) -> None:
    assert isinstance(error, MessageError)
    text = str(error)
    assert any(word in text for word in CHECK_WORDS), text
    assert SECRET.hex() not in text and repr(SECRET) not in text


@pytest.mark.parametrize("suite", [0x0478, 0x0578])
def test_bit_flip_at_every_byte_is_refused(suite: int) -> None:
    message = _message(suite)
    for position in range(len(message)):
        flipped = bytearray(message)
        flipped[position] ^= 0x01
        with pytest.raises(MessageError) as caught:
            decrypt(bytes(flipped), keys=[KEY])
        _assert_clear(caught.value)
        out = io.BytesIO()
        with pytest.raises(MessageError) as caught:
            decrypt_stream(io.BytesIO(bytes(flipped)), out, keys=[KEY])
        _assert_clear(caught.value)
        # Whatever was written before the failure is authenticated plaintext, frame by frame.
        assert PLAINTEXT.startswith(out.getvalue())
        assert len(out.getvalue()) % 32 == 0


@pytest.mark.parametrize("suite", [0x0478, 0x0578])
def test_truncation_at_every_length_is_refused(suite: int) -> None:
    message = _message(suite)
    for length in range(len(message)):
        with pytest.raises(MessageFormatError, match="truncated") as caught:
            decrypt(message[:length], keys=[KEY])
        _assert_clear(caught.value)
        out = io.BytesIO()
        with pytest.raises(MessageFormatError, match="truncated"):
            decrypt_stream(io.BytesIO(message[:length]), out, keys=[KEY])
        assert PLAINTEXT.startswith(out.getvalue()) and len(out.getvalue()) < len(PLAINTEXT)


@pytest.mark.parametrize("suite", [0x0478, 0x0578])
@pytest.mark.parametrize("extra", [b"\x00", b"more bytes"])
def test_trailing_bytes_are_refused(suite: int, extra: bytes) -> None:
    message = _message(suite) + extra
    with pytest.raises(MessageFormatError, match="trailing bytes check failed"):
        decrypt(message, keys=[KEY])
    out = io.BytesIO()
    with pytest.raises(MessageFormatError, match="trailing bytes check failed"):
        decrypt_stream(io.BytesIO(message), out, keys=[KEY])
    assert out.getvalue() == PLAINTEXT[:64]  # the final frame was held back


@pytest.mark.parametrize(
    ("required", "match"),
    [
        ({"purpose": "other"}, "different value"),
        ({"missing": "x"}, "not in the message"),
        ({"purpose": "test", "extra": "y"}, "not in the message"),
    ],
)
def test_wrong_or_missing_context_pairs(required: dict[str, str], match: str) -> None:
    with pytest.raises(EncryptionContextMismatchError, match=match) as caught:
        decrypt(_message(0x0478), keys=[KEY], encryption_context=required)
    _assert_clear(caught.value)
    assert (
        decrypt(_message(0x0478), keys=[KEY], encryption_context={"purpose": "test"}) == PLAINTEXT
    )


def test_wrong_key_is_refused() -> None:
    for wrong in (
        RawAesKey("ns", "k", os.urandom(32)),
        RawAesKey("ns", "other", SECRET),
        RawAesKey("x", "k", SECRET),
    ):
        with pytest.raises(NoMatchingKeyError, match="key check failed") as caught:
            decrypt(_message(0x0478), keys=[wrong])
        _assert_clear(caught.value)


def _with_edks(edks: tuple[EncryptedDataKey, ...]) -> bytes:
    materials = create_materials(SUITES[0x0478], [KEY], {})
    fixed = EncryptionMaterials(
        SUITES[0x0478], materials.data_key, edks + materials.encrypted_data_keys, {}
    )
    return _encrypt_message(b"data", fixed, message_id=os.urandom(32), frame_length=64)


def test_too_many_edks_are_refused() -> None:
    junk = tuple(EncryptedDataKey("other", b"info%d" % i, b"ct") for i in range(10))
    message = _with_edks(junk)  # 11 EDKs
    with pytest.raises(TooManyEncryptedDataKeysError, match="11 keys, the limit is 10") as caught:
        decrypt(message, keys=[KEY])
    _assert_clear(caught.value)
    assert decrypt(message, keys=[KEY], max_encrypted_data_keys=11) == b"data"
    with pytest.raises(TooManyEncryptedDataKeysError):
        decrypt_stream(io.BytesIO(message), io.BytesIO(), keys=[KEY])


def test_edk_from_unknown_provider_is_skipped_or_refused() -> None:
    message = _with_edks((EncryptedDataKey("unknown-provider", b"x", b"y"),))
    assert decrypt(message, keys=[KEY]) == b"data"
    only_unknown = encrypt(b"data", keys=[RawAesKey("unknown-provider", "x", os.urandom(32))])
    with pytest.raises(NoMatchingKeyError, match="providers: unknown-provider") as caught:
        decrypt(only_unknown, keys=[KEY])
    _assert_clear(caught.value)


def test_garbage_and_wrong_types() -> None:
    for bad in (b"", b"\x02", b"this is not an envelope message", bytes(200)):
        with pytest.raises(MessageFormatError):
            decrypt(bad, keys=[KEY])
        with pytest.raises(MessageFormatError):
            inspect(bad)
    with pytest.raises(MessageFormatError, match="bytes"):
        decrypt("text", keys=[KEY])  # type: ignore[arg-type]


def test_stream_refuses_unframed_body_over_the_cap() -> None:
    from tests.message.conftest import esdk_aes_master_key, esdk_client

    message, _ = esdk_client().encrypt(
        source=b"unframed", key_provider=esdk_aes_master_key("ns", "k", SECRET), frame_length=0
    )
    reader = BytesReader(message)
    parse_header(reader)
    length_at = reader.offset + 12
    huge = bytearray(message)
    huge[length_at : length_at + 8] = (2**30).to_bytes(8, "big")
    out = io.BytesIO()
    with pytest.raises(MessageFormatError, match="stream limit"):
        decrypt_stream(io.BytesIO(bytes(huge)), out, keys=[KEY])
    assert out.getvalue() == b""
    with pytest.raises(MessageFormatError, match="truncated"):
        decrypt(bytes(huge), keys=[KEY])
    back = io.BytesIO()
    decrypt_stream(io.BytesIO(message), back, keys=[KEY])
    assert back.getvalue() == b"unframed"


HEADER = _message(0x0578)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=400))
def test_header_parser_on_random_bytes(data: bytes) -> None:
    # Only MessageError may escape; a header that parses is a prefix of the input.
    try:
        _, header_bytes, auth = parse_header(BytesReader(data))
    except MessageError as error:
        assert str(error)
    else:
        assert data.startswith(header_bytes + auth)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=len(HEADER) - 1), st.integers(min_value=0, max_value=255))
def test_stream_parser_agrees_with_bytes_parser(position: int, value: int) -> None:
    data = bytearray(HEADER)
    data[position] = value
    stream = io.BytesIO(bytes(data))
    try:
        expected = parse_header(BytesReader(bytes(data)), max_encrypted_data_keys=0xFFFF)
    except MessageError as error:
        with pytest.raises(type(error)):
            parse_header(StreamReader(stream), max_encrypted_data_keys=0xFFFF)
    else:
        assert parse_header(StreamReader(stream), max_encrypted_data_keys=0xFFFF) == expected
        assert stream.tell() == len(expected[1]) + len(expected[2])  # never reads past the header


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=len(HEADER) - 1),
    st.integers(min_value=1, max_value=255),
    st.booleans(),
)
def test_mutated_messages_raise_only_envelope_errors(
    position: int, xor: int, truncate: bool
) -> None:
    data = bytearray(HEADER)
    data[position] ^= xor
    if truncate:
        data = data[: position + 1]
    try:
        header, _, _ = parse_header(BytesReader(bytes(data)), max_encrypted_data_keys=0xFFFF)
    except MessageError:
        pass
    else:
        assert header.suite.id in SUITES
    with pytest.raises(EnvelopeError):
        decrypt(bytes(data), keys=[KEY])


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=20).filter(lambda k: not k.startswith("aws-crypto-")),
        st.text(max_size=20),
        max_size=5,
    )
)
def test_context_round_trips_through_header(context: dict[str, str]) -> None:
    message = encrypt(b"x", keys=[KEY], encryption_context=context)
    assert dict(inspect(message).encryption_context) == context
    assert decrypt(message, keys=[KEY], encryption_context=context) == b"x"


def test_signature_check_is_named() -> None:
    message = bytearray(_message(0x0578))
    message[-3] ^= 0x40
    with pytest.raises(MessageAuthenticationError, match="signature check failed"):
        decrypt(bytes(message), keys=[KEY])


@pytest.mark.parametrize("suite", [0x0478, 0x0578])
def test_large_messages_in_place_path_refuses_damage(suite: int) -> None:
    # Messages of 1 MiB and more are decrypted in place: the same checks must hold there.
    plaintext = os.urandom(1024 * 1024 + 100)
    message = encrypt(plaintext, keys=[KEY], suite=suite, frame_length=4096)
    assert decrypt(message, keys=[KEY]) == plaintext
    body_start = len(message) - (len(plaintext) // 4096) * (4096 + 32) - (44 + 100)
    for position in (
        body_start,
        body_start + 3,
        body_start + 20,
        len(message) // 2,
        len(message) - 1,
    ):
        flipped = bytearray(message)
        flipped[position] ^= 0x80
        with pytest.raises(MessageError) as caught:
            decrypt(bytes(flipped), keys=[KEY])
        _assert_clear(caught.value)
    for length in (len(message) - 1, len(message) // 2, body_start + 100):
        with pytest.raises(MessageFormatError, match="truncated"):
            decrypt(message[:length], keys=[KEY])
    with pytest.raises(MessageFormatError, match="trailing bytes"):
        decrypt(message + b"\x00", keys=[KEY])
