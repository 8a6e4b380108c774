"""Message body: framed encryption, and framed/unframed decryption with per-frame authentication."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from envelope.errors import MessageAuthenticationError, MessageFormatError
from envelope.message.header import UNFRAMED, Header
from envelope.message.reader import BytesReader
from envelope.message.suites import IV_LENGTH, TAG_LENGTH

FRAME = b"AWSKMSEncryptionClient Frame"
FINAL_FRAME = b"AWSKMSEncryptionClient Final Frame"
SINGLE_BLOCK = b"AWSKMSEncryptionClient Single Block"
FINAL_MARKER = b"\xff\xff\xff\xff"
MAX_SEQUENCE = 0xFFFFFFFE
MAX_UNFRAMED_LENGTH = 2**36 - 32
_IV_PAD = bytes(IV_LENGTH - 4)
_FIRST_SEQ = b"\x00\x00\x00\x01"
_FIRST_IV = _IV_PAD + _FIRST_SEQ
_FIRST_FINAL = FINAL_MARKER + _FIRST_SEQ + _FIRST_IV


class _Reader(Protocol):
    def read(self, n: int, what: str) -> bytes | memoryview: ...


def regular_frame_size(frame_length: int) -> int:
    """Bytes of one regular frame: sequence number, IV, ciphertext, tag."""
    return 4 + IV_LENGTH + frame_length + TAG_LENGTH


def final_frame_size(content_length: int) -> int:
    """Bytes of the final frame: marker, sequence number, IV, length, ciphertext, tag."""
    return 8 + IV_LENGTH + 4 + content_length + TAG_LENGTH


def frame_iv(seq: bytes) -> bytes:
    """The ESDK's deterministic frame IV: the 4-byte sequence number, left-padded to 12 bytes."""
    return _IV_PAD + seq


class FrameEncryptor:
    """Encrypts consecutive frames of one message; each call returns the frame's bytes as parts."""

    __slots__ = (
        "_encrypt",
        "_encrypt_into",
        "_final_prefix",
        "_fl8",
        "_frame_length",
        "_prefix",
        "seq",
    )

    def __init__(self, aesgcm: AESGCM, message_id: bytes, frame_length: int) -> None:
        self._encrypt = aesgcm.encrypt
        self._encrypt_into = getattr(aesgcm, "encrypt_into", None)
        self._prefix = message_id + FRAME
        self._final_prefix = message_id + FINAL_FRAME
        self._fl8 = frame_length.to_bytes(8, "big")
        self._frame_length = frame_length
        self.seq = 1

    def regular(self, data: bytes | memoryview) -> tuple[bytes, bytes]:
        """Encrypt one full frame (exactly ``frame_length`` bytes): (seq + IV, ciphertext + tag)."""
        if self.seq > MAX_SEQUENCE:
            raise MessageFormatError("message has too many frames for its frame length")
        seq = self.seq.to_bytes(4, "big")
        self.seq += 1
        iv = _IV_PAD + seq
        return seq + iv, self._encrypt(iv, data, self._prefix + seq + self._fl8)

    def final(self, data: bytes | memoryview) -> tuple[bytes, bytes]:
        """Encrypt the final frame (0 to ``frame_length`` bytes): (marker+seq+IV+length, ct+tag)."""
        if self.seq > MAX_SEQUENCE:
            raise MessageFormatError("message has too many frames for its frame length")
        seq = self.seq.to_bytes(4, "big")
        n = len(data)
        iv = _IV_PAD + seq
        head = FINAL_MARKER + seq + iv + n.to_bytes(4, "big")
        return head, self._encrypt(iv, data, self._final_prefix + seq + n.to_bytes(8, "big"))

    def regular_into(self, data: memoryview, out: memoryview, pos: int) -> int:
        """Write one full frame into ``out`` at ``pos`` (no intermediate copies); return the end."""
        if self.seq > MAX_SEQUENCE:
            raise MessageFormatError("message has too many frames for its frame length")
        seq = self.seq.to_bytes(4, "big")
        self.seq += 1
        iv = _IV_PAD + seq
        out[pos : pos + 16] = seq + iv
        end = pos + 16 + self._frame_length + TAG_LENGTH
        self._encrypt_into(iv, data, self._prefix + seq + self._fl8, out[pos + 16 : end])  # type: ignore[misc]
        return end

    def final_into(self, data: memoryview, out: memoryview, pos: int) -> int:
        """Write the final frame into ``out`` at ``pos``; return the end."""
        head, sealed = self.final(data)
        end = pos + len(head) + len(sealed)
        out[pos:end] = head + sealed
        return end


def only_frame(aesgcm: AESGCM, message_id: bytes, data: bytes | memoryview) -> bytes:
    """A body of one final frame (sequence number 1): what a message shorter than its frame
    length holds. The same bytes as ``FrameEncryptor(...).final(data)``, joined."""
    n = len(data)
    aad = message_id + FINAL_FRAME + _FIRST_SEQ + n.to_bytes(8, "big")
    return _FIRST_FINAL + n.to_bytes(4, "big") + aesgcm.encrypt(_FIRST_IV, data, aad)


