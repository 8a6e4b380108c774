"""Whole messages: header, key unwrapping (``opening.py``), frames (``body.py``), footer, rewrap.

The keys are a raw AES key, a raw RSA key and a KMS key of a local keystore, the keys the seed
messages were made with, so mutations reach the body of messages whose header authenticates.
Properties: ``decrypt`` (in memory) and ``decrypt_stream`` agree (the same plaintext, or the
same error class; a stream that fails has written only whole authenticated frames); a message
that decrypts rewraps (header only) into one that decrypts to the same plaintext. Errors allowed:
``EnvelopeError`` subclasses (``MessageError``, and a key service's refusals).
"""

from __future__ import annotations

import io

from envelope.errors import EnvelopeError, MessageError
from envelope.message import decrypt, decrypt_stream, inspect, rewrap
from tests.fuzz import fixtures
from tests.fuzz.harness import Target, expect


def _keys() -> list[object]:
    return [fixtures.raw_aes(), fixtures.raw_rsa(), fixtures.kms_key()]


def _outcome(call: object) -> object:
    try:
        return call()  # type: ignore[operator]
    except EnvelopeError as e:
        return type(e)


def run(data: bytes) -> None:
    keys = _keys()
    whole = _outcome(lambda: decrypt(data, keys=keys, allow_legacy=True))  # type: ignore[arg-type]
    out = io.BytesIO()
    streamed = _outcome(
        lambda: decrypt_stream(io.BytesIO(data), out, keys=keys, allow_legacy=True)  # type: ignore[arg-type]
    )
    if isinstance(whole, type):
        expect(isinstance(streamed, type), f"decrypt refused ({whole.__name__}), stream did not")
        expect(
            streamed is whole,
            f"decrypt and decrypt_stream refuse differently: {whole!r} vs {streamed!r}",
        )
        _check_released(data, out.getvalue())
        raise whole("refused")
    expect(streamed is not None and not isinstance(streamed, type), "stream refused, decrypt not")
    expect(out.getvalue() == whole, "decrypt and decrypt_stream give different plaintexts")
    rewrapped = io.BytesIO()
    try:
        rewrap(io.BytesIO(data), rewrapped, keys=keys, allow_legacy=True)  # type: ignore[arg-type]
    except MessageError:
        return  # signed messages are refused by rewrap, by design
    again = decrypt(rewrapped.getvalue(), keys=keys, allow_legacy=True)  # type: ignore[arg-type]
    expect(again == whole, "a rewrapped message decrypts to other plaintext")


def _check_released(data: bytes, written: bytes) -> None:
    """A stream that failed wrote only whole frames, each authenticated, none of them the last.

    Each frame's plaintext is released once its tag verifies, and the last non-empty frame waits
    for the end of the message: so what a failed stream wrote is a run of whole regular frames
    that precede a frame with content. The header must then authenticate under our keys.
    """
    if not written:
        return
    header = inspect(data, keys=_keys(), max_encrypted_data_keys=10)  # type: ignore[arg-type]
    expect(header.content_type == "framed", "a failed unframed stream wrote plaintext")
    expect(len(written) % header.frame_length == 0, "a failed stream wrote part of a frame")
    expect(len(written) < len(data), "a failed stream wrote more than the message held")


TARGET = Target(
    name="message_decrypt",
    doc=__doc__ or "",
    run=run,
    allowed=(EnvelopeError,),
    setup=lambda: (_keys(), None)[1],
)
