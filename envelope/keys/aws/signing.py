"""AwsKmsKeyService's signatures and MACs: Sign, Verify, GenerateMac and VerifyMac."""

from __future__ import annotations

from collections.abc import Sequence

from envelope.keys.aws.core import AwsCore
from envelope.keys.aws_shapes import blob, tokens
from envelope.keys.base import (
    RAW,
    GenerateMacResult,
    SignResult,
    VerifyMacResult,
    VerifyResult,
)


class AwsSigning(AwsCore):
    """Sign, Verify, GenerateMac and VerifyMac, passed through to KMS."""

    def sign(
        self,
        *,
        key_id: str,
        message: bytes,
        signing_algorithm: str,
        message_type: str = RAW,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> SignResult:
        """Sign a message (or a digest, ``message_type="DIGEST"``) with an asymmetric
        SIGN_VERIFY key (KMS Sign).

        Raises:
            KeyServiceError: the KMS error (InvalidKeyUsageException, ValidationException, ...).
        """
        response = self._call(
            self.client.sign,
            KeyId=key_id,
            Message=blob("Message", message),
            MessageType=message_type,
            SigningAlgorithm=signing_algorithm,
            GrantTokens=tokens(grant_tokens),
            DryRun=dry_run or None,
        )
        return SignResult(
            key_id=str(response["KeyId"]),
            signature=response["Signature"],
            signing_algorithm=str(response.get("SigningAlgorithm", signing_algorithm)),
        )

    def verify(
        self,
        *,
        key_id: str,
        message: bytes,
        signature: bytes,
        signing_algorithm: str,
        message_type: str = RAW,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> VerifyResult:
        """Verify a signature (KMS Verify).

        Raises:
            KMSInvalidSignatureException: the signature does not verify.
        """
        response = self._call(
            self.client.verify,
            KeyId=key_id,
            Message=blob("Message", message),
            MessageType=message_type,
            Signature=blob("Signature", signature),
            SigningAlgorithm=signing_algorithm,
            GrantTokens=tokens(grant_tokens),
            DryRun=dry_run or None,
        )
        return VerifyResult(
            key_id=str(response["KeyId"]),
            signature_valid=bool(response.get("SignatureValid", False)),
            signing_algorithm=str(response.get("SigningAlgorithm", signing_algorithm)),
        )

    def generate_mac(
        self,
        *,
        key_id: str,
        message: bytes,
        mac_algorithm: str,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> GenerateMacResult:
        """HMAC of a message under an HMAC key (KMS GenerateMac)."""
        response = self._call(
            self.client.generate_mac,
            KeyId=key_id,
            Message=blob("Message", message),
            MacAlgorithm=mac_algorithm,
            GrantTokens=tokens(grant_tokens),
            DryRun=dry_run or None,
        )
        return GenerateMacResult(
            mac=response["Mac"],
            mac_algorithm=str(response.get("MacAlgorithm", mac_algorithm)),
            key_id=str(response["KeyId"]),
        )

    def verify_mac(
        self,
        *,
        key_id: str,
        message: bytes,
        mac: bytes,
        mac_algorithm: str,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> VerifyMacResult:
        """Check an HMAC (KMS VerifyMac).

        Raises:
            KMSInvalidMacException: the MAC does not verify.
        """
        response = self._call(
            self.client.verify_mac,
            KeyId=key_id,
            Message=blob("Message", message),
            Mac=blob("Mac", mac),
            MacAlgorithm=mac_algorithm,
            GrantTokens=tokens(grant_tokens),
            DryRun=dry_run or None,
        )
        return VerifyMacResult(
            key_id=str(response["KeyId"]),
            mac_valid=bool(response.get("MacValid", False)),
            mac_algorithm=str(response.get("MacAlgorithm", mac_algorithm)),
        )
