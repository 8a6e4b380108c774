"""No plaintext of a signed message is released before its signature verifies (or at all)."""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Mapping

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from envelope.errors import MessageAuthenticationError, MessageFormatError, SignedMessageError
from envelope.message import RawAesKey, decrypt, decrypt_stream, encrypt, inspect
from envelope.message.api import _encrypt_message
from envelope.message.header import EncryptedDataKey, parse_header
from envelope.message.materials import EncryptionMaterials
from envelope.message.reader import BytesReader
from envelope.message.suites import SUITES

KEY = RawAesKey("ns", "k", os.urandom(32))
FRAME = 32
PLAINTEXT = os.urandom(4 * FRAME)  # a multiple of the frame length: the final frame is empty


class CountingKey:
    """A RawAesKey that counts how often it is asked to unwrap."""

    def __init__(self, inner: RawAesKey) -> None:
        self.inner = inner
        self.unwraps = 0

    @property
    def identity(self) -> str:
        return self.inner.identity

    def generate_data_key(
        self, length: int, encryption_context: Mapping[str, str]
    ) -> tuple[bytes, EncryptedDataKey]:
        return self.inner.generate_data_key(length, encryption_context)

    def wrap(self, data_key: bytes, encryption_context: Mapping[str, str]) -> EncryptedDataKey:
        return self.inner.wrap(data_key, encryption_context)

    def unwrap(self, edk: EncryptedDataKey, encryption_context: Mapping[str, str]) -> bytes | None:
        self.unwraps += 1
        return self.inner.unwrap(edk, encryption_context)


def _header_length(message: bytes) -> int:
    reader = BytesReader(message)
    parse_header(reader)
    return reader.offset


def test_last_non_empty_frame_is_held_back_until_the_signature_verifies() -> None:
    """decrypt.md, "Decrypt the message body": with a signature algorithm, plaintext of "a final
    frame MUST NOT be released until signature verification successfully completes". When the
    plaintext is a multiple of the frame length the final frame is empty, so the last frame
    with content is the one held back (otherwise every byte would be out before the check)."""
    message = bytearray(encrypt(PLAINTEXT, keys=[KEY], suite=0x0578, frame_length=FRAME))
    message[-5] ^= 0x01  # inside the signature
    out = io.BytesIO()
    with pytest.raises(MessageAuthenticationError, match="signature check failed"):
        decrypt_stream(io.BytesIO(bytes(message)), out, keys=[KEY])
    assert out.getvalue() == PLAINTEXT[: 3 * FRAME]


def test_last_non_empty_frame_is_held_back_until_the_end_is_checked() -> None:
    """decrypt.md, "Parse the header"/streaming: when "there are consumable bytes" after a
    complete message "this operation MUST fail" -- the last frame waits for that check too."""
    message = encrypt(PLAINTEXT, keys=[KEY], frame_length=FRAME) + b"\x00"
    out = io.BytesIO()
    with pytest.raises(MessageFormatError, match="trailing bytes"):
        decrypt_stream(io.BytesIO(message), out, keys=[KEY])
    assert out.getvalue() == PLAINTEXT[: 3 * FRAME]


def test_whole_plaintext_arrives_once_everything_verified() -> None:
    for suite in (0x0478, 0x0578):
        for plaintext in (b"", PLAINTEXT, PLAINTEXT + b"x", PLAINTEXT[:5]):
            message = encrypt(plaintext, keys=[KEY], suite=suite, frame_length=FRAME)
            out = io.BytesIO()
            seen: list[int] = []
            decrypt_stream(io.BytesIO(message), out, keys=[KEY], progress=seen.append)
            assert out.getvalue() == plaintext
            assert seen[-1] == len(plaintext)


def test_signed_false_refuses_signed_suites_right_after_the_header() -> None:
    """decrypt.md, "Behavior": "The ESDK MUST provide a configuration option that causes the
    decryption operation to fail immediately after parsing the header if a signed algorithm
    suite is used" -- before any key is asked and before any body byte is read."""
    message = encrypt(PLAINTEXT, keys=[KEY], suite=0x0578, frame_length=FRAME)
    key = CountingKey(KEY)
    with pytest.raises(SignedMessageError, match=r"0x0578 .* is signed"):
        decrypt(message, keys=[key], signed=False)
    source = io.BytesIO(message)
    out = io.BytesIO()
    with pytest.raises(SignedMessageError):
        decrypt_stream(source, out, keys=[key], signed=False)
    assert key.unwraps == 0
    assert source.tell() == _header_length(message)
    assert out.getvalue() == b""
    unsigned = encrypt(PLAINTEXT, keys=[KEY], frame_length=FRAME)
    assert decrypt(unsigned, keys=[key], signed=False) == PLAINTEXT


def _materials(suite: int, context: dict[str, str], *, sign: bool) -> EncryptionMaterials:
    data_key = os.urandom(32)
    signing_key = ec.generate_private_key(ec.SECP384R1()) if sign else None
    return EncryptionMaterials(
        SUITES[suite], data_key, (KEY.wrap(data_key, context),), context, signing_key
    )


def _public_key_text() -> str:
    point = (
        ec.generate_private_key(ec.SECP384R1())
        .public_key()
        .public_bytes(encoding=Encoding.X962, format=PublicFormat.CompressedPoint)
    )
    return base64.b64encode(point).decode()


@pytest.mark.parametrize(
    ("suite", "context", "sign", "match"),
    [
        (0x0578, {"purpose": "x"}, True, "is signed but the encryption context has no"),
        (0x0478, {"aws-crypto-public-key": "PLACEHOLDER"}, False, "is not signed but"),
    ],
    ids=["signed-without-public-key", "unsigned-with-public-key"],
)
def test_public_key_field_is_checked_against_the_suite_with_the_header(
    suite: int, context: dict[str, str], sign: bool, match: str
) -> None:
    """default-cmm.md, "Decrypt Materials": a signed suite whose context lacks
    ``aws-crypto-public-key`` "MUST fail without returning any decryption materials", and so
    must an unsigned suite whose context has it -- so no key is asked and no frame released."""
    if "aws-crypto-public-key" in context:
        context = {"aws-crypto-public-key": _public_key_text()}
    materials = _materials(suite, context, sign=sign)
    message = _encrypt_message(PLAINTEXT, materials, message_id=os.urandom(32), frame_length=FRAME)
    key = CountingKey(KEY)
    out = io.BytesIO()
    with pytest.raises(MessageFormatError):
        decrypt_stream(io.BytesIO(message), out, keys=[key])
    assert out.getvalue() == b""
    assert key.unwraps == 0
    with pytest.raises(MessageFormatError, match=match):
        decrypt(message, keys=[key])
    assert key.unwraps == 0
    with pytest.raises(MessageFormatError, match=match):
        inspect(message)
