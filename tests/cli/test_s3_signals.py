"""SIGTERM and SIGHUP during ``envelope s3 get|put`` and ``envelope decrypt-url``: they unwind
like Ctrl-C. No ``.part`` file, no output, no half-done object, the old object still readable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from envelope import KmsKey, LocalKeyService
from envelope.s3 import EncryptedS3Client
from tests.cli.conftest import Run, ok_json
from tests.moto_server import MotoServer, boto3_client, moto_env, moto_server
from tests.pending import pending_sizes

__all__ = ["moto_env", "moto_server"]

MIB = 1024 * 1024
BIG = 48 * MIB  # long enough to be caught in the middle, on any machine


@pytest.fixture
def s3(moto_env: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_env.url)
    client = boto3_client(moto_env, "s3")
    client.create_bucket(Bucket="bkt")
    return client


@pytest.fixture
def client(s3: Any, envelope: Run) -> Iterator[EncryptedS3Client]:
    arn = ok_json(envelope("key", "create", "--json"))["KeyMetadata"]["Arn"]
    with LocalKeyService() as service:
        yield EncryptedS3Client(s3, keys=KmsKey(service, arn), instruction_file=True)


def _start(*args: str, stdin: Any = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "envelope_cli", *args],
        stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def _signal_when(process: subprocess.Popen[bytes], ready: Any, signum: int) -> str:
    deadline = time.monotonic() + 120
    while not ready():
        assert process.poll() is None, process.stderr.read() if process.stderr else b""
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signum, stderr
    text = stderr.decode()
    assert "Traceback" not in text and f"terminated by {signal.Signals(signum).name}" in text
    return text


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_get_to_a_file(client: EncryptedS3Client, tmp_path: Path, signum: int) -> None:
    client.put_object(Bucket="bkt", Key="big", Body=os.urandom(BIG))
    out = tmp_path / "out" / "plain.bin"
    out.parent.mkdir()
    process = _start("s3", "get", "s3://bkt/big", "-o", str(out))
    _signal_when(process, lambda: any(s > MIB for s in pending_sizes(out.parent)), signum)
    assert list(out.parent.iterdir()) == []  # no plain.bin, no .plain.bin.XXXX.part


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_decrypt_url_to_a_file(client: EncryptedS3Client, tmp_path: Path, signum: int) -> None:
    client.put_object(Bucket="bkt", Key="big", Body=os.urandom(BIG))
    signed = client.presign_get("bkt", "big")
    out = tmp_path / "out" / "plain.bin"
    out.parent.mkdir()
    process = _start("decrypt-url", signed.url, "--instruction-url", str(signed.instruction_url),
                     "-o", str(out))  # fmt: skip
    _signal_when(process, lambda: any(s > MIB for s in pending_sizes(out.parent)), signum)
    assert list(out.parent.iterdir()) == []


def test_put_over_an_instruction_file_object(
    client: EncryptedS3Client, s3: Any, envelope: Run, tmp_path: Path
) -> None:
    """SIGTERM in the middle of a multipart upload that replaces an instruction-file object: the
    upload is aborted, and the old object and its instruction file are as they were."""
    old = os.urandom(1000)
    client.put_object(Bucket="bkt", Key="doc", Body=old)
    arn = client.keyrings[0].key_id  # type: ignore[attr-defined]
    read, write = os.pipe()
    process = _start("s3", "put", "-", "s3://bkt/doc", "--key", arn, "--instruction-file",
                     stdin=read)  # fmt: skip
    os.close(read)
    with os.fdopen(write, "wb") as pipe:
        pipe.write(os.urandom(20 * MIB))  # two parts' worth: the upload has begun
        pipe.flush()

        def uploading() -> bool:
            return bool(s3.list_multipart_uploads(Bucket="bkt").get("Uploads"))

        _signal_when(process, uploading, signal.SIGTERM)
    assert s3.list_multipart_uploads(Bucket="bkt").get("Uploads", []) == []
    assert client.get_object(Bucket="bkt", Key="doc")["Body"].read() == old
