"""What a request may ask of an S3 object: its encryption context, its format, its parameters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from envelope.errors import (
    S3EncryptionContextError,
    S3EncryptionError,
    S3LegacyFormatError,
    S3MetadataError,
)
from envelope.s3 import metadata as md
from envelope.s3.content import require_cipher
from envelope.s3.keyrings import S3Keyring

# Request parameters that describe the body's bytes: they would describe the plaintext.
_BODY_PARAMS = (
    "ContentLength",
    "ContentMD5",
    "ChecksumCRC32",
    "ChecksumCRC32C",
    "ChecksumSHA1",
    "ChecksumSHA256",
    "ChecksumCRC64NVME",
)
_SUPPORTED_WRAPPING = (md.WRAP_KMS_CONTEXT, md.WRAP_KMS_V1, md.WRAP_AES_GCM, md.WRAP_RSA_OAEP_SHA1)


def check_format(meta: md.ContentMetadata, *, allow_legacy: bool, require_commitment: bool) -> None:
    """Refuse a content cipher or wrapping algorithm the reader did not opt into.

    Raises:
        S3LegacyFormatError: AES-CBC or ``kms`` wrapping without ``allow_legacy``; an unsupported
            wrapping algorithm; V2 when ``require_commitment``.
    """
    require_cipher(meta, allow_cbc=allow_legacy)
    if meta.wrap_alg == md.WRAP_KMS_V1 and not allow_legacy:
        raise S3LegacyFormatError(
            "object uses legacy 'kms' wrapping (the context is not checked); pass "
            "allow_unauthenticated_legacy=True to read it"
        )
    if meta.wrap_alg not in _SUPPORTED_WRAPPING:
        raise S3LegacyFormatError(f"wrapping algorithm {meta.wrap_alg!r} is not supported")
    if require_commitment and meta.content_cipher != md.CIPHER_V3:
        raise S3LegacyFormatError(
            f"object is format V{meta.version} without key commitment and this client "
            "requires it (require_key_commitment=True)"
        )


def refuse_body_params(params: Mapping[str, Any]) -> None:
    given = [name for name in _BODY_PARAMS if name in params]
    if given:
        raise S3EncryptionError(
            f"{', '.join(given)} would describe the plaintext; envelope sends the ciphertext"
        )


def request_context(context: Mapping[str, str] | None, keyring: S3Keyring) -> dict[str, str]:
    request = dict(context or {})
    for k, v in request.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise S3EncryptionContextError("encryption context keys and values must be strings")
        try:
            (k + v).encode("utf-8")
        except UnicodeEncodeError:
            raise S3EncryptionContextError(
                f"encryption context entry {k!r} is not valid Unicode text"
            ) from None
    reserved = sorted(md.RESERVED_CONTEXT_KEYS & request.keys())
    if reserved:
        raise S3EncryptionContextError(f"encryption context keys {reserved} are reserved")
    if request and not keyring.binds_context:
        raise S3EncryptionContextError(
            f"{keyring!r} cannot bind an encryption context (the S3EC stores none for raw "
            "AES/RSA keys); use a KMS key, or no context"
        )
    return request


def check_context(meta: md.ContentMetadata, context: Mapping[str, str] | None) -> None:
    """s3-kms-keyring.md#kms-context: the stored context without the reserved keys must equal the
    request's; the stored content cipher must be the object's."""
    request = dict(context or {})
    reserved = sorted(md.RESERVED_CONTEXT_KEYS & request.keys())
    if reserved:
        raise S3EncryptionContextError(f"encryption context keys {reserved} are reserved")
    if meta.wrap_alg == md.WRAP_KMS_CONTEXT:
        stored = meta.context.get(md.CEK_ALG_CONTEXT_KEY)
        if stored != meta.content_cipher:
            # KMS authenticates the stored context, so this catches a V3 object relabelled V2.
            raise S3MetadataError(
                f"the stored encryption context names content cipher {stored!r} but the object "
                f"says {meta.content_cipher!r} (metadata tampered with?)"
            )
        own = {k: v for k, v in meta.context.items() if k not in md.RESERVED_CONTEXT_KEYS}
        if own != request:
            missing = sorted(own.keys() - request.keys())
            extra = sorted(request.keys() - own.keys())
            differ = sorted(k for k in own.keys() & request.keys() if own[k] != request[k])
            parts = [
                f"{label} {keys}"
                for label, keys in (
                    ("missing", missing),
                    ("not stored", extra),
                    ("different", differ),
                )
                if keys
            ]
            raise S3EncryptionContextError("encryption context check failed: " + "; ".join(parts))
    elif request:
        raise S3EncryptionContextError(
            f"the object's data key is wrapped with {meta.wrap_alg}, which binds no encryption "
            "context; give none"
        )
