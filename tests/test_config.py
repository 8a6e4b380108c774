"""Backend selection and the keystore folder, from arguments and the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from envelope.config import default_home, open_key_service
from envelope.errors import ValidationException
from tests.moto_server import MotoServer, isolate_aws_env, moto_env, moto_server

__all__ = ["moto_env", "moto_server"]  # fixtures, imported to be registered here


def test_default_home_from_environment(_isolated_home: Path) -> None:
    assert default_home() == _isolated_home


def test_default_home_per_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ENVELOPE_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr("sys.platform", "linux")
    assert default_home() == tmp_path / "data" / "envelope"


def test_local_is_the_default(_isolated_home: Path) -> None:
    from envelope.keys.local import LocalKeyService

    service = open_key_service()
    try:
        assert isinstance(service, LocalKeyService)
        assert service.home == _isolated_home
    finally:
        service.close()


def test_local_options_are_passed(tmp_path: Path) -> None:
    from envelope.keys.local import LocalKeyService

    service = open_key_service("local", home=tmp_path / "elsewhere")
    try:
        assert isinstance(service, LocalKeyService)
        assert service.home == tmp_path / "elsewhere"
    finally:
        service.close()


def test_aws_from_environment(monkeypatch: pytest.MonkeyPatch, moto_env: MotoServer) -> None:
    from envelope.keys.aws import AwsKmsKeyService

    monkeypatch.setenv("ENVELOPE_KMS", "aws")
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", moto_env.url)
    with open_key_service() as service:
        assert isinstance(service, AwsKmsKeyService)
        assert service.endpoint_url == moto_env.url
        key_id = service.create_key().key_metadata.key_id
        assert service.describe_key(key_id=key_id).key_metadata.key_state == "Enabled"


def test_argument_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from envelope.keys.aws import AwsKmsKeyService
    from envelope.keys.local import LocalKeyService

    isolate_aws_env(monkeypatch)
    monkeypatch.setenv("ENVELOPE_KMS", "local")
    service = open_key_service(
        " AWS ", region_name="eu-central-1", endpoint_url="http://127.0.0.1:9"
    )
    assert isinstance(service, AwsKmsKeyService)
    assert (service.region_name, service.endpoint_url) == ("eu-central-1", "http://127.0.0.1:9")
    monkeypatch.setenv("ENVELOPE_KMS", "aws")
    local = open_key_service("local")
    assert isinstance(local, LocalKeyService)
    local.close()


@pytest.mark.parametrize("name", ["gcp", "loca"])
def test_unknown_backend(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    with pytest.raises(ValidationException, match="local, aws"):
        open_key_service(name)
    monkeypatch.setenv("ENVELOPE_KMS", name)
    with pytest.raises(ValidationException, match=repr(name)):
        open_key_service()
