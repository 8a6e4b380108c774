"""LocalKeyService: AWS KMS semantics on this machine, keys kept in an embedded keystore.

Behaviour, limits and error names follow the AWS KMS API reference, so code written against this
service runs unchanged on AWS KMS through ``AwsKmsKeyService``. The package holds the KMS rules
only, one module per family of operations; storage is ``keys.store``, input checks are
``keys.validate``, and the cryptography with backing keys is ``keys.backing``.
"""

from __future__ import annotations

from envelope.keys.local.crypto import CryptoOperations
from envelope.keys.local.imports import ImportOperations
from envelope.keys.local.mac import MacOperations
from envelope.keys.local.management import KeyManagement
from envelope.keys.local.pairs import DataKeyPairs
from envelope.keys.local.rotation import Rotation
from envelope.keys.local.signing import SigningOperations

__all__ = ["LocalKeyService"]


class LocalKeyService(
    KeyManagement,
    DataKeyPairs,  # before CryptoOperations, which it builds on
    CryptoOperations,
    Rotation,
    SigningOperations,
    MacOperations,
    ImportOperations,
):
    """A local key service with AWS KMS semantics; master keys never leave it.

    Args:
        home: Keystore folder; default ``ENVELOPE_HOME``, else a per-user data folder.
        passphrase: Protects the root key through scrypt; default ``ENVELOPE_PASSPHRASE``. When
            neither is set, a random root-key file is created 0600 beside the keystore.
        region: Region in ARNs (default ``us-east-1``).
        account_id: Account in ARNs (default ``123456789012``).

    Raises:
        WrongPassphraseError: the passphrase does not open an existing keystore.
        KeystoreError: the keystore is damaged or protected differently.
    """
