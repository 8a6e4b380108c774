"""A bridge for aws-encryption-sdk users: a master key provider backed by any KeyService.

ESDK code that today uses ``KMSMasterKeyProvider`` can use a ``LocalKeyService`` (or any other
``KeyService``) instead. Encrypted data keys are written as ``aws-kms`` with the key ARN as
provider info, exactly as ``envelope.KmsKey`` writes them, so messages pass freely between
``aws_encryption_sdk`` with this provider and ``envelope.decrypt`` with ``KmsKey``.

This module imports ``aws_encryption_sdk``; nothing else in envelope imports this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attr
from aws_encryption_sdk.exceptions import DecryptKeyError, EncryptKeyError, GenerateKeyError
from aws_encryption_sdk.key_providers.base import (
    MasterKey,
    MasterKeyConfig,
    MasterKeyProvider,
    MasterKeyProviderConfig,
)
from aws_encryption_sdk.structures import DataKey, EncryptedDataKey, MasterKeyInfo

from envelope.errors import KeyServiceError
from envelope.keys.base import KeyService

PROVIDER_ID = "aws-kms"

__all__ = ["KeyServiceMasterKey", "KeyServiceMasterKeyProvider"]


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


@attr.s(hash=True)
class KeyServiceMasterKeyConfig(MasterKeyConfig):  # type: ignore[misc]
    """Configuration of one master key: the key's ARN and the service holding it."""

    provider_id = PROVIDER_ID
    service: KeyService = attr.ib(hash=False, default=None)


class KeyServiceMasterKey(MasterKey):  # type: ignore[misc]
    """One key of a KeyService as an aws-encryption-sdk master key (key id = the key ARN)."""

    provider_id = PROVIDER_ID
    _config_class = KeyServiceMasterKeyConfig

    def __init__(self, **kwargs: Any) -> None:  # the ESDK sets everything up in __new__
        if self.config.service is None:
            raise TypeError("KeyServiceMasterKey needs service=")

    @property
    def _arn(self) -> str:
        return _text(self.key_id)

    def _generate_data_key(self, algorithm: Any, encryption_context: dict[str, str]) -> DataKey:
        try:
            result = self.config.service.generate_data_key(
                key_id=self._arn,
                number_of_bytes=algorithm.kdf_input_len,
                encryption_context=encryption_context,
            )
        except KeyServiceError as e:
            raise GenerateKeyError(f"{type(e).__name__}: {e}") from e
        return DataKey(
            key_provider=MasterKeyInfo(PROVIDER_ID, result.key_id),
            data_key=result.plaintext,
            encrypted_data_key=result.ciphertext_blob,
        )

    def _encrypt_data_key(
        self, data_key: Any, algorithm: Any, encryption_context: dict[str, str]
    ) -> EncryptedDataKey:
        try:
            result = self.config.service.encrypt(
                key_id=self._arn, plaintext=data_key.data_key, encryption_context=encryption_context
            )
        except KeyServiceError as e:
            raise EncryptKeyError(f"{type(e).__name__}: {e}") from e
        return EncryptedDataKey(
            key_provider=MasterKeyInfo(PROVIDER_ID, result.key_id),
            encrypted_data_key=result.ciphertext_blob,
        )

    def _decrypt_data_key(
        self, encrypted_data_key: Any, algorithm: Any, encryption_context: dict[str, str]
    ) -> DataKey:
        try:
            result = self.config.service.decrypt(
                ciphertext_blob=encrypted_data_key.encrypted_data_key,
                encryption_context=encryption_context,
                key_id=self._arn,
            )
        except KeyServiceError as e:
            raise DecryptKeyError(f"{type(e).__name__}: {e}") from e
        if result.key_id != self._arn or len(result.plaintext) != algorithm.data_key_len:
            raise DecryptKeyError("the key service returned a data key for another key or size")
        return DataKey(
            key_provider=self.key_provider,
            data_key=result.plaintext,
            encrypted_data_key=encrypted_data_key.encrypted_data_key,
        )


@attr.s(hash=True)
class KeyServiceMasterKeyProviderConfig(MasterKeyProviderConfig):  # type: ignore[misc]
    service: KeyService = attr.ib(hash=False, default=None)
    key_ids: tuple[str, ...] = attr.ib(hash=True, default=(), converter=tuple)


class KeyServiceMasterKeyProvider(MasterKeyProvider):  # type: ignore[misc]
    """An aws-encryption-sdk master key provider over a KeyService.

    ``KeyServiceMasterKeyProvider(service=LocalKeyService(), key_ids=["alias/orders"])``
    encrypts under every listed key (the first generates the data key) and decrypts only with
    them (strict mode): an EDK of another key is not tried. Key ids may be ids, ARNs or aliases;
    each is resolved to its ARN once, with DescribeKey.
    """

    provider_id = PROVIDER_ID
    _config_class = KeyServiceMasterKeyProviderConfig
    vend_masterkey_on_decrypt = False

    def __init__(self, **kwargs: Any) -> None:
        if self.config.service is None:
            raise TypeError("KeyServiceMasterKeyProvider needs service=")
        self._arns: set[str] = set()
        self.add_master_keys_from_list(self.config.key_ids)

    def add_master_keys_from_list(self, key_ids: Iterable[str]) -> None:
        for key_id in key_ids:
            self.add_master_key(key_id)

    def _new_master_key(self, key_id: str | bytes) -> KeyServiceMasterKey:
        try:
            arn = self.config.service.describe_key(key_id=_text(key_id)).key_metadata.arn
        except KeyServiceError as e:
            raise DecryptKeyError(f"{type(e).__name__}: {e}") from e
        self._arns.add(arn)
        return KeyServiceMasterKey(key_id=arn, service=self.config.service)
