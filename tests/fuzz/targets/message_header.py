"""Message header parse (``envelope/message/header.py``, ``reader.py``) and ``inspect``.

Properties: an in-memory reader and a stream reader agree (the same header, or the same error
class); a parsed header serializes back to a header that parses to the same fields; ``inspect``
describes it as JSON-ready text. Errors allowed: ``MessageError`` subclasses.
"""

from __future__ import annotations

import io
import json

from envelope.errors import MessageError
from envelope.message import inspect
from envelope.message.header import parse_header, serialize_header
from envelope.message.reader import BytesReader, StreamReader
from tests.fuzz.harness import Target, expect

MAX_EDKS = 50


def _parse(reader: BytesReader | StreamReader) -> object:
    try:
        return parse_header(reader, max_encrypted_data_keys=MAX_EDKS)
    except MessageError as e:
        return type(e)


def run(data: bytes) -> None:
    in_memory = _parse(BytesReader(data))
    streamed = _parse(StreamReader(io.BytesIO(data)))
    expect(in_memory == streamed, f"readers disagree: {in_memory!r} vs {streamed!r}")
    if isinstance(in_memory, type):
        raise in_memory("refused (as expected of both readers)")
    header, header_bytes, auth = in_memory  # type: ignore[misc]
    expect(data.startswith(header_bytes + auth), "header bytes are not the input's prefix")
    again, again_bytes, _ = parse_header(
        BytesReader(serialize_header(header) + auth), max_encrypted_data_keys=MAX_EDKS
    )
    expect(again == header, "a parsed header does not survive serialize + parse")
    expect(len(again_bytes) == len(header_bytes), "a re-serialized header changed length")
    info = inspect(data, max_encrypted_data_keys=MAX_EDKS)
    json.dumps(info.to_json())


TARGET = Target(
    name="message_header",
    doc=__doc__ or "",
    run=run,
    allowed=(MessageError,),
)
