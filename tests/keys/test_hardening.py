"""Regression tests for the smaller findings of the outside review of the local KMS.

Rotation schedules, the keystore's region and account, alias names, passphrases, dry runs and
grant tokens, and secrets in chained exceptions. Each test says what the old behaviour was.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from envelope.errors import (
    DryRunOperationException,
    InvalidAliasNameException,
    InvalidGrantTokenException,
    KeystoreError,
    NotFoundException,
    ValidationException,
    WrongPassphraseError,
)
from envelope.keys.local import LocalKeyService
from tests.cli.conftest import Run, fails, ok_json
from tests.cli.conftest import envelope as envelope  # the CLI fixture

START = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
FAST = 2**10


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def kms(tmp_path: Path, clock: Clock) -> Iterator[LocalKeyService]:
    with LocalKeyService(tmp_path / "home", _clock=clock) as service:
        yield service


# --- rotation schedule --------------------------------------------------------------------------
def test_enabling_rotation_again_never_postpones_it(kms: LocalKeyService, clock: Clock) -> None:
    """Before: a daily "make sure rotation is on" job pushed the date out every day forever."""
    key_id = kms.create_key().key_metadata.key_id
    kms.enable_key_rotation(key_id=key_id, rotation_period_in_days=90)
    for _ in range(100):  # a careful operator re-enables it every day
        clock.now += dt.timedelta(days=1)
        kms.enable_key_rotation(key_id=key_id, rotation_period_in_days=90)
    # Rotation is lazy (it happens at the first call after its date), and that call here is
    # the enable of day 90: one rotation, on its date, and the next one 90 days after it.
    (rotation,) = kms.list_key_rotations(key_id=key_id).rotations
    assert rotation.rotation_date == START + dt.timedelta(days=90)
    status = kms.get_key_rotation_status(key_id=key_id)
    assert status.next_rotation_date == rotation.rotation_date + dt.timedelta(days=90)


def test_a_new_period_counts_from_the_last_rotation(kms: LocalKeyService, clock: Clock) -> None:
    key_id = kms.create_key().key_metadata.key_id
    kms.enable_key_rotation(key_id=key_id, rotation_period_in_days=365)
    clock.now += dt.timedelta(days=100)
    kms.enable_key_rotation(key_id=key_id, rotation_period_in_days=90)
    status = kms.get_key_rotation_status(key_id=key_id)
    assert status.rotation_period_in_days == 90
    # The schedule started at START; with 90 days the rotation was due at day 90: it happens
    # at this first use after the date, and the next one counts from now.
    assert len(kms.list_key_rotations(key_id=key_id).rotations) == 1
    assert status.next_rotation_date == clock.now + dt.timedelta(days=90)


def test_rotation_turned_off_and_on_starts_a_new_period(kms: LocalKeyService, clock: Clock) -> None:
    key_id = kms.create_key().key_metadata.key_id
    kms.enable_key_rotation(key_id=key_id, rotation_period_in_days=90)
    clock.now += dt.timedelta(days=60)
    kms.disable_key_rotation(key_id=key_id)
    kms.enable_key_rotation(key_id=key_id, rotation_period_in_days=90)
    status = kms.get_key_rotation_status(key_id=key_id)
    assert status.next_rotation_date == clock.now + dt.timedelta(days=90)


# --- region and account ---------------------------------------------------------------------------
def test_region_and_account_are_stored_with_the_keystore(tmp_path: Path) -> None:
    """Before: constructor-only, so a message made under eu-west-3 failed in the CLI."""
    with LocalKeyService(tmp_path, region="eu-west-3", account_id="000000000042") as kms:
        arn = kms.create_key().key_metadata.arn
        blob = kms.encrypt(key_id=arn, plaintext=b"x").ciphertext_blob
    with LocalKeyService(tmp_path) as kms:  # no arguments: the stored identity
        assert (kms.region, kms.account_id) == ("eu-west-3", "000000000042")
        assert kms.describe_key(key_id=arn).key_metadata.arn == arn
        assert kms.decrypt(ciphertext_blob=blob, key_id=arn).plaintext == b"x"
        with pytest.raises(NotFoundException):
            kms.describe_key(key_id=arn.replace("eu-west-3", "us-east-1"))
        with pytest.raises(NotFoundException):
            kms.describe_key(key_id=arn.replace("000000000042", "123456789012"))
    with pytest.raises(KeystoreError, match="region eu-west-3"):
        LocalKeyService(tmp_path, region="us-west-2")


def test_a_new_keystore_takes_the_standard_region_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    with LocalKeyService(tmp_path) as kms:
        assert kms.create_key().key_metadata.arn.startswith("arn:aws:kms:ap-southeast-2:")
    monkeypatch.setenv("AWS_REGION", "eu-north-1")  # later settings do not move its keys
    with LocalKeyService(tmp_path) as kms:
        assert kms.region == "ap-southeast-2"


def test_the_cli_decrypts_a_message_of_another_region(envelope: Run, tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"ENVELOPE_HOME": str(home), "AWS_REGION": "eu-west-3"}
    arn = ok_json(envelope("key", "create", "--json", env=env))["KeyMetadata"]["Arn"]
    assert ":eu-west-3:" in arn
    source = tmp_path / "in"
    source.write_bytes(b"regional")
    sealed, opened = tmp_path / "in.env", tmp_path / "out"
    env_later = {"ENVELOPE_HOME": str(home), "AWS_REGION": ""}
    assert envelope("encrypt", str(source), "-o", str(sealed), "--key", arn,
                    env=env_later).returncode == 0
    done = envelope("decrypt", str(sealed), "-o", str(opened), env=env_later)
    assert done.returncode == 0, done.stderr.decode()
    assert opened.read_bytes() == b"regional"
    info = ok_json(envelope("keystore", "info", "--json", env=env_later))
    assert info["Region"] == "eu-west-3" and info["RootKey"] == "file"


# --- alias names ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["alias/x\n", "alias/x\ny", "alias/", "xalias/x", "alias/ok!"])
def test_alias_names_must_match_in_full(kms: LocalKeyService, name: str) -> None:
    """Before: ``re.match(...$)`` accepted ``alias/x\\n``."""
    key_id = kms.create_key().key_metadata.key_id
    with pytest.raises((InvalidAliasNameException, ValidationException)):
        kms.create_alias(alias_name=name, target_key_id=key_id)


def test_cli_key_create_with_a_bad_alias_creates_no_key(envelope: Run) -> None:
    """Before: the key was created and then the alias failed, leaving an orphan key."""
    fails(envelope("key", "create", "--alias", "alias/bad name"), "InvalidAliasNameException")
    fails(envelope("key", "create", "--alias", "alias/aws/reserved"), "reserved")
    assert ok_json(envelope("key", "list", "--json")) == {"Keys": []} or not ok_json(
        envelope("key", "list", "--json")
    )["Keys"]


# --- passphrases --------------------------------------------------------------------------------
def test_the_same_passphrase_in_either_normal_form_opens_the_store(tmp_path: Path) -> None:
    composed, decomposed = "caf\u00e9 na\u00efve", "cafe\u0301 nai\u0308ve"
    with LocalKeyService(tmp_path, passphrase=decomposed, _scrypt_n=FAST) as kms:
        key_id = kms.create_key().key_metadata.key_id
    with LocalKeyService(tmp_path, passphrase=composed, _scrypt_n=FAST) as kms:
        assert kms.describe_key(key_id=key_id).key_metadata.enabled
    with pytest.raises(WrongPassphraseError):
        LocalKeyService(tmp_path, passphrase="cafe naive", _scrypt_n=FAST)


def test_a_passphrase_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    """Before: a raw UnicodeEncodeError from a non-UTF-8 ENVELOPE_PASSPHRASE."""
    probe = (
        "import sys\n"
        "from envelope.errors import KeystoreError\n"
        "from envelope.keys.local import LocalKeyService\n"
        "try:\n"
        "    LocalKeyService(sys.argv[1])\n"
        "except KeystoreError as e:\n"
        "    print('refused:', e)\n"
    )
    env = {**os.environb, b"ENVELOPE_PASSPHRASE": b"caf\xe9", b"LC_ALL": b"C.UTF-8"}
    result = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], env=env,
                            capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().startswith("refused:")
    assert "not valid UTF-8" in result.stdout.decode()
    assert "caf" not in result.stdout.decode().split("refused:")[1].split("(")[0]


# --- dry runs and grant tokens --------------------------------------------------------------------
def test_dry_run_checks_everything_and_does_nothing(kms: LocalKeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    blob = kms.encrypt(key_id=key_id, plaintext=b"x").ciphertext_blob
    for call in (
        lambda: kms.encrypt(key_id=key_id, plaintext=b"x", dry_run=True),
        lambda: kms.decrypt(ciphertext_blob=blob, dry_run=True),
        lambda: kms.re_encrypt(ciphertext_blob=blob, destination_key_id=key_id, dry_run=True),
        lambda: kms.generate_data_key(key_id=key_id, key_spec="AES_256", dry_run=True),
        lambda: kms.generate_data_key_without_plaintext(
            key_id=key_id, number_of_bytes=16, dry_run=True
        ),
    ):
        with pytest.raises(DryRunOperationException):
            call()
    # A dry run that would fail fails as the real call would.
    kms.disable_key(key_id=key_id)
    with pytest.raises(Exception) as refused:
        kms.encrypt(key_id=key_id, plaintext=b"x", dry_run=True)
    assert type(refused.value).__name__ == "DisabledException"


def test_grant_tokens_are_checked_as_kms_checks_them(kms: LocalKeyService) -> None:
    key_id = kms.create_key().key_metadata.key_id
    token = kms.create_grant(
        key_id=key_id, grantee_principal=kms.caller, operations=["Encrypt"]
    ).grant_token
    kms.encrypt(key_id=key_id, plaintext=b"x", grant_tokens=[token])
    kms.describe_key(key_id=key_id, grant_tokens=[])
    with pytest.raises(InvalidGrantTokenException):  # KMS: a token must name a grant
        kms.encrypt(key_id=key_id, plaintext=b"x", grant_tokens=[token, "token"])
    with pytest.raises(ValidationException, match="10"):
        kms.encrypt(key_id=key_id, plaintext=b"x", grant_tokens=["t"] * 11)
    with pytest.raises(ValidationException):
        kms.encrypt(key_id=key_id, plaintext=b"x", grant_tokens="token")  # type: ignore[arg-type]
    with pytest.raises(ValidationException):
        kms.encrypt(key_id=key_id, plaintext=b"x", grant_tokens=[""])


def test_key_ids_over_2048_characters_are_refused(kms: LocalKeyService) -> None:
    with pytest.raises(ValidationException, match="2048"):
        kms.describe_key(key_id="alias/" + "a" * 2043)


# --- secrets in chained exceptions ----------------------------------------------------------------
def test_no_secret_in_the_chain_of_a_client_side_validation_error() -> None:
    """Before: the message was redacted but the original botocore error, quoting the value,
    was chained as ``__cause__`` and printed by every traceback."""
    from envelope.keys.aws import AwsKmsKeyService

    service = AwsKmsKeyService(region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
    secret = "TOP-SECRET-CONTEXT-VALUE"
    with pytest.raises(ValidationException) as caught:
        service.encrypt(
            key_id="alias/x", plaintext=b"x",
            encryption_context={"k": [secret]},  # type: ignore[dict-item]
        )
    error: BaseException | None = caught.value
    assert error is not None
    rendered = "".join(traceback.format_exception(caught.value))
    assert secret not in rendered and secret not in repr(caught.value)
    while error is not None:
        assert secret not in str(error)
        assert secret not in repr(error)
        error = error.__cause__ or error.__context__
