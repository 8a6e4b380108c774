"""Paging of list operations with opaque markers, as KMS pages ListKeys, ListAliases, ..."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import TypeVar

from envelope.errors import InvalidMarkerException

T = TypeVar("T")


def _encode_marker(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode()).decode()


def _decode_marker(marker: str | None) -> str | None:
    if marker is None:
        return None
    try:
        return base64.urlsafe_b64decode(marker.encode()).decode()
    except (ValueError, UnicodeError, AttributeError):
        raise InvalidMarkerException("the marker is not one this service returned") from None


def page(
    items: Sequence[T], position: Callable[[T], str], limit: int, marker: str | None
) -> tuple[tuple[T, ...], bool, str | None]:
    """Cut a sorted sequence into a page after ``marker``; returns (page, truncated, next).

    Raises:
        InvalidMarkerException: the marker was not made by this function.
    """
    after = _decode_marker(marker)
    remaining = [item for item in items if after is None or position(item) > after]
    chunk = tuple(remaining[:limit])
    truncated = len(remaining) > limit
    return chunk, truncated, (_encode_marker(position(chunk[-1])) if truncated else None)
