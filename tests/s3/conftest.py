"""S3 fixtures: moto's S3 and KMS server on 127.0.0.1, buckets, wrapping keys, the oracle."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from envelope import AwsKmsKeyService, KmsKey, LocalKeyService, RawAesKey, RawRsaKey
from tests.moto_server import MotoServer, boto3_client, moto_env, moto_server

__all__ = ["moto_env", "moto_server"]

ROOT = Path(__file__).resolve().parents[2]
ORACLE_SCRIPT = Path(__file__).with_name("oracle_s3ec.py")
MIB = 1024 * 1024


@pytest.fixture
def s3(moto_env: MotoServer) -> Any:
    """A boto3 S3 client on moto's server (state reset for each test)."""
    return boto3_client(moto_env, "s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"envelope-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def local_kms() -> Iterator[LocalKeyService]:
    with LocalKeyService() as service:
        yield service


@pytest.fixture
def aws_kms(moto_env: MotoServer) -> Iterator[AwsKmsKeyService]:
    """AwsKmsKeyService talking to moto's KMS over HTTP."""
    with AwsKmsKeyService(region_name="us-east-1", endpoint_url=moto_env.url) as service:
        yield service


@pytest.fixture
def local_key(local_kms: LocalKeyService) -> KmsKey:
    return KmsKey(local_kms, local_kms.create_key().key_metadata.arn)


@pytest.fixture
def moto_key(aws_kms: AwsKmsKeyService) -> KmsKey:
    return KmsKey(aws_kms, aws_kms.create_key().key_metadata.arn)


@pytest.fixture(scope="session")
def rsa_private() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(params=["local-kms", "moto-kms", "raw-aes", "raw-rsa"])
def wrapping_key(
    request: pytest.FixtureRequest, rsa_private: rsa.RSAPrivateKey
) -> KmsKey | RawAesKey | RawRsaKey:
    """Each kind of wrapping key: KmsKey on LocalKeyService and on AWS KMS (moto), raw AES, RSA."""
    if request.param == "local-kms":
        key: KmsKey | RawAesKey | RawRsaKey = request.getfixturevalue("local_key")
    elif request.param == "moto-kms":
        key = request.getfixturevalue("moto_key")
    elif request.param == "raw-aes":
        key = RawAesKey("s3", "aes", os.urandom(32))
    else:
        key = RawRsaKey("s3", "rsa", private_key=rsa_private)
    return key


def kms_context(key: object) -> dict[str, str]:
    """An encryption context for KMS keys; raw keys bind none."""
    return {"app": "tests", "tenant": "t1"} if isinstance(key, KmsKey) else {}


# --- the oracle: amazon-s3-encryption-client-python 4.0.0 in .venv-s3ec ---------------------------


@dataclass
class Oracle:
    python: Path
    endpoint: str
    key_id: str
    kms: dict[str, str] | None = None
    """A KMS endpoint other than ``endpoint`` and its credentials (``envelope serve``)."""

    def run(self, *ops: dict[str, Any]) -> list[dict[str, Any]]:
        """Run ops in one oracle process; returns one {"ok": ..., "error": ...} per op."""
        request = {"endpoint": self.endpoint, "key_id": self.key_id, "ops": list(ops),
                   "kms": self.kms}  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        result = subprocess.run(
            [str(self.python), str(ORACLE_SCRIPT)],
            input=json.dumps(request).encode(),
            capture_output=True,
            env=env,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr.decode()
        results: list[dict[str, Any]] = json.loads(result.stdout)
        return results


def oracle_python() -> Path:
    python = Path(os.environ.get("ENVELOPE_S3EC_PYTHON", ROOT / ".venv-s3ec" / "bin" / "python"))
    if not python.exists():
        pytest.fail(
            f"the S3EC oracle's venv is missing ({python}): build it with "
            "`make .venv-s3ec/installed` (make test does)"
        )
    return python


@pytest.fixture
def oracle(moto_key: KmsKey, moto_env: MotoServer) -> Oracle:
    """The official S3 Encryption Client with a KMS keyring on moto's KMS key ``moto_key``."""
    return Oracle(oracle_python(), moto_env.url, moto_key.key_id)
