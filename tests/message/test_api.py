"""Round trips, streams, KmsKey on LocalKeyService, mixed EDKs, inspect, cache hook, the seam."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from envelope.errors import (
    EncryptionContextMismatchError,
    InvalidCiphertextException,
    MessageAuthenticationError,
    MessageError,
    NoMatchingKeyError,
    TooManyEncryptedDataKeysError,
)
from envelope.message import (
    KmsKey,
    RawAesKey,
    RawRsaKey,
    decrypt,
    decrypt_stream,
    encrypt,
    encrypt_stream,
    inspect,
)
from envelope.message.api import _encrypt_message
from envelope.message.materials import EncryptionMaterials, create_materials
from envelope.message.suites import SUITES


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Any]:
    from envelope.keys.local import LocalKeyService

    svc = LocalKeyService(home=tmp_path / "home")
    try:
        yield svc
    finally:
        svc.close()


class CountingService:
    """Wraps a KeyService and counts the calls that touch data keys."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name in ("generate_data_key", "encrypt", "decrypt"):

            def counted(*args: Any, **kwargs: Any) -> Any:
                self.calls += 1
                return attr(*args, **kwargs)

            return counted
        return attr


@pytest.mark.parametrize("suite", [0x0478, 0x0578])
@pytest.mark.parametrize("size", [0, 1, 99, 100, 101, 1000])
def test_round_trip_bytes_and_streams(aes_key: RawAesKey, suite: int, size: int) -> None:
    plaintext = os.urandom(size)
    message = encrypt(
        plaintext, keys=[aes_key], suite=suite, frame_length=100, encryption_context={"a": "1"}
    )
    assert decrypt(message, keys=[aes_key], encryption_context={"a": "1"}) == plaintext
    out = io.BytesIO()
    info = decrypt_stream(io.BytesIO(message), out, keys=[aes_key])
    assert out.getvalue() == plaintext
    assert info.signed == (suite == 0x0578)
    streamed = io.BytesIO()
    encrypt_stream(io.BytesIO(plaintext), streamed, keys=[aes_key], suite=suite, frame_length=100)
    assert decrypt(streamed.getvalue(), keys=[aes_key]) == plaintext


def test_progress_reports_bytes(aes_key: RawAesKey) -> None:
    seen: list[int] = []
    out = io.BytesIO()
    encrypt_stream(
        io.BytesIO(bytes(250)), out, keys=[aes_key], frame_length=100, progress=seen.append
    )
    assert seen[-1] == 250 and seen == sorted(seen)
    seen.clear()
    decrypt_stream(io.BytesIO(out.getvalue()), io.BytesIO(), keys=[aes_key], progress=seen.append)
    assert seen[-1] == 250


