"""Drive amazon-s3-encryption-client-python 4.0.0 (the oracle) in its own venv (.venv-s3ec).

Not a test module: tests run it as ``.venv-s3ec/bin/python oracle_s3ec.py`` with a JSON request on
stdin and read a JSON list of results from stdout. It imports nothing from envelope.

Request: {"endpoint": URL, "key_id": KMS key ARN, "ops": [OP, ...]} and optionally
"kms": {"endpoint", "access_key_id", "secret_access_key"} for a KMS elsewhere than the S3 endpoint
(``envelope serve``); each OP one of
  {"op": "put", "bucket", "key", "path", "context", "format": "v3"|"v2"}   put_object
  {"op": "upload", "bucket", "key", "path", "context", "format"}  upload_file (multipart)
  {"op": "get", "bucket", "key", "path", "context"}  get_object, body to the file
Result per op: {"ok": true} or {"ok": false, "error": "ExceptionClass: message"}.
"""

from __future__ import annotations

import json
import sys

import boto3
from botocore.config import Config
from s3_encryption import S3EncryptionClient, S3EncryptionClientConfig
from s3_encryption.materials.kms_keyring import KmsKeyring
from s3_encryption.materials.materials import AlgorithmSuite, CommitmentPolicy

CHUNK = 1024 * 1024


def _client(endpoint: str, key_id: str, fmt: str, kms_at: dict | None) -> S3EncryptionClient:
    options = {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}), **options)
    if kms_at:
        options = {
            "endpoint_url": kms_at["endpoint"],
            "region_name": "us-east-1",
            "aws_access_key_id": kms_at["access_key_id"],
            "aws_secret_access_key": kms_at["secret_access_key"],
        }
    kms = boto3.client("kms", **options)
    if fmt == "v2":
        # V2 objects need a policy that allows non-committing suites (DESIGN.md §5).
        config = S3EncryptionClientConfig(
            keyring=KmsKeyring(kms_client=kms, kms_key_id=key_id),
            encryption_algorithm=AlgorithmSuite.ALG_AES_256_GCM_IV12_TAG16_NO_KDF,
            commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT,
        )
    else:
        config = S3EncryptionClientConfig(
            keyring=KmsKeyring(kms_client=kms, kms_key_id=key_id),
            commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT,
        )
    return S3EncryptionClient(s3, config)


def _run(client: S3EncryptionClient, op: dict) -> None:
    context = op.get("context") or None
    if op["op"] == "put":
        with open(op["path"], "rb") as handle:
            client.put_object(
                Bucket=op["bucket"], Key=op["key"], Body=handle.read(), EncryptionContext=context
            )
    elif op["op"] == "upload":
        client.upload_file(
            op["path"],
            op["bucket"],
            op["key"],
            multipart_chunksize=8 * CHUNK,
            multipart_threshold=8 * CHUNK,
            EncryptionContext=context,
        )
    elif op["op"] == "get":
        kwargs = {"Bucket": op["bucket"], "Key": op["key"]}
        if context:
            kwargs["EncryptionContext"] = context
        body = client.get_object(**kwargs)["Body"]
        with open(op["path"], "wb") as handle:
            while block := body.read(CHUNK):
                handle.write(block)
    else:
        raise ValueError(f"unknown op {op['op']!r}")


def main() -> None:
    request = json.load(sys.stdin)
    clients: dict[str, S3EncryptionClient] = {}
    results = []
    for op in request["ops"]:
        fmt = op.get("format", "v3")
        if fmt not in clients:
            clients[fmt] = _client(request["endpoint"], request["key_id"], fmt, request.get("kms"))
        try:
            _run(clients[fmt], op)
            results.append({"ok": True})
        except Exception as e:  # every failure is reported, never raised
            results.append({"ok": False, "error": f"{type(e).__name__}: {e}"})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
