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
    origin: str = "AWS_KMS"
    """``AWS_KMS`` (material generated here) or ``EXTERNAL`` (material imported)."""
    valid_to: float | None = None
    """EXTERNAL keys: when the imported material expires (None: it does not, or none imported)."""
    expiration_model: str | None = None
    material_id: str | None = None
    """EXTERNAL keys: SHA-256 of the key id and the imported material (hex), once imported; it
    names the only material the key accepts again, and reveals nothing about it."""

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
class TagRecord:
    """One tag of a key."""

    key_id: str
    tag_key: str
    tag_value: str


@dataclass(frozen=True)
class ImportRecord:
    """One set of import parameters (GetParametersForImport): its RSA wrapping key stays wrapped
    under the root key inside the keystore, and is erased once used or expired."""

    token_id: str
    key_id: str
    wrapping_algorithm: str
    wrapping_key_spec: str
    valid_to: float


@dataclass(frozen=True)
class PrincipalRecord:
    """One principal of ``envelope serve``; its secret stays wrapped inside the keystore."""

    name: str
    access_key_id: str
    created: float


@dataclass(frozen=True)
class GrantRecord:
    """One grant on a key. Its token is not secret (KMS: "a unique, nonsecret ... string")."""

    grant_id: str
    key_id: str
    grantee: str
    operations: tuple[str, ...]
    issuing_account: str
    created: float
    token: str
    name: str | None = None
    retiring: str | None = None
    constraints: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    """(constraint type, sorted context pairs) for each constraint the grant has."""
