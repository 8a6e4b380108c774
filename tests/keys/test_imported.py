"""LocalKeyService with imported key material: reproducible keys, expiry, storage, rekey.

What the contract suite cannot show on every backend: the ``_custom_id_`` tag (a local
extension), two keystores on two "machines" that share keys by importing the same bytes under the
same key id, ValidTo honoured by the clock, import tokens that expire and serve once, the
material kept only wrapped (and erased when deleted), rekey, and keystores made before imports.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path

import pytest

from envelope.errors import (
    AlreadyExistsException,
    ExpiredImportTokenException,
    IncorrectKeyException,
    InvalidCiphertextException,
    InvalidImportTokenException,
    KMSInvalidStateException,
    TagException,
    UnsupportedOperationException,
    ValidationException,
)
from envelope.keys import blob
from envelope.keys.local import LocalKeyService
from envelope.keys.material import import_key_material, wrap_key_material
from envelope.keys.store.records import TagRecord

KEY_ID = "5eed0000-aaaa-4bbb-8ccc-000000000001"
OTHER_ID = "5eed0000-aaaa-4bbb-8ccc-000000000002"
MATERIAL = bytes.fromhex("7f" * 16 + "a5" * 16)
NEVER = "KEY_MATERIAL_DOES_NOT_EXPIRE"


class _Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.now


def _fixed_key(kms: LocalKeyService, key_id: str = KEY_ID, material: bytes = MATERIAL) -> None:
    tags = [{"TagKey": "_custom_id_", "TagValue": key_id}]
    assert kms.create_key(origin="EXTERNAL", tags=tags).key_metadata.key_id == key_id
    import_key_material(kms, key_id=key_id, material=material, wrapping_key_spec="RSA_2048")


def _raw_files(home: Path) -> bytes:
    return b"".join(
        p.read_bytes() for p in sorted(home.iterdir()) if p.name.startswith("keystore.db")
    )


# --- reproducible keys --------------------------------------------------------------------------
def test_custom_id_tag_fixes_the_key_id_and_stays_a_tag(tmp_path: Path) -> None:
    with LocalKeyService(tmp_path) as kms:
        tags = [{"TagKey": "_custom_id_", "TagValue": KEY_ID}, {"TagKey": "team", "TagValue": ""}]
        meta = kms.create_key(origin="EXTERNAL", tags=tags).key_metadata
        assert meta.key_id == KEY_ID
        assert meta.arn == f"arn:aws:kms:us-east-1:123456789012:key/{KEY_ID}"
        assert kms._store.reader.tags(KEY_ID) == [
            TagRecord(KEY_ID, "_custom_id_", KEY_ID), TagRecord(KEY_ID, "team", "")
        ]  # fmt: skip
        with pytest.raises(AlreadyExistsException):
            kms.create_key(tags=tags[:1])
        for bad in ("not-a-uuid", KEY_ID.upper(), f"{KEY_ID} ", ""):
            with pytest.raises(ValidationException):
                kms.create_key(tags=[{"TagKey": "_custom_id_", "TagValue": bad}])
        assert [k.key_id for k in kms.list_keys().keys] == [KEY_ID]  # nothing half-made


def test_tags_are_checked(tmp_path: Path) -> None:
    with LocalKeyService(tmp_path) as kms:
        for tags, error in (
            ([{"TagKey": "aws:reserved", "TagValue": "x"}], TagException),
            ([{"TagKey": "a", "TagValue": "1"}, {"TagKey": "a", "TagValue": "2"}], TagException),
            ([{"TagKey": f"k{i}", "TagValue": ""} for i in range(51)], TagException),
            ([{"TagKey": "", "TagValue": "x"}], ValidationException),
            ([{"TagKey": "k" * 129, "TagValue": "x"}], ValidationException),
            ([{"TagKey": "k", "TagValue": "v" * 257}], ValidationException),
            ([{"TagKey": "k"}], ValidationException),
            ([{"TagKey": "k", "TagValue": "v", "Extra": "x"}], ValidationException),
            ([{"TagKey": 1, "TagValue": "v"}], ValidationException),
            ({"TagKey": "k", "TagValue": "v"}, ValidationException),
            ("k=v", ValidationException),
        ):
            with pytest.raises(error):
                kms.create_key(tags=tags)  # type: ignore[arg-type]
        assert kms.list_keys().keys == ()


def test_two_keystores_with_the_same_bytes_and_id_share_ciphertexts(tmp_path: Path) -> None:
    """Two machines, one key: import the same bytes under the same key id and each decrypts
    what the other encrypted, with its context; the material itself never comes out."""
    with LocalKeyService(tmp_path / "a") as a, LocalKeyService(tmp_path / "b") as b:
        _fixed_key(a)
        _fixed_key(b)
        context = {"tenant": "t1"}
        from_a = a.encrypt(key_id=KEY_ID, plaintext=b"from a", encryption_context=context)
        from_b = b.generate_data_key(key_id=KEY_ID, key_spec="AES_256")
        assert b.decrypt(ciphertext_blob=from_a.ciphertext_blob, encryption_context=context
                         ).plaintext == b"from a"  # fmt: skip
        assert a.decrypt(ciphertext_blob=from_b.ciphertext_blob).plaintext == from_b.plaintext
        with pytest.raises(InvalidCiphertextException):
            b.decrypt(ciphertext_blob=from_a.ciphertext_blob)  # the context is still bound
        for service, home in ((a, tmp_path / "a"), (b, tmp_path / "b")):
            assert MATERIAL not in _raw_files(home)
            assert MATERIAL.hex() not in repr(service.describe_key(key_id=KEY_ID))
            with pytest.raises(UnsupportedOperationException):
                service.get_public_key(key_id=KEY_ID)


def test_the_same_bytes_under_another_key_id_open_nothing(tmp_path: Path) -> None:
    """As in AWS KMS: a ciphertext belongs to its key, not to the bytes behind it."""
    with LocalKeyService(tmp_path / "a") as a, LocalKeyService(tmp_path / "b") as b:
        _fixed_key(a, KEY_ID)
        _fixed_key(b, OTHER_ID)
        _fixed_key(a, OTHER_ID)
        sealed = a.encrypt(key_id=KEY_ID, plaintext=b"secret").ciphertext_blob
        with pytest.raises(InvalidCiphertextException):
            b.decrypt(ciphertext_blob=sealed)  # b has no key KEY_ID
        with pytest.raises(IncorrectKeyException):
            a.decrypt(ciphertext_blob=sealed, key_id=OTHER_ID)
        # Renaming the key in the blob to the other key (same bytes) breaks the derivation and
        # the authenticated prefix.
        parsed = blob.parse(sealed)
        renamed = blob.pack_prefix(OTHER_ID, parsed.version) + sealed[blob.PREFIX_SIZE :]
        for service in (a, b):
            with pytest.raises(InvalidCiphertextException):
                service.decrypt(ciphertext_blob=renamed)


# --- expiry, tokens, deletion -------------------------------------------------------------------
def test_valid_to_is_honoured(tmp_path: Path) -> None:
    clock = _Clock()
    with LocalKeyService(tmp_path, _clock=clock) as kms:
        kms.create_key(origin="EXTERNAL", tags=[{"TagKey": "_custom_id_", "TagValue": KEY_ID}])
        valid_to = (clock.now + dt.timedelta(hours=1)).replace(microsecond=0)
        import_key_material(kms, key_id=KEY_ID, material=MATERIAL, valid_to=valid_to,
                            wrapping_key_spec="RSA_2048")  # fmt: skip
        meta = kms.describe_key(key_id=KEY_ID).key_metadata
        assert (meta.key_state, meta.valid_to, meta.expiration_model) == (
            "Enabled", valid_to, "KEY_MATERIAL_EXPIRES"
        )  # fmt: skip
        sealed = kms.encrypt(key_id=KEY_ID, plaintext=b"until noon").ciphertext_blob
        clock.now += dt.timedelta(minutes=59)
        assert kms.decrypt(ciphertext_blob=sealed).plaintext == b"until noon"
        clock.now += dt.timedelta(minutes=2)
        meta = kms.describe_key(key_id=KEY_ID).key_metadata
        assert (meta.key_state, meta.enabled, meta.valid_to) == ("PendingImport", False, None)
        with pytest.raises(KMSInvalidStateException):
            kms.decrypt(ciphertext_blob=sealed)
        with pytest.raises(KMSInvalidStateException):
            kms.encrypt(key_id=KEY_ID, plaintext=b"x")
        assert kms._store.reader.latest_version(KEY_ID) == 0  # the material is erased
        assert MATERIAL not in _raw_files(tmp_path)
        import_key_material(kms, key_id=KEY_ID, material=MATERIAL, wrapping_key_spec="RSA_2048")
        assert kms.decrypt(ciphertext_blob=sealed).plaintext == b"until noon"


def test_material_expiring_during_a_pending_deletion_leaves_it_pending(tmp_path: Path) -> None:
    clock = _Clock()
    with LocalKeyService(tmp_path, _clock=clock) as kms:
        kms.create_key(origin="EXTERNAL", tags=[{"TagKey": "_custom_id_", "TagValue": KEY_ID}])
        import_key_material(kms, key_id=KEY_ID, material=MATERIAL, wrapping_key_spec="RSA_2048",
                            valid_to=clock.now + dt.timedelta(days=1))  # fmt: skip
        kms.schedule_key_deletion(key_id=KEY_ID, pending_window_in_days=7)
        clock.now += dt.timedelta(days=2)
        assert kms.describe_key(key_id=KEY_ID).key_metadata.key_state == "PendingDeletion"
        kms.cancel_key_deletion(key_id=KEY_ID)  # no material: back to PendingImport
        assert kms.describe_key(key_id=KEY_ID).key_metadata.key_state == "PendingImport"


def test_import_tokens_expire_and_serve_once(tmp_path: Path) -> None:
    clock = _Clock()
    with LocalKeyService(tmp_path, _clock=clock) as kms:
        key_id = kms.create_key(origin="EXTERNAL").key_metadata.key_id
        params = kms.get_parameters_for_import(
            key_id=key_id, wrapping_algorithm="RSAES_OAEP_SHA_256", wrapping_key_spec="RSA_2048"
        )
        wrapped = wrap_key_material(params.public_key, "RSAES_OAEP_SHA_256", MATERIAL)
        clock.now += dt.timedelta(hours=24, seconds=1)
        with pytest.raises(ExpiredImportTokenException):
            kms.import_key_material(key_id=key_id, import_token=params.import_token,
                                    encrypted_key_material=wrapped, expiration_model=NEVER)
        fresh = kms.get_parameters_for_import(  # also purges the expired parameters
            key_id=key_id, wrapping_algorithm="RSAES_OAEP_SHA_256", wrapping_key_spec="RSA_2048"
        )
        with pytest.raises(ExpiredImportTokenException):  # still told apart from a bad one
            kms.import_key_material(key_id=key_id, import_token=params.import_token,
                                    encrypted_key_material=wrapped, expiration_model=NEVER)
        wrapped = wrap_key_material(fresh.public_key, "RSAES_OAEP_SHA_256", MATERIAL)
        kms.import_key_material(key_id=key_id, import_token=fresh.import_token,
                                encrypted_key_material=wrapped, expiration_model=NEVER)
        with pytest.raises(InvalidImportTokenException):  # used: its wrapping key is gone
            kms.import_key_material(key_id=key_id, import_token=fresh.import_token,
                                    encrypted_key_material=wrapped, expiration_model=NEVER)
        rows = sqlite3.connect(tmp_path / "keystore.db").execute("SELECT * FROM imports")
        assert rows.fetchall() == []


def test_deleted_material_is_refused_by_another_process_that_cached_it(tmp_path: Path) -> None:
    with LocalKeyService(tmp_path) as one, LocalKeyService(tmp_path) as two:
        _fixed_key(one)
        sealed = one.encrypt(key_id=KEY_ID, plaintext=b"x").ciphertext_blob
        assert one.decrypt(ciphertext_blob=sealed).plaintext == b"x"  # now cached in `one`
        two.delete_imported_key_material(key_id=KEY_ID)
        with pytest.raises(KMSInvalidStateException):
            one.decrypt(ciphertext_blob=sealed)
        with pytest.raises(KMSInvalidStateException):
            one.encrypt(key_id=KEY_ID, plaintext=b"x")
        assert MATERIAL not in _raw_files(tmp_path)


def test_imported_keys_do_not_rotate_here(tmp_path: Path) -> None:
    with LocalKeyService(tmp_path) as kms:
        _fixed_key(kms)
        for call in (kms.enable_key_rotation, kms.rotate_key_on_demand):
            with pytest.raises(UnsupportedOperationException):
                call(key_id=KEY_ID)


def test_pending_import_refuses_state_changes(tmp_path: Path) -> None:
    with LocalKeyService(tmp_path) as kms:
        key_id = kms.create_key(origin="EXTERNAL").key_metadata.key_id
        for call in (kms.enable_key, kms.disable_key):
            with pytest.raises(KMSInvalidStateException):
                call(key_id=key_id)
        kms.delete_imported_key_material(key_id=key_id)  # nothing to delete: no error
        assert kms.describe_key(key_id=key_id).key_metadata.key_state == "PendingImport"


# --- storage: wrapped only, rekeyed, migrated ---------------------------------------------------
def test_imported_material_and_wrapping_keys_follow_a_rekey(tmp_path: Path) -> None:
    with LocalKeyService(tmp_path) as kms:
        _fixed_key(kms)
        sealed = kms.encrypt(key_id=KEY_ID, plaintext=b"before").ciphertext_blob
        other = kms.create_key(origin="EXTERNAL").key_metadata.key_id
        params = kms.get_parameters_for_import(
            key_id=other, wrapping_algorithm="RSAES_OAEP_SHA_1", wrapping_key_spec="RSA_2048"
        )
        db = sqlite3.connect(tmp_path / "keystore.db")
        before = db.execute("SELECT wrapped FROM imports").fetchall()
        kms.rekey()
        assert db.execute("SELECT wrapped FROM imports").fetchall() != before
        db.close()
    with LocalKeyService(tmp_path) as kms:  # opened fresh with the new root key only
        assert kms.decrypt(ciphertext_blob=sealed).plaintext == b"before"
        material = os.urandom(32)
        wrapped = wrap_key_material(params.public_key, "RSAES_OAEP_SHA_1", material)
        kms.import_key_material(key_id=other, import_token=params.import_token,
                                encrypted_key_material=wrapped, expiration_model=NEVER)
        assert kms.describe_key(key_id=other).key_metadata.key_state == "Enabled"
        assert material not in _raw_files(tmp_path) and MATERIAL not in _raw_files(tmp_path)


def test_a_keystore_made_before_key_types_opens_and_gains_them(tmp_path: Path) -> None:
    """Make the store look as older code made it (no tags/imports tables, no new columns),
    then reopen: its keys work, and the new key types work in it."""
    with LocalKeyService(tmp_path) as kms:
        old_key = kms.create_key().key_metadata.key_id
        sealed = kms.encrypt(key_id=old_key, plaintext=b"old").ciphertext_blob
    db = sqlite3.connect(tmp_path / "keystore.db")
    db.execute("DROP TABLE tags")
    db.execute("DROP TABLE imports")
    for column in ("origin", "valid_to", "expiration_model", "material_id"):
        db.execute(f"ALTER TABLE keys DROP COLUMN {column}")
    db.commit()
    db.close()
    with LocalKeyService(tmp_path) as kms:
        assert kms.decrypt(ciphertext_blob=sealed).plaintext == b"old"
        assert kms.describe_key(key_id=old_key).key_metadata.origin == "AWS_KMS"
        _fixed_key(kms)
        signing = kms.create_key(key_spec="ECC_NIST_P256", key_usage="SIGN_VERIFY")
        assert kms.sign(key_id=signing.key_metadata.key_id, message=b"m",
                        signing_algorithm="ECDSA_SHA_256").signature  # fmt: skip
    columns = {row[1] for row in sqlite3.connect(tmp_path / "keystore.db").execute(
        "PRAGMA table_info(keys)")}  # fmt: skip
    assert {"origin", "valid_to", "expiration_model", "material_id"} <= columns


# --- hostile material and racing importers -------------------------------------------------
def test_an_ec_key_whose_public_half_is_forged_is_refused(tmp_path: Path) -> None:
    """PKCS #8 EC material carries its public point; one that does not belong to the private
    scalar would make GetPublicKey hand out a key that verifies nothing we sign."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from envelope.errors import IncorrectKeyMaterialException

    def point(key: ec.EllipticCurvePrivateKey) -> bytes:
        return key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    mine, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    der = mine.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())  # fmt: skip
    forged = der.replace(point(mine), point(other))
    assert forged != der
    with LocalKeyService(tmp_path) as kms:
        key_id = kms.create_key(origin="EXTERNAL", key_spec="ECC_NIST_P256",
                                key_usage="SIGN_VERIFY").key_metadata.key_id  # fmt: skip
        with pytest.raises(IncorrectKeyMaterialException):
            import_key_material(kms, key_id=key_id, material=forged, wrapping_key_spec="RSA_2048",
                                wrapping_algorithm="RSA_AES_KEY_WRAP_SHA_256")  # fmt: skip


