"""AwsKmsKeyService: the KeyService contract over boto3 (AWS KMS, moto, `envelope serve`).

One module per family of operations, as ``keys.local``; each passes its calls through to boto3's
KMS client and converts the responses to the frozen results of ``keys.base``. boto3 is imported
(through ``aws_client``, the only module that touches it) when the class is first constructed, so
importing this package or the local path never loads it.
"""

from __future__ import annotations

from envelope.keys.aws.access import AwsAccess
from envelope.keys.aws.crypto import AwsCryptoOperations
from envelope.keys.aws.imports import AwsImports
from envelope.keys.aws.management import AwsKeyManagement
from envelope.keys.aws.pairs import AwsDataKeyPairs
from envelope.keys.aws.rotation import AwsRotation
from envelope.keys.aws.signing import AwsSigning

__all__ = ["AwsKmsKeyService"]


class AwsKmsKeyService(
    AwsKeyManagement,
    AwsCryptoOperations,
    AwsRotation,
    AwsSigning,
    AwsDataKeyPairs,
    AwsImports,
    AwsAccess,
):
    """The KeyService contract served by AWS KMS (or any KMS-compatible endpoint) through boto3.

    Args:
        client: a boto3 KMS client to use as is. When omitted, one is built from the other
            arguments and the standard AWS configuration (``AWS_PROFILE``, ``AWS_REGION`` /
            ``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL_KMS``, shared config files), with botocore's
            standard retry mode.
        session: a ``boto3.Session`` to build the client from.
        region_name: AWS region; overrides the configured one.
        endpoint_url: KMS endpoint (for moto or ``envelope serve``); overrides the configured one.
        profile_name: named profile; ignored when ``session`` is given.

    Raises:
        KeyServiceConfigurationError: no region is configured, the profile does not exist, or
            boto3 is not installed (the ``envelope[aws]`` extra).
    """
