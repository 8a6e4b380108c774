"""Write the seed corpus: valid inputs of every shape each target takes, under the fixed keys.

    python -m tests.fuzz.seeds      (rewrites tests/fuzz/corpus/*/seed-*; keeps regression-*)

Seeds are made by envelope itself and, for the format-1 and unframed messages envelope never
writes, by aws-encryption-sdk (the oracle). Regression entries (``regression-*``) are inputs the
fuzzer once found; they are never rewritten.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from envelope.keys.local import LocalKeyService
from envelope.keys.policy import default_policy
from envelope.message import encrypt
from envelope.message.header import parse_header, serialize_context
from envelope.message.reader import BytesReader
from envelope.s3 import EncryptedS3Client
from tests.fuzz import fixtures, signing
from tests.fuzz.harness import CORPUS, join_fields
from tests.fuzz.targets.s3_metadata import BUCKET, KEY
from tests.fuzz.targets.sigv4_headers import render_request


def _write(target: str, seeds: dict[str, bytes]) -> None:
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("seed-*"):
        old.unlink()
    for name, data in seeds.items():
        (folder / f"seed-{name}").write_bytes(data)


def _esdk_messages() -> dict[str, bytes]:
    """Format-1 suites, unframed bodies and signed legacy messages, written by the ESDK."""
    from aws_encryption_sdk import EncryptionSDKClient
    from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy

    from tests.message.conftest import esdk_aes_master_key

    client = EncryptionSDKClient(commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)
    key = esdk_aes_master_key("fuzz-namespace", "fuzz-aes", fixtures.AES_KEY)
    out = {}
    for suite, frame, text in (
        (0x0014, 128, b"legacy, no KDF"),
        (0x0178, 128, bytes(300)),
        (0x0178, 0, b"legacy, unframed"),
        (0x0378, 128, b"legacy, signed"),
        (0x0378, 0, b"legacy, signed, unframed"),
    ):
        message, _ = client.encrypt(
            source=text,
            key_provider=key,
            algorithm=Algorithm.get_by_id(suite),
            frame_length=frame,
            encryption_context=fixtures.CONTEXT,
        )
        out[f"esdk-{suite:04x}-frame{frame}"] = message
    return out


def _messages() -> dict[str, bytes]:
    aes, rsa, kms = fixtures.raw_aes(), fixtures.raw_rsa(), fixtures.kms_key()
    out = {}
    for suite in (0x0478, 0x0578):
        for name, keys in (("aes", [aes]), ("rsa", [rsa]), ("kms", [kms]), ("aes-kms", [aes, kms])):
            out[f"{suite:04x}-{name}"] = encrypt(
                b"hello, fuzz", keys=keys, suite=suite, encryption_context=fixtures.CONTEXT
            )
        out[f"{suite:04x}-empty"] = encrypt(b"", keys=[aes], suite=suite)
        out[f"{suite:04x}-frames"] = encrypt(bytes(range(100)), keys=[aes], suite=suite,
                                             frame_length=16)  # fmt: skip
        out[f"{suite:04x}-exact-frames"] = encrypt(bytes(64), keys=[aes], suite=suite,
                                                   frame_length=32)  # fmt: skip
    out.update(_esdk_messages())
    return out


def _blobs() -> dict[str, bytes]:
    kms = fixtures.kms()
    out = {
        "no-context": b"\x00" + kms.encrypt(key_id=fixtures.KEY_ID, plaintext=b"x").ciphertext_blob,
        "context": b"\x01" + kms.encrypt(key_id=fixtures.KEY_ID, plaintext=b"fuzz" * 20,
                                         encryption_context=fixtures.CONTEXT).ciphertext_blob,
        "data-key": b"\x00" + kms.generate_data_key(key_id=fixtures.KEY_ID,
                                                     key_spec="AES_256").ciphertext_blob,
    }  # fmt: skip
    old = LocalKeyService(fixtures.home(), _blob_layout=1)
    out["layout-1"] = b"\x00" + old.encrypt(key_id=fixtures.KEY_ID, plaintext=b"y").ciphertext_blob
    old.close()
    return out


def _edks(messages: dict[str, bytes]) -> dict[str, bytes]:
    out = {}
    for name, message in messages.items():
        header, _, _ = parse_header(BytesReader(message))
        context = serialize_context(header.encryption_context)
        for n, edk in enumerate(header.encrypted_data_keys):
            out[f"{name}-edk{n}"] = join_fields(
                edk.provider_id.encode(), edk.provider_info, edk.ciphertext, context
            )
    return out


def _contexts() -> dict[str, bytes]:
    return {
        "empty": b"",
        "one": serialize_context({"a": "b"}),
        "fixed": serialize_context(fixtures.CONTEXT),
        "unicode": serialize_context({"clé": "värde ✓", "": "empty key"}),
        "json": json.dumps(fixtures.CONTEXT).encode(),
        "json-compact": json.dumps({"k": "v", "é": "ü"}, separators=(",", ":")).encode(),
    }


class _Recorder:
    """Takes the writes of an S3 put (the object, then its instruction file) into memory."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[dict[str, str], bytes]] = {}

    def head_object(self, **kwargs: Any) -> dict[str, Any]:
        from tests.fuzz.targets.s3_metadata import _missing

        raise _missing("HeadObject")

    def put_object(self, *, Key: str, Body: Any, Metadata: dict[str, str], **_: Any) -> dict:
        data = Body if isinstance(Body, bytes) else Body.read()
        self.objects[Key] = (Metadata, data)
        return {"ETag": '"e"'}


