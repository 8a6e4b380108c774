"""The typed records the keystore reads and writes: one frozen dataclass per table row."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class KeyRecord:
    """One KMS key: its metadata and state (the backing-key versions are separate records).

    Times are POSIX seconds (UTC).
    """

    key_id: str
    created: float
    description: str
    key_spec: str
    key_usage: str
    state: str
    deletion_date: float | None = None
    pending_window: int | None = None
    rotation_enabled: bool = False
    rotation_period: int | None = None
    next_rotation: float | None = None
    on_demand_rotations: int = 0

    def changed(self, **fields: object) -> KeyRecord:
        """A copy with ``fields`` replaced (to hand back to ``Records.update_key``)."""
        return replace(self, **fields)  # type: ignore[arg-type]


@dataclass(frozen=True)
class VersionRecord:
    """One backing-key version of a key; its material stays wrapped inside the keystore."""

    key_id: str
    version: int
    created: float
    rotation_type: str | None
    """``None`` for the first version, else ``AUTOMATIC`` or ``ON_DEMAND``."""


@dataclass(frozen=True)
class AliasRecord:
    """One alias and the key it names."""

    name: str
    key_id: str
    created: float
    updated: float


@dataclass(frozen=True)
class PrincipalRecord:
    """One principal of ``envelope serve``; its secret stays wrapped inside the keystore."""

    name: str
    access_key_id: str
    created: float
