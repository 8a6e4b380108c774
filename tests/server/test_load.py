"""A bounded load test on loopback: client processes for about 20 s, rotations in between.

Three client processes run GenerateDataKey and Decrypt in turn against one ``envelope serve``
while this process rotates the key on demand. Afterwards: no request failed, and every data key
any client was given still decrypts to the same key, read straight from the keystore.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from envelope.keys.local import LocalKeyService
from tests.serve_server import EnvelopeServer

CLIENTS = 3
SECONDS = 20
ROTATIONS = 5

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_mixed_load_loses_nothing(tmp_path: Path) -> None:
    with EnvelopeServer(tmp_path / "home") as server:
        kms = server.client()
        arn = kms.create_key(Description="load")["KeyMetadata"]["Arn"]
        outputs = [tmp_path / f"client-{i}.json" for i in range(CLIENTS)]
        clients = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.server._load_worker", server.url,
                 server.access_key_id, server.secret_access_key, arn, str(SECONDS), str(out)],
                cwd=ROOT,
            )
            for out in outputs
        ]
        try:
            for _ in range(ROTATIONS):  # writes to the keystore while it serves reads
                time.sleep(SECONDS / (ROTATIONS + 1))
                kms.rotate_key_on_demand(KeyId=arn)
            for client in clients:
                assert client.wait(timeout=SECONDS + 60) == 0
        finally:
            for client in clients:
                if client.poll() is None:
                    client.kill()
        assert server.healthy()
    results = [json.loads(out.read_text()) for out in outputs]
    assert [r["errors"] for r in results] == [[]] * CLIENTS
    total = sum(r["operations"] for r in results)
    assert total > 100 * CLIENTS, total  # it did run under load (a floor, not a speed claim)
    with LocalKeyService(server.home) as local:
        rotations = local.list_key_rotations(key_id=arn).rotations
        assert len(rotations) == ROTATIONS
        for result in results:
            for blob, digest in result["pairs"]:
                plaintext = local.decrypt(ciphertext_blob=base64.b64decode(blob),
                                          encryption_context=result["context"]).plaintext
                assert hashlib.sha256(plaintext).hexdigest() == digest
