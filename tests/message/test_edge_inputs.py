"""Edge inputs: edited unframed lengths, text with no UTF-8 form, non-blocking sources."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import pytest

from envelope.errors import EncryptionContextMismatchError, MessageError, MessageFormatError
from envelope.message import RawAesKey, decrypt, decrypt_stream, encrypt, encrypt_stream
from envelope.message.header import parse_header
from envelope.message.reader import BytesReader

SECRET = os.urandom(32)
KEY = RawAesKey("ns", "k", SECRET)


@pytest.fixture(scope="module")
def unframed() -> bytes:
    """A 1 MiB + 1 byte unframed message (decrypt's in-place path), written by the ESDK."""
    from tests.message.conftest import esdk_aes_master_key, esdk_client

    message, _ = esdk_client().encrypt(
        source=b"u" * (1024 * 1024 + 1),
        key_provider=esdk_aes_master_key("ns", "k", SECRET),
        frame_length=0,
    )
    return bytes(message)


@pytest.mark.parametrize("length", [2**36, 2**40, 2**64 - 1, 2**36 - 32, 2 * 1024 * 1024])
def test_edited_unframed_length_is_a_format_error_before_any_allocation(
    unframed: bytes, length: int
) -> None:
    """message-body.md, "Un-Framed Data", "Encrypted Content Length": "The length MUST NOT be
    greater than 2^36 - 32"; and decrypt.md, "Parse the header"/"Decrypt the message body": a
    length the bytes do not hold is a truncated message. Neither is trusted to size a buffer
    (no OverflowError, no MemoryError)."""
    assert decrypt(unframed, keys=[KEY]) == b"u" * (1024 * 1024 + 1)
    reader = BytesReader(unframed)
    parse_header(reader)
    at = reader.offset + 12
    edited = bytearray(unframed)
    edited[at : at + 8] = length.to_bytes(8, "big")
    with pytest.raises(MessageFormatError, match=r"too long|truncated"):
        decrypt(bytes(edited), keys=[KEY])


@pytest.mark.parametrize(
    "context",
    [{"tenant\ud800": "a"}, {"tenant": "a\udfff"}, {"ok": "fine", "\udc80": ""}],
    ids=["key", "value", "second-pair"],
)
def test_lone_surrogate_in_context_is_refused_naming_the_key(context: dict[str, str]) -> None:
    """structures.md, "Encryption Context": "a key-value mapping of arbitrary, non-secret, UTF-8
    encoded strings" -- a lone surrogate has no UTF-8 form, so it is a MessageError naming the
    key, not a raw UnicodeEncodeError."""
    bad_key = next(k for k, v in context.items() if not (k + v).isascii())
    with pytest.raises(EncryptionContextMismatchError, match="not valid UTF-8") as caught:
        encrypt(b"x", keys=[KEY], encryption_context=context)
    assert repr(bad_key) in str(caught.value)
    with pytest.raises(EncryptionContextMismatchError, match="not valid UTF-8"):
        encrypt_stream(io.BytesIO(b"x"), io.BytesIO(), keys=[KEY], encryption_context=context)


@pytest.fixture
def pipe() -> Iterator[tuple[io.FileIO, int]]:
    """A real non-blocking pipe: reads return None while the writer is open and nothing waits."""
    r, w = os.pipe()
    os.set_blocking(r, False)
    source = io.FileIO(r, "rb")
    try:
        yield source, w
    finally:
        source.close()
        os.close(w)


def test_encrypt_stream_does_not_take_a_none_read_for_the_end(
    pipe: tuple[io.FileIO, int],
) -> None:
    """streaming.md, "Inputs": "There MUST be a mechanism to indicate that there are no more
    input bytes" -- a non-blocking read with no data ready (None) is not that mechanism, so
    encrypting stops with an error instead of sealing a message of truncated data."""
    source, w = pipe
    os.write(w, b"a" * 10000)  # the writer stays open: more data may come
    out = io.BytesIO()
    with pytest.raises(MessageError, match="returned None"):
        encrypt_stream(source, out, keys=[KEY], frame_length=4096)  # type: ignore[arg-type]
    with pytest.raises(MessageError):
        decrypt(out.getvalue(), keys=[KEY])  # what was written is no complete message


def test_decrypt_stream_does_not_take_a_none_read_for_the_end(
    pipe: tuple[io.FileIO, int],
) -> None:
    """decrypt.md, "Behavior" (streamed input): success needs the end of the message to be
    indicated; a None read after the last frame may be followed by more bytes, which "MUST"
    make the operation fail -- so it cannot be taken for the end."""
    source, w = pipe
    os.write(w, encrypt(b"secret", keys=[KEY]))
    out = io.BytesIO()
    with pytest.raises(MessageError, match="returned None"):
        decrypt_stream(source, out, keys=[KEY])  # type: ignore[arg-type]
    assert out.getvalue() == b""  # the final frame was held back
