"""The core of AwsKmsKeyService: the boto3 client, its lifecycle, and the one call path.

boto3 is imported (through ``aws_client``, the only module that touches it) when the service is
first constructed, so importing this package or the local path never loads it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from envelope.errors import KeyServiceConfigurationError, KeyServiceError

if TYPE_CHECKING:  # pragma: no cover
    import boto3
    from mypy_boto3_kms import KMSClient

_T = TypeVar("_T")
_Self = TypeVar("_Self", bound="AwsCore")


class AwsCore:
    """What every operation family of ``AwsKmsKeyService`` shares: the client, its lifecycle and
    the one call path (the constructor's arguments are documented on ``AwsKmsKeyService``)."""

    def __init__(
        self,
        client: KMSClient | None = None,
        *,
        session: boto3.Session | None = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        profile_name: str | None = None,
    ) -> None:
        try:
            from envelope.keys import aws_client
        except ImportError as e:  # boto3 is the ``aws`` extra
            if str(e.name).partition(".")[0] not in ("boto3", "botocore"):
                raise
            raise KeyServiceConfigurationError(
                "AwsKmsKeyService needs boto3, which envelope installs with its aws extra: "
                "pip install 'envelope[aws]'"
            ) from None
        self._invoke = aws_client.call
        if client is None:
            client = aws_client.build_client(
                session=session,
                region_name=region_name,
                endpoint_url=endpoint_url,
                profile_name=profile_name,
            )
        self._client: KMSClient | None = client
        self._region = client.meta.region_name
        self._endpoint = client.meta.endpoint_url

    # --- lifecycle --------------------------------------------------------------------------------
    @property
    def client(self) -> KMSClient:
        """The boto3 KMS client in use."""
        if self._client is None:
            raise KeyServiceError("this AwsKmsKeyService is closed", code="KeyServiceClosed")
        return self._client

    @property
    def region_name(self) -> str:
        return self._region

    @property
    def endpoint_url(self) -> str:
        return self._endpoint

    def close(self) -> None:
        """Close the client's connection pool; the service cannot be used afterwards."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"AwsKmsKeyService(region_name={self._region!r}, endpoint_url={self._endpoint!r})"

    # --- the one call path: every botocore failure becomes an envelope error --------------------
    def _call(self, operation: Callable[..., _T], **params: Any) -> _T:
        return self._invoke(self._endpoint, operation, **params)

