"""LocalKeyService: AWS KMS semantics on this machine, keys kept in an embedded keystore.

Behaviour, limits and error names follow the AWS KMS API reference, so code written against this
service runs unchanged on AWS KMS through ``AwsKmsKeyService``. The package holds the KMS rules
only, one module per family of operations; storage is ``keys.store``, input checks are
``keys.validate``, and the cryptography with backing keys is ``keys.backing``.
"""

from __future__ import annotations

from envelope.keys.local.access import enforce
from envelope.keys.local.crypto import CryptoOperations
from envelope.keys.local.grants import GrantOperations
from envelope.keys.local.imports import ImportOperations
from envelope.keys.local.mac import MacOperations
from envelope.keys.local.management import KeyManagement
from envelope.keys.local.pairs import DataKeyPairs
from envelope.keys.local.policies import KeyPolicies
from envelope.keys.local.rotation import Rotation
from envelope.keys.local.signing import SigningOperations
from envelope.keys.local.tags import Tags

__all__ = ["LocalKeyService"]


@enforce
class LocalKeyService(
    KeyManagement,
    DataKeyPairs,  # before CryptoOperations, which it builds on
    CryptoOperations,
    Rotation,
    SigningOperations,
    MacOperations,
    ImportOperations,
    KeyPolicies,
    GrantOperations,
    Tags,
):
    """A local key service with AWS KMS semantics; master keys never leave it.

    Args:
        home: Keystore folder; default ``ENVELOPE_HOME``, else a per-user data folder.
        passphrase: Protects the root key through scrypt; default ``ENVELOPE_PASSPHRASE``. When
            neither is set, a random root-key file is created 0600 beside the keystore.
        region: Region in ARNs (default ``us-east-1``).
        account_id: Account in ARNs (default ``123456789012``).
        caller: The principal it acts for, such as ``arn:aws:iam::ACCOUNT:user/NAME``: key
            policies and grants are evaluated for it, as AWS KMS evaluates them for a signed
            request. Default ``ENVELOPE_CALLER``, else the account principal
            ``arn:aws:iam::ACCOUNT:root``, which AWS's default key policy allows everything.
        source_ip: The address requests come from (``aws:SourceIp``); default none, so a
            condition on it does not match.

    Raises:
        ValidationException: ``caller`` is not a principal ARN or ``source_ip`` not an address.
        WrongPassphraseError: the passphrase does not open an existing keystore.
        KeystoreError: the keystore is damaged or protected differently.
    """
