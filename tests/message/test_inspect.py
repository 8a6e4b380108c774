"""inspect: the suite's signature algorithm from the suite table, and headers verified with keys."""

from __future__ import annotations

import io
import os

import pytest

from envelope.errors import MessageAuthenticationError, NoMatchingKeyError
from envelope.message import RawAesKey, encrypt, inspect
from envelope.message.header import (
    FRAMED,
    EncryptedDataKey,
    Header,
    parse_header,
    serialize_header,
)
from envelope.message.reader import BytesReader
from envelope.message.suites import SUITES

KEY = RawAesKey("ns", "k", os.urandom(32))


def serialize_header_of(message: bytes) -> bytes:
    return parse_header(BytesReader(message))[1]


def signed_header(suite_id: int) -> bytes:
    """A header of ``suite_id`` (with a public-key entry when signed) and a dummy tag."""
    suite = SUITES[suite_id]
    header = Header(
        version=suite.message_version,
        suite=suite,
        message_id=os.urandom(16 if suite.message_version == 1 else 32),
        encryption_context={"aws-crypto-public-key": "AAAA"} if suite.signed else {},
        encrypted_data_keys=(EncryptedDataKey("p", b"i", b"c"),),
        content_type=FRAMED,
        frame_length=4096,
        suite_data=bytes(32) if suite.message_version == 2 else b"",
    )
    return serialize_header(header) + bytes(28 if suite.message_version == 1 else 16)


@pytest.mark.parametrize(
    ("suite_id", "label"),
    [
        (0x0214, "ECDSA P-256"),
        (0x0346, "ECDSA P-384"),
        (0x0378, "ECDSA P-384"),
        (0x0578, "ECDSA P-384"),
        (0x0478, None),
        (0x0178, None),
    ],
)
def test_signature_algorithm_comes_from_the_suite(suite_id: int, label: str | None) -> None:
    """algorithm-suites.md, "Supported Algorithm Suites": 0x0214 signs with ECDSA P-256 and
    SHA-256; 0x0346, 0x0378 and 0x0578 with ECDSA P-384 and SHA-384."""
    info = inspect(signed_header(suite_id))
    assert info.signature_algorithm == label
    assert info.signed is (label is not None)
    assert info.to_json()["signature_algorithm"] == label


def test_inspect_with_keys_verifies_the_header() -> None:
    """decrypt.md, "Parse the header": "Until the header is verified, this operation MUST NOT
    release any parsed information from the header" -- inspect says whether it checked."""
    message = encrypt(b"x" * 100, keys=[KEY], encryption_context={"a": "b"})
    assert inspect(message).verified is False
    stream = io.BytesIO(message)
    info = inspect(stream, keys=[KEY], encryption_context={"a": "b"})
    assert info.verified is True and info.to_json()["verified"] is True
    assert stream.tell() < len(message)  # the body was not read
    with pytest.raises(NoMatchingKeyError):
        inspect(message, keys=[RawAesKey("ns", "k", os.urandom(32))])
    edited = bytearray(message)
    header_end = len(serialize_header_of(message))
    edited[header_end - 32 - 1] ^= 1  # the frame length's last byte: only the header tag tells
    assert inspect(bytes(edited)).verified is False
    with pytest.raises(MessageAuthenticationError, match="header authentication"):
        inspect(bytes(edited), keys=[KEY])
