"""LocalKeyService's key rotation: automatic and on demand, versions listed as KMS lists them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envelope.errors import (
    LimitExceededException,
    UnsupportedOperationException,
)
from envelope.keys.base import ENABLED, PENDING_DELETION
from envelope.keys.local.core import _DAY, LocalCore, _symmetric, _ts, _utcnow
from envelope.keys.pages import page
from envelope.keys.specs import EXTERNAL
from envelope.keys.store import KeyRecord, Records
from envelope.keys.validate import (
    DEFAULT_ROTATION_PERIOD,
    MAX_ON_DEMAND_ROTATIONS,
    ROTATION_PERIOD,
    check_limit,
    check_marker,
    check_range,
)

# Result classes are imported where they are built: their modules load on first use, so
# `envelope encrypt` never creates them (CLI start-up is a benchmark figure).
if TYPE_CHECKING:
    from envelope.keys.results import (
        KeyRotationStatus,
        ListKeyRotationsResult,
        RotateKeyOnDemandResult,
    )


class Rotation(LocalCore):
    """EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand, ...."""

    # --- rotation ---------------------------------------------------------------------------------
    def _rotatable(self, key_id: str, records: Records | None = None) -> KeyRecord:
        key = self._resolve(key_id, aliases=False, records=records)
        self._only_symmetric_rotates(key)
        if key.origin == EXTERNAL:
            # Rotating imported material means importing new material (ImportType
            # NEW_KEY_MATERIAL), which this service does not offer: refused as KMS once did.
            raise UnsupportedOperationException(
                f"{self._arn(key.key_id)} has imported key material; it does not rotate here"
            )
        self._usable(key)
        return key

    def _only_symmetric_rotates(self, key: KeyRecord) -> None:
        if not _symmetric(key):
            raise UnsupportedOperationException(
                f"{self._arn(key.key_id)} is an asymmetric key; only symmetric keys rotate"
            )

    def enable_key_rotation(
        self, *, key_id: str, rotation_period_in_days: int | None = None
    ) -> None:
        period = check_range(
            "rotationPeriodInDays",
            DEFAULT_ROTATION_PERIOD if rotation_period_in_days is None else rotation_period_in_days,
            *ROTATION_PERIOD,
        )
        with self._store.write() as records:
            key = self._rotatable(key_id, records)
            if (
                key.rotation_enabled
                and key.next_rotation is not None
                and key.rotation_period is not None
            ):
                # Already rotating: the schedule keeps its anchor (the last automatic rotation,
                # or when rotation was turned on), so calling this again never postpones a
                # rotation; a new period counts from that anchor.
                anchor = key.next_rotation - key.rotation_period * _DAY
            else:
                anchor = self._now()
            key = key.changed(
                rotation_enabled=True, rotation_period=period, next_rotation=anchor + period * _DAY
            )
            records.update_key(key)
        self._rotate_if_due(key)  # a rotation already due happens now, not at the next use

    def disable_key_rotation(self, *, key_id: str) -> None:
        with self._store.write() as records:
            key = self._rotatable(key_id, records)
            records.update_key(key.changed(rotation_enabled=False, next_rotation=None))

    def get_key_rotation_status(self, *, key_id: str) -> KeyRotationStatus:
        from envelope.keys.results import KeyRotationStatus
        key = self._resolve(key_id, aliases=False)
        self._only_symmetric_rotates(key)
        arn = self._arn(key.key_id)
        if key.state == PENDING_DELETION:
            # KMS: while a key is pending deletion its rotation status reads false.
            return KeyRotationStatus(key_rotation_enabled=False, key_id=arn)
        if key.state == ENABLED:
            self._rotate_if_due(key)
            key = self._resolve(self._arn(key.key_id))
        return KeyRotationStatus(
            key_rotation_enabled=key.rotation_enabled,
            key_id=arn,
            rotation_period_in_days=key.rotation_period if key.rotation_enabled else None,
            next_rotation_date=_ts(key.next_rotation) if key.rotation_enabled else None,
        )

    def rotate_key_on_demand(self, *, key_id: str) -> RotateKeyOnDemandResult:
        from envelope.keys.results import RotateKeyOnDemandResult
        with self._store.write() as records:
            key = self._rotatable(key_id, records)
            if key.on_demand_rotations >= MAX_ON_DEMAND_ROTATIONS:
                raise LimitExceededException(
                    f"{self._arn(key.key_id)} has reached the limit of "
                    f"{MAX_ON_DEMAND_ROTATIONS} on-demand rotations"
                )
            self._new_version(records, key, self._now(), "ON_DEMAND")
            records.update_key(key.changed(on_demand_rotations=key.on_demand_rotations + 1))
        return RotateKeyOnDemandResult(key_id=self._arn(key.key_id))

    def list_key_rotations(
        self, *, key_id: str, limit: int | None = None, marker: str | None = None
    ) -> ListKeyRotationsResult:
        from envelope.keys.results import ListKeyRotationsResult, RotationsListEntry
        size = check_limit("limit", limit, "rotations")
        check_marker(marker)
        key = self._resolve(key_id, aliases=False)
        self._only_symmetric_rotates(key)
        self._not_pending(key)
        if key.state == ENABLED:
            self._rotate_if_due(key)
        versions = self._store.reader.rotations(key.key_id)
        chunk, truncated, next_marker = page(
            versions, lambda v: f"{v.version:010d}", size, marker, kind=f"rotations {key.key_id}"
        )
        entries = tuple(
            RotationsListEntry(
                key_id=self._arn(key.key_id),
                rotation_date=_ts(v.created) or _utcnow(),
                rotation_type=v.rotation_type or "AUTOMATIC",
            )
            for v in chunk
        )
        return ListKeyRotationsResult(
            rotations=entries, truncated=truncated, next_marker=next_marker
        )