def _s3_objects() -> dict[str, bytes]:
    aes, rsa, kms = fixtures.raw_aes(), fixtures.raw_rsa(), fixtures.kms_key()
    out = {}
    for fmt in ("v3", "v2"):
        for name, key in (("aes", aes), ("rsa", rsa), ("kms", kms)):
            for instruction in (False, True):
                s3 = _Recorder()
                client = EncryptedS3Client(s3, keys=key, format=fmt, instruction_file=instruction)
                context = fixtures.CONTEXT if name == "kms" else None
                client.put_object(Bucket=BUCKET, Key=KEY, Body=b"fuzz the S3 formats",
                                  EncryptionContext=context)  # fmt: skip
                metadata, body = s3.objects[KEY]
                lines = "".join(f"{k}: {v}\n" for k, v in metadata.items()).encode()
                file = s3.objects.get(KEY + ".instruction", ({}, b""))[1]
                flags = (1 if instruction else 0) | (4 if context else 0)
                where = "file" if instruction else "headers"
                out[f"{fmt}-{name}-{where}"] = join_fields(bytes([flags]), lines, file, body)
    return out


def _kms_requests() -> dict[str, bytes]:
    key, alias = fixtures.KEY_ID, "alias/fuzz"
    blob = fixtures.kms().encrypt(key_id=key, plaintext=b"z").ciphertext_blob
    import base64

    b64 = base64.b64encode(blob).decode()
    requests: dict[str, dict[str, Any]] = {
        "CreateKey": {"Description": "fuzz", "KeyUsage": "ENCRYPT_DECRYPT"},
        "CreateAlias": {"AliasName": alias, "TargetKeyId": key},
        "DescribeKey": {"KeyId": key},
        "ListKeys": {"Limit": 5},
        "ListAliases": {"KeyId": key},
        "Encrypt": {"KeyId": key, "Plaintext": "aGVsbG8=", "EncryptionContext": {"a": "b"}},
        "Decrypt": {"CiphertextBlob": b64},
        "ReEncrypt": {"CiphertextBlob": b64, "DestinationKeyId": key},
        "GenerateDataKey": {"KeyId": key, "KeySpec": "AES_256", "GrantTokens": ["t"]},
        "GenerateDataKeyWithoutPlaintext": {"KeyId": key, "NumberOfBytes": 16},
        "GenerateRandom": {"NumberOfBytes": 32},
        "RotateKeyOnDemand": {"KeyId": key},
        "ListKeyRotations": {"KeyId": key},
        "GetKeyRotationStatus": {"KeyId": key},
        "EnableKeyRotation": {"KeyId": key, "RotationPeriodInDays": 90},
        "DisableKey": {"KeyId": "alias/none"},
        "ScheduleKeyDeletion": {"KeyId": "alias/none", "PendingWindowInDays": 7},
        "GenerateDataKeyPair": {"KeyId": key, "KeyPairSpec": "ECC_NIST_P256"},
        "GetPublicKey": {"KeyId": key},
        "Sign": {"KeyId": key, "Message": "aGk=", "SigningAlgorithm": "ECDSA_SHA_256"},
        "GenerateMac": {"KeyId": key, "Message": "aGk=", "MacAlgorithm": "HMAC_SHA_256"},
        "GetParametersForImport": {"KeyId": key, "WrappingAlgorithm": "RSAES_OAEP_SHA_256",
                                   "WrappingKeySpec": "RSA_2048"},
        "TagResource": {"KeyId": key, "Tags": [{"TagKey": "a", "TagValue": "b"}]},
    }
    out = {op: f"{op}\n".encode() + json.dumps(body).encode() for op, body in requests.items()}
    out["empty-body"] = b"ListKeys\n"
    return out


