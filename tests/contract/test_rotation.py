"""Contract: automatic and on-demand rotation; old ciphertexts keep decrypting."""

from __future__ import annotations

import pytest

from envelope.errors import (
    DisabledException,
    KMSInvalidStateException,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
)
from envelope.keys.base import KeyService


def test_rotation_status_defaults(kms: KeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    assert kms.get_key_rotation_status(key_id=key_id).key_rotation_enabled is False
    kms.enable_key_rotation(key_id=key_id)
    status = kms.get_key_rotation_status(key_id=key_id)
    assert status.key_rotation_enabled is True
    assert status.rotation_period_in_days == 365
    assert status.next_rotation_date is not None
    kms.disable_key_rotation(key_id=key_id)
    assert kms.get_key_rotation_status(key_id=key_id).key_rotation_enabled is False


@pytest.mark.parametrize("days", [90, 2560])
def test_rotation_period_edges(kms: KeyService, days: int) -> None:
    key_id = kms.create_key().key_metadata.key_id
    kms.enable_key_rotation(key_id=key_id, rotation_period_in_days=days)
    assert kms.get_key_rotation_status(key_id=key_id).rotation_period_in_days == days


@pytest.mark.parametrize("days", [89, 2561])
def test_rotation_period_out_of_range(kms: KeyService, days: int) -> None:
    key_id = kms.create_key().key_metadata.key_id
    with pytest.raises(ValidationException):
        kms.enable_key_rotation(key_id=key_id, rotation_period_in_days=days)
    assert kms.get_key_rotation_status(key_id=key_id).key_rotation_enabled is False


def test_five_rotations_keep_every_version(kms: KeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    blobs = [kms.encrypt(key_id=key_id, plaintext=b"v1", encryption_context={"v": "1"})]
    for n in range(2, 7):
        assert kms.rotate_key_on_demand(key_id=key_id).key_id.endswith(key_id)
        blobs.append(
            kms.encrypt(key_id=key_id, plaintext=f"v{n}".encode(), encryption_context={"v": str(n)})
        )
    for n, result in enumerate(blobs, start=1):
        plain = kms.decrypt(
            ciphertext_blob=result.ciphertext_blob, encryption_context={"v": str(n)}
        )
        assert plain.plaintext == f"v{n}".encode()
    rotations = kms.list_key_rotations(key_id=key_id).rotations
    assert len(rotations) == 5
    assert {r.rotation_type for r in rotations} == {"ON_DEMAND"}
    assert all(r.key_id.endswith(key_id) for r in rotations)
    moved = kms.re_encrypt(
        ciphertext_blob=blobs[0].ciphertext_blob,
        source_encryption_context={"v": "1"},
        destination_key_id=key_id,
    )
    assert kms.decrypt(ciphertext_blob=moved.ciphertext_blob).plaintext == b"v1"


def test_list_key_rotations_pages(kms: KeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    for _ in range(3):
        kms.rotate_key_on_demand(key_id=key_id)
    dates = []
    marker = None
    while True:
        page = kms.list_key_rotations(key_id=key_id, limit=1, marker=marker)
        assert len(page.rotations) <= 1
        dates.extend(r.rotation_date for r in page.rotations)
        if not page.truncated:
            break
        marker = page.next_marker
    assert len(dates) == 3
    for bad in (0, 1001):
        with pytest.raises(ValidationException):
            kms.list_key_rotations(key_id=key_id, limit=bad)


def test_on_demand_rotation_of_disabled_key(kms: KeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    kms.disable_key(key_id=key_id)
    with pytest.raises(DisabledException):
        kms.rotate_key_on_demand(key_id=key_id)


def test_rotation_of_key_pending_deletion(kms: KeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    kms.schedule_key_deletion(key_id=key_id, pending_window_in_days=7)
    with pytest.raises(KMSInvalidStateException):
        kms.rotate_key_on_demand(key_id=key_id)
    with pytest.raises(KMSInvalidStateException):
        kms.enable_key_rotation(key_id=key_id)


def test_rotation_refuses_aliases(kms: KeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    kms.create_alias(alias_name="alias/rot", target_key_id=key_id)
    with pytest.raises(NotFoundException):
        kms.rotate_key_on_demand(key_id="alias/rot")
    with pytest.raises(NotFoundException):
        kms.enable_key_rotation(key_id="alias/rot")


def test_rsa_keys_do_not_rotate(kms: KeyService) -> None:
    key_id = kms.create_key(key_spec="RSA_2048").key_metadata.key_id
    with pytest.raises(UnsupportedOperationException):
        kms.rotate_key_on_demand(key_id=key_id)
    with pytest.raises(UnsupportedOperationException):
        kms.enable_key_rotation(key_id=key_id)
