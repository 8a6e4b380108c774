"""AwsKmsKeyService's data key pairs: GenerateDataKeyPair(WithoutPlaintext)."""

from __future__ import annotations

from collections.abc import Sequence

from envelope.keys.aws.core import AwsCore
from envelope.keys.aws_shapes import context, tokens
from envelope.keys.base import (
    EncryptionContext,
    GenerateDataKeyPairResult,
    GenerateDataKeyPairWithoutPlaintextResult,
)


class AwsDataKeyPairs(AwsCore):
    """GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext, passed through to KMS."""

    def generate_data_key_pair(
        self,
        *,
        key_id: str,
        key_pair_spec: str,
        encryption_context: EncryptionContext | None = None,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> GenerateDataKeyPairResult:
        """A new RSA or ECC key pair, its private key also encrypted under a symmetric key
        (KMS GenerateDataKeyPair)."""
        response = self._call(
            self.client.generate_data_key_pair,
            KeyId=key_id,
            KeyPairSpec=key_pair_spec,
            EncryptionContext=context(encryption_context),
            GrantTokens=tokens(grant_tokens),
            DryRun=dry_run or None,
        )
        return GenerateDataKeyPairResult(
            private_key_ciphertext_blob=response["PrivateKeyCiphertextBlob"],
            private_key_plaintext=response["PrivateKeyPlaintext"],
            public_key=response["PublicKey"],
            key_id=str(response["KeyId"]),
            key_pair_spec=str(response.get("KeyPairSpec", key_pair_spec)),
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
        response = self._call(
            self.client.generate_data_key_pair_without_plaintext,
            KeyId=key_id,
            KeyPairSpec=key_pair_spec,
            EncryptionContext=context(encryption_context),
            GrantTokens=tokens(grant_tokens),
            DryRun=dry_run or None,
        )
        return GenerateDataKeyPairWithoutPlaintextResult(
            private_key_ciphertext_blob=response["PrivateKeyCiphertextBlob"],
            public_key=response["PublicKey"],
            key_id=str(response["KeyId"]),
            key_pair_spec=str(response.get("KeyPairSpec", key_pair_spec)),
        )
