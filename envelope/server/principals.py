"""The principals of the account that ``envelope serve`` authenticates: names and access keys.

A principal is an IAM-style user, ``arn:aws:iam::ACCOUNT:user/NAME``, with one access key: an
``AKIA...`` access key id and a 40-character secret access key. The secret is shown once, when the
principal is created; the keystore holds it only wrapped under its root key. Each request runs as
its signer: key policies and grants decide what it may do (the default key policy's
``arn:aws:iam::ACCOUNT:root`` stands for every principal of the account).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from envelope.errors import (
    AlreadyExistsException,
    KeystoreError,
    NotFoundException,
    ValidationException,
)
from envelope.keys.store import Keystore, PrincipalRecord
from envelope.keys.store.home import default_home

# IAM user names: 1-64 characters of letters, digits and + = , . @ _ - (IAM API reference,
# CreateUser, UserName).
_NAME = re.compile(r"[A-Za-z0-9+=,.@_-]{1,64}")
# Access key ids: "AKIA" (a long-term user key) and 16 characters of base32 (IAM AccessKey).
_ACCESS_KEY_ID = re.compile(r"AKIA[A-Z2-7]{16}")
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@dataclass(frozen=True)
class Principal:
    """A principal as the server and ``envelope principal list`` see it (no secret)."""

    name: str
    arn: str
    access_key_id: str
    created: dt.datetime


@dataclass(frozen=True)
class NewPrincipal:
    """A principal just created, with the secret access key shown this once."""

    principal: Principal
    secret_access_key: str = field(repr=False)


def check_name(name: str) -> str:
    """An IAM user name.

    Raises:
        ValidationException: it is not 1-64 characters of letters, digits and ``+=,.@_-``.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValidationException(
            f"principal name {name!r} must be 1-64 characters of letters, digits and +=,.@_-"
        )
    return name


def is_access_key_id(value: str) -> bool:
    """Whether ``value`` has the shape of an access key id this service issues."""
    return bool(_ACCESS_KEY_ID.fullmatch(value))


def _new_access_key_id() -> str:
    return "AKIA" + "".join(secrets.choice(_BASE32) for _ in range(16))


def _new_secret() -> str:
    # 30 random bytes are 40 base64 characters, the length of an AWS secret access key.
    return base64.b64encode(os.urandom(30)).decode("ascii")


class Principals:
    """The principals stored in one keystore.

    Args:
        home: the keystore folder; default ``ENVELOPE_HOME``, else the per-user data folder.
        passphrase: as for ``LocalKeyService``; default ``ENVELOPE_PASSPHRASE``.
        region: for a new keystore, its region (as for ``LocalKeyService``).
        account_id: for a new keystore, its account; principal ARNs name the stored account.

    Raises:
        KeystoreError / WrongPassphraseError: the keystore cannot be opened.
    """

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        passphrase: str | None = None,
        region: str | None = None,
        account_id: str | None = None,
    ) -> None:
        if passphrase is None:
            passphrase = os.environ.get("ENVELOPE_PASSPHRASE") or None
        self._store = Keystore(
            Path(home) if home is not None else default_home(),
            passphrase=passphrase,
            region=region,
            account_id=account_id,
        )
        self.account_id = self._store.identity.account_id
        try:
            if not self._store.reader.has_principals_table():
                with self._store.write() as records:
                    records.create_principals_table()
        except BaseException:
            self._store.close()
            raise

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> Principals:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Principals({str(self._store.home)!r})"

    def arn(self, name: str) -> str:
        return f"arn:aws:iam::{self.account_id}:user/{name}"

    def _principal(self, record: PrincipalRecord) -> Principal:
        return Principal(
            name=record.name,
            arn=self.arn(record.name),
            access_key_id=record.access_key_id,
            created=dt.datetime.fromtimestamp(record.created, dt.timezone.utc),
        )

    def create(self, name: str) -> NewPrincipal:
        """Create a principal with a new access key.

        Returns:
            The principal and its secret access key (never shown again).

        Raises:
            ValidationException: the name is not an IAM user name.
            AlreadyExistsException: a principal of that name exists.
        """
        check_name(name)
        secret = _new_secret()
        record = PrincipalRecord(name, _new_access_key_id(), time.time())
        with self._store.write() as records:
            if records.principal(name) is not None:
                raise AlreadyExistsException(f"principal {name} already exists")
            # The access key id is UNIQUE: a collision (one in 2^80) fails the insert.
            records.insert_principal(record, secret.encode("ascii"))
        return NewPrincipal(self._principal(record), secret)

    def list(self) -> list[Principal]:
        """Every principal, by name."""
        return [self._principal(r) for r in self._store.reader.principals()]

    def delete(self, name: str) -> None:
        """Delete a principal; its access key stops working at once.

        Raises:
            NotFoundException: there is no principal of that name.
        """
        with self._store.write() as records:
            if not records.delete_principal(name):
                raise NotFoundException(f"principal {name} does not exist")

    def lookup(self, access_key_id: str) -> tuple[Principal, str] | None:
        """The principal holding ``access_key_id`` and its secret, or None if nobody does."""
        if not is_access_key_id(access_key_id):
            return None
        try:
            found = self._store.reader.principal_by_access_key(access_key_id)
        except KeystoreError:
            # Another process may have rekeyed the store: take up its root key and look again.
            self._store.refresh()
            found = self._store.reader.principal_by_access_key(access_key_id)
        if found is None:
            return None
        record, secret = found
        return self._principal(record), secret.decode("ascii")
