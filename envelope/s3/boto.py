"""A boto3 S3 client from the standard AWS configuration (the only envelope.s3 module that
imports boto3, on first use; it needs the ``envelope[aws]`` extra)."""

from __future__ import annotations

import os
from typing import Any

from envelope.errors import S3EncryptionError


def open_s3_client(
    *,
    region_name: str | None = None,
    endpoint_url: str | None = None,
    profile_name: str | None = None,
) -> Any:
    """``boto3.client("s3")`` configured like the AWS CLI: ``AWS_PROFILE``, ``AWS_REGION`` (else
    ``AWS_DEFAULT_REGION``/the profile's), ``AWS_ENDPOINT_URL_S3`` for another endpoint.

    Raises:
        S3EncryptionError: boto3 is not installed, or the profile does not exist.
    """
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import ProfileNotFound
    except ImportError:
        raise S3EncryptionError(
            "S3 needs boto3: install envelope with its aws extra (envelope[aws])"
        ) from None
    options: dict[str, Any] = {"config": Config(retries={"mode": "standard"})}
    region_name = region_name or os.environ.get("AWS_REGION") or None
    if region_name is not None:
        options["region_name"] = region_name
    if endpoint_url is not None:
        options["endpoint_url"] = endpoint_url
    try:
        session = boto3.Session(profile_name=profile_name) if profile_name else boto3.Session()
        return session.client("s3", **options)
    except ProfileNotFound as e:
        raise S3EncryptionError(f"AWS profile not found: {e.kwargs.get('profile')}") from None