def _sigv4() -> dict[str, bytes]:
    body = json.dumps({"KeyId": fixtures.KEY_ID, "KeySpec": "AES_256"}).encode()
    out = {}
    for name, query in (("header", False), ("query", True)):
        q, headers = signing.sign("GenerateDataKey", body, now=signing.FIXED_NOW, query=query)
        out[name] = render_request(q, headers, body)
    q, headers = signing.sign("ListKeys", b"", now=signing.FIXED_NOW)
    out["empty-body"] = render_request(q, headers, b"")
    q, headers = signing.sign("ListKeys", b"{}", now=signing.FIXED_NOW)
    headers.append(("X-Amz-Content-SHA256", hashlib.sha256(b"{}").hexdigest()))
    out["content-sha256"] = render_request(q, headers, b"{}")
    return out


def _policies() -> dict[str, bytes]:
    arn = f"arn:aws:iam::{fixtures.ACCOUNT}:user/app"
    statement = {
        "Sid": "app",
        "Effect": "Allow",
        "Principal": {"AWS": [arn]},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {
            "StringEquals": {"kms:EncryptionContext:team": "security"},
            "IpAddress": {"aws:SourceIp": "127.0.0.0/8"},
        },
    }
    deny = {"Effect": "Deny", "Principal": "*", "NotAction": "kms:Describe*", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}  # fmt: skip
    return {
        "default": default_policy(fixtures.ACCOUNT).encode(),
        "conditions": json.dumps({"Version": "2012-10-17", "Statement": [statement]}).encode(),
        "deny": json.dumps({"Version": "2012-10-17", "Statement": [statement, deny]}).encode(),
        "single-statement": json.dumps({"Statement": deny}).encode(),
    }


def _policy_requests() -> dict[str, bytes]:
    user = f"arn:aws:iam::{fixtures.ACCOUNT}:user/app"
    role = f"arn:aws:iam::{fixtures.ACCOUNT}:role/reader"
    session = f"arn:aws:sts::{fixtures.ACCOUNT}:assumed-role/reader/s1"
    policies = {name: data.decode() for name, data in _policies().items()}
    statements = [
        {"Sid": "vars", "Effect": "Allow", "Principal": {"AWS": role},
         "Action": "kms:Decrypt", "Resource": "arn:aws:kms:*:*:key/*",
         "Condition": {"StringLike": {"kms:EncryptionContext:owner": "${aws:username}-*"},
                       "ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": ["a", "b"]},
                       "ArnLike": {"aws:PrincipalArn": "arn:aws:sts::*:assumed-role/*"}}},
        {"Sid": "not", "Effect": "Deny", "NotPrincipal": {"AWS": [user]},
         "Action": "kms:*", "NotResource": "arn:aws:kms:eu-*:*:key/*",
         "Condition": {"StringNotEqualsIgnoreCase": {"aws:ResourceTag/team": "Security"},
                       "Null": {"kms:GranteePrincipal": "false"},
                       "StringEqualsIfExists": {"kms:RequestAlias": "alias/fuzz"},
                       "ForAllValues:StringLike": {"kms:ResourceAliases": "alias/*"},
                       "NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "::1/128"]}}},
    ]  # fmt: skip
    policies["variables"] = json.dumps({"Version": "2012-10-17", "Statement": statements})
    subset = json.dumps({"EncryptionContextSubset": {"team": "security"}}).encode()
    equals = json.dumps({"EncryptionContextEquals": {"owner": "app-1", "a": "x"}}).encode()
    context = json.dumps({"team": "security", "owner": "app-1", "a": "x"}).encode()
    requests = {
        "user-decrypt": (user, b"kms:Decrypt", context, b"127.0.0.1", subset),
        "session-decrypt": (session, b"kms:Decrypt", context, b"10.1.2.3", equals),
        "role-encrypt": (role, b"kms:Encrypt", b"{}", b"::1", b""),
        "root-any": (f"arn:aws:iam::{fixtures.ACCOUNT}:root", b"\x10", b"", b"", subset),
    }
    return {
        f"{policy}-{request}": join_fields(text.encode(), principal.encode(), *rest)
        for policy, text in policies.items()
        for request, (principal, *rest) in requests.items()
    }


def main() -> None:
    messages = _messages()
    _write("message_header", messages)
    _write("message_decrypt", messages)
    _write("kms_blob", _blobs())
    _write("raw_keyring_info", _edks(messages))
    _write("encryption_context", _contexts())
    _write("s3_metadata", _s3_objects())
    _write("kms_request", _kms_requests())
    _write("sigv4_headers", _sigv4())
    _write("key_policy", _policies())
    _write("policy_evaluation", _policy_requests())
    for folder in sorted(CORPUS.iterdir()):
        print(f"{folder.name}: {len(list(folder.iterdir()))} entries")


if __name__ == "__main__":
    main()

