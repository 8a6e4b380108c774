"""AWS KMS key ARNs as the ESDK reads them from an ``aws-kms`` EDK's provider info."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KmsArn:
    """The parts of a valid AWS KMS ARN (``framework/aws-kms/aws-kms-key-arn.md``)."""

    partition: str
    region: str
    account: str
    resource_type: str
    resource_id: str


def parse_kms_arn(text: str) -> KmsArn | None:
    """Split ``arn:PARTITION:kms:REGION:ACCOUNT:TYPE/ID``; None if it is not a valid KMS ARN.

    aws-kms-key-arn.md, "A valid AWS KMS ARN": six ``:``-separated parts, ``arn``, a non-empty
    partition, ``kms``, a non-empty region and account, and a resource ``alias/...`` or
    ``key/...`` whose id is non-empty (further ``/`` belong to the id).
    """
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "kms":
        return None
    _, partition, _, region, account, resource = parts
    resource_type, sep, resource_id = resource.partition("/")
    if (
        not partition
        or not region
        or not account
        or not sep
        or resource_type not in ("alias", "key")
        or not resource_id
    ):
        return None
    return KmsArn(partition, region, account, resource_type, resource_id)


def edk_key_arn(provider_info: bytes) -> str | None:
    """The provider info of an ``aws-kms`` EDK as a key ARN; None unless it is a valid key ARN.

    aws-kms-keyring.md and aws-kms-discovery-keyring.md, "OnDecrypt": the provider info "MUST
    be a valid AWS KMS ARN with a resource type of ``key``"; anything else is never sent to a
    key service.
    """
    try:
        text = provider_info.decode("utf-8")
    except UnicodeDecodeError:
        return None
    arn = parse_kms_arn(text)
    if arn is None or arn.resource_type != "key":
        return None
    return text
