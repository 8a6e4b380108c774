"""LocalKeyService's data key pairs: GenerateDataKeyPair(WithoutPlaintext)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from envelope.errors import InvalidKeyUsageException
from envelope.keys import asymmetric
from envelope.keys.base import SYMMETRIC_DEFAULT, EncryptionContext
from envelope.keys.local.crypto import CryptoOperations
from envelope.keys.specs import KEY_PAIR_SPECS
from envelope.keys.validate import (
    check_context,
    check_enum,
    check_flag,
    check_grant_tokens,
    check_key_id,
)

# Result classes are imported where they are built: their modules load on first use, so
# `envelope encrypt` never creates them (CLI start-up is a benchmark figure).
if TYPE_CHECKING:
    from envelope.keys.results import (
        GenerateDataKeyPairResult,
        GenerateDataKeyPairWithoutPlaintextResult,
    )


class DataKeyPairs(CryptoOperations):
    """A fresh RSA or ECC key pair, its private key encrypted under a symmetric key, as KMS."""

    def _pair(
        self,
        key_id: str,
        key_pair_spec: str,
        encryption_context: EncryptionContext | None,
        grant_tokens: Sequence[str] | None,
        dry_run: bool,
    ) -> tuple[bytes, bytes, bytes, str]:
        check_key_id(key_id)
        check_enum("keyPairSpec", key_pair_spec, KEY_PAIR_SPECS)
        context = check_context(encryption_context)
        check_grant_tokens(grant_tokens)
        check_flag("dryRun", dry_run)
        key = self._resolve(key_id)
        self._usable(key)
        if key.key_spec != SYMMETRIC_DEFAULT:
            raise InvalidKeyUsageException(
                f"{self._arn(key.key_id)} is a {key.key_spec} key; data key pairs are encrypted "
                "under a symmetric encryption key"
            )
        private = asymmetric.generate(key_pair_spec)
        private_der = asymmetric.private_der(private)
        blob = self._encrypt_with(key, private_der, context, SYMMETRIC_DEFAULT)
        self._dry_run_stops_here(dry_run)
        public_der = asymmetric.public_der(private.public_key())
        return private_der, blob, public_der, self._arn(key.key_id)

    def generate_data_key_pair(
        self,
        *,
        key_id: str,
        key_pair_spec: str,
        encryption_context: EncryptionContext | None = None,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> GenerateDataKeyPairResult:
        """A new key pair: the private key as PKCS #8 DER in plaintext and encrypted under
        ``key_id`` (Decrypt it with the same encryption context), the public key as DER.

        Raises:
            InvalidKeyUsageException: ``key_id`` is not a symmetric encryption key.
        """
        from envelope.keys.results import GenerateDataKeyPairResult
        private_der, blob, public_der, arn = self._pair(
            key_id, key_pair_spec, encryption_context, grant_tokens, dry_run
        )
        return GenerateDataKeyPairResult(
            private_key_ciphertext_blob=blob,
            private_key_plaintext=private_der,
            public_key=public_der,
            key_id=arn,
            key_pair_spec=key_pair_spec,
        )

    def generate_data_key_pair_without_plaintext(
        self,
        *,
        key_id: str,
        key_pair_spec: str,
        encryption_context: EncryptionContext | None = None,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> GenerateDataKeyPairWithoutPlaintextResult:
        """As ``generate_data_key_pair``, without the plaintext private key."""
        from envelope.keys.results import GenerateDataKeyPairWithoutPlaintextResult
        _private, blob, public_der, arn = self._pair(
            key_id, key_pair_spec, encryption_context, grant_tokens, dry_run
        )
        return GenerateDataKeyPairWithoutPlaintextResult(
            private_key_ciphertext_blob=blob,
            public_key=public_der,
            key_id=arn,
            key_pair_spec=key_pair_spec,
        )
