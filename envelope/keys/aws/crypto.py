"""AwsKmsKeyService's cryptographic operations: Encrypt, Decrypt, ReEncrypt, data keys,
GenerateRandom and GetPublicKey."""

from __future__ import annotations

from collections.abc import Sequence

from envelope.keys.aws.core import AwsCore
from envelope.keys.aws_shapes import blob, context, tokens
from envelope.keys.base import (
    ENCRYPT_DECRYPT,
    SYMMETRIC_DEFAULT,
    DecryptResult,
    EncryptionContext,
    EncryptResult,
    GenerateDataKeyResult,
    GenerateDataKeyWithoutPlaintextResult,
    GenerateRandomResult,
    GetPublicKeyResult,
    ReEncryptResult,
)


class AwsCryptoOperations(AwsCore):
    """Encrypt, Decrypt, ReEncrypt, data keys, GenerateRandom and GetPublicKey, passed through."""

    # --- cryptographic operations -----------------------------------------------------------------
    def encrypt(
        self,
        *,
        key_id: str,
        plaintext: bytes,
        encryption_context: EncryptionContext | None = None,
        encryption_algorithm: str = SYMMETRIC_DEFAULT,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> EncryptResult:
        """Encrypt up to 4096 bytes under a key (KMS Encrypt).

        Returns:
            The ciphertext blob and the ARN of the key that encrypted.

        Raises:
            KeyServiceError: the KMS error (NotFoundException, DisabledException, ...).
        """
        response = self._call(
            self.client.encrypt,
            KeyId=key_id,
            Plaintext=blob("Plaintext", plaintext),
            EncryptionContext=context(encryption_context),
            EncryptionAlgorithm=encryption_algorithm,
            GrantTokens=tokens(grant_tokens),
            DryRun=dry_run or None,
        )
        return EncryptResult(
            ciphertext_blob=response["CiphertextBlob"],
            key_id=str(response["KeyId"]),
            encryption_algorithm=str(response.get("EncryptionAlgorithm", encryption_algorithm)),
        )

    def decrypt(
        self,
        *,
        ciphertext_blob: bytes,
        encryption_context: EncryptionContext | None = None,
        key_id: str | None = None,
        encryption_algorithm: str = SYMMETRIC_DEFAULT,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> DecryptResult:
        """Decrypt a ciphertext blob (KMS Decrypt).

        Returns:
            The plaintext and the ARN of the key that decrypted.

        Raises:
            KeyServiceError: the KMS error (InvalidCiphertextException, IncorrectKeyException, ...).
        """
        response = self._call(
            self.client.decrypt,
            CiphertextBlob=blob("CiphertextBlob", ciphertext_blob),
            EncryptionContext=context(encryption_context),
            KeyId=key_id,
            EncryptionAlgorithm=encryption_algorithm,
            GrantTokens=tokens(grant_tokens),
            DryRun=dry_run or None,
        )
        return DecryptResult(
            plaintext=response["Plaintext"],
            key_id=str(response["KeyId"]),
            encryption_algorithm=str(response.get("EncryptionAlgorithm", encryption_algorithm)),
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
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> ReEncryptResult:
        """Decrypt and encrypt again under another key, server-side (KMS ReEncrypt)."""
        response = self._call(
            self.client.re_encrypt,
            CiphertextBlob=blob("CiphertextBlob", ciphertext_blob),
            DestinationKeyId=destination_key_id,
            SourceEncryptionContext=context(source_encryption_context),
            SourceKeyId=source_key_id,
            DestinationEncryptionContext=context(destination_encryption_context),
            SourceEncryptionAlgorithm=source_encryption_algorithm,
            DestinationEncryptionAlgorithm=destination_encryption_algorithm,
            GrantTokens=tokens(grant_tokens),
            DryRun=dry_run or None,
        )
        return ReEncryptResult(
            ciphertext_blob=response["CiphertextBlob"],
            source_key_id=str(response.get("SourceKeyId", "")),
            key_id=str(response["KeyId"]),
            source_encryption_algorithm=str(
                response.get("SourceEncryptionAlgorithm", source_encryption_algorithm)
            ),
            destination_encryption_algorithm=str(
                response.get("DestinationEncryptionAlgorithm", destination_encryption_algorithm)
            ),
        )

    def generate_data_key(
        self,
        *,
        key_id: str,
        number_of_bytes: int | None = None,
        key_spec: str | None = None,
        encryption_context: EncryptionContext | None = None,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> GenerateDataKeyResult:
        """Generate a data key and its copy encrypted under ``key_id`` (KMS GenerateDataKey).

        Raises:
            KeyServiceError: the KMS error; ValidationException unless exactly one of
                ``number_of_bytes`` (1-1024) and ``key_spec`` (AES_128/AES_256) is given.
        """
        response = self._call(
            self.client.generate_data_key,
            KeyId=key_id,
            NumberOfBytes=number_of_bytes,
            KeySpec=key_spec,
            EncryptionContext=context(encryption_context),
            GrantTokens=tokens(grant_tokens),
            DryRun=dry_run or None,
        )
        return GenerateDataKeyResult(
            ciphertext_blob=response["CiphertextBlob"],
            plaintext=response["Plaintext"],
            key_id=str(response["KeyId"]),
        )

    def generate_data_key_without_plaintext(
        self,
        *,
        key_id: str,
        number_of_bytes: int | None = None,
        key_spec: str | None = None,
        encryption_context: EncryptionContext | None = None,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> GenerateDataKeyWithoutPlaintextResult:
        """Generate a data key, return only its encrypted copy (GenerateDataKeyWithoutPlaintext)."""
        response = self._call(
            self.client.generate_data_key_without_plaintext,
            KeyId=key_id,
            NumberOfBytes=number_of_bytes,
            KeySpec=key_spec,
            EncryptionContext=context(encryption_context),
            GrantTokens=tokens(grant_tokens),
            DryRun=dry_run or None,
        )
        return GenerateDataKeyWithoutPlaintextResult(
            ciphertext_blob=response["CiphertextBlob"], key_id=str(response["KeyId"])
        )

    def generate_random(self, *, number_of_bytes: int) -> GenerateRandomResult:
        """Return 1-1024 random bytes (KMS GenerateRandom)."""
        response = self._call(self.client.generate_random, NumberOfBytes=number_of_bytes)
        return GenerateRandomResult(plaintext=response["Plaintext"])

    # --- asymmetric -------------------------------------------------------------------------------
    def get_public_key(
        self, *, key_id: str, grant_tokens: Sequence[str] | None = None
    ) -> GetPublicKeyResult:
        """Return the DER public key of an RSA or ECC key (KMS GetPublicKey)."""
        response = self._call(
            self.client.get_public_key, KeyId=key_id, GrantTokens=tokens(grant_tokens)
        )
        return GetPublicKeyResult(
            key_id=str(response["KeyId"]),
            public_key=response["PublicKey"],
            key_spec=str(response.get("KeySpec") or response.get("CustomerMasterKeySpec") or ""),
            key_usage=str(response.get("KeyUsage", ENCRYPT_DECRYPT)),
            encryption_algorithms=tuple(response.get("EncryptionAlgorithms") or ()),
            signing_algorithms=tuple(response.get("SigningAlgorithms") or ()),
        )
