"""GenerateDataKey and Decrypt with one client: LocalKeyService, and AwsKmsKeyService to
``envelope serve`` and to moto's server.

The three backends run in one pytest run; each operation is one case of the ``keys`` area, so its
table compares them side by side. Both servers are real HTTP servers on 127.0.0.1 (subprocesses),
so those figures include boto3's request signing, HTTP on loopback and the server's own work
(envelope serve also verifies every signature and keeps its keystore on disk).
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
from convention import tag
from pytest_benchmark.fixture import BenchmarkFixture

from envelope.keys.base import KeyService

ROOT = Path(__file__).resolve().parent.parent
# The report's columns are the backends (as in test_bench_server.py); the client is in the case.
BACKENDS = {"local": "LocalKeyService", "aws-serve": "envelope serve", "aws-moto": "moto"}

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


@pytest.fixture(scope="module")
def serve_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """``envelope serve`` on 127.0.0.1: (url, access key id, secret)."""
    sys.path.insert(0, str(ROOT))
    from tests.serve_server import EnvelopeServer

    served = EnvelopeServer(tmp_path_factory.mktemp("bench-serve-one") / "home").start()
    try:
        yield served.url, served.access_key_id, served.secret_access_key
    finally:
        served.stop()


@pytest.fixture(scope="module", params=list(BACKENDS))
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

    if request.param == "aws-moto":
        url, access, secret = request.getfixturevalue("moto_url"), "testing", "testing"
    else:
        url, access, secret = request.getfixturevalue("serve_url")
    client = boto3.client(
        "kms",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=access,
        aws_secret_access_key=secret,
    )
    aws = AwsKmsKeyService(client)
    key_id = aws.create_key().key_metadata.key_id
    yield aws, key_id
    aws.close()


def _impl(request: pytest.FixtureRequest) -> tuple[str, str]:
    backend = request.node.callspec.params["service"]
    return BACKENDS[backend], "peer" if backend == "aws-moto" else "subject"


def test_generate_data_key(
    benchmark: BenchmarkFixture, request: pytest.FixtureRequest, service: tuple[KeyService, str]
) -> None:
    impl, role = _impl(request)
    tag(benchmark, area="keys", case="GenerateDataKey, one KeyService client", impl=impl,
        role=role, ops=1)  # fmt: skip
    kms, key_id = service
    result = benchmark(
        kms.generate_data_key, key_id=key_id, key_spec="AES_256", encryption_context=CONTEXT
    )
    assert len(result.plaintext) == 32


def test_decrypt(
    benchmark: BenchmarkFixture, request: pytest.FixtureRequest, service: tuple[KeyService, str]
) -> None:
    impl, role = _impl(request)
    tag(benchmark, area="keys", case="Decrypt, one KeyService client", impl=impl, role=role,
        ops=1)  # fmt: skip
    kms, key_id = service
    data_key = kms.generate_data_key(key_id=key_id, key_spec="AES_256", encryption_context=CONTEXT)
    result = benchmark(
        kms.decrypt, ciphertext_blob=data_key.ciphertext_blob, encryption_context=CONTEXT
    )
    assert result.plaintext == data_key.plaintext
