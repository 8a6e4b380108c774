"""Encryption-context serialization: the ESDK binary form (``header.py``), the local KMS's
canonical AAD (``blob.encode_context``) and the S3 JSON form (``s3/metadata.py``).

Properties: a binary context that parses serializes to bytes that parse to the same map (and to
the same bytes when the input's pairs were sorted); the same input as text (non-UTF-8 bytes
become lone surrogates) is either a JSON object of strings or ``S3MetadataError``; a map whose
text cannot be UTF-8 is ``MessageFormatError`` / ``ValidationException``, never a
``UnicodeError``.
"""

from __future__ import annotations

import contextlib

from envelope.errors import EnvelopeError, MessageFormatError, ValidationException
from envelope.keys import blob
from envelope.message.header import parse_context, serialize_context
from envelope.s3 import metadata
from tests.fuzz.harness import Target, expect


def run(data: bytes) -> None:
    try:
        parsed = parse_context(data)
    except MessageFormatError:
        parsed = None
    if parsed is not None:
        again = serialize_context(parsed)
        expect(parse_context(again) == parsed, "context does not survive serialize + parse")
        expect(len(again) == len(data), "re-serialized context changed length")
        blob.encode_context(parsed)
        expect(metadata.parse_context(metadata.context_json(parsed), "t") == parsed,
               "context does not survive S3 JSON")  # fmt: skip
    text = data.decode("utf-8", "surrogateescape")
    try:
        as_json = metadata.parse_context(text, "x-amz-t")
    except EnvelopeError:
        as_json = None
    if as_json is not None:
        expect(all(isinstance(k, str) and isinstance(v, str) for k, v in as_json.items()),
               "S3 context JSON gave a non-string")  # fmt: skip
    for context in ({text: "v"}, {"k": text}, as_json or {}):
        try:
            serialized = serialize_context(context)
        except MessageFormatError:
            serialized = None
        if serialized is not None:
            expect(parse_context(serialized) == context, "text context does not round-trip")
        with contextlib.suppress(ValidationException):
            blob.encode_context(context)


TARGET = Target(
    name="encryption_context",
    doc=__doc__ or "",
    run=run,
    allowed=(EnvelopeError,),
)
