"""The local KMS ciphertext blob (``envelope/keys/blob.py``) and LocalKeyService's Decrypt and
ReEncrypt of it.

Input: one byte choosing the encryption context, then the blob. Properties: ``blob.parse`` gives
a blob whose fields add up to the input, or ``InvalidCiphertextException``; Decrypt and ReEncrypt
give plaintext or a ``KeyServiceError``; a blob that decrypts names the fixed key and re-encrypts
to a blob that decrypts to the same plaintext.
"""

from __future__ import annotations

import uuid

from envelope.errors import KeyServiceError
from envelope.keys import blob
from tests.fuzz import fixtures
from tests.fuzz.harness import Target, expect

_CONTEXTS = (None, fixtures.CONTEXT, {"purpose": "other"}, {})


def run(data: bytes) -> None:
    if not data:
        return
    context = _CONTEXTS[data[0] % len(_CONTEXTS)]
    raw = data[1:]
    try:
        parsed = blob.parse(raw)
    except KeyServiceError:
        parsed = None
    if parsed is not None:
        expect(str(uuid.UUID(parsed.key_id)) == parsed.key_id, "key id is not canonical")
        expect(
            len(parsed.aad_prefix) + len(parsed.nonce) + len(parsed.ciphertext) == len(raw),
            "blob fields do not add up to the blob",
        )
        expect(parsed.version >= 1, "blob version below 1")
    kms = fixtures.kms()
    plaintext = kms.decrypt(ciphertext_blob=raw, encryption_context=context).plaintext
    expect(parsed is not None, "a blob that blob.parse refused decrypted")
    expect(parsed is not None and parsed.key_id == fixtures.KEY_ID, "decrypted under another key")
    moved = kms.re_encrypt(
        ciphertext_blob=raw,
        source_encryption_context=context,
        destination_key_id=fixtures.KEY_ID,
        destination_encryption_context=context,
    ).ciphertext_blob
    again = kms.decrypt(ciphertext_blob=moved, encryption_context=context).plaintext
    expect(again == plaintext, "re-encrypted blob decrypts to other plaintext")


TARGET = Target(
    name="kms_blob",
    doc=__doc__ or "",
    run=run,
    allowed=(KeyServiceError,),
    setup=lambda: (fixtures.kms(), None)[1],
)
