"""The keystore on disk: file modes, root-key modes, wrong passphrases, nothing in the clear."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from envelope.errors import KeystoreError, WrongPassphraseError
from envelope.keys.local import LocalKeyService

FAST = 2**10  # test seam: cheap scrypt cost; production default is 2**17


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _snapshot(home: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(home.iterdir()) if p.is_file()}


def test_files_are_private(tmp_path: Path) -> None:
    home = tmp_path / "h"
    with LocalKeyService(home) as kms:
        kms.create_key()
    assert _mode(home) == 0o700
    assert _mode(home / "keystore.db") == 0o600
    assert _mode(home / "root.key") == 0o600
    assert len((home / "root.key").read_bytes()) == 32


def test_sqlite_settings(tmp_path: Path) -> None:
    with LocalKeyService(tmp_path) as kms:
        kms.create_key()
        db = kms._store._database._db
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_home_defaults_to_envelope_home(_isolated_home: Path) -> None:
    with LocalKeyService() as kms:
        key_id = kms.create_key().key_metadata.key_id
    assert (_isolated_home / "keystore.db").exists()
    with LocalKeyService() as kms:
        assert kms.describe_key(key_id=key_id).key_metadata.key_id == key_id


def test_keys_persist_across_opens(tmp_path: Path) -> None:
    with LocalKeyService(tmp_path) as kms:
        key_id = kms.create_key().key_metadata.key_id
        blob = kms.encrypt(key_id=key_id, plaintext=b"later").ciphertext_blob
    with LocalKeyService(tmp_path) as kms:
        assert kms.decrypt(ciphertext_blob=blob).plaintext == b"later"


def test_passphrase_mode(tmp_path: Path) -> None:
    with LocalKeyService(tmp_path, passphrase="correct horse", _scrypt_n=FAST) as kms:
        key_id = kms.create_key().key_metadata.key_id
        blob = kms.encrypt(key_id=key_id, plaintext=b"pp").ciphertext_blob
    assert not (tmp_path / "root.key").exists()
    with LocalKeyService(tmp_path, passphrase="correct horse") as kms:
        assert kms.decrypt(ciphertext_blob=blob).plaintext == b"pp"


def test_passphrase_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVELOPE_PASSPHRASE", "from env")
    with LocalKeyService(tmp_path, _scrypt_n=FAST) as kms:
        kms.create_key()
    with pytest.raises(WrongPassphraseError):
        LocalKeyService(tmp_path, passphrase="other")


def test_wrong_passphrase_changes_nothing(tmp_path: Path) -> None:
    with LocalKeyService(tmp_path, passphrase="right", _scrypt_n=FAST) as kms:
        key_id = kms.create_key().key_metadata.key_id
        kms.rotate_key_on_demand(key_id=key_id)
    before = _snapshot(tmp_path)
    with pytest.raises(WrongPassphraseError) as caught:
        LocalKeyService(tmp_path, passphrase="wrong")
    assert "wrong" not in str(caught.value)
    assert _snapshot(tmp_path) == before


def test_mode_mismatch_is_a_clear_error(tmp_path: Path) -> None:
    file_home, pass_home = tmp_path / "file", tmp_path / "pass"
    LocalKeyService(file_home).close()
    LocalKeyService(pass_home, passphrase="p", _scrypt_n=FAST).close()
    with pytest.raises(KeystoreError, match="root-key file"):
        LocalKeyService(file_home, passphrase="p")
    with pytest.raises(KeystoreError, match="passphrase"):
        LocalKeyService(pass_home)


def test_replaced_root_key_file_is_refused(tmp_path: Path) -> None:
    LocalKeyService(tmp_path).close()
    (tmp_path / "root.key").write_bytes(os.urandom(32))
    with pytest.raises(WrongPassphraseError):
        LocalKeyService(tmp_path)


def test_damaged_root_key_file(tmp_path: Path) -> None:
    LocalKeyService(tmp_path).close()
    (tmp_path / "root.key").write_bytes(b"short")
    with pytest.raises(KeystoreError, match="32 bytes"):
        LocalKeyService(tmp_path)


def test_not_a_database(tmp_path: Path) -> None:
    tmp_path.joinpath("keystore.db").write_bytes(b"garbage" * 1000)
    with pytest.raises(KeystoreError):
        LocalKeyService(tmp_path)


def test_no_backing_key_in_the_clear(tmp_path: Path) -> None:
    kms = LocalKeyService(tmp_path)
    secrets = []
    sym = kms.create_key().key_metadata.key_id
    for _ in range(3):
        kms.rotate_key_on_demand(key_id=sym)
    secrets += [kms._raw_backing_key(sym, v) for v in range(1, 5)]
    rsa_id = kms.create_key(key_spec="RSA_2048").key_metadata.key_id
    der = kms._raw_backing_key(rsa_id, 1)
    secrets += [der, der[-64:]]  # the whole private key and a slice of it
    assert all(len(s) >= 32 for s in secrets)
    # Check the live files (WAL included) while open, then after a checkpoint on close.
    for _ in range(2):
        files = [p for p in tmp_path.iterdir() if p.name.startswith("keystore.db")]
        assert files
        for path in files:
            content = path.read_bytes()
            for secret in secrets:
                assert secret not in content, path.name
        kms.close()


def test_backing_keys_wrapped_with_key_binding(tmp_path: Path) -> None:
    with LocalKeyService(tmp_path) as kms:
        a = kms.create_key().key_metadata.key_id
        b = kms.create_key().key_metadata.key_id
        blob = kms.encrypt(key_id=a, plaintext=b"bound").ciphertext_blob
    # Swap the wrapped material of two keys: the AAD binding must refuse it.
    db = sqlite3.connect(tmp_path / "keystore.db")
    wa = db.execute("SELECT wrapped FROM versions WHERE key_id = ?", (a,)).fetchone()[0]
    wb = db.execute("SELECT wrapped FROM versions WHERE key_id = ?", (b,)).fetchone()[0]
    db.execute("UPDATE versions SET wrapped = ? WHERE key_id = ?", (wb, a))
    db.execute("UPDATE versions SET wrapped = ? WHERE key_id = ?", (wa, b))
    db.commit()
    db.close()
    with LocalKeyService(tmp_path) as kms, pytest.raises(KeystoreError, match="damaged"):
        kms.decrypt(ciphertext_blob=blob)


def test_integrity_check(tmp_path: Path) -> None:
    with LocalKeyService(tmp_path) as kms:
        kms.create_key()
    db = sqlite3.connect(tmp_path / "keystore.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


def test_missing_root_key_file_is_an_error_and_not_recreated(tmp_path: Path) -> None:
    LocalKeyService(tmp_path).close()
    (tmp_path / "root.key").unlink()
    before = _snapshot(tmp_path)
    with pytest.raises(KeystoreError, match="missing"):
        LocalKeyService(tmp_path)
    assert _snapshot(tmp_path) == before


def test_default_scrypt_cost_is_production_strength(tmp_path: Path) -> None:
    # No test seam here: the stored parameters are the production ones (N=2**17, r=8, p=1).
    LocalKeyService(tmp_path, passphrase="strong").close()
    db = sqlite3.connect(tmp_path / "keystore.db")
    meta = dict(db.execute("SELECT name, value FROM meta").fetchall())
    db.close()
    assert (int(meta["scrypt_n"]), int(meta["scrypt_r"]), int(meta["scrypt_p"])) == (2**17, 8, 1)
    assert len(meta["scrypt_salt"]) == 32


def test_threads_share_one_service(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with LocalKeyService(tmp_path) as kms:
        key_id = kms.create_key().key_metadata.key_id

        def work(i: int) -> bytes:
            if i % 5 == 0:
                kms.rotate_key_on_demand(key_id=key_id)
            blob = kms.encrypt(key_id=key_id, plaintext=bytes([i])).ciphertext_blob
            return kms.decrypt(ciphertext_blob=blob).plaintext

        with ThreadPoolExecutor(4) as pool:
            assert list(pool.map(work, range(40))) == [bytes([i]) for i in range(40)]
        assert len(kms.list_key_rotations(key_id=key_id).rotations) == 8