class ShortReads(io.RawIOBase):
    """A stream that returns at most 7 bytes per read, like a pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._data.read(min(size, 7) if size >= 0 else 7)


def test_streams_tolerate_short_reads(aes_key: RawAesKey) -> None:
    plaintext = os.urandom(1000)
    out = io.BytesIO()
    encrypt_stream(ShortReads(plaintext), out, keys=[aes_key], frame_length=64)  # type: ignore[arg-type]
    back = io.BytesIO()
    decrypt_stream(ShortReads(out.getvalue()), back, keys=[aes_key])  # type: ignore[arg-type]
    assert back.getvalue() == plaintext


def test_stream_signature_failure_raises_and_holds_back_last_frame(aes_key: RawAesKey) -> None:
    message = bytearray(encrypt(os.urandom(350), keys=[aes_key], suite=0x0578, frame_length=100))
    message[-5] ^= 1  # inside the signature
    out = io.BytesIO()
    with pytest.raises(MessageAuthenticationError, match="signature check failed"):
        decrypt_stream(io.BytesIO(bytes(message)), out, keys=[aes_key])
    assert len(out.getvalue()) == 300  # the final 50-byte frame was never written


def test_kms_key_round_trip_and_mixed_edks(service: Any) -> None:
    arn = service.create_key().key_metadata.arn
    raw = RawAesKey("ns", "k", os.urandom(32))
    message = encrypt(b"secret", keys=[KmsKey(service, arn), raw], encryption_context={"app": "x"})
    info = inspect(message)
    assert [(e.provider_id, e.provider_info) for e in info.encrypted_data_keys] == [
        ("aws-kms", arn),
        ("ns", "k"),
    ]
    assert decrypt(message, keys=[KmsKey(service, arn)]) == b"secret"
    assert decrypt(message, keys=[raw]) == b"secret"
    message = encrypt(b"second", keys=[raw, KmsKey(service, arn)])
    assert decrypt(message, keys=[KmsKey(service, arn)]) == b"second"


def test_kms_key_passes_context_to_the_key_service(service: Any) -> None:
    arn = service.create_key().key_metadata.arn
    message = encrypt(b"x", keys=[KmsKey(service, arn)], encryption_context={"app": "x"})
    edk = _edks(message)[0]
    with pytest.raises(InvalidCiphertextException):
        service.decrypt(ciphertext_blob=edk.ciphertext, encryption_context={"app": "y"})
    with pytest.raises(InvalidCiphertextException):
        service.decrypt(ciphertext_blob=edk.ciphertext)
    assert (
        service.decrypt(ciphertext_blob=edk.ciphertext, encryption_context={"app": "x"}).key_id
        == arn
    )


def _edks(message: bytes) -> Any:
    from envelope.message.header import parse_header
    from envelope.message.reader import BytesReader

    return parse_header(BytesReader(message))[0].encrypted_data_keys


def test_cache_cuts_key_service_calls(service: Any) -> None:
    arn = service.create_key().key_metadata.arn
    counting = CountingService(service)

    class DictCache:
        def __init__(self) -> None:
            self.entries: dict[bytes, Any] = {}

        def get_encryption_materials(
            self, cache_key: bytes, plaintext_length: int | None, create: Callable[[], Any]
        ) -> Any:
            if plaintext_length is None:
                return create()
            if cache_key not in self.entries:
                self.entries[cache_key] = create()
            return self.entries[cache_key]

    cache = DictCache()
    key = KmsKey(counting, arn)  # type: ignore[arg-type]
    messages = [
        encrypt(b"m%d" % i, keys=[key], cache=cache, encryption_context={"a": "b"})
        for i in range(5)
    ]
    assert counting.calls == 1
    encrypt(b"other", keys=[key], cache=cache, encryption_context={"a": "c"})
    assert counting.calls == 2 and len(cache.entries) == 2
    assert len({inspect(m).message_id for m in messages}) == 5
    assert [decrypt(m, keys=[KmsKey(service, arn)]) for m in messages] == [
        b"m%d" % i for i in range(5)
    ]


def test_deterministic_seam_gives_identical_messages() -> None:
    key = RawAesKey("ns", "k", bytes(32))
    materials = create_materials(SUITES[0x0478], [key], {"a": "b"})
    data_key = bytes(range(32))
    fixed = EncryptionMaterials(
        SUITES[0x0478], data_key, (key.wrap(data_key, {"a": "b"}),), {"a": "b"}
    )
    one = _encrypt_message(b"hello" * 50, fixed, message_id=bytes(32), frame_length=64)
    two = _encrypt_message(b"hello" * 50, fixed, message_id=bytes(32), frame_length=64)
    assert one == two
    assert inspect(one).message_id == "00" * 32
    assert decrypt(one, keys=[key]) == b"hello" * 50
    # An EDK that holds another data key than the one the body was written with: commitment fails.
    other = EncryptionMaterials(SUITES[0x0478], data_key, materials.encrypted_data_keys, {"a": "b"})
    with pytest.raises(MessageAuthenticationError, match="key commitment check failed"):
        decrypt(_encrypt_message(b"x", other, message_id=bytes(32), frame_length=64), keys=[key])


def test_rsa_key_wraps_and_unwraps_and_refuses_pkcs1_wrap() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for padding in ("OAEP-SHA1", "OAEP-SHA256"):
        key = RawRsaKey("ns", "rsa", private_key=private, padding=padding)
        assert decrypt(encrypt(b"rsa", keys=[key]), keys=[key]) == b"rsa"
    with pytest.raises(MessageError, match="unwrapping only"):
        encrypt(b"rsa", keys=[RawRsaKey("ns", "rsa", private_key=private, padding="PKCS1")])


def test_reserved_context_keys_refused(aes_key: RawAesKey) -> None:
    with pytest.raises(EncryptionContextMismatchError, match="reserved prefix"):
        encrypt(b"x", keys=[aes_key], encryption_context={"aws-crypto-public-key": "x"})


def test_encrypt_refuses_too_many_keys_and_legacy_suites(aes_key: RawAesKey) -> None:
    with pytest.raises(TooManyEncryptedDataKeysError, match="limit is 10"):
        encrypt(b"x", keys=[aes_key] * 11)
    with pytest.raises(MessageError, match="cannot be written"):
        encrypt(b"x", keys=[aes_key], suite=0x0178)
    with pytest.raises(MessageError, match="frame length"):
        encrypt(b"x", keys=[aes_key], frame_length=0)


def test_inspect_reads_only_the_header_and_to_json(aes_key: RawAesKey) -> None:
    message = encrypt(b"x" * 1000, keys=[aes_key], encryption_context={"k": "v"}, frame_length=128)
    stream = io.BytesIO(message)
    info = inspect(stream)
    assert stream.tell() < 300
    doc = info.to_json()
    assert (
        doc["suite_id"] == "0x0478"
        and doc["frame_length"] == 128
        and doc["content_type"] == "framed"
    )
    assert doc["encryption_context"] == {"k": "v"}
    assert doc["encrypted_data_keys"] == [{"provider_id": "test-ns", "provider_info": "key-1"}]
    assert inspect(message) == info


def test_repr_never_shows_key_material() -> None:
    secret = bytes(range(32))
    key = RawAesKey("ns", "k", secret)
    materials = create_materials(SUITES[0x0478], [key], {})
    assert secret.hex() not in repr(key) and str(secret) not in repr(key)
    assert materials.data_key.hex() not in repr(materials) and repr(materials.data_key) not in repr(
        materials
    )


def test_raw_keys_refuse_the_kms_namespace() -> None:
    with pytest.raises(MessageError, match="reserved for KMS keys"):
        RawAesKey("aws-kms", "k", bytes(32))
    with pytest.raises(MessageError, match="16, 24 or 32 bytes"):
        RawAesKey("ns", "k", bytes(20))


def test_kms_key_by_alias_key_id_or_arn_and_wrong_key(service: Any) -> None:
    meta = service.create_key().key_metadata
    other = service.create_key().key_metadata
    service.create_alias(alias_name="alias/app", target_key_id=meta.key_id)
    message = encrypt(b"hi", keys=[KmsKey(service, "alias/app")])
    assert inspect(message).encrypted_data_keys[0].provider_info == meta.arn
    for key_id in ("alias/app", meta.key_id, meta.arn):
        assert decrypt(message, keys=[KmsKey(service, key_id)]) == b"hi"
    for key_id in (other.arn, other.key_id):
        with pytest.raises(NoMatchingKeyError, match="providers: aws-kms"):
            decrypt(message, keys=[KmsKey(service, key_id)])
