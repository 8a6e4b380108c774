"""amazon-s3-encryption-client-python's KMS keyring on ``envelope serve``, objects on moto's S3.

The official client (in its own venv, ``.venv-s3ec``) wraps its data keys with GenerateDataKey
and opens them with Decrypt on envelope serve, signing with a principal's access key; envelope's
own S3 client reads and writes the same objects with the same key straight from the keystore.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from envelope import KmsKey, LocalKeyService
from envelope.s3 import EncryptedS3Client
from tests.moto_server import MotoServer, boto3_client, moto_env, moto_server
from tests.s3.conftest import Oracle, oracle_python
from tests.serve_server import EnvelopeServer

__all__ = ["moto_env", "moto_server"]  # fixtures

CONTEXT = {"department": "finance"}


def test_official_s3_client_uses_envelope_serve(
    serve_env: EnvelopeServer, moto_env: MotoServer, tmp_path: Path
) -> None:
    s3: Any = boto3_client(moto_env, "s3")
    bucket = f"envelope-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    arn = serve_env.client().create_key(Description="s3ec")["KeyMetadata"]["Arn"]
    oracle = Oracle(oracle_python(), moto_env.url, arn, kms={
        "endpoint": serve_env.url,
        "access_key_id": serve_env.access_key_id,
        "secret_access_key": serve_env.secret_access_key,
    })  # fmt: skip
    plain = tmp_path / "plain"
    plain.write_bytes(os.urandom(300_000))
    back = tmp_path / "back"
    assert oracle.run(
        {"op": "put", "bucket": bucket, "key": "theirs", "path": str(plain), "context": CONTEXT},
        {"op": "get", "bucket": bucket, "key": "theirs", "path": str(back), "context": CONTEXT},
    ) == [{"ok": True}, {"ok": True}]
    assert back.read_bytes() == plain.read_bytes()

    with LocalKeyService(serve_env.home) as local:  # the same keystore, no server in between
        ours = EncryptedS3Client(s3, keys=KmsKey(local, arn))
        got = ours.get_object(Bucket=bucket, Key="theirs", EncryptionContext=CONTEXT)
        assert got["Body"].read() == plain.read_bytes()
        ours.put_object(Bucket=bucket, Key="ours", Body=plain.read_bytes(),
                        EncryptionContext=CONTEXT)  # fmt: skip
    mine = tmp_path / "mine"
    assert oracle.run(
        {"op": "get", "bucket": bucket, "key": "ours", "path": str(mine), "context": CONTEXT}
    ) == [{"ok": True}]
    assert mine.read_bytes() == plain.read_bytes()
