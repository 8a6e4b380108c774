"""AwsKmsKeyService's key rotation: automatic and on demand, and the rotations of a key."""

from __future__ import annotations

from envelope.keys.aws.core import AwsCore
from envelope.keys.aws_shapes import required_utc, utc
from envelope.keys.base import (
    KeyRotationStatus,
    ListKeyRotationsResult,
    RotateKeyOnDemandResult,
    RotationsListEntry,
)


class AwsRotation(AwsCore):
    """EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand, ...."""

    # --- rotation ---------------------------------------------------------------------------------
    def enable_key_rotation(
        self, *, key_id: str, rotation_period_in_days: int | None = None
    ) -> None:
        """Turn on automatic rotation every 90-2560 days (KMS EnableKeyRotation)."""
        self._call(
            self.client.enable_key_rotation,
            KeyId=key_id,
            RotationPeriodInDays=rotation_period_in_days,
        )

    def disable_key_rotation(self, *, key_id: str) -> None:
        """Turn off automatic rotation (KMS DisableKeyRotation)."""
        self._call(self.client.disable_key_rotation, KeyId=key_id)

    def get_key_rotation_status(self, *, key_id: str) -> KeyRotationStatus:
        """Report whether automatic rotation is on and when it runs (KMS GetKeyRotationStatus)."""
        response = self._call(self.client.get_key_rotation_status, KeyId=key_id)
        period = response.get("RotationPeriodInDays")
        return KeyRotationStatus(
            key_rotation_enabled=bool(response.get("KeyRotationEnabled", False)),
            key_id=str(response.get("KeyId", key_id)),
            rotation_period_in_days=int(period) if period is not None else None,
            next_rotation_date=utc(response.get("NextRotationDate")),
            on_demand_rotation_start_date=utc(response.get("OnDemandRotationStartDate")),
        )

    def rotate_key_on_demand(self, *, key_id: str) -> RotateKeyOnDemandResult:
        """Add new key material now (KMS RotateKeyOnDemand)."""
        response = self._call(self.client.rotate_key_on_demand, KeyId=key_id)
        return RotateKeyOnDemandResult(key_id=str(response["KeyId"]))

    def list_key_rotations(
        self, *, key_id: str, limit: int | None = None, marker: str | None = None
    ) -> ListKeyRotationsResult:
        """List the rotations of a key, one page at a time (KMS ListKeyRotations)."""
        response = self._call(
            self.client.list_key_rotations, KeyId=key_id, Limit=limit, Marker=marker
        )
        rotations = tuple(
            RotationsListEntry(
                key_id=str(r.get("KeyId", key_id)),
                rotation_date=required_utc(r.get("RotationDate")),
                rotation_type=str(r.get("RotationType", "")),
            )
            for r in response.get("Rotations", [])
        )
        truncated = bool(response.get("Truncated", False))
        return ListKeyRotationsResult(
            rotations, truncated, response.get("NextMarker") if truncated else None
        )
