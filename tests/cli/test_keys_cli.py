"""``envelope key ...`` against the local key service, through the real command."""

from __future__ import annotations

import datetime as dt

from tests.cli.conftest import Run, fails, ok_json


def _state(envelope: Run, key_id: str) -> str:
    return str(ok_json(envelope("key", "describe", key_id, "--json"))["KeyMetadata"]["KeyState"])


def _create(envelope: Run, *args: str) -> dict[str, object]:
    meta = ok_json(envelope("key", "create", "--json", *args))["KeyMetadata"]
    assert isinstance(meta, dict)
    return meta


def test_version(envelope: Run) -> None:
    result = envelope("--version")
    assert result.returncode == 0
    assert result.stdout.decode().startswith("envelope ")


def test_create_prints_kms_shaped_metadata(envelope: Run) -> None:
    meta = _create(envelope, "--description", "orders")
    assert meta["KeyState"] == "Enabled"
    assert meta["Enabled"] is True
    assert meta["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert meta["CustomerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    assert meta["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert meta["Description"] == "orders"
    assert meta["Arn"] == f"arn:aws:kms:us-east-1:123456789012:key/{meta['KeyId']}"
    assert meta["AWSAccountId"] == "123456789012"
    assert meta["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    dt.datetime.fromisoformat(str(meta["CreationDate"]))
    assert "DeletionDate" not in meta


def test_create_rsa_key(envelope: Run) -> None:
    meta = _create(envelope, "--key-spec", "RSA_2048")
    assert meta["KeySpec"] == "RSA_2048"
    assert set(meta["EncryptionAlgorithms"]) == {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}  # type: ignore[arg-type]


def test_alias_names_the_key_everywhere(envelope: Run) -> None:
    meta = _create(envelope, "--alias", "alias/orders")
    described = ok_json(envelope("key", "describe", "alias/orders", "--json"))
    assert described["KeyMetadata"]["KeyId"] == meta["KeyId"]
    aliases = ok_json(envelope("key", "alias", "list", "--json"))["Aliases"]
    assert {"AliasName": "alias/orders", "TargetKeyId": meta["KeyId"]}.items() <= next(
        a for a in aliases if a["AliasName"] == "alias/orders"
    ).items()
    assert envelope("key", "alias", "create", "alias/second", str(meta["KeyId"])).returncode == 0
    assert envelope("key", "alias", "delete", "alias/orders").returncode == 0
    fails(envelope("key", "describe", "alias/orders"), "NotFoundException")
    fails(envelope("key", "alias", "create", "alias/second", str(meta["KeyId"])),
          "AlreadyExistsException")


def test_list_shows_every_key(envelope: Run) -> None:
    ids = {_create(envelope)["KeyId"] for _ in range(3)}
    listed = ok_json(envelope("key", "list", "--json"))["Keys"]
    assert ids <= {entry["KeyId"] for entry in listed}
    human = envelope("key", "list").stdout.decode()
    assert all(str(key_id) in human for key_id in ids)


def test_rotate_and_list_rotations(envelope: Run) -> None:
    key_id = str(_create(envelope)["KeyId"])
    assert ok_json(envelope("key", "rotations", key_id, "--json"))["Rotations"] == []
    ok_json(envelope("key", "rotate", key_id, "--json"))
    ok_json(envelope("key", "rotate", key_id, "--json"))
    rotations = ok_json(envelope("key", "rotations", key_id, "--json"))["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["ON_DEMAND", "ON_DEMAND"]


def test_automatic_rotation_settings(envelope: Run) -> None:
    key_id = str(_create(envelope)["KeyId"])
    assert envelope("key", "enable-rotation", key_id, "--period-days", "90").returncode == 0
    status = ok_json(envelope("key", "rotation-status", key_id, "--json"))
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == 90
    fails(envelope("key", "enable-rotation", key_id, "--period-days", "89"), "ValidationException")
    assert envelope("key", "disable-rotation", key_id).returncode == 0
    status = ok_json(envelope("key", "rotation-status", key_id, "--json"))
    assert status["KeyRotationEnabled"] is False


def test_disable_enable(envelope: Run) -> None:
    key_id = str(_create(envelope)["KeyId"])
    assert envelope("key", "disable", key_id).returncode == 0
    assert _state(envelope, key_id) == "Disabled"
    assert envelope("key", "enable", key_id).returncode == 0
    assert _state(envelope, key_id) == "Enabled"


def test_schedule_and_cancel_deletion(envelope: Run) -> None:
    key_id = str(_create(envelope)["KeyId"])
    fails(envelope("key", "schedule-deletion", key_id, "--days", "6"), "ValidationException")
    scheduled = ok_json(envelope("key", "schedule-deletion", key_id, "--days", "7", "--json"))
    assert scheduled["KeyState"] == "PendingDeletion"
    assert scheduled["PendingWindowInDays"] == 7
    meta = ok_json(envelope("key", "describe", key_id, "--json"))["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion"
    assert "DeletionDate" in meta
    ok_json(envelope("key", "cancel-deletion", key_id, "--json"))
    assert _state(envelope, key_id) == "Disabled"


def test_unknown_key_is_a_clear_error(envelope: Run) -> None:
    fails(envelope("key", "describe", "alias/nothing-here"), "NotFoundException")
    fails(envelope("key", "rotate", "00000000-0000-0000-0000-000000000000"), "NotFoundException")


def test_usage_errors_exit_2(envelope: Run) -> None:
    assert envelope("key", "describe").returncode == 2
    assert envelope("key", "no-such-command").returncode == 2
    assert envelope("--no-such-option").returncode == 2


def test_unknown_backend_is_an_error(envelope: Run) -> None:
    fails(envelope("--kms", "elsewhere", "key", "list"), "elsewhere")


def test_human_list_is_a_table_with_state_and_aliases(envelope: Run) -> None:
    meta = _create(envelope, "--alias", "alias/tabled", "--description", "for the table")
    key_id = str(meta["KeyId"])
    envelope("key", "disable", key_id)
    line = next(
        row for row in envelope("key", "list").stdout.decode().splitlines() if key_id in row
    )
    assert line.split()[:4] == [key_id, "Disabled", "SYMMETRIC_DEFAULT", "alias/tabled"]
    assert "for the table" in line


def test_taken_alias_creates_no_orphan_key(envelope: Run) -> None:
    _create(envelope, "--alias", "alias/taken")
    before = ok_json(envelope("key", "list", "--json"))["Keys"]
    fails(envelope("key", "create", "--alias", "alias/taken"), "AlreadyExistsException")
    assert ok_json(envelope("key", "list", "--json"))["Keys"] == before


def test_lifecycle_commands_accept_an_alias(envelope: Run) -> None:
    meta = _create(envelope, "--alias", "alias/named")
    key_id = str(meta["KeyId"])
    assert envelope("key", "rotate", "alias/named").returncode == 0
    rotations = ok_json(envelope("key", "rotations", "alias/named", "--json"))["Rotations"]
    assert [r["KeyId"] for r in rotations] == [meta["Arn"]]
    assert envelope("key", "disable", "alias/named").returncode == 0
    assert _state(envelope, key_id) == "Disabled"


def test_describe_human_output(envelope: Run) -> None:
    key_id = str(_create(envelope, "--description", "readable")["KeyId"])
    text = envelope("key", "describe", key_id).stdout.decode()
    assert f"KeyId:        {key_id}" in text
    assert "Description:  readable" in text
    assert "KeyState:     Enabled" in text


def test_alias_list_for_one_key(envelope: Run) -> None:
    _create(envelope, "--alias", "alias/mine")
    _create(envelope, "--alias", "alias/other")
    only = ok_json(envelope("key", "alias", "list", "--key", "alias/mine", "--json"))["Aliases"]
    assert [a["AliasName"] for a in only] == ["alias/mine"]


def test_unknown_key_spec_is_a_validation_error(envelope: Run) -> None:
    fails(envelope("key", "create", "--key-spec", "RSA_9"), "ValidationException", "keySpec")