def test_racing_imports_of_different_material_leave_one_winner(tmp_path: Path) -> None:
    import threading

    from envelope.errors import IncorrectKeyMaterialException

    with LocalKeyService(tmp_path) as setup:
        key_id = setup.create_key(origin="EXTERNAL").key_metadata.key_id
    materials = [os.urandom(32) for _ in range(4)]
    services = [LocalKeyService(tmp_path) for _ in materials]
    prepared = []
    for service, material in zip(services, materials, strict=True):
        params = service.get_parameters_for_import(
            key_id=key_id, wrapping_algorithm="RSAES_OAEP_SHA_256", wrapping_key_spec="RSA_2048"
        )
        prepared.append((params.import_token,
                         wrap_key_material(params.public_key, "RSAES_OAEP_SHA_256", material)))
    outcomes: list[str] = []
    start = threading.Barrier(len(services))

    def run(index: int) -> None:
        token, wrapped = prepared[index]
        start.wait()
        try:
            services[index].import_key_material(key_id=key_id, import_token=token,
                                                encrypted_key_material=wrapped,
                                                expiration_model=NEVER)  # fmt: skip
            outcomes.append(f"won {index}")
        except IncorrectKeyMaterialException:
            outcomes.append("refused")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(services))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if o.startswith("won")]
    assert len(winners) == 1 and outcomes.count("refused") == len(services) - 1
    sealed = services[0].encrypt(key_id=key_id, plaintext=b"x").ciphertext_blob
    for service in services:
        assert service.decrypt(ciphertext_blob=sealed).plaintext == b"x"
        service.close()
