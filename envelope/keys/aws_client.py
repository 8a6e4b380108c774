"""The boto3 edge of AwsKmsKeyService: building the KMS client and translating its failures.

Only this module imports boto3 and botocore, and ``AwsKmsKeyService`` imports it when it is first
constructed, so the local path never loads them; without the ``envelope[aws]`` extra the import
fails there with a clear ``KeyServiceConfigurationError``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.exceptions import (
    ConnectionError as BotocoreConnectionError,
)

from envelope.errors import (
    KeyServiceConfigurationError,
    KeyServiceError,
    KeyServiceUnavailableError,
    ValidationException,
    kms_error,
)

if TYPE_CHECKING:  # pragma: no cover
    from mypy_boto3_kms import KMSClient

_T = TypeVar("_T")

# ParamValidationError reports quote the offending value ("value: b'...'"): it may be plaintext.
_VALUE = re.compile(r"value: .*?(?=, (?:type|valid)|$)", re.MULTILINE)


def _redacted_report(error: ParamValidationError) -> str:
    report = str(error.kwargs.get("report", "")) or "invalid parameters"
    return _VALUE.sub("value: <redacted>", report).replace("\n", "; ")


def build_client(
    *,
    session: boto3.Session | None,
    region_name: str | None,
    endpoint_url: str | None,
    profile_name: str | None,
) -> KMSClient:
    """A KMS client from explicit values, else the standard AWS configuration.

    Raises:
        KeyServiceConfigurationError: no region, or an unknown profile.
    """
    # Only explicit values are passed on: a None must not hide AWS_REGION or
    # AWS_ENDPOINT_URL_KMS, which boto3 reads itself.
    # botocore's standard retry mode: backoff with jitter on throttling and transient errors.
    options: dict[str, Any] = {"config": Config(retries={"mode": "standard"})}
    if region_name is None and session is None:
        # AWS_REGION (the SDK-wide variable) wins over AWS_DEFAULT_REGION and the profile's
        # region, as in the AWS CLI; botocore itself reads only the latter two.
        region_name = os.environ.get("AWS_REGION") or None
    if region_name is not None:
        options["region_name"] = region_name
    if endpoint_url is not None:
        options["endpoint_url"] = endpoint_url
    try:
        if session is None:
            session = (
                boto3.Session(profile_name=profile_name)
                if profile_name is not None
                else boto3.Session()
            )
        return session.client("kms", **options)
    except NoRegionError as e:
        raise KeyServiceConfigurationError(
            "no AWS region configured: set AWS_REGION or pass region_name"
        ) from e
    except ProfileNotFound as e:
        raise KeyServiceConfigurationError(
            f"AWS profile not found: {e.kwargs.get('profile')}"
        ) from e


def call(endpoint: str, operation: Callable[..., _T], **params: Any) -> _T:
    """Run one client operation (``None`` parameters left out); every failure becomes ours.

    Raises:
        KeyServiceError: the KMS error by its KMS name, or unavailable/configuration errors.
    """
    params = {name: value for name, value in params.items() if value is not None}
    try:
        return operation(**params)
    except ClientError as e:
        error = e.response.get("Error", {})
        code = str(error.get("Code") or "KeyServiceError")
        message = str(error.get("Message") or code)
        if code.isdigit():  # no KMS error in the body, only an HTTP status (an HTML page)
            message = f"the key service at {endpoint} answered HTTP {code}"
        raise kms_error(code, message) from e
    except ParamValidationError as e:
        # botocore's report quotes the offending value, which may be plaintext: keep only the
        # redacted report, and raise below, outside this block, so that neither __cause__ nor
        # __context__ holds the original exception.
        failure: KeyServiceError = ValidationException(_redacted_report(e))
    except (BotocoreConnectionError, HTTPClientError) as e:
        # Not chained either: ConnectionClosedError keeps the prepared request, whose body holds
        # the request's plaintext (base64), and a traceback or error reporter would show it.
        failure = KeyServiceUnavailableError(
            f"cannot reach the KMS endpoint {endpoint}: {type(e).__name__}"
        )
    except (NoCredentialsError, PartialCredentialsError) as e:
        raise KeyServiceConfigurationError(
            "no usable AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY"
        ) from e
    except BotoCoreError as e:
        # Other client-side failures may describe the request's values too: not chained.
        failure = KeyServiceError(
            f"the KMS client failed: {type(e).__name__}", code=type(e).__name__
        )
    raise failure
