"""Replacing an object stored with an instruction file in one write: its data key is reused.

An instruction-file object lives in two S3 objects, ``KEY`` and ``KEY.instruction``, and S3
writes one object at a time. A writer that replaced both with a fresh data key and stopped
between the two writes (SIGKILL, power loss) left the new object beside the old instruction
file, whose data key does not open it: neither the old nor the new object could be read again
(found by the fault campaign, tests/faults/test_s3_faults.py). When the existing instruction
file is a V3 ``kms+context`` one, wrapped by this client's key under the same encryption context,
the new object reuses its data key instead: the new object gets a fresh message id, so a fresh
derived content key and key commitment (data-format/content-metadata.md, V3 key derivation), and
the instruction file stays as it is. The replacement is then the object's one write: before it
S3 holds the old object, after it the new one, and the same instruction file opens both.

It is opt-in (``EncryptedS3Client(replace_in_one_write=True)``): reuse trusts the instruction
file, which anyone who may write to the bucket can replace. A principal allowed to write objects
and to generate data keys under the KMS key, but not to decrypt, could plant an instruction file
holding a data key it knows; a writer reusing it would encrypt the next version under that key.
Without reuse (the default, as in the official clients), every write gets a fresh data key and a
writer stopped between its two writes leaves an object that fails with a clear error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from envelope.errors import EnvelopeError
from envelope.s3 import metadata as md
from envelope.s3.content import new_content_key
from envelope.s3.keyrings import KmsKeyring, S3Keyring
from envelope.s3.results import Prepared

MAX_REUSED_FILE = md.MAX_INSTRUCTION_FILE


def reuse_data_key(
    s3: Any,
    keyring: S3Keyring,
    *,
    bucket: str,
    key: str,
    instruction_name: str,
    cipher: str,
    context: Mapping[str, str],
) -> Prepared | None:
    """The new object's content key and metadata under the existing instruction file's data key,
    or None when it cannot be reused (then the caller writes a fresh data key and a new file).

    Reused only for V3 content, a ``kms+context`` instruction file that this client's first key
    (``keyring``) unwraps, and the same encryption context; anything unreadable, another key,
    context or format, or a key service that refuses Decrypt gives None.

    Args:
        s3: The boto3 S3 client.
        keyring: The keyring that wraps new objects.
        bucket: The bucket.
        key: The object key being replaced.
        instruction_name: ``key`` + the instruction file suffix (known to be an instruction file).
        cipher: The new object's content cipher.
        context: The request's encryption context (already checked).
    """
    if cipher != md.CIPHER_V3 or not isinstance(keyring, KmsKeyring):
        return None
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
        response = s3.get_object(Bucket=bucket, Key=instruction_name)
        with response["Body"] as body:
            instruction = md.parse_instruction_file(body.read(MAX_REUSED_FILE + 1))
        meta = md.decode(head.get("Metadata") or {}, instruction)
    except (EnvelopeError, OSError):
        return None
    except Exception as e:  # botocore's ClientError: the object is gone, or not readable
        if not hasattr(e, "response"):
            raise
        return None
    wanted = {**context, md.CEK_ALG_CONTEXT_KEY: cipher}
    if (
        meta.version != 3
        or not meta.instruction_file
        or meta.wrap_alg != md.WRAP_KMS_CONTEXT
        or dict(meta.context) != wanted
    ):
        return None
    try:
        data_key = keyring.unwrap(meta)  # strict: KMS refuses another key's data key
    except EnvelopeError:
        return None
    if data_key is None:
        return None
    content_key, message_id, commitment = new_content_key(cipher, data_key)
    return Prepared(
        content_key,
        md.ContentMetadata(
            version=3,
            content_cipher=cipher,
            wrap_alg=meta.wrap_alg,
            encrypted_data_key=meta.encrypted_data_key,
            context=dict(meta.context),
            message_id=message_id,
            commitment=commitment,
            instruction_file=True,
        ),
    )
