"""LocalKeyService's cryptographic operations: Encrypt, Decrypt, ReEncrypt, data keys, ..."""

from __future__ import annotations

import os
from collections.abc import Sequence

from envelope.errors import (
    IncorrectKeyException,
    InvalidCiphertextException,
    InvalidKeyUsageException,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
)
from envelope.keys import blob as _blob
from envelope.keys.asymmetric import is_asymmetric
from envelope.keys.backing import (
    check_symmetric_algorithm,
    refuse_rsa_context,
)
from envelope.keys.base import (
    ENCRYPT_DECRYPT,
    RSAES_OAEP_SHA_1,
    RSAES_OAEP_SHA_256,
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
from envelope.keys.local.core import LocalCore, _symmetric
from envelope.keys.specs import SIGNING_ALGORITHMS
from envelope.keys.store import KeyRecord
from envelope.keys.validate import (
    DATA_KEY_SPECS,
    ENCRYPTION_ALGORITHMS,
    MAX_CIPHERTEXT_BLOB,
    MAX_DATA_KEY_BYTES,
    MAX_ENCRYPT_PLAINTEXT,
    MAX_RANDOM_BYTES,
    RSA_ALGORITHMS,
    check_context,
    check_enum,
    check_flag,
    check_grant_tokens,
    check_key_id,
    check_length,
    check_optional_key_id,
    check_range,
)


class CryptoOperations(LocalCore):
    """Encrypt, Decrypt, ReEncrypt, data keys, GenerateRandom and GetPublicKey."""

    # --- cryptographic operations -----------------------------------------------------------------
    def _encrypt_with(
        self, key: KeyRecord, plaintext: bytes, context: dict[str, str], algorithm: str
    ) -> bytes:
        arn = self._arn(key.key_id)
        self._require_usage(key, ENCRYPT_DECRYPT, "Encrypt")
        if _symmetric(key):
            check_symmetric_algorithm(arn, algorithm)
            self._rotate_if_due(key)
            return self._keys.seal(key, arn, plaintext, context)
        refuse_rsa_context(context)
        return self._keys.rsa_encrypt(key, arn, plaintext, algorithm)

    def _decrypt_blob(
        self, ciphertext_blob: bytes, context: dict[str, str], key_id: str | None, algorithm: str
    ) -> tuple[bytes, KeyRecord]:
        ciphertext_blob = check_length("ciphertextBlob", ciphertext_blob, 1, MAX_CIPHERTEXT_BLOB)
        if algorithm in RSA_ALGORITHMS:
            if key_id is None:
                raise ValidationException(
                    "KeyId is required to decrypt a ciphertext made with an asymmetric key"
                )
            key = self._resolve(key_id)
            self._require_usage(key, ENCRYPT_DECRYPT, "Decrypt")
            if _symmetric(key):
                raise InvalidKeyUsageException(
                    f"{self._arn(key.key_id)} is a symmetric key; {algorithm} is not supported"
                )
            self._usable(key)
            refuse_rsa_context(context)
            return self._keys.rsa_decrypt(key, ciphertext_blob, algorithm), key
        wanted = self._resolve(key_id) if key_id is not None else None
        if wanted is not None and not _symmetric(wanted):
            self._require_usage(wanted, ENCRYPT_DECRYPT, "Decrypt")
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
        if not _symmetric(key):
            raise InvalidCiphertextException("the ciphertext names a key that is not symmetric")
        self._usable(key)
        return self._keys.open(parsed, context), key

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
        check_key_id(key_id)
        plaintext = check_length("plaintext", plaintext, 1, MAX_ENCRYPT_PLAINTEXT)
        context = check_context(encryption_context)
        check_enum("encryptionAlgorithm", encryption_algorithm, ENCRYPTION_ALGORITHMS)
        check_grant_tokens(grant_tokens)
        check_flag("dryRun", dry_run)
        key = self._resolve(key_id)
        self._usable(key)
        blob = self._encrypt_with(key, plaintext, context, encryption_algorithm)
        self._dry_run_stops_here(dry_run)
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
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> DecryptResult:
        context = check_context(encryption_context)
        check_optional_key_id(key_id)
        algorithm = encryption_algorithm or SYMMETRIC_DEFAULT
        check_enum("encryptionAlgorithm", algorithm, ENCRYPTION_ALGORITHMS)
        check_grant_tokens(grant_tokens)
        check_flag("dryRun", dry_run)
        plaintext, key = self._decrypt_blob(ciphertext_blob, context, key_id, algorithm)
        self._dry_run_stops_here(dry_run)
        return DecryptResult(
            plaintext=plaintext, key_id=self._arn(key.key_id), encryption_algorithm=algorithm
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
        """Decrypt inside the service and encrypt under the destination key's newest version."""
        source_context = check_context(source_encryption_context)
        destination_context = check_context(destination_encryption_context)
        check_key_id(destination_key_id, "destinationKeyId")
        check_optional_key_id(source_key_id, "sourceKeyId")
        check_enum("sourceEncryptionAlgorithm", source_encryption_algorithm, ENCRYPTION_ALGORITHMS)
        check_enum(
            "destinationEncryptionAlgorithm",
            destination_encryption_algorithm,
            ENCRYPTION_ALGORITHMS,
        )
        check_grant_tokens(grant_tokens)
        check_flag("dryRun", dry_run)
        destination = self._resolve(destination_key_id, action="kms:ReEncryptTo")
        self._usable(destination)
        plaintext, source = self._decrypt_blob(
            ciphertext_blob, source_context, source_key_id, source_encryption_algorithm
        )
        blob = self._encrypt_with(
            destination, plaintext, destination_context, destination_encryption_algorithm
        )
        self._dry_run_stops_here(dry_run)
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
        grant_tokens: Sequence[str] | None,
        dry_run: bool,
    ) -> tuple[bytes, bytes, str]:
        check_key_id(key_id)
        check_grant_tokens(grant_tokens)
        check_flag("dryRun", dry_run)
        if (number_of_bytes is None) == (key_spec is None):
            raise ValidationException("Please specify either number of bytes or key spec.")
        if key_spec is not None:
            size = DATA_KEY_SPECS[check_enum("keySpec", key_spec, DATA_KEY_SPECS)]
        else:
            assert number_of_bytes is not None
            size = check_range("numberOfBytes", number_of_bytes, 1, MAX_DATA_KEY_BYTES)
        context = check_context(encryption_context)
        key = self._resolve(key_id)
        self._usable(key)
        if not _symmetric(key):
            raise InvalidKeyUsageException(
                f"{self._arn(key.key_id)} is an asymmetric key; data keys need a symmetric key"
            )
        plaintext = os.urandom(size)
        blob = self._encrypt_with(key, plaintext, context, SYMMETRIC_DEFAULT)
        self._dry_run_stops_here(dry_run)
        return plaintext, blob, self._arn(key.key_id)

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
        plaintext, blob, arn = self._data_key(
            key_id, number_of_bytes, key_spec, encryption_context, grant_tokens, dry_run
        )
        return GenerateDataKeyResult(ciphertext_blob=blob, plaintext=plaintext, key_id=arn)

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
        _plain, blob, arn = self._data_key(
            key_id, number_of_bytes, key_spec, encryption_context, grant_tokens, dry_run
        )
        return GenerateDataKeyWithoutPlaintextResult(ciphertext_blob=blob, key_id=arn)

    def generate_random(self, *, number_of_bytes: int) -> GenerateRandomResult:
        size = check_range("numberOfBytes", number_of_bytes, 1, MAX_RANDOM_BYTES)
        return GenerateRandomResult(plaintext=os.urandom(size))

    def get_public_key(
        self, *, key_id: str, grant_tokens: Sequence[str] | None = None
    ) -> GetPublicKeyResult:
        check_key_id(key_id)
        check_grant_tokens(grant_tokens)
        key = self._resolve(key_id)
        if not is_asymmetric(key.key_spec):
            raise UnsupportedOperationException(
                f"{self._arn(key.key_id)} is a symmetric key; it has no public key"
            )
        self._usable(key)
        rsa_encryption = key.key_usage == ENCRYPT_DECRYPT
        return GetPublicKeyResult(
            key_id=self._arn(key.key_id),
            public_key=self._keys.public_key_der(key),
            key_spec=key.key_spec,
            key_usage=key.key_usage,
            encryption_algorithms=(RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256) if rsa_encryption else (),
            signing_algorithms=SIGNING_ALGORITHMS[key.key_spec] if not rsa_encryption else (),
        )
