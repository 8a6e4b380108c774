"""LocalKeyService's imported key material: GetParametersForImport, ImportKeyMaterial and
DeleteImportedKeyMaterial, for keys created with ``origin="EXTERNAL"``.

Imported material is kept exactly as generated material is: wrapped under the root key in the
``versions`` table (re-wrapped by rekey), never returned by any call. A key accepts only the
material it was first given (KMS: "you cannot import different key material"); what it remembers
of it is the material id, a SHA-256 bound to the key id.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric import rsa

from envelope.errors import (
    ExpiredImportTokenException,
    IncorrectKeyMaterialException,
    InvalidImportTokenException,
    UnsupportedOperationException,
    ValidationException,
)
from envelope.keys import asymmetric, imported
from envelope.keys.base import ENABLED, PENDING_IMPORT
from envelope.keys.local.core import _DAY, LocalCore, _ts, _utcnow
from envelope.keys.specs import (
    EXPIRATION_MODELS,
    EXTERNAL,
    KEY_MATERIAL_DOES_NOT_EXPIRE,
    KEY_MATERIAL_EXPIRES,
    WRAPPING_ALGORITHMS,
    WRAPPING_KEY_SPECS,
)
from envelope.keys.store import ImportRecord, KeyRecord
from envelope.keys.validate import MAX_CIPHERTEXT_BLOB, check_enum, check_key_id, check_length

# Result classes are imported where they are built: their modules load on first use, so
# `envelope encrypt` never creates them (CLI start-up is a benchmark figure).
if TYPE_CHECKING:
    from envelope.keys.results import GetParametersForImportResult, ImportKeyMaterialResult


class ImportOperations(LocalCore):
    """Key material brought in from outside, with KMS's tokens, wrapping and expiry."""

    def _external(self, key: KeyRecord) -> None:
        if key.origin != EXTERNAL:
            raise UnsupportedOperationException(
                f"{self._arn(key.key_id)} has origin {key.origin}; only keys created with "
                f"origin {EXTERNAL} take imported key material"
            )
        self._not_pending(key)

    def get_parameters_for_import(
        self, *, key_id: str, wrapping_algorithm: str, wrapping_key_spec: str
    ) -> GetParametersForImportResult:
        """A fresh RSA wrapping key and an import token, valid for 24 hours (KMS
        GetParametersForImport). Wrap the key material with the public key and
        ``wrapping_algorithm``, then pass both to ``import_key_material``.

        Raises:
            UnsupportedOperationException: the key's origin is not EXTERNAL.
            KMSInvalidStateException: the key is pending deletion.
        """
        from envelope.keys.results import GetParametersForImportResult
        check_key_id(key_id)
        check_enum("wrappingAlgorithm", wrapping_algorithm, WRAPPING_ALGORITHMS)
        check_enum("wrappingKeySpec", wrapping_key_spec, WRAPPING_KEY_SPECS)
        self._external(self._resolve(key_id, aliases=False))
        wrapping_key = asymmetric.generate(wrapping_key_spec)  # slow: outside the lock
        now = self._now()
        valid_to = float(int(now + imported.PARAMETERS_LIFETIME))
        with self._store.write() as records:
            key = self._resolve(key_id, aliases=False, records=records)
            self._external(key)
            records.delete_expired_imports(now)
            token, token_id = imported.new_token(key.key_id, valid_to)
            record = ImportRecord(
                token_id, key.key_id, wrapping_algorithm, wrapping_key_spec, valid_to
            )
            records.insert_import(record, asymmetric.private_der(wrapping_key))
        return GetParametersForImportResult(
            key_id=self._arn(key.key_id),
            import_token=token,
            public_key=asymmetric.public_der(wrapping_key.public_key()),
            parameters_valid_to=_ts(valid_to) or _utcnow(),
        )

    def _expiry(
        self, valid_to: dt.datetime | None, expiration_model: str | None, now: float
    ) -> tuple[float | None, str]:
        model = check_enum(
            "expirationModel", expiration_model or KEY_MATERIAL_EXPIRES, EXPIRATION_MODELS
        )
        if model == KEY_MATERIAL_DOES_NOT_EXPIRE:
            if valid_to is not None:
                raise ValidationException(
                    f"ValidTo is not valid with ExpirationModel {KEY_MATERIAL_DOES_NOT_EXPIRE}"
                )
            return None, model
        if valid_to is None:
            raise ValidationException(
                f"ValidTo is required when ExpirationModel is {KEY_MATERIAL_EXPIRES} "
                "(the default)"
            )
        if not isinstance(valid_to, dt.datetime):
            raise ValidationException(
                f"ValidTo must be a datetime, not {type(valid_to).__name__}"
            )
        moment = (
            valid_to.replace(tzinfo=dt.timezone.utc) if valid_to.tzinfo is None else valid_to
        ).timestamp()
        if moment <= now:
            raise ValidationException("ValidTo must be in the future")
        if moment > now + imported.MAX_VALID_TO_DAYS * _DAY:
            raise ValidationException(
                f"ValidTo is at most {imported.MAX_VALID_TO_DAYS} days after the request"
            )
        return moment, model

    def import_key_material(
        self,
        *,
        key_id: str,
        import_token: bytes,
        encrypted_key_material: bytes,
        valid_to: dt.datetime | None = None,
        expiration_model: str | None = None,
    ) -> ImportKeyMaterialResult:
        """Import (or re-import) key material wrapped with ``get_parameters_for_import``'s
        public key (KMS ImportKeyMaterial). The key becomes Enabled; with
        ``KEY_MATERIAL_EXPIRES`` (the default) the material is erased at ``valid_to`` (at most
        365 days ahead) and the key waits in PendingImport for the same material again.

        Raises:
            InvalidImportTokenException: the token is not one of this key's (or was used).
            ExpiredImportTokenException: the token's 24 hours are over.
            InvalidCiphertextException: the material was not wrapped with the token's key.
            IncorrectKeyMaterialException: not valid for the key spec, or not the material the
                key was given before.
        """
        from envelope.keys.results import ImportKeyMaterialResult
        check_key_id(key_id)
        import_token = check_length("importToken", import_token, 1, MAX_CIPHERTEXT_BLOB)
        encrypted = check_length(
            "encryptedKeyMaterial", encrypted_key_material, 1, MAX_CIPHERTEXT_BLOB
        )
        now = self._now()
        moment, model = self._expiry(valid_to, expiration_model, now)
        token_key, token_valid_to = imported.parse_token(import_token)
        with self._store.write() as records:
            key = self._resolve(key_id, aliases=False, records=records)
            self._external(key)
            found = records.import_parameters(imported.token_id(import_token))
            if found is None or found[0].key_id != key.key_id or token_key != key.key_id:
                if found is None and token_key == key.key_id and token_valid_to <= now:
                    raise ExpiredImportTokenException("the import token has expired")
                raise InvalidImportTokenException(
                    f"the import token is not valid for {self._arn(key.key_id)}"
                )
            record, wrapping_der = found
            if record.valid_to <= now:
                raise ExpiredImportTokenException("the import token has expired")
            wrapping_key = asymmetric.load_private(wrapping_der)
            assert isinstance(wrapping_key, rsa.RSAPrivateKey)
            material = imported.check_material(
                key.key_spec, imported.unwrap(wrapping_key, record.wrapping_algorithm, encrypted)
            )
            material_id = imported.material_id(key.key_id, material)
            if key.material_id is not None and key.material_id != material_id:
                raise IncorrectKeyMaterialException(
                    f"{self._arn(key.key_id)} takes only the key material imported into it before"
                )
            records.delete_import(record.token_id)  # a token and its wrapping key serve once
            self._store.request_scrub(records)  # and leave no copy of the wrapping key in the WAL
            if records.latest_version(key.key_id) == 0:
                records.add_version(key.key_id, 1, now, None, material)
            state = ENABLED if key.state == PENDING_IMPORT else key.state
            records.update_key(
                key.changed(
                    state=state, valid_to=moment, expiration_model=model, material_id=material_id
                )
            )
        return ImportKeyMaterialResult(key_id=self._arn(key.key_id), key_material_id=material_id)

    def delete_imported_key_material(self, *, key_id: str) -> None:
        """Erase a key's imported material now; the key waits in PendingImport (or stays
        PendingDeletion) until the same material is imported again (KMS
        DeleteImportedKeyMaterial).

        Raises:
            UnsupportedOperationException: the key's origin is not EXTERNAL.
        """
        check_key_id(key_id)
        with self._store.write() as records:
            key = self._resolve(key_id, aliases=False, records=records)
            if key.origin != EXTERNAL:
                self._external(key)
            self._erase_imported_material(records, key.key_id)
            self._store.request_scrub(records)  # the erased material leaves the WAL too
        self._keys.forget({key.key_id})
