"""GenerateDataKey and Decrypt ops/s: AwsKmsKeyService -> moto's server beside LocalKeyService.

Both backends run in one pytest run; each operation is one benchmark group, so its table compares
the two side by side. moto's server is a real HTTP server on 127.0.0.1 (a subprocess), so the AWS
figures include boto3's request signing, HTTP on loopback and moto's own work.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from envelope.keys.base import KeyService

CONTEXT = {"purpose": "benchmark"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    script = Path(sys.executable).with_name("moto_server")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "moto.server"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    process = subprocess.Popen(
        [*command, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=2).close()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("moto_server did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module", params=["local", "aws-moto"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[KeyService, str]]:
    if request.param == "local":
        from envelope.keys.local import LocalKeyService

        local = LocalKeyService(tmp_path_factory.mktemp("bench-home"))
        key_id = local.create_key().key_metadata.key_id
        yield local, key_id
        local.close()
        return
    import boto3

    from envelope.keys.aws import AwsKmsKeyService

    url = request.getfixturevalue("moto_url")
    client = boto3.client(
        "kms",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    aws = AwsKmsKeyService(client)
    key_id = aws.create_key().key_metadata.key_id
    yield aws, key_id
    aws.close()


@pytest.mark.benchmark(group="generate_data_key")
def test_generate_data_key(benchmark: BenchmarkFixture, service: tuple[KeyService, str]) -> None:
    kms, key_id = service
    result = benchmark(
        kms.generate_data_key, key_id=key_id, key_spec="AES_256", encryption_context=CONTEXT
    )
    assert len(result.plaintext) == 32


@pytest.mark.benchmark(group="decrypt")
def test_decrypt(benchmark: BenchmarkFixture, service: tuple[KeyService, str]) -> None:
    kms, key_id = service
    data_key = kms.generate_data_key(key_id=key_id, key_spec="AES_256", encryption_context=CONTEXT)
    result = benchmark(
        kms.decrypt, ciphertext_blob=data_key.ciphertext_blob, encryption_context=CONTEXT
    )
    assert result.plaintext == data_key.plaintext
