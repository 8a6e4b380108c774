"""``envelope serve`` beside moto's server: GenerateDataKey and Decrypt, in one run.

Two views of each server, both over HTTP on 127.0.0.1:

- **boto3**: one boto3 client calling in a loop (pytest-benchmark's timing; the client's own
  signing and parsing are in every figure).
- **capacity**: requests signed ahead with botocore's SigV4 signer and replayed over keep-alive
  connections from several threads for a few seconds, so the client's cost does not hide the
  server's. Requests/s, p50 and p99 go to the terminal and to each result's ``extra_info``.

moto accepts any signature; envelope serve verifies every one (and its keystore is on disk).
The capacity cases also run LocalKeyService in process from as many threads, for the same time,
as the in-process limit of "several clients". All of it is the ``keys`` area of the report.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from convention import quick, tag
from pytest_benchmark.fixture import BenchmarkFixture

ROOT = Path(__file__).resolve().parent.parent
CONTEXT = {"purpose": "benchmark"}
THREADS = 4
SECONDS = 3.0
SMOKE_SECONDS = 0.3
SERVERS = ["envelope-serve", "moto"]
NAMES = {
    "envelope-serve": "envelope serve",
    "moto": "moto",
    "local": "LocalKeyService",
}
ROLES = {"envelope-serve": "subject", "moto": "peer", "local": "subject"}
OPERATIONS = ["GenerateDataKey", "Decrypt"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


class Target:
    """A running server, a key on it, and the credentials to sign with."""

    def __init__(self, url: str, access_key: str, secret: str) -> None:
        import boto3

        self.url = url
        self.access_key, self.secret = access_key, secret
        self.client = boto3.session.Session().client(
            "kms", endpoint_url=url, region_name="us-east-1",
            aws_access_key_id=access_key, aws_secret_access_key=secret,
        )  # fmt: skip
        self.arn = self.client.create_key()["KeyMetadata"]["Arn"]
        self.blob = self.client.generate_data_key(
            KeyId=self.arn, KeySpec="AES_256", EncryptionContext=CONTEXT
        )["CiphertextBlob"]

    def signed(self, operation: str) -> bytes:
        """One request as raw HTTP/1.1 bytes, signed now with botocore's SigV4 signer."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        document: dict[str, Any] = {"EncryptionContext": CONTEXT}
        if operation == "GenerateDataKey":
            document.update(KeyId=self.arn, KeySpec="AES_256")
        else:
            document["CiphertextBlob"] = base64.b64encode(self.blob).decode()
        body = json.dumps(document).encode()
        request = AWSRequest(method="POST", url=f"{self.url}/", data=body, headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"TrentService.{operation}",
        })  # fmt: skip
        SigV4Auth(Credentials(self.access_key, self.secret), "kms", "us-east-1").add_auth(request)
        host = self.url.split("//", 1)[1]
        head = f"POST / HTTP/1.1\r\nHost: {host}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in request.headers.items()
        ) + f"Content-Length: {len(body)}\r\n\r\n"
        return head.encode() + body


