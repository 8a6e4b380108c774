"""Key-service results rendered in the shapes of AWS KMS responses (PascalCase dictionaries).

Values keep their Python types (``datetime``, ``bytes``); each renderer (the CLI's JSON, a KMS
wire server) decides how to write them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

# Field names whose KMS spelling is not the plain PascalCase of the snake_case name.
_SPECIAL = {
    "aws_account_id": "AWSAccountId",
}

# Properties KMS still returns beside their replacement.
_EXTRA_PROPERTIES = ("customer_master_key_spec",)

# Fields that hold secrets: never rendered, whatever the caller asks.
_SECRET_FIELDS = frozenset({"plaintext", "private_key_plaintext"})


def kms_name(field: str) -> str:
    """``key_metadata`` -> ``KeyMetadata``; ``aws_account_id`` -> ``AWSAccountId``."""
    return _SPECIAL.get(field) or "".join(part.capitalize() for part in field.split("_"))


def to_kms_shape(result: Any) -> Any:
    """Convert a result dataclass (or a tuple of them) to the KMS response shape.

    ``None`` values are left out, as KMS leaves absent members out; plaintext fields are never
    included.
    """
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        shaped: dict[str, Any] = {}
        for field in dataclasses.fields(result):
            if field.name in _SECRET_FIELDS:
                continue
            value = getattr(result, field.name)
            if value is not None:
                shaped[kms_name(field.name)] = to_kms_shape(value)
        for prop in _EXTRA_PROPERTIES:
            if hasattr(type(result), prop):
                shaped[kms_name(prop)] = getattr(result, prop)
        return shaped
    if isinstance(result, (tuple, list)):
        return [to_kms_shape(item) for item in result]
    return result
