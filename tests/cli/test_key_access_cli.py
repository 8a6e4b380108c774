"""``envelope key policy|grant|alias update`` against the local key service, and acting as another
principal in-process with ``ENVELOPE_CALLER``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Run, fails, ok_json

ACCOUNT = "123456789012"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"


def _key(envelope: Run, *args: str) -> str:
    return str(ok_json(envelope("key", "create", "--json", *args))["KeyMetadata"]["KeyId"])


def _policy(*principals: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "kms:*",
         "Resource": "*"}]})  # fmt: skip


def test_policy_get_and_put(envelope: Run, tmp_path: Path) -> None:
    key_id = _key(envelope, "--alias", "alias/cli-policy")
    shown = envelope("key", "policy", "get", "alias/cli-policy")
    assert shown.returncode == 0, shown.stderr
    assert f"arn:aws:iam::{ACCOUNT}:root" in json.dumps(json.loads(shown.stdout))
    document = _policy(ROOT, BOB)
    path = tmp_path / "policy.json"
    path.write_text(document)
    result = envelope("key", "policy", "put", key_id, str(path))
    assert result.returncode == 0, result.stderr
    assert json.loads(envelope("key", "policy", "get", key_id).stdout) == json.loads(document)
    answer = ok_json(envelope("key", "policy", "get", key_id, "--json"))
    assert answer["PolicyName"] == "default"
    assert json.loads(answer["Policy"]) == json.loads(document)
    result = envelope("key", "policy", "put", key_id, "-", input=_policy(ROOT).encode())
    assert result.returncode == 0, result.stderr
    assert BOB not in envelope("key", "policy", "get", key_id).stdout.decode()


def test_policy_put_refusals(envelope: Run, tmp_path: Path) -> None:
    key_id = _key(envelope)
    fails(envelope("key", "policy", "put", key_id, "-", input=b"{not json"),
          "MalformedPolicyDocumentException")  # fmt: skip
    fails(envelope("key", "policy", "put", key_id, "-", input=_policy(BOB).encode()),
          "MalformedPolicyDocumentException", "will not allow you")  # fmt: skip
    fails(envelope("key", "policy", "put", key_id, str(tmp_path / "missing.json")), "cannot read")
    big = json.dumps({"Statement": [], "Sid": "x" * 40000}).encode()
    fails(envelope("key", "policy", "put", key_id, "-", input=big), "LimitExceededException")
    fails(envelope("key", "policy", "put", key_id, "-", input=b"\xff\xfe"), "not UTF-8")
    # Bypassing the check hands the key to bob: the account principal is locked out.
    result = envelope("key", "policy", "put", key_id, "-", "--bypass-lockout-check",
                      input=_policy(BOB).encode())  # fmt: skip
    assert result.returncode == 0, result.stderr
    fails(envelope("key", "describe", key_id), "AccessDeniedException", ROOT)
    listed = envelope("key", "list")
    assert listed.returncode == 0, listed.stderr
    assert f"{key_id}  (no access)" in listed.stdout.decode()
    assert ok_json(envelope("key", "describe", key_id, "--json",
                            env={"ENVELOPE_CALLER": BOB}))["KeyMetadata"]["KeyId"] == key_id


def test_acting_as_another_principal(envelope: Run, tmp_path: Path) -> None:
    key_id = _key(envelope)
    envelope("key", "policy", "put", key_id, "-", input=_policy(ROOT).encode())
    (tmp_path / "in.txt").write_bytes(b"hello")
    stranger = {"ENVELOPE_CALLER": "arn:aws:iam::999999999999:user/x"}
    key_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"
    denied = envelope("encrypt", str(tmp_path / "in.txt"), "-o", str(tmp_path / "out.env"),
                      "--key", key_arn, env=stranger)  # fmt: skip
    fails(denied, "AccessDeniedException", "kms:GenerateDataKey")
    assert not (tmp_path / "out.env").exists()
    # Another account names a key by its ARN; a bare key id is looked up in its own account.
    unknown = envelope("encrypt", str(tmp_path / "in.txt"), "-o", str(tmp_path / "out.env"),
                       "--key", key_id, env=stranger)  # fmt: skip
    fails(unknown, "NotFoundException", "999999999999")
    assert not (tmp_path / "out.env").exists()
    fails(envelope("key", "list", env={"ENVELOPE_CALLER": "bob"}), "ValidationException")


def test_grant_create_list_retire_revoke(envelope: Run) -> None:
    key_id = _key(envelope, "--alias", "alias/cli-grants")
    created = ok_json(envelope("key", "grant", "create", "alias/cli-grants", "--grantee", BOB,
                               "-o", "Decrypt,Encrypt", "--context-equals", "team=a",
                               "--retiring", ROOT, "--name", "bob-team-a", "--json"))
    assert set(created) == {"GrantId", "GrantToken"}
    again = ok_json(envelope("key", "grant", "create", key_id, "--grantee", BOB,
                             "-o", "Decrypt", "-o", "Encrypt", "--context-equals", "team=a",
                             "--retiring", ROOT, "--name", "bob-team-a", "--json"))
    assert again["GrantId"] == created["GrantId"]  # a retry with the same name
    listed = ok_json(envelope("key", "grant", "list", key_id, "--json"))["Grants"]
    assert [g["GrantId"] for g in listed] == [created["GrantId"]]
    assert listed[0]["Constraints"] == {"EncryptionContextEquals": {"team": "a"}}
    assert listed[0]["Operations"] == ["Decrypt", "Encrypt"]
    table = envelope("key", "grant", "list", key_id).stdout.decode()
    assert created["GrantId"] in table and "equals team=a" in table
    result = envelope("key", "grant", "retire", "--token", created["GrantToken"])
    assert result.returncode == 0, result.stderr
    assert envelope("key", "grant", "list", key_id).stdout.decode().strip() == "no grants"
    second = ok_json(envelope("key", "grant", "create", key_id, "--grantee", BOB,
                              "-o", "DescribeKey", "--json"))  # fmt: skip
    result = envelope("key", "grant", "revoke", key_id, second["GrantId"])
    assert result.returncode == 0, result.stderr
    fails(envelope("key", "grant", "revoke", key_id, second["GrantId"]), "NotFoundException")
    fails(envelope("key", "grant", "retire"), "KEY GRANT_ID")
    fails(envelope("key", "grant", "create", key_id, "--grantee", BOB, "-o", "Fly"),
          "ValidationException")  # fmt: skip


def test_alias_update(envelope: Run) -> None:
    first = _key(envelope, "--alias", "alias/cli-moving")
    second = _key(envelope)
    result = envelope("key", "alias", "update", "alias/cli-moving", second)
    assert result.returncode == 0, result.stderr
    described = ok_json(envelope("key", "describe", "alias/cli-moving", "--json"))
    assert described["KeyMetadata"]["KeyId"] == second != first
    fails(envelope("key", "alias", "update", "alias/cli-none", second), "NotFoundException")


def test_tag_untag_tags_and_describe(envelope: Run) -> None:
    key_id = _key(envelope, "--alias", "alias/cli-tags")
    result = envelope("key", "tag", "alias/cli-tags", "team=blue", "cost=")
    assert result.returncode == 0, result.stderr
    assert ok_json(envelope("key", "tags", key_id, "--json"))["Tags"] == [
        {"TagKey": "cost", "TagValue": ""}, {"TagKey": "team", "TagValue": "blue"}]  # fmt: skip
    described = ok_json(envelope("key", "describe", key_id, "--json"))
    assert described["Tags"] == [{"TagKey": "cost", "TagValue": ""},
                                 {"TagKey": "team", "TagValue": "blue"}]  # fmt: skip
    assert described["KeyMetadata"]["KeyId"] == key_id
    human = envelope("key", "describe", key_id).stdout.decode()
    assert "Tags:         cost=, team=blue" in human
    assert envelope("key", "untag", key_id, "cost", "absent").returncode == 0
    assert "team" in envelope("key", "tags", key_id).stdout.decode()
    fails(envelope("key", "tag", key_id, "novalue"), "KEY=VALUE")
    fails(envelope("key", "tag", key_id, "aws:x=1"), "TagException")
    envelope("key", "untag", key_id, "team")
    assert envelope("key", "tags", key_id).stdout.decode().strip() == "no tags"
    assert ok_json(envelope("key", "describe", key_id, "--json"))["Tags"] == []


def test_lists_follow_every_page(envelope: Run) -> None:
    """``key grant list``, ``key alias list`` and ``key list`` return every entry, not the first
    page: 60 grants and 60 aliases (50 a page by default) and 101 keys (100 a page)."""
    from envelope.keys.local import LocalKeyService

    with LocalKeyService() as kms:
        key_id = kms.create_key().key_metadata.key_id
        for n in range(60):
            kms.create_grant(key_id=key_id, grantee_principal=f"arn:aws:iam::{ACCOUNT}:user/u{n}",
                             operations=["Decrypt"])  # fmt: skip
            kms.create_alias(alias_name=f"alias/page-{n:02}", target_key_id=key_id)
        for _ in range(100):
            kms.create_key()
    grants = ok_json(envelope("key", "grant", "list", key_id, "--json"))["Grants"]
    assert len(grants) == 60 and len({g["GrantId"] for g in grants}) == 60
    aliases = ok_json(envelope("key", "alias", "list", "--json"))["Aliases"]
    assert sorted(a["AliasName"] for a in aliases) == [f"alias/page-{n:02}" for n in range(60)]
    keys = ok_json(envelope("key", "list", "--json"))["Keys"]
    assert len({k["KeyId"] for k in keys}) == 101
    table = envelope("key", "list")
    assert table.returncode == 0 and table.stdout.decode().count("alias/page-") == 60