def replay(url: str, raw: bytes, *, threads: int, seconds: float) -> dict[str, float]:
    """Send ``raw`` from each thread over a keep-alive connection until time is up.

    A server that closes the connection after a response (moto's, which answers HTTP/1.0) gets
    a new connection for the next request; that cost is part of its figures.
    """
    host, port = url.split("//", 1)[1].split(":")
    latencies: list[list[float]] = [[] for _ in range(threads)]
    failures = [0] * threads
    stop = time.monotonic() + seconds

    def connect() -> socket.socket:
        sock = socket.create_connection((host, int(port)), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def exchange(sock: socket.socket) -> tuple[bytes, bool]:
        """One response's status line and whether the server keeps the connection open."""
        pending = b""
        while b"\r\n\r\n" not in pending:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before a response")
            pending += chunk
        head, _, rest = pending.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        fields = {k.strip().lower(): v.strip().lower()
                  for k, _, v in (line.partition(b":") for line in lines[1:])}  # fmt: skip
        length = int(fields.get(b"content-length", b"-1"))
        keep = lines[0].startswith(b"HTTP/1.1") and fields.get(b"connection") != b"close"
        if length < 0:  # no length: the body ends when the server closes
            while sock.recv(65536):
                pass
            return lines[0], False
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed inside a response")
            rest += chunk
        return lines[0], keep

    def worker(index: int) -> None:
        mine = latencies[index]
        sock: socket.socket | None = None
        try:
            while time.monotonic() < stop:
                started = time.perf_counter()
                if sock is None:
                    sock = connect()
                sock.sendall(raw)
                try:
                    status, keep = exchange(sock)
                except (ConnectionError, OSError):
                    failures[index] += 1
                    sock.close()
                    sock = None
                    continue
                mine.append(time.perf_counter() - started)
                if status[9:12] != b"200":
                    failures[index] += 1
                if not keep:
                    sock.close()
                    sock = None
        finally:
            if sock is not None:
                sock.close()

    return _run_threads(worker, threads, seconds, latencies, failures)


def _run_threads(
    worker: Callable[[int], None],
    threads: int,
    seconds: float,
    latencies: list[list[float]],
    failures: list[int],
) -> dict[str, float]:
    """Run ``worker(0..threads-1)`` in threads until they stop; rate, latency percentiles and
    the failures the workers counted (read once they have all stopped)."""
    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    began = time.monotonic()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=seconds + 60)
    elapsed = time.monotonic() - began
    every = sorted(x for mine in latencies for x in mine)
    count = len(every)
    return {
        "requests_per_s": count / elapsed,
        "p50_ms": every[count // 2] * 1000 if count else 0.0,
        "p99_ms": every[min(count - 1, int(count * 0.99))] * 1000 if count else 0.0,
        "failures": float(sum(failures)),
        "requests": float(count),
    }


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Target]]:
    sys.path.insert(0, str(ROOT))
    from tests.serve_server import EnvelopeServer

    served = EnvelopeServer(tmp_path_factory.mktemp("bench-serve") / "home").start()
    port = _free_port()
    script = Path(sys.executable).with_name("moto_server")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "moto.server"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    moto = subprocess.Popen(
        [*command, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    try:
        _wait(f"http://127.0.0.1:{port}/moto-api/", moto)
        yield {
            "envelope-serve": Target(served.url, served.access_key_id, served.secret_access_key),
            "moto": Target(f"http://127.0.0.1:{port}", "testing", "testing"),
        }
    finally:
        served.stop()
        moto.terminate()
        moto.wait(timeout=10)


CAPACITY: dict[tuple[str, str], dict[str, float]] = {}


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_boto3_one_client(
    benchmark: BenchmarkFixture, targets: dict[str, Target], server: str, operation: str
) -> None:
    target = targets[server]
    tag(benchmark, area="keys", case=f"{operation}, one plain boto3 client", impl=NAMES[server],
        role=ROLES[server], ops=1)  # fmt: skip
    if operation == "GenerateDataKey":
        result = benchmark(target.client.generate_data_key, KeyId=target.arn, KeySpec="AES_256",
                           EncryptionContext=CONTEXT)  # fmt: skip
        assert len(result["Plaintext"]) == 32
    else:
        result = benchmark(target.client.decrypt, CiphertextBlob=target.blob,
                           EncryptionContext=CONTEXT)  # fmt: skip
        assert len(result["Plaintext"]) == 32


def local_replay(kms: Any, key_id: str, blob: bytes, operation: str, *, threads: int,
                 seconds: float) -> dict[str, float]:  # fmt: skip
    """``replay`` for LocalKeyService in process: each thread calls until time is up."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    stop = time.monotonic() + seconds

    def call() -> None:
        if operation == "GenerateDataKey":
            kms.generate_data_key(key_id=key_id, key_spec="AES_256", encryption_context=CONTEXT)
        else:
            kms.decrypt(ciphertext_blob=blob, encryption_context=CONTEXT)

    def worker(index: int) -> None:
        mine = latencies[index]
        while time.monotonic() < stop:
            started = time.perf_counter()
            call()
            mine.append(time.perf_counter() - started)

    return _run_threads(worker, threads, seconds, latencies, [])


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str, bytes]]:
    from envelope.keys.local import LocalKeyService

    kms = LocalKeyService(tmp_path_factory.mktemp("bench-local-threads"))
    key_id = kms.create_key().key_metadata.key_id
    blob = kms.generate_data_key(key_id=key_id, key_spec="AES_256",
                                 encryption_context=CONTEXT).ciphertext_blob  # fmt: skip
    yield kms, key_id, blob
    kms.close()


@pytest.mark.parametrize("server", [*SERVERS, "local"])
@pytest.mark.parametrize("operation", OPERATIONS)
def test_capacity(
    benchmark: BenchmarkFixture,
    request: pytest.FixtureRequest,
    server: str,
    operation: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seconds = SMOKE_SECONDS if quick(request.config) else SECONDS
    if server == "local":
        kms, key_id, blob = request.getfixturevalue("local")
        run: Any = lambda: local_replay(kms, key_id, blob, operation, threads=THREADS,  # noqa: E731
                                        seconds=seconds)  # fmt: skip
    else:
        target = request.getfixturevalue("targets")[server]
        raw = target.signed(operation)
        run = lambda: replay(target.url, raw, threads=THREADS, seconds=seconds)  # noqa: E731
    stats = benchmark.pedantic(run, rounds=1, iterations=1)
    if stats is None:  # pedantic returns nothing when benchmarks are disabled
        stats = run()
    tag(benchmark, area="keys", case=f"{operation}, {THREADS} clients", impl=NAMES[server],
        role=ROLES[server], rate=stats["requests_per_s"],
        figures={"p50 (ms)": round(stats["p50_ms"], 3),
                 "p99 (ms)": round(stats["p99_ms"], 3)})  # fmt: skip
    benchmark.extra_info.update(stats)
    CAPACITY[(server, operation)] = stats
    with capsys.disabled():  # the figures this test exists for, beside pytest-benchmark's tables
        print(f"\n  capacity {operation:15} {server:14} {stats['requests_per_s']:7.0f} req/s  "
              f"p50 {stats['p50_ms']:6.2f} ms  p99 {stats['p99_ms']:6.2f} ms  ({THREADS} threads)")
    assert stats["failures"] == 0 and stats["requests"] > 0
