"""LocalKeyService behaviour that only a local backend can show: the clock, the blob, secrets."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from envelope.errors import (
    InvalidCiphertextException,
    InvalidMarkerException,
    LimitExceededException,
    NotFoundException,
    ValidationException,
)
from envelope.keys import blob
from envelope.keys.base import KeyService
from envelope.keys.local import LocalKeyService

START = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def kms(tmp_path: Path, clock: Clock) -> Iterator[LocalKeyService]:
    service = LocalKeyService(tmp_path / "home")
    service._clock = clock
    yield service
    service.close()


def _version(ciphertext: bytes) -> int:
    return blob.parse(ciphertext).version


def test_is_a_key_service(kms: LocalKeyService) -> None:
    assert isinstance(kms, KeyService)


def test_uses_the_clock(kms: LocalKeyService) -> None:
    meta = kms.create_key().key_metadata
    assert meta.creation_date == START
    result = kms.schedule_key_deletion(key_id=meta.key_id, pending_window_in_days=7)
    assert result.deletion_date == START + dt.timedelta(days=7)


def test_key_destroyed_after_its_deletion_date(
    kms: LocalKeyService, clock: Clock, tmp_path: Path
) -> None:
    key_id = kms.create_key().key_metadata.key_id
    kms.rotate_key_on_demand(key_id=key_id)
    kms.create_alias(alias_name="alias/doomed", target_key_id=key_id)
    ciphertext = kms.encrypt(key_id=key_id, plaintext=b"x").ciphertext_blob
    kms.schedule_key_deletion(key_id=key_id, pending_window_in_days=7)
    clock.advance(days=6, hours=23)
    assert kms.describe_key(key_id=key_id).key_metadata.key_state == "PendingDeletion"
    clock.advance(hours=1)
    with pytest.raises(NotFoundException):
        kms.describe_key(key_id=key_id)
    assert key_id not in {k.key_id for k in kms.list_keys().keys}
    assert kms.list_aliases().aliases == ()
    with pytest.raises(InvalidCiphertextException):
        kms.decrypt(ciphertext_blob=ciphertext)
    db = sqlite3.connect(tmp_path / "home" / "keystore.db")
    for table in ("keys", "versions", "aliases"):
        count = db.execute(f"SELECT COUNT(*) FROM {table} WHERE key_id = ?", (key_id,)).fetchone()
        assert count == (0,), table
    db.close()


def test_cancelled_deletion_survives_the_date(kms: LocalKeyService, clock: Clock) -> None:
    key_id = kms.create_key().key_metadata.key_id
    kms.schedule_key_deletion(key_id=key_id, pending_window_in_days=7)
    kms.cancel_key_deletion(key_id=key_id)
    clock.advance(days=8)
    assert kms.describe_key(key_id=key_id).key_metadata.key_state == "Disabled"


def test_automatic_rotation_is_lazy_and_recorded(kms: LocalKeyService, clock: Clock) -> None:
    key_id = kms.create_key().key_metadata.key_id
    kms.enable_key_rotation(key_id=key_id, rotation_period_in_days=90)
    status = kms.get_key_rotation_status(key_id=key_id)
    assert status.next_rotation_date == START + dt.timedelta(days=90)
    clock.advance(days=89)
    assert _version(kms.encrypt(key_id=key_id, plaintext=b"a").ciphertext_blob) == 1
    clock.advance(days=1)
    assert _version(kms.encrypt(key_id=key_id, plaintext=b"b").ciphertext_blob) == 2
    rotations = kms.list_key_rotations(key_id=key_id).rotations
    assert [(r.rotation_type, r.rotation_date) for r in rotations] == [("AUTOMATIC", clock.now)]
    # Several missed periods give one new version; the next date counts from that rotation.
    clock.advance(days=400)
    assert _version(kms.generate_data_key(key_id=key_id, key_spec="AES_256").ciphertext_blob) == 3
    status = kms.get_key_rotation_status(key_id=key_id)
    assert status.next_rotation_date == clock.now + dt.timedelta(days=90)


def test_disabled_key_does_not_rotate_until_used_again(kms: LocalKeyService, clock: Clock) -> None:
    key_id = kms.create_key().key_metadata.key_id
    kms.enable_key_rotation(key_id=key_id, rotation_period_in_days=90)
    kms.disable_key(key_id=key_id)
    clock.advance(days=200)
    kms.describe_key(key_id=key_id)
    assert kms.list_key_rotations(key_id=key_id).rotations == ()
    kms.enable_key(key_id=key_id)
    assert _version(kms.encrypt(key_id=key_id, plaintext=b"x").ciphertext_blob) == 2


def test_on_demand_rotation_limit(kms: LocalKeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    for _ in range(25):
        kms.rotate_key_on_demand(key_id=key_id)
    with pytest.raises(LimitExceededException, match="25"):
        kms.rotate_key_on_demand(key_id=key_id)
    assert _version(kms.encrypt(key_id=key_id, plaintext=b"x").ciphertext_blob) == 26


def test_six_versions_and_re_encrypt_to_newest(kms: LocalKeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    blobs = [kms.encrypt(key_id=key_id, plaintext=b"v1").ciphertext_blob]
    for n in range(2, 7):
        kms.rotate_key_on_demand(key_id=key_id)
        blobs.append(kms.encrypt(key_id=key_id, plaintext=f"v{n}".encode()).ciphertext_blob)
    assert [_version(b) for b in blobs] == [1, 2, 3, 4, 5, 6]
    for n, ciphertext in enumerate(blobs, start=1):
        assert kms.decrypt(ciphertext_blob=ciphertext).plaintext == f"v{n}".encode()
    assert len(kms.list_key_rotations(key_id=key_id).rotations) == 5
    moved = kms.re_encrypt(ciphertext_blob=blobs[0], destination_key_id=key_id).ciphertext_blob
    parsed = blob.parse(moved)
    assert (parsed.key_id, parsed.version) == (key_id, 6)
    assert kms.decrypt(ciphertext_blob=moved).plaintext == b"v1"


def test_blob_naming_an_unknown_version(kms: LocalKeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    ciphertext = kms.encrypt(key_id=key_id, plaintext=b"x").ciphertext_blob
    forged = blob.pack_prefix(key_id, 9) + ciphertext[len(blob.pack_prefix(key_id, 1)) :]
    with pytest.raises(InvalidCiphertextException):
        kms.decrypt(ciphertext_blob=forged)


def test_rsa_decrypt_needs_key_id(kms: LocalKeyService) -> None:
    key_id = kms.create_key(key_spec="RSA_2048").key_metadata.key_id
    algorithm = "RSAES_OAEP_SHA_256"
    ct = kms.encrypt(key_id=key_id, plaintext=b"x", encryption_algorithm=algorithm).ciphertext_blob
    with pytest.raises(ValidationException):
        kms.decrypt(ciphertext_blob=ct, encryption_algorithm=algorithm)
    with pytest.raises(InvalidCiphertextException):
        kms.decrypt(ciphertext_blob=ct)
    with pytest.raises(ValidationException):
        kms.encrypt(
            key_id=key_id,
            plaintext=b"x",
            encryption_algorithm=algorithm,
            encryption_context={"a": "b"},
        )


@pytest.mark.parametrize("context", [{"": "v"}, {1: "v"}, {"k": 2}])
def test_bad_encryption_context(kms: LocalKeyService, context: dict[object, object]) -> None:
    key_id = kms.create_key().key_metadata.key_id
    with pytest.raises(ValidationException):
        kms.encrypt(key_id=key_id, plaintext=b"x", encryption_context=context)  # type: ignore[arg-type]


@pytest.mark.parametrize("spec", ["RSA_1024", "ECC_NIST_P256", "AES_256"])
def test_unsupported_key_specs(kms: LocalKeyService, spec: str) -> None:
    with pytest.raises(ValidationException):
        kms.create_key(key_spec=spec)


def test_bad_marker(kms: LocalKeyService) -> None:
    with pytest.raises(InvalidMarkerException):
        kms.list_keys(marker="%%%not-base64")


def test_other_region_arn_is_not_found(kms: LocalKeyService) -> None:
    meta = kms.create_key().key_metadata
    with pytest.raises(NotFoundException):
        kms.describe_key(key_id=meta.arn.replace("us-east-1", "eu-west-1"))


def test_region_and_account_in_arns(tmp_path: Path) -> None:
    with LocalKeyService(tmp_path, region="eu-west-3", account_id="000000000042") as kms:
        meta = kms.create_key().key_metadata
        assert meta.arn == f"arn:aws:kms:eu-west-3:000000000042:key/{meta.key_id}"
        assert meta.aws_account_id == "000000000042"


def test_secrets_never_in_repr_or_errors(kms: LocalKeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    raw = kms._raw_backing_key(key_id, 1)
    data_key = kms.generate_data_key(key_id=key_id, key_spec="AES_256")
    decrypted = kms.decrypt(ciphertext_blob=data_key.ciphertext_blob)
    random = kms.generate_random(number_of_bytes=32)
    texts = [repr(kms), str(kms), repr(data_key), str(data_key), repr(decrypted), repr(random)]
    texts.append(repr(kms._store))
    try:
        kms.decrypt(ciphertext_blob=data_key.ciphertext_blob[:-1] + b"\x00")
    except InvalidCiphertextException as exc:
        texts += [repr(exc), str(exc)]
    secrets = [raw, data_key.plaintext, random.plaintext]
    for text in texts:
        for secret in secrets:
            assert secret.hex() not in text
            assert repr(secret)[2:-1] not in text


def test_no_public_result_carries_backing_key_bytes(kms: LocalKeyService) -> None:
    import dataclasses

    sym = kms.create_key().key_metadata.key_id
    kms.rotate_key_on_demand(key_id=sym)
    rsa_id = kms.create_key(key_spec="RSA_2048").key_metadata.key_id
    secrets = [kms._raw_backing_key(sym, 1), kms._raw_backing_key(sym, 2)]
    secrets.append(kms._raw_backing_key(rsa_id, 1))
    ct = kms.encrypt(key_id=sym, plaintext=b"x").ciphertext_blob
    results: list[object] = [
        kms.describe_key(key_id=sym),
        kms.describe_key(key_id=rsa_id),
        kms.list_keys(),
        kms.encrypt(key_id=sym, plaintext=b"x"),
        kms.decrypt(ciphertext_blob=ct),
        kms.re_encrypt(ciphertext_blob=ct, destination_key_id=sym),
        kms.generate_data_key(key_id=sym, number_of_bytes=1024),
        kms.generate_data_key_without_plaintext(key_id=sym, key_spec="AES_256"),
        kms.get_key_rotation_status(key_id=sym),
        kms.list_key_rotations(key_id=sym),
        kms.get_public_key(key_id=rsa_id),
    ]

    def values(obj: object) -> list[object]:
        if dataclasses.is_dataclass(obj):
            return [v for f in dataclasses.fields(obj) for v in values(getattr(obj, f.name))]
        if isinstance(obj, tuple):
            return [v for item in obj for v in values(item)]
        return [obj]

    for result in results:
        for value in values(result):
            text = value if isinstance(value, bytes) else str(value).encode()
            for secret in secrets:
                assert secret not in text
                assert secret[:16] not in text


def test_destroyed_material_is_erased_from_the_file(tmp_path: Path, clock: Clock) -> None:
    home = tmp_path / "erase"
    kms = LocalKeyService(home)
    kms._clock = clock
    key_id = kms.create_key().key_metadata.key_id
    kms.rotate_key_on_demand(key_id=key_id)
    db = sqlite3.connect(home / "keystore.db")
    wrapped = [
        bytes(r[0]) for r in db.execute("SELECT wrapped FROM versions WHERE key_id = ?", (key_id,))
    ]
    db.close()
    assert len(wrapped) == 2
    kms.schedule_key_deletion(key_id=key_id, pending_window_in_days=7)
    clock.advance(days=7)
    kms.list_keys()  # the first use after the date destroys the key
    kms.close()  # checkpoints the WAL into the database file
    content = b"".join(p.read_bytes() for p in home.iterdir() if p.name.startswith("keystore.db"))
    for item in wrapped:
        assert item not in content
