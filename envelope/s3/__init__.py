"""Client-side encryption of S3 objects in the AWS S3 Encryption Client formats (V3, V2).

boto3 is never imported here: callers hand in their own S3 client (the ``aws`` extra).
"""

from __future__ import annotations

from envelope.s3.boto import open_s3_client
from envelope.s3.client import EncryptedS3Client, inspect_object
from envelope.s3.keyrings import (
    AesGcmKeyring,
    KmsDiscoveryKeyring,
    KmsKeyring,
    RsaOaepKeyring,
    S3Keyring,
    WrappedKey,
)
from envelope.s3.metadata import ContentMetadata
from envelope.s3.presign import PresignedGet
from envelope.s3.results import (
    OpenObject,
    RewrapFailure,
    RewrapResult,
    RewrapSummary,
    S3ObjectInfo,
)

__all__ = [
    "AesGcmKeyring",
    "ContentMetadata",
    "EncryptedS3Client",
    "KmsDiscoveryKeyring",
    "KmsKeyring",
    "OpenObject",
    "PresignedGet",
    "RewrapFailure",
    "RewrapResult",
    "RewrapSummary",
    "RsaOaepKeyring",
    "S3Keyring",
    "S3ObjectInfo",
    "WrappedKey",
    "inspect_object",
    "open_s3_client",
]
