"""Interop with aws-encryption-sdk 4.x raw master keys, both directions."""

from __future__ import annotations

import functools
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from envelope.message import RawAesKey, RawRsaKey, decrypt, encrypt, inspect
from tests.message.conftest import esdk_aes_master_key, esdk_client, esdk_rsa_master_key

SUITES = [0x0478, 0x0578]
FRAMES = [512, 4096, 65536]
CONTEXT = {"purpose": "interop", "tenant": "ü"}


def _sizes(frame: int) -> list[int]:
    return [0, 1, frame - 1, frame, frame + 1, 1024 * 1024]


CASES = [(s, f, n) for s in SUITES for f in FRAMES for n in _sizes(f)]


_RAW = [os.urandom(32), os.urandom(32)]
OURS = [RawAesKey("interop", f"aes-{i}", k) for i, k in enumerate(_RAW)]


def _provider(count: int) -> Any:
    """An aws-encryption-sdk raw provider holding the first ``count`` of the two AES keys."""
    from aws_encryption_sdk.identifiers import EncryptionKeyType, WrappingAlgorithm
    from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
    from aws_encryption_sdk.key_providers.raw import RawMasterKeyProvider

    class _Provider(RawMasterKeyProvider):  # type: ignore[misc]
        provider_id = "interop"

        def _get_raw_key(self, key_id: bytes) -> Any:
            return WrappingKey(
                wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
                wrapping_key=_RAW[int(key_id.decode()[-1])],
                wrapping_key_type=EncryptionKeyType.SYMMETRIC,
            )

    provider = _Provider()
    provider.add_master_keys_from_list([f"aes-{i}".encode() for i in range(count)])
    return provider


def _algorithm(suite: int) -> Any:
    from aws_encryption_sdk.identifiers import Algorithm

    return Algorithm.get_by_id(suite)


@pytest.mark.parametrize("edks", [1, 2])
@pytest.mark.parametrize(("suite", "frame", "size"), CASES)
def test_envelope_reads_esdk(suite: int, frame: int, size: int, edks: int) -> None:
    plaintext = os.urandom(size)
    message, _ = esdk_client().encrypt(
        source=plaintext,
        key_provider=_provider(edks),
        algorithm=_algorithm(suite),
        frame_length=frame,
        encryption_context=CONTEXT,
    )
    info = inspect(message)
    assert len(info.encrypted_data_keys) == edks
    assert info.frame_length == frame
    # The last key alone opens the message.
    assert decrypt(message, keys=[OURS[edks - 1]], encryption_context=CONTEXT) == plaintext


@pytest.mark.parametrize("edks", [1, 2])
@pytest.mark.parametrize(("suite", "frame", "size"), CASES)
def test_esdk_reads_envelope(suite: int, frame: int, size: int, edks: int) -> None:
    plaintext = os.urandom(size)
    message = encrypt(
        plaintext, keys=OURS[:edks], encryption_context=CONTEXT, suite=suite, frame_length=frame
    )
    result, header = esdk_client().decrypt(source=message, key_provider=_provider(2))
    assert result == plaintext
    assert header.algorithm.algorithm_id == suite
    assert {k: header.encryption_context[k] for k in CONTEXT} == CONTEXT


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, 1024 * 1024])
@pytest.mark.parametrize("suite", SUITES)
def test_envelope_reads_esdk_unframed(suite: int, size: int) -> None:
    raw = os.urandom(32)
    plaintext = os.urandom(size)
    message, _ = esdk_client().encrypt(
        source=plaintext,
        key_provider=esdk_aes_master_key("ns", "k", raw),
        algorithm=_algorithm(suite),
        frame_length=0,
    )
    assert inspect(message).content_type == "unframed"
    assert decrypt(message, keys=[RawAesKey("ns", "k", raw)]) == plaintext


@functools.lru_cache(maxsize=1)
def _rsa() -> tuple[rsa.RSAPrivateKey, bytes]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return private, pem


@pytest.mark.parametrize("size", [0, 4097])
@pytest.mark.parametrize("suite", SUITES)
def test_rsa_interop_both_ways(suite: int, size: int) -> None:
    private, pem = _rsa()
    ours = RawRsaKey("rsa-ns", "rsa-1", private_key=private, padding="OAEP-SHA256")
    theirs = esdk_rsa_master_key("rsa-ns", "rsa-1", pem)
    plaintext = os.urandom(size)
    message = encrypt(plaintext, keys=[ours], suite=suite, frame_length=4096)
    assert esdk_client().decrypt(source=message, key_provider=theirs)[0] == plaintext
    message, _ = esdk_client().encrypt(
        source=plaintext, key_provider=theirs, algorithm=_algorithm(suite)
    )
    assert decrypt(message, keys=[ours]) == plaintext


def test_mixed_raw_aes_and_rsa_edks_each_open_for_the_esdk() -> None:
    private, pem = _rsa()
    rsa_key = RawRsaKey("rsa-ns", "rsa-1", public_key=private.public_key())
    message = encrypt(b"mixed", keys=[rsa_key, OURS[0]])
    assert esdk_client().decrypt(source=message, key_provider=_provider(1))[0] == b"mixed"
    assert (
        esdk_client().decrypt(
            source=message, key_provider=esdk_rsa_master_key("rsa-ns", "rsa-1", pem)
        )[0]
        == b"mixed"
    )
