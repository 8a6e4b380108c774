"""LocalKeyService: AWS KMS semantics on this machine, keys kept in an embedded keystore.

Behaviour, limits and error names follow the AWS KMS API reference, so code written against this
service runs unchanged on AWS KMS through ``AwsKmsKeyService``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from envelope.errors import (
    AlreadyExistsException,
    DisabledException,
    IncorrectKeyException,
    InvalidAliasNameException,
    InvalidCiphertextException,
    InvalidKeyUsageException,
    InvalidMarkerException,
    KMSInvalidStateException,
    LimitExceededException,
    MalformedPolicyDocumentException,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
)
from envelope.keys import blob as _blob
from envelope.keys.base import (
    DISABLED,
    ENABLED,
    ENCRYPT_DECRYPT,
    KEY_SPECS,
    PENDING_DELETION,
    RSAES_OAEP_SHA_1,
    RSAES_OAEP_SHA_256,
    SYMMETRIC_DEFAULT,
    AliasListEntry,
    CancelKeyDeletionResult,
    DecryptResult,
    EncryptionContext,
    EncryptResult,
    GenerateDataKeyResult,
    GenerateDataKeyWithoutPlaintextResult,
    GenerateRandomResult,
    GetPublicKeyResult,
    KeyListEntry,
    KeyMetadata,
    KeyMetadataResult,
    KeyRotationStatus,
    ListAliasesResult,
    ListKeyRotationsResult,
    ListKeysResult,
    ReEncryptResult,
    RotateKeyOnDemandResult,
    RotationsListEntry,
    ScheduleKeyDeletionResult,
)
from envelope.keys.keystore import SCRYPT_N, Keystore

# --- Limits from the AWS KMS API reference --------------------------------------------------------
MAX_ENCRYPT_PLAINTEXT = 4096
MAX_DATA_KEY_BYTES = 1024
MAX_RANDOM_BYTES = 1024
MAX_CIPHERTEXT_BLOB = 6144
MAX_DESCRIPTION = 8192
MAX_POLICY = 32768
DELETION_WINDOW = (7, 30)
ROTATION_PERIOD = (90, 2560)
DEFAULT_ROTATION_PERIOD = 365
MAX_ON_DEMAND_ROTATIONS = 25
DATA_KEY_SPECS = {"AES_128": 16, "AES_256": 32}
RSA_SIZES = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
RSA_ALGORITHMS: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    RSAES_OAEP_SHA_1: hashes.SHA1,
    RSAES_OAEP_SHA_256: hashes.SHA256,
}
_ALIAS_PATTERN = re.compile(r"^alias/[a-zA-Z0-9/_-]+$")
_UUID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

T = TypeVar("T")


def _invalid(member: str, constraint: str) -> ValidationException:
    """KMS's wording for a request member that breaks a documented constraint."""
    return ValidationException(
        f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
        f"{constraint}"
    )


def _check_length(member: str, value: bytes, low: int, high: int) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"{member} must be bytes, not {type(value).__name__}")
    value = bytes(value)
    if len(value) < low:
        raise _invalid(member, f"Member must have length greater than or equal to {low}")
    if len(value) > high:
        raise _invalid(member, f"Member must have length less than or equal to {high}")
    return value


