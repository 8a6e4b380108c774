"""``envelope serve`` as a real HTTP server on 127.0.0.1 (a subprocess), and fixtures that use it.

The server gets its own ENVELOPE_HOME and one principal, created through the library before it
starts; tests sign with that principal's access key. ``reset()`` empties the keystore between
tests the way another process sharing it would (the keystore is safe for several processes).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from envelope.keys.store import Keystore
from envelope.server.principals import Principals
from tests.moto_server import free_port, isolate_aws_env

REGION = "us-east-1"


class EnvelopeServer:
    """``envelope serve --port PORT`` in a subprocess; ``start()`` waits until /health answers."""

    def __init__(
        self,
        home: Path,
        *,
        args: tuple[str, ...] = (),
        log: Path | None = None,
        tls_ca: Path | None = None,
    ) -> None:
        self.home = home
        self.port = free_port()
        self.tls_ca = tls_ca
        """The certificate to trust when the server speaks HTTPS (``--tls-cert``)."""
        self.url = f"{'https' if tls_ca else 'http'}://127.0.0.1:{self.port}"
        self.args = args
        self.log = log or home.parent / f"serve-{self.port}.log"
        self.access_key_id = ""
        self.secret_access_key = ""
        self.arn = ""
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 60.0, principal: str = "tester") -> EnvelopeServer:
        self.home.mkdir(parents=True, exist_ok=True)
        with Principals(self.home, region=REGION) as principals:
            new = principals.create(principal)
        self.access_key_id = new.principal.access_key_id
        self.secret_access_key = new.secret_access_key
        self.arn = new.principal.arn
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ENVELOPE_"))}
        env["ENVELOPE_HOME"] = str(self.home)
        command = [sys.executable, "-m", "envelope_cli", "serve", "--port", str(self.port),
                   *self.args]  # fmt: skip
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"envelope serve exited with {self.process.returncode}: {self.log_text()}"
                )
            if self.healthy():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"envelope serve did not answer on {self.url} within {timeout} s")

    def healthy(self) -> bool:
        import ssl

        context = ssl.create_default_context(cafile=str(self.tls_ca)) if self.tls_ca else None
        try:
            url = f"{self.url}/health"
            with urllib.request.urlopen(url, timeout=2, context=context) as response:
                return bool(json.loads(response.read()) == {"status": "ok"})
        except (OSError, ValueError):
            return False

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def reset(self) -> None:
        """Destroy every key and alias (the principals stay), through the shared keystore."""
        store = Keystore(self.home, passphrase=None)
        try:
            with store.write() as records:
                for key_id in records.key_ids():
                    records.destroy_key(key_id)
        finally:
            store.close()

    def credentials(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }

    def client(self, **options: Any) -> Any:
        """A boto3 KMS client signing with this server's principal."""
        import boto3

        settings: dict[str, Any] = {
            "endpoint_url": self.url,
            "region_name": REGION,
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
        }
        if self.tls_ca:
            settings["verify"] = str(self.tls_ca)
        settings.update(options)
        return boto3.session.Session().client("kms", **settings)

    def stop(self, *, timeout: float = 30.0) -> int | None:
        """SIGTERM, wait for the graceful stop; SIGKILL only if it hangs. Returns the exit code."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
            raise RuntimeError("envelope serve did not stop on SIGTERM") from None

    def __enter__(self) -> EnvelopeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- pytest fixtures: import them into a conftest or test module to use them ----------------------


@pytest.fixture(scope="session")
def serve_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnvelopeServer]:
    """``envelope serve`` on a free 127.0.0.1 port for the whole session; always stopped."""
    server = EnvelopeServer(tmp_path_factory.mktemp("serve") / "home")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def serve_env(serve_server: EnvelopeServer, monkeypatch: pytest.MonkeyPatch) -> EnvelopeServer:
    """The principal's credentials and region in the environment; the keystore emptied."""
    isolate_aws_env(monkeypatch)
    for name, value in serve_server.credentials().items():
        monkeypatch.setenv(name, value)
    serve_server.reset()
    return serve_server
