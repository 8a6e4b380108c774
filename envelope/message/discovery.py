"""``KmsDiscovery``: decrypt with whichever KMS key a message names, within an account filter."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from envelope.errors import MessageError
from envelope.message.arn import edk_key_arn, parse_kms_arn
from envelope.message.header import EncryptedDataKey
from envelope.message.wrapping import KMS_PROVIDER_ID, _service_token

if TYPE_CHECKING:
    from envelope.keys.base import KeyService


class KmsDiscovery:
    """A decrypt-only wrapping key that asks the key service for the key each EDK names.

    Follows ``framework/aws-kms/aws-kms-discovery-keyring.md``: only ``aws-kms`` EDKs whose
    provider info is a valid key ARN are tried; with a discovery filter (``accounts``, and
    ``partition``), the ARN's partition must match and its account must be one of the accounts,
    so a message cannot make you call keys of accounts you did not name (the AWS Encryption CLI
    advisory GMS-2020-6). The key service is called with the EDK's ARN as ``KeyId`` and must
    answer with that same ARN. Encrypting is refused ("OnEncrypt: This function MUST fail").
    """

    __slots__ = ("_accounts", "_identity", "_partition", "_service")

    def __init__(
        self,
        service: KeyService,
        *,
        accounts: Iterable[str] | None = None,
        partition: str = "aws",
    ) -> None:
        """Create the discovery key.

        Args:
            service: The key service to ask.
            accounts: The discovery filter: only keys of these AWS accounts are asked. None asks
                any account's key that the message names (discovery without a filter).
            partition: The AWS partition the filter allows (checked only with ``accounts``).

        Raises:
            MessageError: An empty account list (it would match nothing) or an empty account.
        """
        if accounts is not None:
            accounts = tuple(accounts)
            if not accounts:
                raise MessageError("discovery account filter is empty; it would match no key")
            if any(not isinstance(a, str) or not a for a in accounts):
                raise MessageError("discovery account filter has an empty or non-text account")
            if not partition:
                raise MessageError("discovery filter needs a partition")
        self._service = service
        self._accounts = frozenset(accounts) if accounts is not None else None
        self._partition = partition
        self._identity = f"aws-kms-discovery:{_service_token(service)}"

    def __repr__(self) -> str:
        accounts = sorted(self._accounts) if self._accounts is not None else None
        return f"KmsDiscovery(accounts={accounts!r}, partition={self._partition!r})"

    @property
    def accounts(self) -> frozenset[str] | None:
        """The accounts of the discovery filter; None without a filter."""
        return self._accounts

    @property
    def identity(self) -> str:
        return self._identity

    def generate_data_key(
        self, length: int, encryption_context: Mapping[str, str]
    ) -> tuple[bytes, EncryptedDataKey]:
        raise MessageError("KmsDiscovery decrypts only; encrypt with KmsKey(service, key_id)")

    def wrap(self, data_key: bytes, encryption_context: Mapping[str, str]) -> EncryptedDataKey:
        raise MessageError("KmsDiscovery decrypts only; encrypt with KmsKey(service, key_id)")

    def matching_arn(self, edk: EncryptedDataKey) -> str | None:
        """The EDK's key ARN if the filter lets this key ask for it, else None.

        Args:
            edk: Any encrypted data key.

        Returns:
            The key ARN to ask the key service with, or None (another provider, not a valid key
            ARN, or outside the discovery filter).
        """
        if edk.provider_id != KMS_PROVIDER_ID:
            return None
        arn = edk_key_arn(edk.provider_info)
        if arn is None:
            return None
        if self._accounts is not None:
            parts = parse_kms_arn(arn)
            if (
                parts is None
                or parts.partition != self._partition
                or parts.account not in self._accounts
            ):
                return None
        return arn

    def unwrap(self, edk: EncryptedDataKey, encryption_context: Mapping[str, str]) -> bytes | None:
        arn = self.matching_arn(edk)
        if arn is None:
            return None
        result = self._service.decrypt(
            ciphertext_blob=edk.ciphertext,
            encryption_context=dict(encryption_context),
            key_id=arn,
        )
        if result.key_id != arn:
            return None
        return result.plaintext

    def reencrypt(
        self, edk: EncryptedDataKey, encryption_context: Mapping[str, str]
    ) -> EncryptedDataKey | None:
        """Move an EDK the filter allows to the newest version of its key (see KmsKey).

        Raises:
            KeyServiceError: The key service refused.
        """
        arn = self.matching_arn(edk)
        if arn is None:
            return None
        result = self._service.re_encrypt(
            ciphertext_blob=edk.ciphertext,
            source_key_id=arn,
            destination_key_id=arn,
            source_encryption_context=dict(encryption_context),
            destination_encryption_context=dict(encryption_context),
        )
        return EncryptedDataKey(
            KMS_PROVIDER_ID, result.key_id.encode("utf-8"), result.ciphertext_blob
        )
