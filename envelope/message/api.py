"""encrypt / decrypt / encrypt_stream / decrypt_stream / inspect: AWS Encryption SDK messages.

Streaming rules: ``decrypt_stream`` writes a frame's plaintext only after that frame's tag has
verified, and it holds back the last non-empty frame until every remaining check (signature,
trailing bytes) has passed. For signed suites (0x0578 and the legacy signed suites) the ECDSA
signature covers the whole message and can only be checked at the end: earlier frames are already
written when a bad signature is found, and ``decrypt_stream`` then raises
``MessageAuthenticationError`` -- the caller must discard the output (the CLI does, writing to a
temporary file), or pass ``signed=False`` to refuse signed messages right after the header.
Unframed bodies (read only) are authenticated as one piece, so in stream mode they are buffered
in memory, and refused above ``MAX_STREAM_UNFRAMED`` bytes.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Mapping, Sequence
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from envelope.errors import (
    MessageError,
    MessageFormatError,
)
from envelope.message.body import (
    FrameEncryptor,
    decrypt_body,
    decrypt_body_into,
    decrypt_framed_in_memory,
    final_frame_size,
    only_frame,
    regular_frame_size,
    scan_plaintext_length,
)
from envelope.message.header import (
    DEFAULT_MAX_EDKS,
    FRAMED,
    MAX_FRAME_LENGTH,
    Header,
    header_auth,
    parse_header,
    serialize_v2_header,
)
from envelope.message.info import MessageInfo, message_info
from envelope.message.materials import (
    DataKeyCache,
    EncryptionMaterials,
    cache_key,
    check_context_for_encrypt,
    create_materials,
    derive_keys,
    signature_hash,
)
from envelope.message.opening import open_header, verify_signature
from envelope.message.reader import BytesReader, HashingReader, StreamReader, read_exactly
from envelope.message.suites import DEFAULT_SUITE, WRITABLE_SUITES, Suite, get_suite
from envelope.message.wrapping import WrappingKey

_IN_PLACE_THRESHOLD = 1024 * 1024
_HAS_INTO = hasattr(AESGCM, "encrypt_into") and hasattr(AESGCM, "decrypt_into")

MAX_STREAM_UNFRAMED = 64 * 1024 * 1024
"""Largest unframed body ``decrypt_stream`` buffers (it is authenticated only as a whole)."""

_EMPTY: Mapping[str, str] = {}


# --- Encrypt -------------------------------------------------------------------------------------


def _check_encrypt_args(suite: int, frame_length: int) -> Suite:
    if suite not in WRITABLE_SUITES:
        raise MessageError(f"suite 0x{suite:04x} cannot be written; use 0x0478 or 0x0578")
    if (
        isinstance(frame_length, bool)
        or not isinstance(frame_length, int)
        or not 0 < frame_length <= MAX_FRAME_LENGTH
    ):
        raise MessageError(f"frame length must be between 1 and {MAX_FRAME_LENGTH}")
    return get_suite(suite)


def _materials(
    suite: Suite,
    keys: Sequence[WrappingKey],
    context: Mapping[str, str] | None,
    cache: DataKeyCache | None,
    plaintext_length: int | None,
) -> EncryptionMaterials:
    ctx = dict(context) if context else {}
    check_context_for_encrypt(ctx)
    if cache is None:
        return create_materials(suite, keys, ctx)
    materials: EncryptionMaterials = cache.get_encryption_materials(
        cache_key(suite, keys, ctx), plaintext_length, lambda: create_materials(suite, keys, ctx)
    )
    return materials


def _start(
    materials: EncryptionMaterials, message_id: bytes, frame_length: int
) -> tuple[bytes, AESGCM, bytes]:
    """Derive the keys and write the header; returns (header bytes + auth, AES-GCM, commit key)."""
    suite = materials.suite
    content_key, commit_key = derive_keys(suite, materials.data_key, message_id)
    header_bytes = serialize_v2_header(
        suite,
        message_id,
        materials.encryption_context,
        materials.encrypted_data_keys,
        FRAMED,
        frame_length,
        commit_key,
    )
    aesgcm = AESGCM(content_key)
    return header_bytes + header_auth(header_bytes, aesgcm, 2), aesgcm, commit_key


def _footer(signing_key: ec.EllipticCurvePrivateKey, hasher: hashes.Hash, suite: Suite) -> bytes:
    signature = signing_key.sign(hasher.finalize(), ec.ECDSA(Prehashed(signature_hash(suite))))
    return len(signature).to_bytes(2, "big") + signature


def _encrypt_message(
    plaintext: bytes | bytearray | memoryview,
    materials: EncryptionMaterials,
    *,
    message_id: bytes,
    frame_length: int,
) -> bytes:
    """Write one message with given materials and message id (deterministic apart from signing).

    The private seam for vector-style tests: frame IVs are the ESDK's deterministic sequence IVs.
    """
    head, aesgcm, _ = _start(materials, message_id, frame_length)
    view = memoryview(plaintext).cast("B")
    full, rest = divmod(len(view), frame_length)
    if not full and materials.signing_key is None:
        return head + only_frame(aesgcm, message_id, view)  # shorter than one frame
    frames = FrameEncryptor(aesgcm, message_id, frame_length)
    if len(view) >= _IN_PLACE_THRESHOLD and _HAS_INTO:
        return _encrypt_in_place(view, head, frames, full, rest, frame_length, materials)
    parts = [head]
    regular = frames.regular
    append = parts.append
    offset = 0
    for _ in range(full):
        h, c = regular(view[offset : offset + frame_length])
        append(h)
        append(c)
        offset += frame_length
    h, c = frames.final(view[offset:])
    append(h)
    append(c)
    if materials.signing_key is not None:
        hasher = hashes.Hash(signature_hash(materials.suite))
        for part in parts:
            hasher.update(part)
        append(_footer(materials.signing_key, hasher, materials.suite))
    return b"".join(parts)


def _encrypt_in_place(
    view: memoryview,
    head: bytes,
    frames: FrameEncryptor,
    full: int,
    rest: int,
    frame_length: int,
    materials: EncryptionMaterials,
) -> bytes:
    """Large messages: encrypt every frame straight into one output buffer.

    The buffer is a BytesIO's own bytes object: ``getvalue()`` then hands it out without a copy
    (CPython), so a 64 MiB message costs one allocation instead of a list of frames plus a join.
    """
    body_end = len(head) + full * regular_frame_size(frame_length) + final_frame_size(rest)
    buffer = io.BytesIO(bytes(body_end))
    with buffer.getbuffer() as out:
        out[: len(head)] = head
        pos = len(head)
        offset = 0
        regular_into = frames.regular_into
        for _ in range(full):
            pos = regular_into(view[offset : offset + frame_length], out, pos)
            offset += frame_length
        pos = frames.final_into(view[offset:], out, pos)
        footer = b""
        if materials.signing_key is not None:
            hasher = hashes.Hash(signature_hash(materials.suite))
            hasher.update(out)
            footer = _footer(materials.signing_key, hasher, materials.suite)
    if footer:
        buffer.seek(0, io.SEEK_END)
        buffer.write(footer)
    return buffer.getvalue()


def encrypt(
    plaintext: bytes,
    *,
    keys: Sequence[WrappingKey],
    encryption_context: Mapping[str, str] | None = None,
    suite: int = DEFAULT_SUITE,
    frame_length: int = 65536,
    cache: DataKeyCache | None = None,
) -> bytes:
    """Encrypt bytes into an AWS Encryption SDK message (format version 2).

    Args:
        plaintext: The data.
        keys: Wrapping keys; the first generates the data key, each adds one EDK (at most 10).
        encryption_context: Non-secret pairs bound to the message (``aws-crypto-`` is reserved).
        suite: 0x0478 (default, key-committing) or 0x0578 (also ECDSA P-384 signed).
        frame_length: Plaintext bytes per frame.
        cache: Optional data-key cache shared across messages.

    Returns:
        The message.

    Raises:
        MessageError: Bad suite, frame length, context or key count (a subclass says which);
            key service errors pass through.
    """
    s = _check_encrypt_args(suite, frame_length)
    materials = _materials(s, keys, encryption_context, cache, len(plaintext))
    return _encrypt_message(
        plaintext, materials, message_id=os.urandom(32), frame_length=frame_length
    )


def encrypt_stream(
    source: BinaryIO,
    destination: BinaryIO,
    *,
    keys: Sequence[WrappingKey],
    encryption_context: Mapping[str, str] | None = None,
    suite: int = DEFAULT_SUITE,
    frame_length: int = 65536,
    cache: DataKeyCache | None = None,
    progress: Callable[[int], None] | None = None,
) -> MessageInfo:
    """Encrypt a binary stream into a message, one frame in memory at a time.

    Args:
        source: Readable binary file object.
        destination: Writable binary file object.
        keys: As for :func:`encrypt`.
        encryption_context: As for :func:`encrypt`.
        suite: As for :func:`encrypt`.
        frame_length: As for :func:`encrypt`.
        cache: As for :func:`encrypt` (a stream's length is unknown, so the cache is bypassed).
        progress: Called with the plaintext bytes processed so far.

    Returns:
        The message's header facts.

    Raises:
        MessageError: As for :func:`encrypt`; also when ``source.read`` returns None (a
            non-blocking source with no data ready is not at its end).
    """
    s = _check_encrypt_args(suite, frame_length)
    materials = _materials(s, keys, encryption_context, cache, None)
    message_id = os.urandom(32)
    head, aesgcm, commit_key = _start(materials, message_id, frame_length)
    header = Header(
        version=2,
        suite=s,
        message_id=message_id,
        encryption_context=materials.encryption_context,
        encrypted_data_keys=materials.encrypted_data_keys,
        content_type=FRAMED,
        frame_length=frame_length,
        suite_data=commit_key,
    )
    hasher = hashes.Hash(signature_hash(s)) if materials.signing_key is not None else None
    write = destination.write

    def emit(*parts: bytes) -> None:
        for part in parts:
            if hasher is not None:
                hasher.update(part)
            write(part)

    emit(head)
    frames = FrameEncryptor(aesgcm, message_id, frame_length)
    done = 0
    while True:
        chunk = read_exactly(source, frame_length)
        done += len(chunk)
        if len(chunk) == frame_length:
            emit(*frames.regular(chunk))
        else:
            emit(*frames.final(chunk))
            if progress is not None:
                progress(done)
            break
        if progress is not None:
            progress(done)
    if materials.signing_key is not None and hasher is not None:
        write(_footer(materials.signing_key, hasher, s))
    return message_info(header)


# --- Decrypt -------------------------------------------------------------------------------------


def decrypt(
    message: bytes,
    *,
    keys: Sequence[WrappingKey],
    encryption_context: Mapping[str, str] | None = None,
    allow_legacy: bool = False,
    max_encrypted_data_keys: int = DEFAULT_MAX_EDKS,
    signed: bool = True,
) -> bytes:
    """Decrypt a whole message held in memory; nothing is returned unless everything verified.

    Args:
        message: The message (ESDK format version 1 or 2).
        keys: Keys to try on the message's EDKs; EDKs of other providers are skipped.
        encryption_context: Pairs that must all be in the message's context.
        allow_legacy: Also read the non-committing suites 0x0014-0x0378.
        max_encrypted_data_keys: Refuse messages with more EDKs than this, as soon as the EDK
            count is read (65535 lifts the cap: it is the format's own limit).
        signed: Accept signed suites (the default). ``False`` refuses a signed message right
            after its header is read, before any key is asked.

    Returns:
        The plaintext.

    Raises:
        MessageFormatError: Malformed, truncated, or followed by trailing bytes.
        MessageAuthenticationError: Commitment, header tag, frame tag or signature failed.
        LegacySuiteError: Non-committing suite without ``allow_legacy``.
        EncryptionContextMismatchError: A required pair is missing or different.
        NoMatchingKeyError: No key unwraps any EDK.
        TooManyEncryptedDataKeysError: More EDKs than allowed.
        SignedMessageError: A signed suite with ``signed=False``.
    """
    if not isinstance(message, (bytes, bytearray, memoryview)):
        raise MessageFormatError("message must be bytes")
    reader = BytesReader(message)
    header, aesgcm, _, _, verifier = open_header(
        reader, keys, encryption_context, allow_legacy, max_encrypted_data_keys, signed
    )
    result: bytes
    expected = None
    if reader.remaining() >= _IN_PLACE_THRESHOLD and _HAS_INTO:
        expected = scan_plaintext_length(reader.data, reader.offset, header)
    if expected:
        # Large: decrypt every frame straight into one buffer of the exact plaintext length.
        buffer = io.BytesIO(bytes(expected))
        with buffer.getbuffer() as out:
            if decrypt_body_into(reader, aesgcm, header, out) != expected:
                raise MessageFormatError("body length check failed")
        result = buffer.getvalue()
    elif header.content_type == FRAMED:
        result = decrypt_framed_in_memory(reader, aesgcm, header)
    else:
        result = b"".join(decrypt_body(reader, aesgcm, header))
    if header.suite.signed:
        body_end = reader.offset
        length = int.from_bytes(reader.read(2, "signature length"), "big")
        signature = bytes(reader.read(length, "signature"))
        hasher = hashes.Hash(signature_hash(header.suite))
        hasher.update(memoryview(message)[:body_end])
        verify_signature(header, verifier, hasher.finalize(), signature)
    if not reader.at_end():
        raise MessageFormatError(
            f"trailing bytes check failed: {reader.remaining()} bytes after the message"
        )
    return result


def decrypt_stream(
    source: BinaryIO,
    destination: BinaryIO,
    *,
    keys: Sequence[WrappingKey],
    encryption_context: Mapping[str, str] | None = None,
    allow_legacy: bool = False,
    max_encrypted_data_keys: int = DEFAULT_MAX_EDKS,
    signed: bool = True,
    progress: Callable[[int], None] | None = None,
) -> MessageInfo:
    """Decrypt a message from a stream, one frame in memory at a time.

    Each frame's plaintext is written only after its tag verified; the last non-empty frame is
    written only after the signature (signed suites) and the no-trailing-bytes check passed. A
    signed message whose signature fails raises at the end, after earlier frames were written:
    discard the output, or pass ``signed=False`` to refuse signed messages before any output.

    Args:
        source: Readable binary file object positioned at the message.
        destination: Writable binary file object.
        keys: As for :func:`decrypt`.
        encryption_context: As for :func:`decrypt`.
        allow_legacy: As for :func:`decrypt`.
        max_encrypted_data_keys: As for :func:`decrypt`.
        signed: As for :func:`decrypt`.
        progress: Called with the plaintext bytes written so far.

    Returns:
        The message's header facts.

    Raises:
        The errors of :func:`decrypt`; unframed bodies over ``MAX_STREAM_UNFRAMED`` bytes are a
        MessageFormatError.
    """
    stream = StreamReader(source)
    header, aesgcm, header_bytes, auth, verifier = open_header(
        stream, keys, encryption_context, allow_legacy, max_encrypted_data_keys, signed
    )
    hasher: hashes.Hash | None = None
    reader: StreamReader | HashingReader = stream
    if header.suite.signed:
        hasher = hashes.Hash(signature_hash(header.suite))
        hasher.update(header_bytes)
        hasher.update(auth)
        reader = HashingReader(stream, hasher)
    write = destination.write
    done = 0
    # decrypt.md, "Decrypt the message body": the final frame's plaintext "MUST NOT be released
    # until signature verification successfully completes". When the plaintext is a multiple of
    # the frame length the final frame is empty, so the last non-empty frame is held back.
    pending = b""
    for plaintext in decrypt_body(reader, aesgcm, header, max_unframed=MAX_STREAM_UNFRAMED):
        if not plaintext:
            continue
        if pending:
            write(pending)
            done += len(pending)
            if progress is not None:
                progress(done)
        pending = plaintext
    if hasher is not None:
        length = int.from_bytes(stream.read(2, "signature length"), "big")
        signature = stream.read(length, "signature")
        verify_signature(header, verifier, hasher.finalize(), signature)
    if not stream.at_end():
        raise MessageFormatError("trailing bytes check failed: bytes after the message")
    if pending:
        write(pending)
        done += len(pending)
    if progress is not None:
        progress(done)
    return message_info(header)


def inspect(
    message: bytes | bytearray | memoryview | BinaryIO,
    *,
    keys: Sequence[WrappingKey] | None = None,
    encryption_context: Mapping[str, str] | None = None,
    max_encrypted_data_keys: int = DEFAULT_MAX_EDKS,
) -> MessageInfo:
    """Read a message's header; nothing secret is returned, and only the header is read.

    Without ``keys`` no key is asked and the header is not authenticated: treat what it says as
    a claim. With ``keys`` the data key is unwrapped and the key commitment and header tag are
    checked first (decrypt.md, "Verify the header"), and the result says ``verified=True``.

    Args:
        message: The message bytes, or a binary stream positioned at it.
        keys: Keys to authenticate the header with (as for :func:`decrypt`).
        encryption_context: With ``keys``: pairs that must be in the message's context.
        max_encrypted_data_keys: Refuse headers with more EDKs than this, as :func:`decrypt` does
            (65535 lifts the cap).

    Returns:
        The header facts.

    Raises:
        MessageFormatError: The header is malformed or truncated.
        TooManyEncryptedDataKeysError: More EDKs than allowed.
        MessageError: With ``keys``, the errors of :func:`decrypt` about the header.
    """
    reader: BytesReader | StreamReader
    if isinstance(message, (bytes, bytearray, memoryview)):
        reader = BytesReader(message)
    else:
        reader = StreamReader(message)
    if keys is None:
        header, _, _ = parse_header(reader, max_encrypted_data_keys=max_encrypted_data_keys)
        return message_info(header)
    # Describing is not releasing plaintext: legacy suites' headers are checked too.
    header = open_header(reader, keys, encryption_context, True, max_encrypted_data_keys, True)[0]
    return message_info(header, verified=True)
