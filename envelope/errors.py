"""Every exception envelope raises: one root, KMS failures named as AWS KMS names them."""

from __future__ import annotations


class EnvelopeError(Exception):
    """Root of every error envelope raises on purpose."""


# --- Key services -----------------------------------------------------------------------------
# Whichever backend raised it (LocalKeyService, AWS KMS, moto, `envelope serve`), a KMS failure is
# the class below named like the KMS exception, so callers catch one family on every backend.


class KeyServiceError(EnvelopeError):
    """A key service refused or failed a request. ``code`` is the KMS exception name."""

    code: str = "KeyServiceError"

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class AccessDeniedException(KeyServiceError):
    code = "AccessDeniedException"


class AlreadyExistsException(KeyServiceError):
    code = "AlreadyExistsException"


class DependencyTimeoutException(KeyServiceError):
    code = "DependencyTimeoutException"


class DisabledException(KeyServiceError):
    code = "DisabledException"


class DryRunOperationException(KeyServiceError):
    """A ``dry_run`` request passed every check: it would have succeeded (nothing was done)."""

    code = "DryRunOperationException"


class IncorrectKeyException(KeyServiceError):
    code = "IncorrectKeyException"


class InvalidAliasNameException(KeyServiceError):
    code = "InvalidAliasNameException"


class InvalidArnException(KeyServiceError):
    code = "InvalidArnException"


class InvalidCiphertextException(KeyServiceError):
    code = "InvalidCiphertextException"


class InvalidGrantIdException(KeyServiceError):
    code = "InvalidGrantIdException"


class InvalidGrantTokenException(KeyServiceError):
    code = "InvalidGrantTokenException"


class InvalidKeyUsageException(KeyServiceError):
    code = "InvalidKeyUsageException"


class InvalidMarkerException(KeyServiceError):
    code = "InvalidMarkerException"


class KMSInternalException(KeyServiceError):
    code = "KMSInternalException"


class KMSInvalidStateException(KeyServiceError):
    code = "KMSInvalidStateException"


class KMSInvalidSignatureException(KeyServiceError):
    """``Verify``: the signature does not verify with the key, algorithm and message."""

    code = "KMSInvalidSignatureException"


class KMSInvalidMacException(KeyServiceError):
    """``VerifyMac``: the MAC does not verify with the key, algorithm and message."""

    code = "KMSInvalidMacException"


class ExpiredImportTokenException(KeyServiceError):
    code = "ExpiredImportTokenException"


class InvalidImportTokenException(KeyServiceError):
    code = "InvalidImportTokenException"


class IncorrectKeyMaterialException(KeyServiceError):
    """``ImportKeyMaterial``: not the material imported before, or not valid for the key spec."""

    code = "IncorrectKeyMaterialException"


class TagException(KeyServiceError):
    code = "TagException"


class KeyUnavailableException(KeyServiceError):
    code = "KeyUnavailableException"


class LimitExceededException(KeyServiceError):
    code = "LimitExceededException"


class MalformedPolicyDocumentException(KeyServiceError):
    code = "MalformedPolicyDocumentException"


class NotFoundException(KeyServiceError):
    code = "NotFoundException"


class UnsupportedOperationException(KeyServiceError):
    code = "UnsupportedOperationException"


class ValidationException(KeyServiceError):
    code = "ValidationException"


class KeyServiceUnavailableError(KeyServiceError):
    """The key service could not be reached (connection refused, timeout, DNS)."""

    code = "KeyServiceUnavailable"


class KeyServiceConfigurationError(KeyServiceError):
    """The key service client cannot be set up: no credentials, no region, or an unknown profile."""

    code = "KeyServiceConfiguration"


KMS_ERRORS: dict[str, type[KeyServiceError]] = {
    cls.code: cls
    for cls in (
        AccessDeniedException,
        AlreadyExistsException,
        DependencyTimeoutException,
        DisabledException,
        DryRunOperationException,
        IncorrectKeyException,
        InvalidAliasNameException,
        InvalidArnException,
        InvalidCiphertextException,
        InvalidGrantIdException,
        InvalidGrantTokenException,
        InvalidKeyUsageException,
        InvalidMarkerException,
        KMSInternalException,
        KMSInvalidStateException,
        KMSInvalidSignatureException,
        KMSInvalidMacException,
        ExpiredImportTokenException,
        InvalidImportTokenException,
        IncorrectKeyMaterialException,
        TagException,
        KeyUnavailableException,
        LimitExceededException,
        MalformedPolicyDocumentException,
        NotFoundException,
        UnsupportedOperationException,
        ValidationException,
    )
}
"""KMS exception name -> class, for adapters that translate a wire error code."""


def kms_error(code: str, message: str) -> KeyServiceError:
    """Build the envelope exception for a KMS error code; unknown codes keep their code."""
    cls = KMS_ERRORS.get(code)
    if cls is None:
        return KeyServiceError(message, code=code)
    return cls(message)


# --- Keystore ---------------------------------------------------------------------------------


class KeystoreError(EnvelopeError):
    """The local keystore cannot be opened or is damaged."""


class WrongPassphraseError(KeystoreError):
    """The passphrase (or root-key file) does not open this keystore."""


# --- Messages (AWS Encryption SDK format) -------------------------------------------------------


class MessageError(EnvelopeError):
    """An encrypted message could not be written or read; the text says which check failed."""


class MessageFormatError(MessageError):
    """The bytes are not a well-formed message (bad field, truncation, trailing bytes)."""


class MessageAuthenticationError(MessageError):
    """A header tag, frame tag, key commitment or signature did not verify."""


class NoMatchingKeyError(MessageError):
    """None of the given wrapping keys could unwrap any encrypted data key of the message."""


class LegacySuiteError(MessageError):
    """The message uses a suite without key commitment and ``allow_legacy`` was not given."""


class SignedMessageError(MessageError):
    """The message uses a signed suite and the caller accepts unsigned messages only."""


class EncryptionContextMismatchError(MessageError):
    """A required encryption context pair is missing or different, or a reserved key was used."""


class TooManyEncryptedDataKeysError(MessageError):
    """The message carries (or would carry) more encrypted data keys than the configured cap."""


# --- S3 objects (AWS S3 Encryption Client format) ----------------------------------------------
# S3's own failures are not here: botocore's ClientError passes through with its S3 error code.


class S3EncryptionError(EnvelopeError):
    """An encrypted S3 object could not be written or read; the text says which check failed."""


class S3MetadataError(S3EncryptionError):
    """The object's encryption metadata or instruction file is missing, malformed or mixed."""


class S3AuthenticationError(S3EncryptionError):
    """The content's GCM tag or the V3 key commitment did not verify (damaged or tampered)."""


class S3NoMatchingKeyError(S3EncryptionError):
    """None of the given wrapping keys could unwrap the object's data key."""


class S3EncryptionContextError(S3EncryptionError):
    """The request's encryption context differs from the stored one, or uses a reserved key."""


class S3LegacyFormatError(S3EncryptionError):
    """The object uses a legacy format (V1, AES-CBC, ``kms`` wrapping) that was not opted into."""


class S3ObjectTooLargeError(S3EncryptionError):
    """The object exceeds a size limit (the in-memory cap, or AES-GCM's maximum length)."""


class S3PresignedUrlError(S3EncryptionError):
    """A pre-signed URL is malformed, expired, or was refused by S3 (tampered, revoked, gone)."""
