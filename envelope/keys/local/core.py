"""The core every LocalKeyService operation stands on: the keystore, key lookup and key states.

Key lookups purge keys past their deletion date first; ``records`` from a write transaction make
the lookup part of it, so a check of a key's state and the change that depends on it are atomic.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from envelope.errors import (
    DisabledException,
    DryRunOperationException,
    InvalidKeyUsageException,
    KMSInvalidStateException,
    NotFoundException,
)
from envelope.keys.backing import (
    BackingKeys,
    new_material,
)
from envelope.keys.base import (
    DISABLED,
    ENABLED,
    PENDING_DELETION,
    PENDING_IMPORT,
    RSAES_OAEP_SHA_1,
    RSAES_OAEP_SHA_256,
    SYMMETRIC_DEFAULT,
    KeyMetadata,
)
from envelope.keys.blob import LAYOUT_VERSION
from envelope.keys.local.access import Caller, authorize_key, check_caller
from envelope.keys.specs import (
    ENCRYPT_DECRYPT,
    EXTERNAL,
    GENERATE_VERIFY_MAC,
    MAC_ALGORITHMS,
    SIGN_VERIFY,
    SIGNING_ALGORITHMS,
)
from envelope.keys.store import SCRYPT_N, KeyRecord, Keystore, Records
from envelope.keys.store.home import default_home
from envelope.keys.validate import (
    UUID_PATTERN,
    check_key_id,
)

_DAY = 86400.0
_Self = TypeVar("_Self", bound="LocalCore")


def _ts(moment: float | None) -> dt.datetime | None:
    return None if moment is None else dt.datetime.fromtimestamp(moment, dt.timezone.utc)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _symmetric(key: KeyRecord) -> bool:
    return key.key_spec == SYMMETRIC_DEFAULT


def _encryption_algorithms(key: KeyRecord) -> tuple[str, ...]:
    if key.key_usage != ENCRYPT_DECRYPT:
        return ()
    return (SYMMETRIC_DEFAULT,) if _symmetric(key) else (RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256)


def _signing_algorithms(key: KeyRecord) -> tuple[str, ...]:
    return SIGNING_ALGORITHMS[key.key_spec] if key.key_usage == SIGN_VERIFY else ()


class LocalCore:
    """What the operation families of ``LocalKeyService`` share: keystore, lookups, states."""

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        passphrase: str | None = None,
        region: str | None = None,
        account_id: str | None = None,
        caller: str | None = None,
        source_ip: str | None = None,
        _scrypt_n: int = SCRYPT_N,
        _clock: Callable[[], dt.datetime] = _utcnow,
        _blob_layout: int = LAYOUT_VERSION,
    ) -> None:
        if passphrase is None:
            passphrase = os.environ.get("ENVELOPE_PASSPHRASE") or None
        if caller is None:
            caller = os.environ.get("ENVELOPE_CALLER") or None
        self._clock = _clock
        self._scrypt_n = _scrypt_n
        self._store = Keystore(
            Path(home) if home is not None else default_home(),
            passphrase=passphrase,
            region=region,
            account_id=account_id,
            scrypt_n=_scrypt_n,
        )
        self.region = self._store.identity.region
        self.account_id = self._store.identity.account_id
        self.partition = self._store.identity.partition
        self._keys = BackingKeys(self._store, layout=_blob_layout)
        self._view = False
        try:
            self._caller: Caller = check_caller(
                caller
                if caller is not None
                else f"arn:{self.partition}:iam::{self.account_id}:root",
                source_ip,
            )
        except BaseException:
            self._store.close()
            raise

    # --- who calls --------------------------------------------------------------------------------
    @property
    def caller(self) -> str:
        """The principal this service acts for: key policies and grants are evaluated for it."""
        return self._caller.arn

    def with_caller(
        self: _Self,
        caller: str,
        *,
        source_ip: str | None = None,
        secure_transport: bool | None = None,
    ) -> _Self:
        """A view of this service acting for another principal (``envelope serve`` makes one per
        request for its signer). It shares the keystore; closing it closes nothing.

        Args:
            caller: the principal's ARN, such as ``arn:aws:iam::ACCOUNT:user/NAME``.
            source_ip: the address the request came from (``aws:SourceIp``).
            secure_transport: whether it came over TLS (``aws:SecureTransport``).

        Raises:
            ValidationException: not a principal ARN, or not an IP address.
        """
        view = copy.copy(self)
        checked = check_caller(caller, source_ip)
        view._caller = Caller(checked.arn, checked.source_ip, secure_transport)
        view._view = True
        return view

    # --- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the keystore and forget every unwrapped key held in memory (not for a view)."""
        if self._view:
            return
        self._keys.forget()
        self._store.close()

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalKeyService(home={str(self._store.home)!r}, region={self.region!r})"

    @property
    def home(self) -> Path:
        return self._store.home

    @property
    def root_mode(self) -> str:
        """How the root key is kept: ``file`` (``root.key``) or ``passphrase`` (scrypt)."""
        return self._store.root_mode

    def rekey(self, *, new_passphrase: str | None = None) -> None:
        """Re-wrap every backing key under a new root key, in one transaction.

        Args:
            new_passphrase: protect the store with this passphrase from now on; without it, a
                new random ``root.key`` file replaces the old root key (or passphrase).

        After it, a stolen copy of the old root key or passphrase opens nothing new. Other
        processes using a ``root.key`` store take up the new key by themselves; with a
        passphrase they must be opened again with the new one.

        Raises:
            KeystoreError: the store cannot be written.
        """
        self._store.rekey(passphrase=new_passphrase, scrypt_n=self._scrypt_n)

    # --- identifiers and states -------------------------------------------------------------------
    def _arn(self, key_id: str) -> str:
        return f"arn:{self.partition}:kms:{self.region}:{self.account_id}:key/{key_id}"

    def _alias_arn(self, name: str) -> str:
        return f"arn:{self.partition}:kms:{self.region}:{self.account_id}:{name}"

    def _now(self) -> float:
        return self._clock().timestamp()

    def _resolve(
        self,
        key_id: str,
        *,
        aliases: bool = True,
        records: Records | None = None,
        action: str | None = None,
    ) -> KeyRecord:
        """Find the key named by id, ARN, alias name or alias ARN (where KMS accepts aliases),
        and authorize the current operation on it for the caller (``access.authorize_key``).

        With ``records`` from a write transaction, the lookup is part of that transaction.
        ``action`` names the permission when the operation needs another one for this key.

        Raises:
            NotFoundException: no such key (or alias).
            AccessDeniedException: the caller may not do this with the key.
        """
        check_key_id(key_id)
        records = self._purge_due_deletions(records)
        name = key_id
        prefix = f"arn:{self.partition}:kms:{self.region}:{self.account_id}:"
        key_arn = False
        if name.startswith("arn:"):
            if not name.startswith(prefix):
                raise NotFoundException(f"Key '{key_id}' does not exist")
            name = name[len(prefix) :]
            key_arn = name.startswith("key/")
            if key_arn:
                name = name[4:]  # a key id must follow: key/alias/NAME names no key
            elif not name.startswith("alias/"):
                raise NotFoundException(f"Key '{key_id}' does not exist")
        if name.startswith("alias/") and not key_arn:
            if not aliases:
                raise NotFoundException(f"Key '{key_id}' does not exist (aliases are not accepted)")
            alias = records.alias(name)
            if alias is None:
                raise NotFoundException(f"Alias {self._alias_arn(name)} is not found.")
            name = alias.key_id
        if not UUID_PATTERN.fullmatch(name):
            raise NotFoundException(f"Invalid keyId '{key_id}'")
        found = records.key_and_policy(name)
        if found is None:
            raise NotFoundException(f"Key '{self._arn(name)}' does not exist")
        key, policy = found
        authorize_key(self, key, key_id, records, policy, action)
        return key

    @staticmethod
    def _dry_run_stops_here(dry_run: bool) -> None:
        """KMS's DryRun: every check passed, so say it would have succeeded and do nothing."""
        if dry_run:
            raise DryRunOperationException(
                "The request would have succeeded, but the DryRun option is set."
            )

    def _usable(self, key: KeyRecord) -> None:
        """Raise unless the key may be used in a cryptographic operation."""
        if key.state == DISABLED:
            raise DisabledException(f"{self._arn(key.key_id)} is disabled.")
        self._not_pending(key)
        self._not_pending_import(key)

    def _not_pending(self, key: KeyRecord) -> None:
        if key.state == PENDING_DELETION:
            raise KMSInvalidStateException(f"{self._arn(key.key_id)} is pending deletion.")

    def _not_pending_import(self, key: KeyRecord) -> None:
        if key.state == PENDING_IMPORT:
            raise KMSInvalidStateException(
                f"{self._arn(key.key_id)} is pending import: it has no key material"
            )

    def _require_usage(self, key: KeyRecord, usage: str, operation: str) -> None:
        """InvalidKeyUsageException unless the key's usage is ``usage``."""
        if key.key_usage != usage:
            raise InvalidKeyUsageException(
                f"{self._arn(key.key_id)} key usage is {key.key_usage}; "
                f"{operation} needs a {usage} key"
            )

    # --- deletion and rotation that fall due by the clock -----------------------------------------
    def _purge_due_deletions(self, records: Records | None = None) -> Records:
        """Destroy keys past their deletion date, and imported material past its ValidTo;
        returns the records to keep reading with."""
        now = self._now()
        if records is not None:
            due = records.keys_due_for_deletion(PENDING_DELETION, now)
            for key_id in due:
                records.destroy_key(key_id)
            expired = records.keys_with_expired_material(now)
            for key_id in expired:
                self._erase_imported_material(records, key_id)
            if due or expired:
                self._keys.forget(set(due) | set(expired))
                self._store.request_scrub(records)  # the destroyed material out of the WAL
            return records
        reader = self._store.reader
        if reader.anything_due(PENDING_DELETION, now):
            with self._store.write() as tx:
                self._purge_due_deletions(tx)
        return reader

    @staticmethod
    def _erase_imported_material(records: Records, key_id: str) -> None:
        """KMS deletes imported material when it expires or is deleted: the key keeps its id,
        metadata and material id, and waits in PendingImport (unless pending deletion)."""
        key = records.key(key_id)
        if key is None:
            return
        records.delete_versions(key_id)
        state = key.state if key.state == PENDING_DELETION else PENDING_IMPORT
        records.update_key(key.changed(state=state, valid_to=None, expiration_model=None))

    def _new_version(
        self, records: Records, key: KeyRecord, now: float, rotation_type: str | None
    ) -> int:
        version = records.latest_version(key.key_id) + 1
        records.add_version(key.key_id, version, now, rotation_type, new_material(key.key_spec))
        return version

    def _rotate_if_due(self, key: KeyRecord) -> None:
        """Automatic rotation happens lazily: on the first use after its date.

        Several missed periods give one new version (as a service that was switched off would),
        and the next date is counted from now.
        """
        now = self._now()
        if not key.rotation_enabled or key.next_rotation is None or now < key.next_rotation:
            return
        with self._store.write() as records:
            current = records.key(key.key_id)
            if (
                current is None
                or current.state != ENABLED
                or not current.rotation_enabled
                or current.next_rotation is None
                or current.rotation_period is None
                or now < current.next_rotation
            ):
                return  # another process rotated it first, or rotation was turned off
            self._new_version(records, current, now, "AUTOMATIC")
            records.update_key(current.changed(next_rotation=now + current.rotation_period * _DAY))

    # --- metadata ---------------------------------------------------------------------------------
    def _metadata(self, key: KeyRecord) -> KeyMetadata:
        pending = key.state == PENDING_DELETION
        imported = key.origin == EXTERNAL and key.expiration_model is not None
        return KeyMetadata(
            key_id=key.key_id,
            arn=self._arn(key.key_id),
            aws_account_id=self.account_id,
            creation_date=_ts(key.created) or _utcnow(),
            enabled=key.state == ENABLED,
            key_state=key.state,
            description=key.description,
            key_usage=key.key_usage,
            key_spec=key.key_spec,
            origin=key.origin,
            encryption_algorithms=_encryption_algorithms(key),
            deletion_date=_ts(key.deletion_date) if pending else None,
            pending_deletion_window_in_days=key.pending_window if pending else None,
            signing_algorithms=_signing_algorithms(key),
            mac_algorithms=MAC_ALGORITHMS[key.key_spec]
            if key.key_usage == GENERATE_VERIFY_MAC
            else (),
            valid_to=_ts(key.valid_to) if imported else None,
            expiration_model=key.expiration_model if imported else None,
        )

    # --- test seam --------------------------------------------------------------------------------
    def _raw_backing_key(self, key_id: str, version: int) -> bytes:
        """Test seam only: the unwrapped bytes of a backing key, to prove they are not on disk."""
        material = self._store.reader.material(key_id, version)
        assert material is not None
        return material
