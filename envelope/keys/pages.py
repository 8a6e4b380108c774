"""Paging of list operations with opaque markers, as KMS pages ListKeys, ListAliases, ..."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import TypeVar

from envelope.errors import InvalidMarkerException

T = TypeVar("T")


def _encode_marker(kind: str, position: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}\n{position}".encode()).decode()


def _decode_marker(kind: str, marker: str | None) -> str | None:
    """The position a marker of this list holds.

    Raises:
        InvalidMarkerException: it is not strict base64 of this list's kind and a position.
    """
    if marker is None:
        return None
    try:
        text = base64.b64decode(marker.encode("ascii"), altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeError, AttributeError):
        text = ""
    found, separator, position = text.partition("\n")
    if not separator or found != kind:
        raise InvalidMarkerException("the marker is not one this list returned")
    return position


def page(
    items: Sequence[T],
    position: Callable[[T], str],
    limit: int,
    marker: str | None,
    *,
    kind: str = "list",
) -> tuple[tuple[T, ...], bool, str | None]:
    """Cut a sorted sequence into a page after ``marker``; returns (page, truncated, next).

    Args:
        kind: names the list (and what it lists, such as a key's rotations); a marker is valid
            only for the list of its kind.

    Raises:
        InvalidMarkerException: the marker was not made by this function for this kind of list.
    """
    after = _decode_marker(kind, marker)
    remaining = [item for item in items if after is None or position(item) > after]
    chunk = tuple(remaining[:limit])
    truncated = len(remaining) > limit
    return chunk, truncated, (_encode_marker(kind, position(chunk[-1])) if truncated else None)
