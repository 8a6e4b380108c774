"""Contract: HMAC keys (GENERATE_VERIFY_MAC), GenerateMac and VerifyMac.

The key material never leaves the service, so a MAC is checked through the API: two calls agree,
VerifyMac accepts it, every other key, algorithm or message is refused. The check against
``cryptography``'s HMAC over known material is in ``test_imports`` (imported HMAC keys).
"""

from __future__ import annotations

import pytest

from envelope.errors import (
    InvalidKeyUsageException,
    KMSInvalidMacException,
    UnsupportedOperationException,
    ValidationException,
)
from envelope.keys.base import KeyService

SPECS = {"HMAC_224": 28, "HMAC_256": 32, "HMAC_384": 48, "HMAC_512": 64}
"""HMAC key spec -> its one MAC algorithm's tag length in bytes."""


def _algorithm(spec: str) -> str:
    return f"HMAC_SHA_{spec[5:]}"


def _hmac_key(kms: KeyService, spec: str) -> str:
    return kms.create_key(key_spec=spec, key_usage="GENERATE_VERIFY_MAC").key_metadata.key_id


@pytest.mark.parametrize("spec", sorted(SPECS))
def test_hmac_key_metadata(kms: KeyService, spec: str) -> None:
    meta = kms.create_key(key_spec=spec, key_usage="GENERATE_VERIFY_MAC").key_metadata
    assert meta.key_spec == spec
    assert meta.key_usage == "GENERATE_VERIFY_MAC"
    assert meta.mac_algorithms == (_algorithm(spec),)
    assert not meta.encryption_algorithms
    assert not meta.signing_algorithms


@pytest.mark.parametrize("spec", sorted(SPECS))
def test_mac_round_trip(kms: KeyService, spec: str) -> None:
    key_id = _hmac_key(kms, spec)
    algorithm = _algorithm(spec)
    first = kms.generate_mac(key_id=key_id, message=b"message", mac_algorithm=algorithm)
    again = kms.generate_mac(key_id=key_id, message=b"message", mac_algorithm=algorithm)
    assert first.mac == again.mac  # HMAC is deterministic
    assert len(first.mac) == SPECS[spec]
    assert first.mac_algorithm == algorithm
    assert first.key_id.endswith(key_id)
    other = kms.generate_mac(key_id=key_id, message=b"messagf", mac_algorithm=algorithm).mac
    assert other != first.mac
    result = kms.verify_mac(
        key_id=key_id, message=b"message", mac=first.mac, mac_algorithm=algorithm
    )
    assert result.mac_valid is True
    assert result.mac_algorithm == algorithm


def test_another_key_makes_another_mac(kms: KeyService) -> None:
    one, two = _hmac_key(kms, "HMAC_256"), _hmac_key(kms, "HMAC_256")
    mac = kms.generate_mac(key_id=one, message=b"m", mac_algorithm="HMAC_SHA_256").mac
    assert kms.generate_mac(key_id=two, message=b"m", mac_algorithm="HMAC_SHA_256").mac != mac
    with pytest.raises(KMSInvalidMacException):
        kms.verify_mac(key_id=two, message=b"m", mac=mac, mac_algorithm="HMAC_SHA_256")


def test_verify_mac_refuses_with_the_kms_error(kms: KeyService) -> None:
    key_id = _hmac_key(kms, "HMAC_384")
    mac = kms.generate_mac(key_id=key_id, message=b"m", mac_algorithm="HMAC_SHA_384").mac
    for bad_message, bad_mac in ((b"n", mac), (b"m", mac[:-1]), (b"m", mac + b"\x00"),
                                 (b"m", bytes([mac[0] ^ 0x80]) + mac[1:])):  # fmt: skip
        with pytest.raises(KMSInvalidMacException):
            kms.verify_mac(key_id=key_id, message=bad_message, mac=bad_mac,
                           mac_algorithm="HMAC_SHA_384")  # fmt: skip


def test_mac_algorithm_must_fit_the_key(kms: KeyService) -> None:
    key_id = _hmac_key(kms, "HMAC_256")
    with pytest.raises(InvalidKeyUsageException):
        kms.generate_mac(key_id=key_id, message=b"m", mac_algorithm="HMAC_SHA_512")


def test_mac_needs_an_hmac_key(kms: KeyService) -> None:
    symmetric = kms.create_key().key_metadata.key_id
    with pytest.raises(InvalidKeyUsageException):
        kms.generate_mac(key_id=symmetric, message=b"m", mac_algorithm="HMAC_SHA_256")
    hmac_key = _hmac_key(kms, "HMAC_256")
    with pytest.raises(InvalidKeyUsageException):
        kms.encrypt(key_id=hmac_key, plaintext=b"x")
    with pytest.raises(InvalidKeyUsageException):
        kms.generate_data_key(key_id=hmac_key, key_spec="AES_256")


def test_mac_message_limits(kms: KeyService) -> None:
    key_id = _hmac_key(kms, "HMAC_256")
    mac = kms.generate_mac(key_id=key_id, message=b"m" * 4096, mac_algorithm="HMAC_SHA_256").mac
    assert kms.verify_mac(key_id=key_id, message=b"m" * 4096, mac=mac,
                          mac_algorithm="HMAC_SHA_256").mac_valid  # fmt: skip
    with pytest.raises(ValidationException):
        kms.generate_mac(key_id=key_id, message=b"m" * 4097, mac_algorithm="HMAC_SHA_256")


def test_hmac_keys_do_not_rotate_and_have_no_public_key(kms: KeyService) -> None:
    key_id = _hmac_key(kms, "HMAC_512")
    with pytest.raises(UnsupportedOperationException):
        kms.rotate_key_on_demand(key_id=key_id)
    with pytest.raises(UnsupportedOperationException):
        kms.get_public_key(key_id=key_id)