Frame = tuple[bytes | memoryview, bytes | memoryview, bytes, str, int]
"""One body piece as read: (IV, ciphertext + tag, AAD, name for errors, plaintext length)."""


def iter_frames(
    reader: _Reader, header: Header, *, max_unframed: int | None = None
) -> Iterator[Frame]:
    """Read the body's frames (or its one unframed piece) without decrypting them.

    Args:
        reader: Positioned just after the header authentication.
        header: The parsed header.
        max_unframed: Refuse unframed bodies longer than this (stream mode keeps memory bounded).

    Yields:
        ``(iv, ciphertext_and_tag, aad, name, plaintext_length)`` per frame, in order.

    Raises:
        MessageFormatError: Bad sequence number, frame length, or truncation.
    """
    message_id = header.message_id
    if header.content_type == UNFRAMED:
        iv = reader.read(IV_LENGTH, "body IV")
        n = int.from_bytes(reader.read(8, "body length"), "big")
        if n > MAX_UNFRAMED_LENGTH:
            raise MessageFormatError("unframed body length check failed: too long")
        if max_unframed is not None and n > max_unframed:
            raise MessageFormatError(
                f"unframed body length check failed: {n} bytes is more than the stream "
                f"limit of {max_unframed}"
            )
        data = reader.read(n + TAG_LENGTH, "body")
        aad = message_id + SINGLE_BLOCK + b"\x00\x00\x00\x01" + n.to_bytes(8, "big")
        yield iv, data, aad, "body", n
        return
    frame_length = header.frame_length
    prefix = message_id + FRAME
    final_prefix = message_id + FINAL_FRAME
    fl8 = frame_length.to_bytes(8, "big")
    regular_size = frame_length + TAG_LENGTH
    expected = 1
    while True:
        seq = bytes(reader.read(4, "frame sequence number"))
        if seq == FINAL_MARKER:
            seq = bytes(reader.read(4, "final frame sequence number"))
            if int.from_bytes(seq, "big") != expected:
                raise MessageFormatError(f"frame sequence number check failed: expected {expected}")
            iv = reader.read(IV_LENGTH, "final frame IV")
            n = int.from_bytes(reader.read(4, "final frame length"), "big")
            if n > frame_length:
                raise MessageFormatError("final frame length check failed: over the frame length")
            data = reader.read(n + TAG_LENGTH, "final frame")
            yield iv, data, final_prefix + seq + n.to_bytes(8, "big"), f"frame {expected}", n
            return
        if int.from_bytes(seq, "big") != expected:
            raise MessageFormatError(f"frame sequence number check failed: expected {expected}")
        iv = reader.read(IV_LENGTH, "frame IV")
        data = reader.read(regular_size, "frame")
        yield iv, data, prefix + seq + fl8, f"frame {expected}", frame_length
        expected += 1
        if expected > MAX_SEQUENCE + 1:
            raise MessageFormatError("frame sequence number check failed: too many frames")


def decrypt_body(
    reader: _Reader, aesgcm: AESGCM, header: Header, *, max_unframed: int | None = None
) -> Iterator[bytes]:
    """Read and decrypt the body; yields each frame's plaintext only after its tag verified.

    Args:
        reader: Positioned just after the header authentication.
        aesgcm: AES-GCM with the message's content key.
        header: The parsed (and authenticated) header.
        max_unframed: Refuse unframed bodies longer than this.

    Yields:
        Authenticated plaintext, frame by frame (one piece for an unframed body).

    Raises:
        MessageFormatError: Bad sequence number, frame length, or truncation.
        MessageAuthenticationError: A tag did not verify.
    """
    decrypt = aesgcm.decrypt
    for iv, data, aad, name, _ in iter_frames(reader, header, max_unframed=max_unframed):
        try:
            plaintext = decrypt(bytes(iv), data, aad)
        except InvalidTag:
            raise MessageAuthenticationError(f"{name} authentication tag check failed") from None
        except (ValueError, OverflowError):
            raise MessageFormatError(f"{name} length check failed: too large to decrypt") from None
        yield plaintext


