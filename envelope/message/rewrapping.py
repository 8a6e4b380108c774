"""Rewrap: give an existing message new encrypted data keys, rewriting only its header.

After a key rotation, ``rewrap`` moves each ``aws-kms`` data key to the newest version of its key
through the key service's ReEncrypt; with ``to=...`` it replaces the data keys by ones wrapped
under other keys. The data key, message id and commitment key do not change, so the body (whose
AAD covers the message id, not the header bytes) is copied byte for byte; only the header
authentication tag is recomputed. Signed messages cannot be rewrapped this way: their signature
covers the header, and the signing key is not kept.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from envelope.errors import LegacySuiteError, MessageError
from envelope.files import atomic_write
from envelope.message.header import (
    DEFAULT_MAX_EDKS,
    EncryptedDataKey,
    check_required_context,
    header_auth,
    parse_header,
    serialize_header,
    verify_header_auth,
)
from envelope.message.info import MessageInfo, message_info
from envelope.message.materials import check_commitment, derive_keys, unwrap_data_key
from envelope.message.reader import StreamReader
from envelope.message.wrapping import WrappingKey

_COPY_CHUNK = 1024 * 1024


def rewrap(
    source: BinaryIO,
    destination: BinaryIO,
    *,
    keys: Sequence[WrappingKey],
    to: Sequence[WrappingKey] | None = None,
    encryption_context: Mapping[str, str] | None = None,
    allow_legacy: bool = False,
    max_encrypted_data_keys: int = DEFAULT_MAX_EDKS,
) -> MessageInfo:
    """Copy a message from ``source`` to ``destination`` with re-wrapped data keys.

    The header is authenticated (and its key commitment checked) before anything is written.
    The body is copied unchanged and is not decrypted: a damaged body stays damaged and fails
    when the message is decrypted.

    Args:
        source: The message, positioned at its start.
        destination: Receives the new header, then the unchanged body.
        keys: Keys that can unwrap the message's data key (needed to recompute the header tag).
        to: New wrapping keys. None keeps the current keys and moves each ``aws-kms`` EDK to the
            newest version of its key; raw-key EDKs, which have no versions, stay as they are.
        encryption_context: Pairs that must be in the message's context.
        allow_legacy: Also rewrap messages of the non-committing suites.
        max_encrypted_data_keys: Refuse messages (and results) with more EDKs than this.

    Returns:
        The new header's description.

    Raises:
        MessageError: A subclass naming the failed check; ``MessageError`` itself for a signed
            message. Nothing is written to ``destination`` then.
        KeyServiceError: The key service refused a ReEncrypt or a wrap.
    """
    reader = StreamReader(source)
    header, header_bytes, auth = parse_header(
        reader, max_encrypted_data_keys=max_encrypted_data_keys
    )
    suite = header.suite
    if suite.signed:
        raise MessageError(
            f"rewrap check failed: suite 0x{suite.id:04x} is signed and the signature covers the "
            "header; decrypt and encrypt the message again instead"
        )
    if not suite.committing and not allow_legacy:
        raise LegacySuiteError(
            f"suite check failed: 0x{suite.id:04x} ({suite.name}) has no key commitment; "
            "pass allow_legacy=True to rewrap it"
        )
    context = header.encryption_context
    check_required_context(context, encryption_context)
    data_key = unwrap_data_key(suite, header.encrypted_data_keys, keys, context)
    content_key, commit_key = derive_keys(suite, data_key, header.message_id)
    if suite.committing:
        check_commitment(header.suite_data, commit_key)
    aesgcm = AESGCM(content_key)
    verify_header_auth(header_bytes, auth, aesgcm, header.version)

    if to is None:
        edks = tuple(_to_newest(edk, keys, context) for edk in header.encrypted_data_keys)
    else:
        if not to:
            raise MessageError("rewrap check failed: no key to wrap the data key under")
        edks = tuple(key.wrap(data_key, context) for key in to)
    if len(edks) > max_encrypted_data_keys:
        raise MessageError(
            f"rewrap check failed: {len(edks)} encrypted data keys exceed the cap of "
            f"{max_encrypted_data_keys}"
        )
    new_header = dataclasses.replace(header, encrypted_data_keys=edks)
    new_bytes = serialize_header(new_header)
    destination.write(new_bytes)
    destination.write(header_auth(new_bytes, aesgcm, header.version))
    while chunk := source.read(_COPY_CHUNK):
        destination.write(chunk)
    return message_info(new_header)


def _to_newest(
    edk: EncryptedDataKey, keys: Sequence[WrappingKey], context: Mapping[str, str]
) -> EncryptedDataKey:
    for key in keys:
        reencrypt = getattr(key, "reencrypt", None)  # KmsKey, KmsDiscovery
        if reencrypt is not None:
            moved: EncryptedDataKey | None = reencrypt(edk, context)
            if moved is not None:
                return moved
    return edk


def rewrap_file(
    path: str | os.PathLike[str],
    *,
    keys: Sequence[WrappingKey],
    to: Sequence[WrappingKey] | None = None,
    encryption_context: Mapping[str, str] | None = None,
    allow_legacy: bool = False,
) -> MessageInfo:
    """Rewrap the message in ``path`` in place: a temporary file beside it replaces it on success.

    On any failure the original file is untouched and no temporary file is left.
    """
    with open(path, "rb") as src, atomic_write(path) as dst:
        return rewrap(
            src,
            dst,
            keys=keys,
            to=to,
            encryption_context=encryption_context,
            allow_legacy=allow_legacy,
        )
