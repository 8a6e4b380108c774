"""AwsKmsKeyService specifics: error translation, configuration, network failures, lazy boto3."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from envelope import errors
from envelope.errors import (
    KeyServiceConfigurationError,
    KeyServiceError,
    KeyServiceUnavailableError,
    NotFoundException,
    ValidationException,
)
from envelope.keys.aws import AwsKmsKeyService
from envelope.keys.base import KeyService
from tests.moto_server import (
    DUMMY_CREDENTIALS,
    MotoServer,
    free_port,
    isolate_aws_env,
    moto_env,
    moto_server,
)

__all__ = ["moto_env", "moto_server"]  # fixtures, imported to be registered here

REPO = Path(__file__).resolve().parents[2]
SECRET = "wJalrXUtnFEMI-not-a-real-secret-K7MDENG"


@pytest.fixture
def aws(moto_env: MotoServer) -> AwsKmsKeyService:
    return AwsKmsKeyService(endpoint_url=moto_env.url)


@pytest.fixture
def stubbed() -> tuple[AwsKmsKeyService, Stubber]:
    client = boto3.client(
        "kms",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    stubber = Stubber(client)
    stubber.activate()
    return AwsKmsKeyService(client), stubber


# --- behaviour against moto's server -------------------------------------------------------------


def test_is_a_key_service(aws: AwsKmsKeyService) -> None:
    assert isinstance(aws, KeyService)


def test_round_trip_and_utc_dates(aws: AwsKmsKeyService) -> None:
    meta = aws.create_key(description="adapter").key_metadata
    assert meta.description == "adapter"
    assert meta.arn.startswith("arn:aws:kms:us-east-1:")
    assert meta.creation_date.tzinfo == dt.timezone.utc
    data_key = aws.generate_data_key(key_id=meta.key_id, key_spec="AES_256")
    assert len(data_key.plaintext) == 32
    assert data_key.key_id == meta.arn
    decrypted = aws.decrypt(ciphertext_blob=data_key.ciphertext_blob)
    assert decrypted.plaintext == data_key.plaintext
    assert "plaintext" not in repr(data_key) and data_key.plaintext.hex() not in repr(decrypted)


def test_injected_client_is_used(moto_env: MotoServer) -> None:
    client = boto3.client("kms", endpoint_url=moto_env.url, region_name="us-east-1")
    service = AwsKmsKeyService(client)
    assert service.client is client
    key_id = service.create_key().key_metadata.key_id
    assert [k.key_id for k in service.list_keys().keys] == [key_id]


def test_kms_error_becomes_envelope_class(aws: AwsKmsKeyService) -> None:
    with pytest.raises(NotFoundException) as caught:
        aws.describe_key(key_id="alias/missing")
    assert caught.value.code == "NotFoundException"
    assert "alias/missing" in caught.value.message
    assert caught.value.__cause__ is not None  # raised from the botocore error


def test_client_side_validation_becomes_validation_exception(aws: AwsKmsKeyService) -> None:
    key_id = aws.create_key().key_metadata.key_id
    with pytest.raises(ValidationException):
        aws.generate_random(number_of_bytes=0)
    with pytest.raises(ValidationException) as caught:
        aws.encrypt(key_id=key_id, plaintext=["top secret words"])  # type: ignore[arg-type]
    assert "top secret" not in str(caught.value)
    assert "Plaintext" in str(caught.value)


def test_close_and_context_manager(moto_env: MotoServer) -> None:
    with AwsKmsKeyService(endpoint_url=moto_env.url) as service:
        assert service.generate_random(number_of_bytes=8).plaintext
    with pytest.raises(KeyServiceError, match="closed"):
        service.generate_random(number_of_bytes=8)
    service.close()  # closing twice is harmless


# --- error translation (botocore's Stubber answers with a chosen KMS error) ---------------------


@pytest.mark.parametrize("code", sorted(errors.KMS_ERRORS))
def test_every_kms_code_maps_to_its_class(
    stubbed: tuple[AwsKmsKeyService, Stubber], code: str
) -> None:
    service, stubber = stubbed
    stubber.add_client_error("describe_key", service_error_code=code, service_message="why")
    with pytest.raises(errors.KMS_ERRORS[code]) as caught:
        service.describe_key(key_id="k")
    assert type(caught.value) is errors.KMS_ERRORS[code]
    assert (caught.value.code, caught.value.message) == (code, "why")


def test_unknown_code_keeps_code_and_message(stubbed: tuple[AwsKmsKeyService, Stubber]) -> None:
    service, stubber = stubbed
    stubber.add_client_error(
        "encrypt", service_error_code="BrandNewKmsException", service_message="new rule"
    )
    with pytest.raises(KeyServiceError) as caught:
        service.encrypt(key_id="k", plaintext=b"x")
    assert type(caught.value) is KeyServiceError
    assert caught.value.code == "BrandNewKmsException"
    assert caught.value.message == "new rule"


def test_http_error_without_kms_body(stubbed: tuple[AwsKmsKeyService, Stubber]) -> None:
    service, stubber = stubbed
    stubber.add_client_error("list_keys", service_error_code="500", http_status_code=500)
    with pytest.raises(KeyServiceError) as caught:
        service.list_keys()
    assert caught.value.code == "500"
    assert "HTTP 500" in caught.value.message


# --- network and configuration ----------------------------------------------------------------


def test_unreachable_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_aws_env(monkeypatch)
    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    service = AwsKmsKeyService(endpoint_url=url)
    with pytest.raises(KeyServiceUnavailableError) as caught:
        service.generate_random(number_of_bytes=8)
    assert url in str(caught.value)
    assert SECRET not in str(caught.value)
    assert caught.value.code == "KeyServiceUnavailable"


def test_no_credentials(monkeypatch: pytest.MonkeyPatch, moto_server: MotoServer) -> None:
    isolate_aws_env(monkeypatch)
    service = AwsKmsKeyService(region_name="us-east-1", endpoint_url=moto_server.url)
    with pytest.raises(KeyServiceConfigurationError, match="credentials"):
        service.list_keys()


def test_no_region(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_aws_env(monkeypatch)
    with pytest.raises(KeyServiceConfigurationError, match="region"):
        AwsKmsKeyService()


def test_unknown_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_aws_env(monkeypatch)
    with pytest.raises(KeyServiceConfigurationError, match="no-such-profile"):
        AwsKmsKeyService(profile_name="no-such-profile")


def test_standard_environment_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_aws_env(monkeypatch)
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", "http://127.0.0.1:4599")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-1")  # AWS_REGION wins, as in the AWS CLI
    service = AwsKmsKeyService()
    assert service.region_name == "eu-west-3"
    assert service.endpoint_url == "http://127.0.0.1:4599"
    assert service.client.meta.config.retries == {"mode": "standard"}
    assert repr(service) == (
        "AwsKmsKeyService(region_name='eu-west-3', endpoint_url='http://127.0.0.1:4599')"
    )
    assert SECRET not in repr(service)


def test_arguments_override_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_aws_env(monkeypatch)
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", "http://127.0.0.1:4599")
    service = AwsKmsKeyService(region_name="ap-south-1", endpoint_url="http://127.0.0.1:4600")
    assert (service.region_name, service.endpoint_url) == ("ap-south-1", "http://127.0.0.1:4600")


def test_profile_from_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_aws_env(monkeypatch)
    config = tmp_path / "config"
    config.write_text("[profile work]\nregion = sa-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    assert AwsKmsKeyService(profile_name="work").region_name == "sa-east-1"
    monkeypatch.setenv("AWS_PROFILE", "work")
    assert AwsKmsKeyService().region_name == "sa-east-1"


def test_default_region_and_session(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_aws_env(monkeypatch)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-1")
    assert AwsKmsKeyService().region_name == "us-west-1"
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    session = boto3.Session(region_name="ca-central-1")
    assert AwsKmsKeyService(session=session).region_name == "ca-central-1"


# --- lazy imports ---------------------------------------------------------------------------------

_PROBE = """
import sys
import envelope
{action}
print(sorted(m for m in ("boto3", "botocore") if m in sys.modules))
"""


def _loaded_after(action: str, home: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["ENVELOPE_HOME"] = str(home)
    env.pop("ENVELOPE_KMS", None)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(action=action)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    return done.stdout.strip().splitlines()[-1]


def test_import_envelope_does_not_import_boto3(tmp_path: Path) -> None:
    assert _loaded_after("", tmp_path) == "[]"


def test_local_key_service_does_not_import_boto3(tmp_path: Path) -> None:
    action = (
        "s = envelope.open_key_service()\n"
        "k = s.create_key().key_metadata.key_id\n"
        "d = s.generate_data_key(key_id=k, key_spec='AES_256')\n"
        "assert s.decrypt(ciphertext_blob=d.ciphertext_blob).plaintext == d.plaintext\n"
        "assert type(s).__name__ == 'LocalKeyService'\n"
    )
    assert _loaded_after(action, tmp_path) == "[]"


def test_aws_key_service_does_import_boto3(tmp_path: Path) -> None:
    # The control: the probe does see boto3 once the AWS backend is used.
    action = "envelope.AwsKmsKeyService(region_name='us-east-1')"
    assert _loaded_after(action, tmp_path) == "['boto3', 'botocore']"
