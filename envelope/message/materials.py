"""Encryption materials (data key, EDKs, context, signing key) and per-message key derivation."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

from envelope.errors import (
    EncryptionContextMismatchError,
    KeyServiceError,
    KeyServiceUnavailableError,
    MessageAuthenticationError,
    MessageFormatError,
    NoMatchingKeyError,
    TooManyEncryptedDataKeysError,
)
from envelope.message.header import (
    DEFAULT_MAX_EDKS,
    PUBLIC_KEY_FIELD,
    RESERVED_PREFIX,
    EncryptedDataKey,
    serialize_context,
)
from envelope.message.suites import Suite
from envelope.message.wrapping import WrappingKey

_CURVES: dict[str, Any] = {"secp256r1": ec.SECP256R1, "secp384r1": ec.SECP384R1}
_SHA512 = hashes.SHA512()
_HASHES: dict[str, Any] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class DataKeyCache(Protocol):
    """What encrypt needs from a data-key cache (implemented by ``envelope.message.cache``)."""

    def get_encryption_materials(
        self, cache_key: bytes, plaintext_length: int | None, create: Any
    ) -> Any:
        """Return cached materials for ``cache_key`` or ``create()`` them (and maybe cache them)."""
        ...


@dataclass(frozen=True)
class EncryptionMaterials:
    """Everything needed to write messages under one data key. Never printed with its secrets."""

    suite: Suite
    data_key: bytes = field(repr=False)
    encrypted_data_keys: tuple[EncryptedDataKey, ...]
    encryption_context: Mapping[str, str]
    """The message's full context, including ``aws-crypto-public-key`` for signed suites."""
    signing_key: ec.EllipticCurvePrivateKey | None = field(default=None, repr=False)


def check_context_for_encrypt(context: Mapping[str, str]) -> None:
    """Refuse reserved ``aws-crypto-`` keys, non-string pairs and text with no UTF-8 form.

    Raises:
        EncryptionContextMismatchError: A key uses the reserved prefix, or a key or value is not
            a string or has a lone surrogate (the message names the key).
    """
    for key, value in context.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise EncryptionContextMismatchError(
                "encryption context keys and values must be strings"
            )
        # structures.md, "Encryption Context": "arbitrary, non-secret, UTF-8 encoded strings";
        # a lone surrogate has no UTF-8 form.
        for what, text in (("key", key), ("value of key", value)):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise EncryptionContextMismatchError(
                    f"encryption context check failed: the {what} {key!r} is not valid UTF-8 "
                    "(it has a lone surrogate)"
                ) from None
        if key.startswith(RESERVED_PREFIX):
            raise EncryptionContextMismatchError(
                f"encryption context check failed: key {key!r} uses the reserved prefix "
                f"{RESERVED_PREFIX!r}"
            )


def create_materials(
    suite: Suite, keys: Sequence[WrappingKey], context: Mapping[str, str]
) -> EncryptionMaterials:
    """Generate a data key with the first key and wrap it with the others.

    Args:
        suite: The suite to write.
        keys: One or more wrapping keys (at most the EDK cap).
        context: The caller's encryption context (already checked).

    Returns:
        Fresh materials; for signed suites with a new ECDSA key whose public half is in the context.

    Raises:
        MessageError: No keys or too many keys; errors of the key service pass through.
    """
    if not keys:
        raise NoMatchingKeyError("encrypt needs at least one wrapping key")
    if len(keys) > DEFAULT_MAX_EDKS:
        raise TooManyEncryptedDataKeysError(
            f"encrypted data key count check failed: {len(keys)} keys, "
            f"the limit is {DEFAULT_MAX_EDKS}"
        )
    full = dict(context)
    signing_key = None
    if suite.signing_curve is not None:
        signing_key = ec.generate_private_key(_CURVES[suite.signing_curve]())
        point = signing_key.public_key().public_bytes(
            encoding=_serialization().Encoding.X962,
            format=_serialization().PublicFormat.CompressedPoint,
        )
        full[PUBLIC_KEY_FIELD] = base64.b64encode(point).decode("ascii")
    data_key, first = keys[0].generate_data_key(suite.key_length, full)
    edks = (first,) if len(keys) == 1 else (first, *(k.wrap(data_key, full) for k in keys[1:]))
    # EncryptionMaterials(...) filled the way header.new_edk fills EDKs: the same frozen object
    # without five object.__setattr__ calls (about 1 µs of a 1 KiB message's ~15).
    materials = object.__new__(EncryptionMaterials)
    materials.__dict__.update(
        suite=suite,
        data_key=data_key,
        encrypted_data_keys=edks,
        encryption_context=full,
        signing_key=signing_key,
    )
    return materials


