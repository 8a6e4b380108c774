"""Principals: created with an access key shown once, stored wrapped, deleted at once."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import botocore.exceptions
import pytest

from envelope.errors import AlreadyExistsException, NotFoundException, ValidationException
from envelope.keys.local import LocalKeyService
from envelope.server.principals import Principals, is_access_key_id
from tests.cli.conftest import Run, envelope, fails, ok_json
from tests.serve_server import EnvelopeServer

__all__ = ["envelope"]  # fixture


def test_create_list_delete(tmp_path: Path) -> None:
    with Principals(tmp_path / "home") as principals:
        new = principals.create("alice")
        assert is_access_key_id(new.principal.access_key_id)
        assert len(new.secret_access_key) == 40
        assert new.principal.arn == "arn:aws:iam::123456789012:user/alice"
        assert new.secret_access_key not in repr(new)
        assert [p.name for p in principals.list()] == ["alice"]
        found = principals.lookup(new.principal.access_key_id)
        assert found is not None and found[1] == new.secret_access_key
        with pytest.raises(AlreadyExistsException):
            principals.create("alice")
        # IAM user names are not distinguished by case: AWS holds Alice and alice the same, so a
        # policy naming one must not leave the other out (found by attack-policy).
        with pytest.raises(AlreadyExistsException, match="not distinguished by case"):
            principals.create("ALICE")
        principals.delete("alice")
        assert principals.list() == []
        assert principals.lookup(new.principal.access_key_id) is None
        with pytest.raises(NotFoundException):
            principals.delete("alice")


@pytest.mark.parametrize("name", ["", "has space", "a/b", "x" * 65, "é"])
def test_names_are_iam_user_names(tmp_path: Path, name: str) -> None:
    with Principals(tmp_path / "home") as principals, pytest.raises(ValidationException):
        principals.create(name)


def test_secret_is_stored_only_wrapped(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with Principals(home) as principals:
        secret = principals.create("alice").secret_access_key
    on_disk = b"".join(p.read_bytes() for p in home.iterdir() if p.is_file())
    assert secret.encode() not in on_disk
    assert base64.b64decode(secret) not in on_disk


def test_a_swapped_secret_does_not_unwrap(tmp_path: Path) -> None:
    """Each secret is bound to its access key id: moving it to another row breaks it."""
    home = tmp_path / "home"
    with Principals(home) as principals:
        a = principals.create("a").principal.access_key_id
        b = principals.create("b").principal.access_key_id
    db = sqlite3.connect(home / "keystore.db")
    (wrapped,) = db.execute("SELECT wrapped_secret FROM principals WHERE name='a'").fetchone()
    db.execute("UPDATE principals SET wrapped_secret=? WHERE name='b'", (wrapped,))
    db.commit()
    db.close()
    with Principals(home) as principals:
        assert principals.lookup(a) is not None
        with pytest.raises(Exception, match="damaged"):
            principals.lookup(b)


def test_keystores_from_before_principals_get_the_table(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with LocalKeyService(home) as kms:
        kms.create_key()
    db = sqlite3.connect(home / "keystore.db")
    db.execute("DROP TABLE principals")
    db.commit()
    db.close()
    with Principals(home) as principals:
        assert principals.list() == []
        principals.create("late")
    with LocalKeyService(home) as kms:
        assert len(kms.list_keys().keys) == 1


def test_cli_create_prints_the_key_once(envelope: Run) -> None:
    created = ok_json(envelope("principal", "create", "ci-bot", "--json"))
    assert set(created) == {"AccessKeyId", "SecretAccessKey", "Arn"}
    assert created["Arn"].endswith(":user/ci-bot")
    listed = envelope("principal", "list", "--json")
    assert created["SecretAccessKey"].encode() not in listed.stdout
    assert [p["Name"] for p in ok_json(listed)["Principals"]] == ["ci-bot"]
    human = envelope("principal", "create", "person")
    assert human.returncode == 0
    assert b"SecretAccessKey:" in human.stdout and b"shown only now" in human.stderr
    fails(envelope("principal", "create", "ci-bot"), "AlreadyExistsException")
    fails(envelope("principal", "create", "no spaces"), "ValidationException")
    assert envelope("principal", "delete", "ci-bot").returncode == 0
    fails(envelope("principal", "delete", "ci-bot"), "NotFoundException")
    fails(envelope("--kms", "aws", "principal", "list"), "local keystore")


def test_deleted_principal_stops_working_at_once(
    serve_env: EnvelopeServer, envelope: Run
) -> None:
    env = {"ENVELOPE_HOME": str(serve_env.home)}
    created = ok_json(envelope("principal", "create", "temporary", "--json", env=env))
    kms = serve_env.client(aws_access_key_id=created["AccessKeyId"],
                           aws_secret_access_key=created["SecretAccessKey"])  # fmt: skip
    assert kms.list_keys()["Keys"] == []
    assert envelope("principal", "delete", "temporary", env=env).returncode == 0
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        kms.list_keys()
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert json.loads(json.dumps(serve_env.client().list_keys()["Keys"])) == []


def test_principals_survive_a_rekey_while_serving(tmp_path: Path, envelope: Run) -> None:
    """``envelope keystore rekey`` in another process moves the secrets to the new root key."""
    with EnvelopeServer(tmp_path / "home") as server:
        kms = server.client()
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key, Plaintext=b"before")["CiphertextBlob"]
        rekeyed = envelope("keystore", "rekey", env={"ENVELOPE_HOME": str(server.home)})
        assert rekeyed.returncode == 0, rekeyed.stderr
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before"
        assert kms.list_keys()["Keys"][0]["KeyId"] == key
    with Principals(server.home) as principals:
        assert principals.lookup(server.access_key_id) is not None


def test_principal_commands_load_no_server_dependencies(tmp_path: Path) -> None:
    """``envelope principal`` needs the keystore only: no botocore, no granian."""
    import subprocess
    import sys

    probe = (
        "import sys\nfrom envelope_cli import main\nsys.argv = ['envelope', 'principal', 'list']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'botocore', 'granian'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip().splitlines()[-1] == "[]"


def test_principals_are_in_the_keystore_partition(tmp_path: Path) -> None:
    """A cn-north-1 keystore's principals are arn:aws-cn:iam::..., as its key ARNs and default
    policy are; they were arn:aws:iam::..., principals of no partition the keys live in (found by
    attack-policy when callers were tied to the service's partition)."""
    home = tmp_path / "cn"
    with LocalKeyService(home, region="cn-north-1") as kms:
        key_id = kms.create_key().key_metadata.key_id
        with Principals(home) as principals:
            principal = principals.create("app").principal
        assert principal.arn == f"arn:aws-cn:iam::{kms.account_id}:user/app"
        app = kms.with_caller(principal.arn)
        assert app.encrypt(key_id=key_id, plaintext=b"x").key_id.startswith("arn:aws-cn:kms:")
