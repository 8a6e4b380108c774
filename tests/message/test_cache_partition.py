"""A shared data-key cache never hands one wrapping key's data key to another key."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from envelope import DataKeyCache
from envelope.errors import NoMatchingKeyError
from envelope.keys.local import LocalKeyService
from envelope.message import KmsKey, RawAesKey, RawRsaKey, decrypt, encrypt, inspect


def _cache() -> DataKeyCache:
    return DataKeyCache(max_age=300, max_messages=100)


def test_raw_aes_keys_with_one_name_and_other_material_get_their_own_entries() -> None:
    """caching-cmm.md, "Underlying Cryptographic Materials Cache": caching CMMs that share a cache
    "by default MUST NOT use each other's cache entries". Two tenants' RawAesKey("tenant",
    "data-key", ...) with different key bytes are different keys, whatever their names."""
    cache = _cache()
    first_bytes, second_bytes = os.urandom(32), os.urandom(32)
    first = RawAesKey("tenant", "data-key", first_bytes)
    second = RawAesKey("tenant", "data-key", second_bytes)
    m1 = encrypt(b"for the first tenant", keys=[first], cache=cache)
    m2 = encrypt(b"for the second tenant", keys=[second], cache=cache)
    assert cache.hits == 0 and cache.misses == 2 and len(cache) == 2
    assert decrypt(m2, keys=[second]) == b"for the second tenant"
    with pytest.raises(NoMatchingKeyError):
        decrypt(m2, keys=[first])
    with pytest.raises(NoMatchingKeyError):
        decrypt(m1, keys=[second])
    # The same key material under a new object is the same key: its entry is reused.
    again = RawAesKey("tenant", "data-key", first_bytes)
    m3 = encrypt(b"first again", keys=[again], cache=cache)
    assert cache.hits == 1
    assert inspect(m3).encrypted_data_keys == inspect(m1).encrypted_data_keys
    assert decrypt(m3, keys=[first]) == b"first again"


def test_raw_rsa_keys_with_one_name_and_other_key_pairs_get_their_own_entries() -> None:
    """caching-cmm.md, "Underlying Cryptographic Materials Cache" ("MUST NOT use each other's
    cache entries"): the RSA identity is the public key, not the namespace and name."""
    cache = _cache()
    pair_a = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pair_b = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    a = RawRsaKey("tenant", "rsa", private_key=pair_a)
    b = RawRsaKey("tenant", "rsa", private_key=pair_b)
    encrypt(b"a", keys=[a], cache=cache)
    m2 = encrypt(b"b", keys=[b], cache=cache)
    assert cache.hits == 0
    assert decrypt(m2, keys=[b]) == b"b"
    with pytest.raises(NoMatchingKeyError):
        decrypt(m2, keys=[a])
    wrap_only = RawRsaKey("tenant", "rsa", public_key=pair_a.public_key())
    encrypt(b"a again", keys=[wrap_only], cache=cache)
    assert cache.hits == 1  # the public key names the key, so a wrap-only copy shares the entry


def test_kms_keys_with_one_alias_on_two_key_services_get_their_own_entries(
    tmp_path: Path,
) -> None:
    """caching-cmm.md, "Underlying Cryptographic Materials Cache" ("MUST NOT use each other's
    cache entries"): "alias/orders" on two key services names two different keys."""
    cache = _cache()
    with LocalKeyService(tmp_path / "a") as kms_a, LocalKeyService(tmp_path / "b") as kms_b:
        for kms in (kms_a, kms_b):
            key_id = kms.create_key().key_metadata.key_id
            kms.create_alias(alias_name="alias/orders", target_key_id=key_id)
        m1 = encrypt(b"to A", keys=[KmsKey(kms_a, "alias/orders")], cache=cache)
        m2 = encrypt(b"to B", keys=[KmsKey(kms_b, "alias/orders")], cache=cache)
        assert cache.hits == 0
        assert decrypt(m2, keys=[KmsKey(kms_b, "alias/orders")]) == b"to B"
        assert decrypt(m1, keys=[KmsKey(kms_a, "alias/orders")]) == b"to A"
        # A second KmsKey object for the same alias on the same service is the same key.
        m3 = encrypt(b"to A again", keys=[KmsKey(kms_a, "alias/orders")], cache=cache)
        assert cache.hits == 1
        assert decrypt(m3, keys=[KmsKey(kms_a, "alias/orders")]) == b"to A again"


def test_identity_holds_no_key_material_nor_a_plain_hash_of_it() -> None:
    """caching-cmm.md, "Partition ID": a string "used to avoid collisions"; ours comes from the
    key's material, so it must not carry the material, or a hash anyone could recompute offline
    to test guesses: it is an HMAC under a key that lives only in this process."""
    material = bytes(range(32))
    identity = RawAesKey("ns", "name", material).identity
    for leak in (
        material.hex(),
        hashlib.sha256(material).hexdigest(),
        hashlib.sha512(material).hexdigest()[:64],
        hashlib.sha384(material).hexdigest(),
    ):
        assert leak not in identity
    assert repr(material) not in identity
    code = (
        "from envelope.message import RawAesKey; "
        "print(RawAesKey('ns', 'name', bytes(range(32))).identity)"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert other.startswith("raw-aes:ns:name:") and identity.startswith("raw-aes:ns:name:")
    assert other != identity  # keyed per process: nothing to compare across processes
