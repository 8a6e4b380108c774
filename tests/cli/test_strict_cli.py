"""Strict decrypt in the CLI: --key, --discovery, --discovery-account; the AWS backend needs one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli.conftest import Run, fails, ok_json
from tests.moto_server import MotoServer, moto_env, moto_server

__all__ = ["moto_env", "moto_server"]  # fixtures, imported to be registered here

PLAINTEXT = os.urandom(50_000)
ACCOUNT = "123456789012"  # moto's and LocalKeyService's default account


def _aws(server: MotoServer) -> dict[str, str]:
    return {"ENVELOPE_KMS": "aws", "AWS_ENDPOINT_URL_KMS": server.url}


def _key(envelope: Run, env: dict[str, str] | None = None) -> str:
    return str(ok_json(envelope("key", "create", "--json", env=env))["KeyMetadata"]["Arn"])


def _seal(envelope: Run, path: Path, *keys: str, env: dict[str, str] | None = None) -> Path:
    args = [a for k in keys for a in ("--key", k)]
    result = envelope("encrypt", "-o", str(path), *args, input=PLAINTEXT, env=env)
    assert result.returncode == 0, result.stderr.decode()
    return path


def test_aws_backend_refuses_to_decrypt_without_key_or_discovery(
    envelope: Run, moto_env: MotoServer, tmp_path: Path
) -> None:
    """aws-kms-discovery-keyring.md, "OnDecrypt": discovery calls KMS with whatever ARN the
    message names; without an explicit --key or --discovery the CLI would do that silently
    (advisory GMS-2020-6 for the AWS Encryption CLI), so it refuses with a usage error."""
    env = _aws(moto_env)
    sealed = _seal(envelope, tmp_path / "m.env", _key(envelope, env), env=env)
    before = sealed.read_bytes()
    for args in (["decrypt", str(sealed), "-o", str(tmp_path / "out")], ["rewrap", str(sealed)]):
        result = envelope(*args, env=env)
        assert result.returncode == 2, result.stderr.decode()
        stderr = result.stderr.decode()
        assert stderr.startswith("envelope: error: name the keys") and "--discovery" in stderr
    assert not (tmp_path / "out").exists()
    assert sealed.read_bytes() == before
    info = envelope("inspect", str(sealed), env=env)  # no key asked: nothing to refuse
    assert info.returncode == 0 and b"Verified:    no" in info.stdout


def test_key_is_strict_on_the_aws_backend(
    envelope: Run, moto_env: MotoServer, tmp_path: Path
) -> None:
    """aws-kms-keyring.md, "OnDecrypt": only EDKs whose provider info matches the configured key
    are decrypted, with that key as KeyId; the other keys in the header are never asked."""
    env = _aws(moto_env)
    a, b = _key(envelope, env), _key(envelope, env)
    both = _seal(envelope, tmp_path / "both.env", a, b, env=env)
    only_a = _seal(envelope, tmp_path / "a.env", a, env=env)
    opened = envelope("decrypt", str(both), "-o", "-", "--key", b, env=env)
    assert opened.returncode == 0, opened.stderr.decode()
    assert opened.stdout == PLAINTEXT
    stderr = fails(
        envelope("decrypt", str(only_a), "-o", "-", "--key", b, env=env), "NoMatchingKeyError"
    )
    assert "answered" not in stderr  # b was never sent a's data key
    verified = envelope("inspect", str(both), "--key", a, env=env)
    assert verified.returncode == 0, verified.stderr.decode()
    assert b"Verified:    yes" in verified.stdout
    rewrapped = envelope("rewrap", str(both), "--key", a, env=env)
    assert rewrapped.returncode == 0, rewrapped.stderr.decode()
    again = envelope("decrypt", str(both), "-o", "-", "--key", a, env=env)
    assert again.stdout == PLAINTEXT


def test_discovery_and_its_account_filter(
    envelope: Run, moto_env: MotoServer, tmp_path: Path
) -> None:
    """aws-kms-discovery-keyring.md, "OnDecrypt": with a discovery filter "its set of accounts
    MUST contain the provider info account", otherwise the EDK is not attempted."""
    env = _aws(moto_env)
    sealed = _seal(envelope, tmp_path / "m.env", _key(envelope, env), env=env)
    opened = envelope("decrypt", str(sealed), "-o", "-", "--discovery", env=env)
    assert opened.returncode == 0, opened.stderr.decode()
    assert opened.stdout == PLAINTEXT
    fails(
        envelope(
            "decrypt",
            str(sealed),
            "-o",
            "-",
            "--discovery",
            "--discovery-account",
            "111122223333",
            env=env,
        ),
        "NoMatchingKeyError",
    )
    filtered = envelope(
        "decrypt",
        str(sealed),
        "-o",
        "-",
        "--discovery",
        "--discovery-account",
        "111122223333",
        "--discovery-account",
        ACCOUNT,
        env=env,
    )
    assert filtered.returncode == 0, filtered.stderr.decode()
    assert filtered.stdout == PLAINTEXT


@pytest.mark.parametrize(
    "args",
    [["--discovery-account", ACCOUNT], ["--key", "alias/x", "--discovery"]],
    ids=["account-without-discovery", "key-and-discovery"],
)
def test_key_options_that_do_not_fit_are_usage_errors(
    envelope: Run, tmp_path: Path, args: list[str]
) -> None:
    """aws-kms-discovery-keyring.md, "Initialization": the discovery filter belongs to a
    discovery keyring; a strict key list and discovery are different keyrings."""
    sealed = _seal(envelope, tmp_path / "m.env", _key(envelope))
    for command in (["decrypt", str(sealed), "-o", "-"], ["inspect", str(sealed)]):
        result = envelope(*command, *args)
        assert result.returncode == 2, result.stderr.decode()
        assert result.stdout == b""


def test_local_backend_uses_its_own_keys_or_only_the_named_one(
    envelope: Run, tmp_path: Path
) -> None:
    """aws-kms-keyring.md, "OnDecrypt" (strict with --key); without it the local keystore
    holds only its own keys, so the keys the header names may be asked of it."""
    a, b = _key(envelope), _key(envelope)
    sealed = _seal(envelope, tmp_path / "m.env", a)
    assert envelope("decrypt", str(sealed), "-o", "-").stdout == PLAINTEXT
    assert envelope("decrypt", str(sealed), "-o", "-", "--key", a).stdout == PLAINTEXT
    fails(envelope("decrypt", str(sealed), "-o", "-", "--key", b), "NoMatchingKeyError")
