"""AwsKmsKeyService's imported key material: GetParametersForImport, ImportKeyMaterial and
DeleteImportedKeyMaterial."""

from __future__ import annotations

import datetime as dt

from envelope.keys.aws.core import AwsCore
from envelope.keys.aws_shapes import blob, required_utc
from envelope.keys.base import GetParametersForImportResult, ImportKeyMaterialResult


class AwsImports(AwsCore):
    """Key material imported into EXTERNAL keys, passed through to KMS."""

    def get_parameters_for_import(
        self, *, key_id: str, wrapping_algorithm: str, wrapping_key_spec: str
    ) -> GetParametersForImportResult:
        """An RSA wrapping key and an import token for an EXTERNAL key (KMS
        GetParametersForImport)."""
        response = self._call(
            self.client.get_parameters_for_import,
            KeyId=key_id,
            WrappingAlgorithm=wrapping_algorithm,
            WrappingKeySpec=wrapping_key_spec,
        )
        return GetParametersForImportResult(
            key_id=str(response["KeyId"]),
            import_token=response["ImportToken"],
            public_key=response["PublicKey"],
            parameters_valid_to=required_utc(response.get("ParametersValidTo")),
        )

    def import_key_material(
        self,
        *,
        key_id: str,
        import_token: bytes,
        encrypted_key_material: bytes,
        valid_to: dt.datetime | None = None,
        expiration_model: str | None = None,
    ) -> ImportKeyMaterialResult:
        """Import wrapped key material (KMS ImportKeyMaterial).

        Raises:
            KeyServiceError: the KMS error (InvalidImportTokenException,
                IncorrectKeyMaterialException, ExpiredImportTokenException, ...).
        """
        response = self._call(
            self.client.import_key_material,
            KeyId=key_id,
            ImportToken=blob("ImportToken", import_token),
            EncryptedKeyMaterial=blob("EncryptedKeyMaterial", encrypted_key_material),
            ValidTo=valid_to,
            ExpirationModel=expiration_model,
        )
        material = response.get("KeyMaterialId")
        return ImportKeyMaterialResult(
            key_id=str(response.get("KeyId") or key_id),
            key_material_id=str(material) if material else None,
        )

    def delete_imported_key_material(self, *, key_id: str) -> None:
        """Erase a key's imported material; it waits in PendingImport (KMS
        DeleteImportedKeyMaterial)."""
        self._call(self.client.delete_imported_key_material, KeyId=key_id)
