"""One client process of the load test: GenerateDataKey and Decrypt in turn until the deadline.

Usage: python -m tests.server._load_worker URL ACCESS_KEY SECRET KEY_ARN SECONDS OUT.json
Every data key it was given is written out (ciphertext blob and the SHA-256 of the plaintext) so
the test can check afterwards that each still decrypts to the same key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import time

import boto3
from botocore.config import Config


def main() -> None:
    url, access_key, secret, arn, seconds, out = sys.argv[1:7]
    kms = boto3.session.Session().client(
        "kms", endpoint_url=url, region_name="us-east-1", aws_access_key_id=access_key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),  # no retry hides errors
    )  # fmt: skip
    context = {"worker": out}
    deadline = time.monotonic() + float(seconds)
    pairs: list[tuple[str, str]] = []
    errors: list[str] = []
    operations = 0
    while time.monotonic() < deadline:
        try:
            made = kms.generate_data_key(KeyId=arn, KeySpec="AES_256", EncryptionContext=context)
            operations += 1
            digest = hashlib.sha256(made["Plaintext"]).hexdigest()
            pairs.append((base64.b64encode(made["CiphertextBlob"]).decode(), digest))
            opened = kms.decrypt(CiphertextBlob=made["CiphertextBlob"], EncryptionContext=context)
            operations += 1
            if hashlib.sha256(opened["Plaintext"]).hexdigest() != digest:
                errors.append("decrypt returned another key")
        except Exception as e:  # counted, never hidden
            errors.append(f"{type(e).__name__}: {e}")
    with open(out, "w") as handle:
        json.dump({"operations": operations, "errors": errors, "pairs": pairs,
                   "context": context}, handle)  # fmt: skip


if __name__ == "__main__":
    main()