def decrypt_framed_in_memory(reader: BytesReader, aesgcm: AESGCM, header: Header) -> bytes:
    """Decrypt a framed body held in memory: the checks of :func:`iter_frames` and
    :func:`decrypt_body`, read straight from the buffer (small messages are mostly overhead).

    Args:
        reader: Positioned just after the header authentication; left after the final frame.
        aesgcm: AES-GCM with the message's content key.
        header: The parsed (and authenticated) header of a framed message.

    Returns:
        The plaintext, every frame authenticated.

    Raises:
        MessageFormatError: Bad sequence number, frame length, or truncation.
        MessageAuthenticationError: A tag did not verify.
    """
    data = reader.data
    pos = reader.offset
    size = len(data)
    message_id = header.message_id
    frame_length = header.frame_length
    regular_size = frame_length + TAG_LENGTH
    decrypt = aesgcm.decrypt
    parts = []
    expected = 1
    while True:
        if pos + 4 > size:
            raise MessageFormatError("message is truncated: frame sequence number needs 4 bytes")
        seq = data[pos : pos + 4]
        pos += 4
        final = seq == FINAL_MARKER
        if final:
            if pos + 20 > size:  # sequence number, IV, content length
                raise MessageFormatError(
                    "message is truncated: final frame sequence number needs 4 bytes"
                    if pos + 4 > size
                    else "message is truncated: final frame IV needs 12 bytes"
                    if pos + 16 > size
                    else "message is truncated: final frame length needs 4 bytes"
                )
            seq = data[pos : pos + 4]
            pos += 4
        if int.from_bytes(seq, "big") != expected:
            raise MessageFormatError(f"frame sequence number check failed: expected {expected}")
        if final:
            iv = data[pos : pos + IV_LENGTH]
            n = int.from_bytes(data[pos + IV_LENGTH : pos + IV_LENGTH + 4], "big")
            pos += IV_LENGTH + 4
            if n > frame_length:
                raise MessageFormatError("final frame length check failed: over the frame length")
            end = pos + n + TAG_LENGTH
            if end > size:
                raise MessageFormatError(f"message is truncated: final frame needs {n + 16} bytes")
            aad = message_id + FINAL_FRAME + seq + n.to_bytes(8, "big")
        else:
            if pos + IV_LENGTH > size:
                raise MessageFormatError("message is truncated: frame IV needs 12 bytes")
            iv = data[pos : pos + IV_LENGTH]
            pos += IV_LENGTH
            end = pos + regular_size
            if end > size:
                raise MessageFormatError(f"message is truncated: frame needs {regular_size} bytes")
            aad = message_id + FRAME + seq + frame_length.to_bytes(8, "big")
        try:
            parts.append(decrypt(iv, data[pos:end], aad))
        except InvalidTag:
            raise MessageAuthenticationError(
                f"frame {expected} authentication tag check failed"
            ) from None
        except (ValueError, OverflowError):
            raise MessageFormatError(
                f"frame {expected} length check failed: too large to decrypt"
            ) from None
        pos = end
        if final:
            reader.offset = pos
            return parts[0] if len(parts) == 1 else b"".join(parts)
        expected += 1
        if expected > MAX_SEQUENCE + 1:
            raise MessageFormatError("frame sequence number check failed: too many frames")


def scan_plaintext_length(data: bytes | bytearray, pos: int, header: Header) -> int | None:
    """The plaintext length of an in-memory body, from its length fields alone (nothing decrypted).

    Every length is checked against the bytes actually present before it is trusted, so the
    result is never more than ``len(data)``: the caller sizes a buffer from it, and the fields
    are not authenticated yet (an edited 8-byte unframed length such as 2^64-1 must not become an
    allocation).

    Returns None when the body is malformed; the caller then lets :func:`iter_frames` say why.
    """
    size = len(data)
    if header.content_type == UNFRAMED:
        if pos + IV_LENGTH + 8 > size:
            return None
        n = int.from_bytes(data[pos + IV_LENGTH : pos + IV_LENGTH + 8], "big")
        # message-body.md, "Encrypted Content Length": at most 2^36 - 32.
        if n > MAX_UNFRAMED_LENGTH or pos + IV_LENGTH + 8 + n + TAG_LENGTH > size:
            return None
        return n
    frame_length = header.frame_length
    step = regular_frame_size(frame_length)
    total = 0
    while pos + 4 <= size:
        if data[pos : pos + 4] == FINAL_MARKER:
            if pos + 24 > size:
                return None
            n = int.from_bytes(data[pos + 20 : pos + 24], "big")
            if n > frame_length or pos + final_frame_size(n) > size:
                return None
            return total + n
        total += frame_length
        pos += step
    return None


def decrypt_body_into(reader: _Reader, aesgcm: AESGCM, header: Header, out: memoryview) -> int:
    """Decrypt the whole body into ``out`` (at least the plaintext's length); return the length.

    ``out`` holds unauthenticated bytes if this raises: the caller must discard it.

    Raises:
        MessageFormatError: As :func:`iter_frames`, or ``out`` is too small.
        MessageAuthenticationError: A tag did not verify.
    """
    decrypt_into = aesgcm.decrypt_into
    pos = 0
    for iv, data, aad, name, n in iter_frames(reader, header):
        if pos + n > len(out):
            raise MessageFormatError("body length check failed: frames longer than the message")
        try:
            decrypt_into(bytes(iv), data, aad, out[pos : pos + n])
        except InvalidTag:
            raise MessageAuthenticationError(f"{name} authentication tag check failed") from None
        except (ValueError, OverflowError):
            raise MessageFormatError(f"{name} length check failed: too large to decrypt") from None
        pos += n
    return pos
