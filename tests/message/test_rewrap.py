"""Rewrap: new encrypted data keys, the same body; what each bad input gets."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from envelope.errors import (
    DisabledException,
    EncryptionContextMismatchError,
    MessageAuthenticationError,
    MessageError,
    MessageFormatError,
    NoMatchingKeyError,
)
from envelope.keys import blob
from envelope.keys.local import LocalKeyService
from envelope.message import KmsKey, RawAesKey, decrypt, encrypt, inspect, rewrap, rewrap_file
from envelope.message.header import parse_header
from envelope.message.reader import BytesReader
from tests.message.conftest import esdk_aes_master_key, esdk_client

PLAINTEXT = os.urandom(300_000)
CONTEXT = {"purpose": "rewrap"}


def _parts(message: bytes) -> tuple[list[bytes], bytes]:
    """The EDK ciphertexts and the body bytes of a message."""
    reader = BytesReader(message)
    header, _, _ = parse_header(reader)
    return [e.ciphertext for e in header.encrypted_data_keys], message[reader.offset :]


def _rewrap(message: bytes, **kwargs: object) -> bytes:
    out = io.BytesIO()
    rewrap(io.BytesIO(message), out, **kwargs)  # type: ignore[arg-type]
    return out.getvalue()


@pytest.fixture
def kms(tmp_path: Path) -> LocalKeyService:
    service = LocalKeyService(tmp_path / "home")
    yield service  # type: ignore[misc]
    service.close()


def test_moves_kms_edk_to_newest_version(kms: LocalKeyService) -> None:
    arn = kms.create_key().key_metadata.arn
    key = KmsKey(kms, arn)
    message = encrypt(PLAINTEXT, keys=[key], encryption_context=CONTEXT, frame_length=4096)
    (old_edk,), body = _parts(message)
    assert blob.parse(old_edk).version == 1
    kms.rotate_key_on_demand(key_id=arn)

    result = _rewrap(message, keys=[key])

    (new_edk,), new_body = _parts(result)
    assert blob.parse(new_edk).version == 2
    assert new_body == body  # the body bytes are untouched
    assert inspect(result).message_id == inspect(message).message_id
    assert decrypt(result, keys=[key], encryption_context=CONTEXT) == PLAINTEXT


def test_rewrap_to_another_key_drops_the_old_one(kms: LocalKeyService) -> None:
    first = KmsKey(kms, kms.create_key().key_metadata.arn)
    second_arn = kms.create_key().key_metadata.arn
    second = KmsKey(kms, second_arn)
    message = encrypt(PLAINTEXT, keys=[first])

    result = _rewrap(message, keys=[first], to=[second])

    assert [e.provider_info for e in inspect(result).encrypted_data_keys] == [second_arn]
    assert decrypt(result, keys=[second]) == PLAINTEXT
    with pytest.raises(NoMatchingKeyError):
        decrypt(result, keys=[first])


def test_raw_aes_rewrap_is_read_by_the_esdk() -> None:
    old = RawAesKey("ns", "old", os.urandom(32))
    new_key = os.urandom(32)
    new = RawAesKey("ns", "new", new_key)
    message = encrypt(PLAINTEXT, keys=[old], encryption_context=CONTEXT)

    result = _rewrap(message, keys=[old], to=[new])

    # The official SDK checks the recomputed header tag and the key commitment.
    plaintext, _ = esdk_client().decrypt(
        source=result, key_provider=esdk_aes_master_key("ns", "new", new_key)
    )
    assert plaintext == PLAINTEXT
    assert _parts(result)[1] == _parts(message)[1]


def test_signed_message_is_refused(aes_key: RawAesKey) -> None:
    message = encrypt(b"signed", keys=[aes_key], suite=0x0578)
    out = io.BytesIO()
    with pytest.raises(MessageError, match="signed"):
        rewrap(io.BytesIO(message), out, keys=[aes_key])
    assert out.getvalue() == b""


@pytest.mark.parametrize("position", [0, 5, 40, -40])
def test_tampered_header_is_refused_and_nothing_written(aes_key: RawAesKey, position: int) -> None:
    message = bytearray(encrypt(PLAINTEXT[:1000], keys=[aes_key], encryption_context=CONTEXT))
    header_end = len(message) - len(_parts(bytes(message))[1])
    index = position if position >= 0 else header_end + position
    message[index] ^= 0x01
    out = io.BytesIO()
    with pytest.raises((MessageFormatError, MessageAuthenticationError, NoMatchingKeyError)):
        rewrap(io.BytesIO(bytes(message)), out, keys=[aes_key])
    assert out.getvalue() == b""


def test_wrong_key_and_wrong_context(aes_key: RawAesKey) -> None:
    message = encrypt(b"x", keys=[aes_key], encryption_context=CONTEXT)
    with pytest.raises(NoMatchingKeyError):
        _rewrap(message, keys=[RawAesKey("test-ns", "key-1", os.urandom(32))])
    with pytest.raises(EncryptionContextMismatchError):
        _rewrap(message, keys=[aes_key], encryption_context={"purpose": "other"})


def test_disabled_key_is_named(kms: LocalKeyService) -> None:
    arn = kms.create_key().key_metadata.arn
    message = encrypt(b"x", keys=[KmsKey(kms, arn)])
    kms.disable_key(key_id=arn)
    with pytest.raises(NoMatchingKeyError, match="DisabledException"):
        _rewrap(message, keys=[KmsKey(kms, arn)])
    # ReEncrypt itself refuses a disabled key the KMS way.
    header, _, _ = parse_header(BytesReader(message))
    with pytest.raises(DisabledException):
        KmsKey(kms, arn).reencrypt(header.encrypted_data_keys[0], {})


def test_rewrap_file_replaces_atomically(aes_key: RawAesKey, tmp_path: Path) -> None:
    path = tmp_path / "m.env"
    path.write_bytes(encrypt(PLAINTEXT, keys=[aes_key]))
    other = RawAesKey("test-ns", "key-2", os.urandom(32))
    rewrap_file(path, keys=[aes_key], to=[other])
    assert decrypt(path.read_bytes(), keys=[other]) == PLAINTEXT
    assert [p.name for p in tmp_path.iterdir() if p.name != "envelope-home"] == ["m.env"]


def test_rewrap_file_failure_leaves_the_file_alone(aes_key: RawAesKey, tmp_path: Path) -> None:
    path = tmp_path / "m.env"
    original = encrypt(b"keep me", keys=[aes_key], suite=0x0578)
    path.write_bytes(original)
    with pytest.raises(MessageError):
        rewrap_file(path, keys=[aes_key])
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir() if p.name != "envelope-home"] == ["m.env"]
