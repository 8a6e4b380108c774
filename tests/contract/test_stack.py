"""Everything above the KeyService contract runs on every backend: ESDK messages with KmsKey."""

from __future__ import annotations

import io

import pytest

from envelope.errors import EncryptionContextMismatchError, NoMatchingKeyError
from envelope.keys.base import KeyService
from envelope.message import KmsKey, decrypt, decrypt_stream, encrypt, encrypt_stream, inspect

CONTEXT = {"tenant": "acme", "purpose": "contract"}


@pytest.mark.parametrize("suite", [0x0478, 0x0578])
@pytest.mark.parametrize("by", ["key_id", "arn"])
def test_message_round_trip(kms: KeyService, suite: int, by: str) -> None:
    meta = kms.create_key(description="stack").key_metadata
    key = KmsKey(kms, getattr(meta, by))
    plaintext = bytes(range(256)) * 300  # several frames
    message = encrypt(
        plaintext, keys=[key], encryption_context=CONTEXT, suite=suite, frame_length=4096
    )
    info = inspect(message)
    assert [(e.provider_id, e.provider_info) for e in info.encrypted_data_keys] == [
        ("aws-kms", meta.arn)
    ]
    assert decrypt(message, keys=[key], encryption_context=CONTEXT) == plaintext
    assert decrypt(message, keys=[KmsKey(kms, meta.arn)]) == plaintext


def test_streams_round_trip(kms: KeyService) -> None:
    arn = kms.create_key().key_metadata.arn
    plaintext = b"stream me " * 10_000
    sealed = io.BytesIO()
    encrypt_stream(
        io.BytesIO(plaintext),
        sealed,
        keys=[KmsKey(kms, arn)],
        frame_length=1024,
        encryption_context=CONTEXT,
    )
    opened = io.BytesIO()
    decrypt_stream(io.BytesIO(sealed.getvalue()), opened, keys=[KmsKey(kms, arn)])
    assert opened.getvalue() == plaintext


def test_each_of_two_keys_opens_the_message(kms: KeyService) -> None:
    first = kms.create_key().key_metadata.arn
    second = kms.create_key().key_metadata.arn
    message = encrypt(b"twice wrapped", keys=[KmsKey(kms, first), KmsKey(kms, second)])
    assert len(inspect(message).encrypted_data_keys) == 2
    assert decrypt(message, keys=[KmsKey(kms, first)]) == b"twice wrapped"
    assert decrypt(message, keys=[KmsKey(kms, second)]) == b"twice wrapped"


def test_another_key_cannot_open(kms: KeyService) -> None:
    owner = kms.create_key().key_metadata.arn
    stranger = kms.create_key().key_metadata.arn
    message = encrypt(b"not yours", keys=[KmsKey(kms, owner)])
    with pytest.raises(NoMatchingKeyError):
        decrypt(message, keys=[KmsKey(kms, stranger)])


def test_required_context_is_checked(kms: KeyService) -> None:
    arn = kms.create_key().key_metadata.arn
    message = encrypt(b"bound", keys=[KmsKey(kms, arn)], encryption_context=CONTEXT)
    with pytest.raises(EncryptionContextMismatchError):
        decrypt(message, keys=[KmsKey(kms, arn)], encryption_context={"tenant": "other"})
