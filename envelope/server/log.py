"""The ``--log-requests`` access log: one JSON line per request, never a secret.

A line names the operation, the principal, the key, the result and the latency. Plaintexts,
ciphertext blobs, encryption contexts, signatures and secrets never reach it: the fields are
chosen here, not copied from the request.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from dataclasses import asdict, dataclass

LOGGER_NAME = "envelope.server.access"


@dataclass(frozen=True)
class AccessRecord:
    """What one request did, in the words of the access log."""

    request_id: str
    operation: str | None
    principal: str | None
    """The principal's ARN, once its signature verified."""
    key: str | None
    """The key the request named, else the key that answered (a Decrypt without KeyId)."""
    status: int
    error: str | None
    """The AWS error code, when the request failed."""
    latency_ms: float


def access_logger(stream: object = None) -> logging.Logger:
    """The access logger, writing bare JSON lines to ``stream`` (default standard error)."""
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def write(logger: logging.Logger, record: AccessRecord) -> None:
    line: dict[str, object] = {
        "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
    }
    line.update(asdict(record))
    line["latency_ms"] = round(record.latency_ms, 3)
    logger.info(json.dumps(line, separators=(",", ":")))
