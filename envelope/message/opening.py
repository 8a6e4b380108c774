"""Opening a message: parse the header, apply the caller's rules, unwrap, verify the header tag."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from envelope.errors import (
    LegacySuiteError,
    MessageAuthenticationError,
    MessageFormatError,
    SignedMessageError,
)
from envelope.message.header import (
    Header,
    check_required_context,
    parse_header,
    verify_header_auth,
)
from envelope.message.materials import (
    check_commitment,
    derive_keys,
    load_verifier,
    signature_hash,
    unwrap_data_key,
)
from envelope.message.reader import BytesReader, StreamReader
from envelope.message.wrapping import WrappingKey


def open_header(
    reader: BytesReader | StreamReader,
    keys: Sequence[WrappingKey],
    encryption_context: Mapping[str, str] | None,
    allow_legacy: bool,
    max_encrypted_data_keys: int,
    signed: bool,
) -> tuple[Header, AESGCM, bytes, bytes, ec.EllipticCurvePublicKey | None]:
    """Parse and authenticate a header (decrypt.md: "Parse the header", "Get the decryption
    materials", "Verify the header", in that order).

    Returns:
        ``(header, aesgcm, header_bytes, auth, verifier)``; the verifier for signed suites.

    Raises:
        MessageError: The subclass naming the failed check.
    """
    header, header_bytes, auth = parse_header(
        reader, max_encrypted_data_keys=max_encrypted_data_keys
    )
    suite = header.suite
    if suite.signed and not signed:
        # decrypt.md: the option "to fail immediately after parsing the header if a signed
        # algorithm suite is used", so no unsigned-yet plaintext is ever released.
        raise SignedMessageError(
            f"suite check failed: 0x{suite.id:04x} ({suite.name}) is signed and only unsigned "
            "messages are accepted (signed=False, --unsigned-only)"
        )
    if not suite.committing and not allow_legacy:
        raise LegacySuiteError(
            f"suite check failed: 0x{suite.id:04x} ({suite.name}) has no key commitment; "
            "pass allow_legacy=True (--allow-legacy) to read it"
        )
    check_required_context(header.encryption_context, encryption_context)
    # default-cmm.md: the verification key comes from the context before any decryption.
    verifier = load_verifier(suite, header.encryption_context) if suite.signed else None
    data_key = unwrap_data_key(suite, header.encrypted_data_keys, keys, header.encryption_context)
    content_key, commit_key = derive_keys(suite, data_key, header.message_id)
    if suite.committing:
        check_commitment(header.suite_data, commit_key)
    aesgcm = AESGCM(content_key)
    verify_header_auth(header_bytes, auth, aesgcm, header.version)
    return header, aesgcm, header_bytes, auth, verifier


def verify_signature(
    header: Header, verifier: ec.EllipticCurvePublicKey | None, digest: bytes, signature: bytes
) -> None:
    """Check the footer signature over ``digest`` (decrypt.md, "Verify the signature").

    Raises:
        MessageAuthenticationError: The signature does not verify.
    """
    from cryptography.exceptions import InvalidSignature

    if verifier is None:
        raise MessageFormatError("signature check failed: no verification key")
    try:
        verifier.verify(signature, digest, ec.ECDSA(Prehashed(signature_hash(header.suite))))
    except InvalidSignature:
        raise MessageAuthenticationError("signature check failed") from None