def _check_range(member: str, value: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{member} must be an int, not {type(value).__name__}")
    if value < low:
        raise _invalid(member, f"Member must have value greater than or equal to {low}")
    if value > high:
        raise _invalid(member, f"Member must have value less than or equal to {high}")
    return value


def _check_context(context: EncryptionContext | None) -> dict[str, str]:
    if context is None:
        return {}
    result: dict[str, str] = {}
    for name, value in context.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise ValidationException("encryption context keys and values must be strings")
        if not name:
            raise ValidationException("encryption context keys must not be empty")
        result[name] = value
    return result


def _default_policy(account_id: str) -> str:
    # The default key policy of AWS KMS: the account's root principal may do everything.
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "key-default-1",
            "Statement": [
                {
                    "Sid": "Enable IAM User Permissions",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )


def _ts(moment: float | None) -> dt.datetime | None:
    return None if moment is None else dt.datetime.fromtimestamp(moment, dt.timezone.utc)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class _Key:
    """One row of the keys table."""

    key_id: str
    created: float
    description: str
    key_spec: str
    key_usage: str
    state: str
    deletion_date: float | None
    pending_window: int | None
    rotation_enabled: bool
    rotation_period: int | None
    next_rotation: float | None
    on_demand_rotations: int

    @property
    def symmetric(self) -> bool:
        return self.key_spec == SYMMETRIC_DEFAULT


_KEY_COLUMNS = (
    "key_id, created, description, key_spec, key_usage, state, deletion_date, pending_window, "
    "rotation_enabled, rotation_period, next_rotation, on_demand_rotations"
)


def _encode_marker(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode()).decode()


def _decode_marker(marker: str | None) -> str | None:
    if marker is None:
        return None
    try:
        return base64.urlsafe_b64decode(marker.encode()).decode()
    except (ValueError, UnicodeError):
        raise InvalidMarkerException("the marker is not one this service returned") from None


def _page(
    items: Sequence[T], position: Callable[[T], str], limit: int, marker: str | None
) -> tuple[tuple[T, ...], bool, str | None]:
    """Cut a sorted sequence into a page after ``marker``; returns (page, truncated, next)."""
    after = _decode_marker(marker)
    remaining = [item for item in items if after is None or position(item) > after]
    page = tuple(remaining[:limit])
    truncated = len(remaining) > limit
    return page, truncated, (_encode_marker(position(page[-1])) if truncated else None)


class LocalKeyService:
    """A local key service with AWS KMS semantics; master keys never leave it.

    Args:
        home: Keystore folder; default ``ENVELOPE_HOME``, else a per-user data folder.
        passphrase: Protects the root key through scrypt; default ``ENVELOPE_PASSPHRASE``. When
            neither is set, a random root-key file is created 0600 beside the keystore.
        region: Region in ARNs (default ``us-east-1``).
        account_id: Account in ARNs (default ``123456789012``).

    Raises:
        WrongPassphraseError: the passphrase does not open an existing keystore.
        KeystoreError: the keystore is damaged or protected differently.
    """

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        passphrase: str | None = None,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        _scrypt_n: int = SCRYPT_N,
        _clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        if home is None:
            from envelope.config import default_home

            home = default_home()
        if passphrase is None:
            passphrase = os.environ.get("ENVELOPE_PASSPHRASE") or None
        self.region = region
        self.account_id = account_id
        self._clock = _clock
        self._lock = threading.RLock()
        self._store = Keystore(Path(home), passphrase=passphrase, scrypt_n=_scrypt_n)
        # Backing keys never change once written, so unwrapped ones can be kept per version.
        self._aes: dict[tuple[str, int], AESGCM] = {}
        self._rsa: dict[str, rsa.RSAPrivateKey] = {}

    # --- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the keystore and forget every unwrapped key held in memory."""
        with self._lock:
            self._aes.clear()
            self._rsa.clear()
            self._store.close()

    def __enter__(self) -> LocalKeyService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalKeyService(home={str(self._store.home)!r}, region={self.region!r})"

    @property
    def home(self) -> Path:
        return self._store.home

    # --- identifiers ----------------------------------------------------------------------------
    def _arn(self, key_id: str) -> str:
        return f"arn:aws:kms:{self.region}:{self.account_id}:key/{key_id}"

    def _alias_arn(self, name: str) -> str:
        return f"arn:aws:kms:{self.region}:{self.account_id}:{name}"

    def _now(self) -> float:
        return self._clock().timestamp()

    def _resolve(self, key_id: str, *, aliases: bool = True) -> _Key:
        """Find the key named by id, ARN, alias name or alias ARN (where KMS accepts aliases)."""
        if not isinstance(key_id, str) or not key_id:
            raise _invalid("keyId", "Member must have length greater than or equal to 1")
        self._purge_due_deletions()
        name = key_id
        prefix = f"arn:aws:kms:{self.region}:{self.account_id}:"
        if name.startswith("arn:"):
            if not name.startswith(prefix):
                raise NotFoundException(f"Key '{key_id}' does not exist")
            name = name[len(prefix) :]
            if name.startswith("key/"):
                name = name[4:]
            elif not name.startswith("alias/"):
                raise NotFoundException(f"Key '{key_id}' does not exist")
        if name.startswith("alias/"):
            if not aliases:
                raise NotFoundException(f"Key '{key_id}' does not exist (aliases are not accepted)")
            rows = self._store.query("SELECT key_id FROM aliases WHERE name = ?", (name,))
            if not rows:
                raise NotFoundException(f"Alias {self._alias_arn(name)} is not found.")
            name = rows[0][0]
        if not _UUID_PATTERN.match(name):
            raise NotFoundException(f"Invalid keyId '{key_id}'")
        sql = f"SELECT {_KEY_COLUMNS} FROM keys WHERE key_id = ?"  # noqa: S608 - constant columns
        rows = self._store.query(sql, (name,))
        if not rows:
            raise NotFoundException(f"Key '{self._arn(name)}' does not exist")
        row = list(rows[0])
        row[8] = bool(row[8])  # rotation_enabled is stored as 0/1
        return _Key(*row)

    def _usable(self, key: _Key) -> None:
        """Raise unless the key may be used in a cryptographic operation."""
        if key.state == DISABLED:
            raise DisabledException(f"{self._arn(key.key_id)} is disabled.")
        if key.state == PENDING_DELETION:
            raise KMSInvalidStateException(f"{self._arn(key.key_id)} is pending deletion.")

    def _not_pending(self, key: _Key) -> None:
        if key.state == PENDING_DELETION:
            raise KMSInvalidStateException(f"{self._arn(key.key_id)} is pending deletion.")

    # --- deletion and rotation that fall due by the clock -----------------------------------------
    def _purge_due_deletions(self) -> None:
        now = self._now()
        due = self._store.query(
            "SELECT key_id FROM keys WHERE state = ? AND deletion_date <= ?",
            (PENDING_DELETION, now),
        )
        if not due:
            return
        with self._lock, self._store.transaction() as tx:
            for (key_id,) in due:
                # Destroy the key: its backing-key versions and aliases go with it.
                tx.run("DELETE FROM aliases WHERE key_id = ?", (key_id,))
                tx.run("DELETE FROM versions WHERE key_id = ?", (key_id,))
                tx.run(
                    "DELETE FROM keys WHERE key_id = ? AND state = ? AND deletion_date <= ?",
                    (key_id, PENDING_DELETION, now),
                )
            gone = {key_id for (key_id,) in due}
            self._aes = {k: v for k, v in self._aes.items() if k[0] not in gone}
            for key_id in gone:
                self._rsa.pop(key_id, None)

    def _rotate_if_due(self, key: _Key) -> None:
        """Automatic rotation happens lazily: on the first use after its date.

        Several missed periods give one new version (as a service that was switched off would),
        and the next date is counted from now.
        """
        if not key.rotation_enabled or key.next_rotation is None:
            return
        now = self._now()
        if now < key.next_rotation:
            return
        with self._lock, self._store.transaction() as tx:
            rows = tx.rows(
                "SELECT next_rotation, rotation_period, rotation_enabled FROM keys"
                " WHERE key_id = ?",
                (key.key_id,),
            )
            if not rows or not rows[0][2] or rows[0][0] is None or now < rows[0][0]:
                return  # another process rotated it first, or rotation was turned off
            self._add_version(tx, key.key_id, now, "AUTOMATIC")
            tx.run(
                "UPDATE keys SET next_rotation = ? WHERE key_id = ?",
                (now + rows[0][1] * 86400, key.key_id),
            )

    def _add_version(self, tx: Any, key_id: str, now: float, rotation_type: str | None) -> int:
        (latest,) = tx.rows("SELECT MAX(version) FROM versions WHERE key_id = ?", (key_id,))[0]
        version = int(latest or 0) + 1
        material = os.urandom(32)
        tx.run(
            "INSERT INTO versions (key_id, version, created, rotation_type, wrapped)"
            " VALUES (?, ?, ?, ?, ?)",
            (key_id, version, now, rotation_type, self._store.wrap(key_id, version, material)),
        )
        return version

    # --- backing keys -----------------------------------------------------------------------------
    def _latest_version(self, key_id: str) -> int:
        rows = self._store.query("SELECT MAX(version) FROM versions WHERE key_id = ?", (key_id,))
        return int(rows[0][0])

    def _aes_key(self, key_id: str, version: int) -> AESGCM | None:
        cached = self._aes.get((key_id, version))
        if cached is not None:
            return cached
        rows = self._store.query(
            "SELECT wrapped FROM versions WHERE key_id = ? AND version = ?", (key_id, version)
        )
        if not rows:
            return None
        aes = AESGCM(self._store.unwrap(key_id, version, bytes(rows[0][0])))
        self._aes[(key_id, version)] = aes
        return aes

    def _rsa_key(self, key_id: str) -> rsa.RSAPrivateKey:
        cached = self._rsa.get(key_id)
        if cached is not None:
            return cached
        rows = self._store.query(
            "SELECT wrapped FROM versions WHERE key_id = ? AND version = 1", (key_id,)
        )
        der = self._store.unwrap(key_id, 1, bytes(rows[0][0]))
        private = serialization.load_der_private_key(der, password=None)
        assert isinstance(private, rsa.RSAPrivateKey)
        self._rsa[key_id] = private
        return private

    def _raw_backing_key(self, key_id: str, version: int) -> bytes:
        """Test seam only: the unwrapped bytes of a backing key, to prove they are not on disk."""
        rows = self._store.query(
            "SELECT wrapped FROM versions WHERE key_id = ? AND version = ?", (key_id, version)
        )
        return self._store.unwrap(key_id, version, bytes(rows[0][0]))

    # --- metadata ---------------------------------------------------------------------------------
    def _metadata(self, key: _Key) -> KeyMetadata:
        algorithms = (
            (SYMMETRIC_DEFAULT,) if key.symmetric else (RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256)
        )
        pending = key.state == PENDING_DELETION
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
            encryption_algorithms=algorithms,
            deletion_date=_ts(key.deletion_date) if pending else None,
            pending_deletion_window_in_days=key.pending_window if pending else None,
        )

    # --- keys -------------------------------------------------------------------------------------
    def create_key(
        self,
        *,
        description: str = "",
        key_usage: str = ENCRYPT_DECRYPT,
        key_spec: str = SYMMETRIC_DEFAULT,
        policy: str | None = None,
    ) -> KeyMetadataResult:
        """Create a key whose material is generated here and never leaves the service."""
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
            raise _invalid(
                "description", f"Member must have length less than or equal to {MAX_DESCRIPTION}"
            )
        if key_spec not in KEY_SPECS:
            raise _invalid(
                "keySpec", f"Member must satisfy enum value set: [{', '.join(KEY_SPECS)}]"
            )
        if key_usage != ENCRYPT_DECRYPT:
            raise _invalid("keyUsage", f"Member must satisfy enum value set: [{ENCRYPT_DECRYPT}]")
        if policy is None:
            policy = _default_policy(self.account_id)
        else:
            _check_length("policy", policy.encode(), 1, MAX_POLICY)
            try:
                json.loads(policy)
            except ValueError:
                raise MalformedPolicyDocumentException("the key policy is not valid JSON") from None
        key_id = str(uuid.uuid4())
        now = self._now()
        private_der: bytes | None = None
        if key_spec in RSA_SIZES:
            private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_SIZES[key_spec])
            private_der = private.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        with self._lock, self._store.transaction() as tx:
            tx.run(
                f"INSERT INTO keys ({_KEY_COLUMNS}, policy) VALUES"  # noqa: S608 - constant
                " (?, ?, ?, ?, ?, ?, NULL, NULL, 0, NULL, NULL, 0, ?)",
                (key_id, now, description, key_spec, key_usage, ENABLED, policy),
            )
            if private_der is None:
                self._add_version(tx, key_id, now, None)
            else:
                tx.run(
                    "INSERT INTO versions (key_id, version, created, rotation_type, wrapped)"
                    " VALUES (?, 1, ?, NULL, ?)",
                    (key_id, now, self._store.wrap(key_id, 1, private_der)),
                )
        return KeyMetadataResult(self._metadata(self._resolve(key_id)))

    def describe_key(self, *, key_id: str) -> KeyMetadataResult:
        return KeyMetadataResult(self._metadata(self._resolve(key_id)))

    def list_keys(self, *, limit: int | None = None, marker: str | None = None) -> ListKeysResult:
        limit = _check_range("limit", 100 if limit is None else limit, 1, 1000)
        self._purge_due_deletions()
        ids = [row[0] for row in self._store.query("SELECT key_id FROM keys ORDER BY key_id")]
        page, truncated, next_marker = _page(ids, lambda k: k, limit, marker)
        entries = tuple(KeyListEntry(key_id=k, key_arn=self._arn(k)) for k in page)
        return ListKeysResult(keys=entries, truncated=truncated, next_marker=next_marker)

    def enable_key(self, *, key_id: str) -> None:
        key = self._resolve(key_id, aliases=False)
        self._not_pending(key)
        self._set_state(key.key_id, ENABLED)

    def disable_key(self, *, key_id: str) -> None:
        key = self._resolve(key_id, aliases=False)
        self._not_pending(key)
        self._set_state(key.key_id, DISABLED)

    def _set_state(self, key_id: str, state: str) -> None:
        with self._lock, self._store.transaction() as tx:
            tx.run("UPDATE keys SET state = ? WHERE key_id = ?", (state, key_id))

    def schedule_key_deletion(
        self, *, key_id: str, pending_window_in_days: int = 30
    ) -> ScheduleKeyDeletionResult:
        days = _check_range("pendingWindowInDays", pending_window_in_days, *DELETION_WINDOW)
        key = self._resolve(key_id, aliases=False)
        self._not_pending(key)
        deletion = self._now() + days * 86400
        with self._lock, self._store.transaction() as tx:
            tx.run(
                "UPDATE keys SET state = ?, deletion_date = ?, pending_window = ? WHERE key_id = ?",
                (PENDING_DELETION, deletion, days, key.key_id),
            )
        return ScheduleKeyDeletionResult(
            key_id=self._arn(key.key_id),
            deletion_date=_ts(deletion) or _utcnow(),
            key_state=PENDING_DELETION,
            pending_window_in_days=days,
        )

    def cancel_key_deletion(self, *, key_id: str) -> CancelKeyDeletionResult:
        key = self._resolve(key_id, aliases=False)
        if key.state != PENDING_DELETION:
            raise KMSInvalidStateException(f"{self._arn(key.key_id)} is not pending deletion.")
        with self._lock, self._store.transaction() as tx:
            # As in KMS, a key whose deletion is cancelled comes back Disabled.
            tx.run(
                "UPDATE keys SET state = ?, deletion_date = NULL, pending_window = NULL"
                " WHERE key_id = ?",
                (DISABLED, key.key_id),
            )
        return CancelKeyDeletionResult(key_id=self._arn(key.key_id))

    # --- aliases ----------------------------------------------------------------------------------
    def _check_alias_name(self, alias_name: str) -> None:
        if not isinstance(alias_name, str) or not 1 <= len(alias_name) <= 256:
            raise _invalid("aliasName", "Member must have length between 1 and 256")
        if not _ALIAS_PATTERN.match(alias_name):
            raise InvalidAliasNameException(
                f"Alias {alias_name} must begin with 'alias/' and contain only alphanumeric "
                "characters, forward slashes (/), underscores (_) and dashes (-)"
            )
        if alias_name.startswith("alias/aws/"):
            raise InvalidAliasNameException(
                "Alias names that begin with 'alias/aws/' are reserved for AWS managed keys"
            )

    def create_alias(self, *, alias_name: str, target_key_id: str) -> None:
        self._check_alias_name(alias_name)
        key = self._resolve(target_key_id, aliases=False)
        self._not_pending(key)
        now = self._now()
        with self._lock, self._store.transaction() as tx:
            if tx.rows("SELECT 1 FROM aliases WHERE name = ?", (alias_name,)):
                raise AlreadyExistsException(
                    f"An alias with the name {self._alias_arn(alias_name)} already exists"
                )
            tx.run(
                "INSERT INTO aliases (name, key_id, created, updated) VALUES (?, ?, ?, ?)",
                (alias_name, key.key_id, now, now),
            )

    def delete_alias(self, *, alias_name: str) -> None:
        self._check_alias_name(alias_name)
        with self._lock, self._store.transaction() as tx:
            if not tx.run("DELETE FROM aliases WHERE name = ?", (alias_name,)):
                raise NotFoundException(f"Alias {self._alias_arn(alias_name)} is not found.")

    def list_aliases(
        self, *, key_id: str | None = None, limit: int | None = None, marker: str | None = None
    ) -> ListAliasesResult:
        limit = _check_range("limit", 50 if limit is None else limit, 1, 100)
        if key_id is not None:
            target = self._resolve(key_id, aliases=False).key_id
            rows = self._store.query(
                "SELECT name, key_id, created, updated FROM aliases WHERE key_id = ? ORDER BY name",
                (target,),
            )
        else:
            self._purge_due_deletions()
            rows = self._store.query(
                "SELECT name, key_id, created, updated FROM aliases ORDER BY name"
            )
        page, truncated, next_marker = _page(rows, lambda r: str(r[0]), limit, marker)
        entries = tuple(
            AliasListEntry(
                alias_name=r[0],
                alias_arn=self._alias_arn(r[0]),
                target_key_id=r[1],
                creation_date=_ts(r[2]),
                last_updated_date=_ts(r[3]),
            )
            for r in page
        )
        return ListAliasesResult(aliases=entries, truncated=truncated, next_marker=next_marker)

    # --- cryptographic operations -----------------------------------------------------------------
    def _encrypt_with(
        self, key: _Key, plaintext: bytes, context: dict[str, str], algorithm: str
    ) -> bytes:
        if key.symmetric:
            if algorithm != SYMMETRIC_DEFAULT:
                raise InvalidKeyUsageException(
                    f"{self._arn(key.key_id)} key usage is ENCRYPT_DECRYPT with "
                    f"{SYMMETRIC_DEFAULT}; {algorithm} is not supported"
                )
            self._rotate_if_due(key)
            version = self._latest_version(key.key_id)
            aes = self._aes_key(key.key_id, version)
            assert aes is not None
            prefix = _blob.pack_prefix(key.key_id, version)
            nonce = os.urandom(_blob.NONCE_SIZE)
            sealed = aes.encrypt(nonce, plaintext, prefix + _blob.encode_context(context))
            return prefix + nonce + sealed
        digest = RSA_ALGORITHMS.get(algorithm)
        if digest is None:
            raise InvalidKeyUsageException(
                f"{self._arn(key.key_id)} is an RSA key; use {RSAES_OAEP_SHA_1} or "
                f"{RSAES_OAEP_SHA_256}, not {algorithm}"
            )
        if context:
            raise ValidationException("an encryption context is not supported with RSA keys")
        size = RSA_SIZES[key.key_spec] // 8
        limit = size - 2 * digest().digest_size - 2  # RSA-OAEP (RFC 8017, 7.1.1)
        if len(plaintext) > limit:
            raise _invalid(
                "plaintext",
                f"Member must have length less than or equal to {limit} "
                f"for {key.key_spec} with {algorithm}",
            )
        public = self._rsa_key(key.key_id).public_key()
        return public.encrypt(plaintext, _oaep(digest))

    def _decrypt_blob(
        self,
        ciphertext_blob: bytes,
        context: dict[str, str],
        key_id: str | None,
        algorithm: str,
    ) -> tuple[bytes, _Key]:
        ciphertext_blob = _check_length("ciphertextBlob", ciphertext_blob, 1, MAX_CIPHERTEXT_BLOB)
        if algorithm in RSA_ALGORITHMS:
            if key_id is None:
                raise ValidationException(
                    "KeyId is required to decrypt a ciphertext made with an asymmetric key"
                )
            key = self._resolve(key_id)
            if key.symmetric:
                raise InvalidKeyUsageException(
                    f"{self._arn(key.key_id)} is a symmetric key; {algorithm} is not supported"
                )
            self._usable(key)
            if context:
                raise ValidationException("an encryption context is not supported with RSA keys")
            try:
                return self._rsa_key(key.key_id).decrypt(
                    ciphertext_blob, _oaep(RSA_ALGORITHMS[algorithm])
                ), key
            except ValueError:
                raise InvalidCiphertextException("the ciphertext is invalid for this key") from None
        if algorithm != SYMMETRIC_DEFAULT:
            raise _invalid(
                "encryptionAlgorithm",
                "Member must satisfy enum value set: "
                f"[{SYMMETRIC_DEFAULT}, {RSAES_OAEP_SHA_1}, {RSAES_OAEP_SHA_256}]",
            )
        wanted = self._resolve(key_id) if key_id is not None else None
        if wanted is not None and not wanted.symmetric:
            raise InvalidKeyUsageException(
                f"{self._arn(wanted.key_id)} is an RSA key; name its algorithm to decrypt"
            )
        parsed = _blob.parse(ciphertext_blob)
        if wanted is not None and wanted.key_id != parsed.key_id:
            raise IncorrectKeyException(
                "The key ID in the request does not identify the key that encrypted the ciphertext"
            )
        try:
            key = wanted or self._resolve(parsed.key_id)
        except NotFoundException:
            raise InvalidCiphertextException(
                "the ciphertext names no key of this service"
            ) from None
        self._usable(key)
        aes = self._aes_key(key.key_id, parsed.version)
        if aes is None:
            raise InvalidCiphertextException("the ciphertext names an unknown key version")
        try:
            plaintext = aes.decrypt(
                parsed.nonce, parsed.ciphertext, parsed.aad_prefix + _blob.encode_context(context)
            )
        except InvalidTag:
            raise InvalidCiphertextException(
                "the ciphertext or its encryption context is not valid"
            ) from None
        return plaintext, key

    def encrypt(
        self,
        *,
        key_id: str,
        plaintext: bytes,
        encryption_context: EncryptionContext | None = None,
        encryption_algorithm: str = SYMMETRIC_DEFAULT,
    ) -> EncryptResult:
        plaintext = _check_length("plaintext", plaintext, 1, MAX_ENCRYPT_PLAINTEXT)
        context = _check_context(encryption_context)
        key = self._resolve(key_id)
        self._usable(key)
        blob = self._encrypt_with(key, plaintext, context, encryption_algorithm)
        return EncryptResult(
            ciphertext_blob=blob,
            key_id=self._arn(key.key_id),
            encryption_algorithm=encryption_algorithm,
        )

    def decrypt(
        self,
        *,
        ciphertext_blob: bytes,
        encryption_context: EncryptionContext | None = None,
        key_id: str | None = None,
        encryption_algorithm: str = SYMMETRIC_DEFAULT,
    ) -> DecryptResult:
        context = _check_context(encryption_context)
        plaintext, key = self._decrypt_blob(
            ciphertext_blob, context, key_id, encryption_algorithm or SYMMETRIC_DEFAULT
        )
        return DecryptResult(
            plaintext=plaintext,
            key_id=self._arn(key.key_id),
            encryption_algorithm=encryption_algorithm or SYMMETRIC_DEFAULT,
        )

    def re_encrypt(
        self,
        *,
        ciphertext_blob: bytes,
        destination_key_id: str,
        source_encryption_context: EncryptionContext | None = None,
        source_key_id: str | None = None,
        destination_encryption_context: EncryptionContext | None = None,
        source_encryption_algorithm: str = SYMMETRIC_DEFAULT,
        destination_encryption_algorithm: str = SYMMETRIC_DEFAULT,
    ) -> ReEncryptResult:
        """Decrypt inside the service and encrypt under the destination key's newest version."""
        source_context = _check_context(source_encryption_context)
        destination_context = _check_context(destination_encryption_context)
        destination = self._resolve(destination_key_id)
        self._usable(destination)
        plaintext, source = self._decrypt_blob(
            ciphertext_blob, source_context, source_key_id, source_encryption_algorithm
        )
        blob = self._encrypt_with(
            destination, plaintext, destination_context, destination_encryption_algorithm
        )
        return ReEncryptResult(
            ciphertext_blob=blob,
            source_key_id=self._arn(source.key_id),
            key_id=self._arn(destination.key_id),
            source_encryption_algorithm=source_encryption_algorithm,
            destination_encryption_algorithm=destination_encryption_algorithm,
        )

    def _data_key(
        self,
        key_id: str,
        number_of_bytes: int | None,
        key_spec: str | None,
        encryption_context: EncryptionContext | None,
    ) -> tuple[bytes, bytes, str]:
        if (number_of_bytes is None) == (key_spec is None):
            raise ValidationException("Please specify either number of bytes or key spec.")
        if key_spec is not None:
            if key_spec not in DATA_KEY_SPECS:
                raise _invalid("keySpec", "Member must satisfy enum value set: [AES_256, AES_128]")
            size = DATA_KEY_SPECS[key_spec]
        else:
            assert number_of_bytes is not None
            size = _check_range("numberOfBytes", number_of_bytes, 1, MAX_DATA_KEY_BYTES)
        context = _check_context(encryption_context)
        key = self._resolve(key_id)
        self._usable(key)
        if not key.symmetric:
            raise InvalidKeyUsageException(
                f"{self._arn(key.key_id)} is an asymmetric key; data keys need a symmetric key"
            )
        plaintext = os.urandom(size)
        blob = self._encrypt_with(key, plaintext, context, SYMMETRIC_DEFAULT)
        return plaintext, blob, self._arn(key.key_id)

    def generate_data_key(
        self,
        *,
        key_id: str,
        number_of_bytes: int | None = None,
        key_spec: str | None = None,
        encryption_context: EncryptionContext | None = None,
    ) -> GenerateDataKeyResult:
        plaintext, blob, arn = self._data_key(key_id, number_of_bytes, key_spec, encryption_context)
        return GenerateDataKeyResult(ciphertext_blob=blob, plaintext=plaintext, key_id=arn)

    def generate_data_key_without_plaintext(
        self,
        *,
        key_id: str,
        number_of_bytes: int | None = None,
        key_spec: str | None = None,
        encryption_context: EncryptionContext | None = None,
    ) -> GenerateDataKeyWithoutPlaintextResult:
        _plaintext, blob, arn = self._data_key(
            key_id, number_of_bytes, key_spec, encryption_context
        )
        return GenerateDataKeyWithoutPlaintextResult(ciphertext_blob=blob, key_id=arn)

    def generate_random(self, *, number_of_bytes: int) -> GenerateRandomResult:
        size = _check_range("numberOfBytes", number_of_bytes, 1, MAX_RANDOM_BYTES)
        return GenerateRandomResult(plaintext=os.urandom(size))

    # --- rotation ---------------------------------------------------------------------------------
    def _rotatable(self, key_id: str) -> _Key:
        key = self._resolve(key_id, aliases=False)
        if not key.symmetric:
            raise UnsupportedOperationException(
                f"{self._arn(key.key_id)} is an asymmetric key; only symmetric keys rotate"
            )
        self._usable(key)
        return key

    def enable_key_rotation(
        self, *, key_id: str, rotation_period_in_days: int | None = None
    ) -> None:
        period = _check_range(
            "rotationPeriodInDays",
            DEFAULT_ROTATION_PERIOD if rotation_period_in_days is None else rotation_period_in_days,
            *ROTATION_PERIOD,
        )
        key = self._rotatable(key_id)
        with self._lock, self._store.transaction() as tx:
            tx.run(
                "UPDATE keys SET rotation_enabled = 1, rotation_period = ?, next_rotation = ?"
                " WHERE key_id = ?",
                (period, self._now() + period * 86400, key.key_id),
            )

    def disable_key_rotation(self, *, key_id: str) -> None:
        key = self._rotatable(key_id)
        with self._lock, self._store.transaction() as tx:
            tx.run(
                "UPDATE keys SET rotation_enabled = 0, next_rotation = NULL WHERE key_id = ?",
                (key.key_id,),
            )

    def get_key_rotation_status(self, *, key_id: str) -> KeyRotationStatus:
        key = self._resolve(key_id, aliases=False)
        if not key.symmetric:
            raise UnsupportedOperationException(
                f"{self._arn(key.key_id)} is an asymmetric key; only symmetric keys rotate"
            )
        if key.state == PENDING_DELETION:
            # KMS: while a key is pending deletion its rotation status reads false.
            return KeyRotationStatus(key_rotation_enabled=False, key_id=self._arn(key.key_id))
        if key.state == ENABLED:
            self._rotate_if_due(key)
            key = self._resolve(key.key_id)
        return KeyRotationStatus(
            key_rotation_enabled=key.rotation_enabled,
            key_id=self._arn(key.key_id),
            rotation_period_in_days=key.rotation_period if key.rotation_enabled else None,
            next_rotation_date=_ts(key.next_rotation) if key.rotation_enabled else None,
        )

    def rotate_key_on_demand(self, *, key_id: str) -> RotateKeyOnDemandResult:
        key = self._rotatable(key_id)
        with self._lock, self._store.transaction() as tx:
            (count,) = tx.rows(
                "SELECT on_demand_rotations FROM keys WHERE key_id = ?", (key.key_id,)
            )[0]
            if count >= MAX_ON_DEMAND_ROTATIONS:
                raise LimitExceededException(
                    f"{self._arn(key.key_id)} has reached the limit of "
                    f"{MAX_ON_DEMAND_ROTATIONS} on-demand rotations"
                )
            self._add_version(tx, key.key_id, self._now(), "ON_DEMAND")
            tx.run(
                "UPDATE keys SET on_demand_rotations = on_demand_rotations + 1 WHERE key_id = ?",
                (key.key_id,),
            )
        return RotateKeyOnDemandResult(key_id=self._arn(key.key_id))

    def list_key_rotations(
        self, *, key_id: str, limit: int | None = None, marker: str | None = None
    ) -> ListKeyRotationsResult:
        limit = _check_range("limit", 100 if limit is None else limit, 1, 1000)
        key = self._resolve(key_id, aliases=False)
        if not key.symmetric:
            raise UnsupportedOperationException(
                f"{self._arn(key.key_id)} is an asymmetric key; only symmetric keys rotate"
            )
        self._not_pending(key)
        if key.state == ENABLED:
            self._rotate_if_due(key)
        rows = self._store.query(
            "SELECT version, created, rotation_type FROM versions"
            " WHERE key_id = ? AND version > 1 ORDER BY version",
            (key.key_id,),
        )
        page, truncated, next_marker = _page(rows, lambda r: f"{r[0]:010d}", limit, marker)
        entries = tuple(
            RotationsListEntry(
                key_id=self._arn(key.key_id),
                rotation_date=_ts(r[1]) or _utcnow(),
                rotation_type=r[2],
            )
            for r in page
        )
        return ListKeyRotationsResult(
            rotations=entries, truncated=truncated, next_marker=next_marker
        )

    # --- asymmetric -------------------------------------------------------------------------------
    def get_public_key(self, *, key_id: str) -> GetPublicKeyResult:
        key = self._resolve(key_id)
        if key.symmetric:
            raise UnsupportedOperationException(
                f"{self._arn(key.key_id)} is a symmetric key; it has no public key"
            )
        self._usable(key)
        public = self._rsa_key(key.key_id).public_key()
        der = public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return GetPublicKeyResult(
            key_id=self._arn(key.key_id),
            public_key=der,
            key_spec=key.key_spec,
            key_usage=key.key_usage,
            encryption_algorithms=(RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256),
        )


def _oaep(digest: Callable[[], hashes.HashAlgorithm]) -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(algorithm=digest()), algorithm=digest(), label=None)
