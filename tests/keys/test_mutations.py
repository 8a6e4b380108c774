"""200 mutated signatures and 200 mutated MACs, each refused with the KMS error.

Mutations (seeded, so a failure replays): one flipped bit, a replaced byte, a truncation, bytes
appended, two bytes swapped, a zeroed run, and the message altered instead of the tag. Every
mutated signature must raise ``KMSInvalidSignatureException`` and every mutated MAC
``KMSInvalidMacException``: never a pass, never another error.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from envelope.errors import KMSInvalidMacException, KMSInvalidSignatureException
from envelope.keys.local import LocalKeyService

SIGNERS = [
    ("RSA_2048", "RSASSA_PSS_SHA_256"),
    ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_512"),
    ("ECC_NIST_P256", "ECDSA_SHA_256"),
    ("ECC_NIST_P384", "ECDSA_SHA_384"),
    ("ECC_NIST_P521", "ECDSA_SHA_512"),
    ("ECC_SECG_P256K1", "ECDSA_SHA_256"),
]
MACS = ["HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512"]
COUNT = 200


def _mutate(rng: random.Random, tag: bytes, message: bytes) -> tuple[bytes, bytes]:
    """One mutation of (tag, message); never the original pair, never an empty tag."""
    kind = rng.randrange(7)
    data = bytearray(tag)
    if kind == 0:
        bit = rng.randrange(len(data) * 8)
        data[bit // 8] ^= 1 << (bit % 8)
    elif kind == 1:
        spot = rng.randrange(len(data))
        data[spot] = (data[spot] + rng.randrange(1, 256)) % 256
    elif kind == 2:
        del data[rng.randrange(1, len(data)) :]
    elif kind == 3:
        data += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
    elif kind == 4:
        i, j = rng.sample(range(len(data)), 2)
        if data[i] == data[j]:
            data[i] ^= 0xFF
        data[i], data[j] = data[j], data[i]
    elif kind == 5:
        start = rng.randrange(len(data))
        end = rng.randrange(start + 1, len(data) + 1)
        if any(data[start:end]):
            data[start:end] = bytes(end - start)
        else:
            data[start] = 1
    else:
        spot = rng.randrange(len(message))
        changed = bytearray(message)
        changed[spot] ^= 1 << rng.randrange(8)
        return tag, bytes(changed)
    assert bytes(data) != tag
    return bytes(data), message


@pytest.fixture(scope="module")
def kms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKeyService]:
    service = LocalKeyService(Path(tmp_path_factory.mktemp("mutations")))
    yield service
    service.close()


def test_mutated_signatures_are_refused(kms: LocalKeyService) -> None:
    rng = random.Random(0x5167)
    keys = {
        spec: kms.create_key(key_spec=spec, key_usage="SIGN_VERIFY").key_metadata.key_id
        for spec in {spec for spec, _ in SIGNERS}
    }
    refused = 0
    for n in range(COUNT):
        spec, algorithm = SIGNERS[n % len(SIGNERS)]
        message = rng.randbytes(rng.randrange(1, 300))
        signature = kms.sign(
            key_id=keys[spec], message=message, signing_algorithm=algorithm
        ).signature
        bad_signature, bad_message = _mutate(rng, signature, message)
        with pytest.raises(KMSInvalidSignatureException):
            kms.verify(key_id=keys[spec], message=bad_message, signature=bad_signature,
                       signing_algorithm=algorithm)  # fmt: skip
        refused += 1
        assert kms.verify(key_id=keys[spec], message=message, signature=signature,
                          signing_algorithm=algorithm).signature_valid  # the control  # fmt: skip
    assert refused == COUNT


def test_mutated_macs_are_refused(kms: LocalKeyService) -> None:
    rng = random.Random(0x3AC)
    keys = {
        spec: kms.create_key(key_spec=spec, key_usage="GENERATE_VERIFY_MAC").key_metadata.key_id
        for spec in MACS
    }
    refused = 0
    for n in range(COUNT):
        spec = MACS[n % len(MACS)]
        algorithm = f"HMAC_SHA_{spec[5:]}"
        message = rng.randbytes(rng.randrange(1, 4097))
        mac = kms.generate_mac(key_id=keys[spec], message=message, mac_algorithm=algorithm).mac
        bad_mac, bad_message = _mutate(rng, mac, message)
        with pytest.raises(KMSInvalidMacException):
            kms.verify_mac(key_id=keys[spec], message=bad_message, mac=bad_mac,
                           mac_algorithm=algorithm)  # fmt: skip
        refused += 1
        assert kms.verify_mac(key_id=keys[spec], message=message, mac=mac,
                              mac_algorithm=algorithm).mac_valid  # the control  # fmt: skip
    assert refused == COUNT