def _serialization() -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization


def cache_key(suite: Suite, keys: Sequence[WrappingKey], context: Mapping[str, str]) -> bytes:
    """The data-key cache key: SHA-512 over suite id, key identities and the canonical context."""
    h = hashes.Hash(hashes.SHA512())
    h.update(suite.id_bytes)
    for k in keys:
        ident = k.identity.encode("utf-8")
        h.update(len(ident).to_bytes(4, "big") + ident)
    h.update(b"\xff" + serialize_context(context))
    return h.finalize()


def derive_keys(suite: Suite, data_key: bytes, message_id: bytes) -> tuple[bytes, bytes]:
    """Derive the content key (and, for committing suites, the commitment key) of one message.

    Args:
        suite: The message's suite.
        data_key: The plaintext data key.
        message_id: The header's message id.

    Returns:
        ``(content_key, commitment_key)``; commitment_key is ``b""`` for non-committing suites.
    """
    if suite.committing:
        # ESDK spec, framework/algorithm-suites.md (key derivation, key commitment): HKDF-SHA512
        # with salt = message id; info = suite id || "DERIVEKEY" and "COMMITKEY". One extract
        # serves both expands (same input key and salt), all through cryptography's HKDF.
        prk = HKDF.extract(_SHA512, message_id, data_key)
        content = HKDFExpand(_SHA512, 32, suite.id_bytes + b"DERIVEKEY").derive(prk)
        return content, HKDFExpand(_SHA512, 32, b"COMMITKEY").derive(prk)
    if suite.kdf_hash is None:
        return data_key, b""
    hkdf = HKDF(
        algorithm=_HASHES[suite.kdf_hash](),
        length=suite.key_length,
        salt=None,
        info=suite.id_bytes + message_id,
    )
    return hkdf.derive(data_key), b""


def unwrap_data_key(
    suite: Suite,
    edks: Sequence[EncryptedDataKey],
    keys: Sequence[WrappingKey],
    context: Mapping[str, str],
) -> bytes:
    """Find a key that unwraps one of the EDKs; EDKs of unknown providers are skipped.

    Raises:
        NoMatchingKeyError: No key unwrapped any EDK (or unwrapped one of the wrong length).
    """
    refusals: list[str] = []
    for edk in edks:
        for key in keys:
            try:
                data_key = key.unwrap(edk, context)
            except KeyServiceUnavailableError:
                raise
            except KeyServiceError as e:
                # Try the other EDKs; if none unwraps, say what the key service answered.
                refusals.append(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)
                continue
            if data_key is not None and len(data_key) == suite.key_length:
                return data_key
    providers = sorted({e.provider_id for e in edks})
    detail = f"; the key service answered {'; '.join(refusals)}" if refusals else ""
    raise NoMatchingKeyError(
        f"key check failed: none of the {len(keys)} given key(s) unwraps any of the message's "
        f"{len(edks)} encrypted data key(s) (providers: {', '.join(providers)}){detail}"
    )


def check_commitment(expected: bytes, actual: bytes) -> None:
    """Compare the header's commitment key with the derived one in constant time.

    Raises:
        MessageAuthenticationError: They differ.
    """
    # Imported here: constant_time loads the standard hmac module and OpenSSL's hashlib (about
    # 5 ms), which encrypting never needs (CLI start-up is a benchmark figure).
    from cryptography.hazmat.primitives import constant_time

    if not constant_time.bytes_eq(expected, actual):
        raise MessageAuthenticationError("key commitment check failed")


def load_verifier(suite: Suite, context: Mapping[str, str]) -> ec.EllipticCurvePublicKey:
    """Load the ECDSA public key of a signed message from its encryption context.

    Raises:
        MessageFormatError: The key is missing or malformed.
    """
    encoded = context.get(PUBLIC_KEY_FIELD)
    if encoded is None:
        raise MessageFormatError(
            f"header check failed: signed message has no {PUBLIC_KEY_FIELD} in its context"
        )
    try:
        point = base64.b64decode(encoded, validate=True)
        return ec.EllipticCurvePublicKey.from_encoded_point(
            _CURVES[suite.signing_curve or ""](), point
        )
    except ValueError:
        raise MessageFormatError(
            f"header check failed: signed message has a malformed {PUBLIC_KEY_FIELD}"
        ) from None


def signature_hash(suite: Suite) -> hashes.HashAlgorithm:
    """The hash of the footer signature: SHA-256 for P-256, SHA-384 for P-384."""
    return hashes.SHA256() if suite.signing_curve == "secp256r1" else hashes.SHA384()
