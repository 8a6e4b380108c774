"""LocalKeyService's signatures: Sign and Verify with RSA and ECC SIGN_VERIFY keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from envelope.errors import InvalidKeyUsageException, KMSInvalidSignatureException
from envelope.keys.asymmetric import digest_size
from envelope.keys.base import RAW
from envelope.keys.local.core import LocalCore
from envelope.keys.specs import (
    ALL_SIGNING_ALGORITHMS,
    DIGEST,
    MESSAGE_TYPES,
    SIGN_VERIFY,
    SIGNING_ALGORITHMS,
)
from envelope.keys.store import KeyRecord
from envelope.keys.validate import (
    MAX_MESSAGE,
    MAX_SIGNATURE,
    check_enum,
    check_flag,
    check_grant_tokens,
    check_key_id,
    check_length,
    invalid,
)

# Result classes are imported where they are built: their modules load on first use, so
# `envelope encrypt` never creates them (CLI start-up is a benchmark figure).
if TYPE_CHECKING:
    from envelope.keys.results import SignResult, VerifyResult


class SigningOperations(LocalCore):
    """Sign and Verify, with KMS's algorithms, message types, limits and errors."""

    def _signing_key(
        self,
        key_id: str,
        message: bytes,
        signing_algorithm: str,
        message_type: str,
        grant_tokens: Sequence[str] | None,
        dry_run: bool,
    ) -> tuple[KeyRecord, bytes]:
        check_key_id(key_id)
        message = check_length("message", message, 1, MAX_MESSAGE)
        check_enum("signingAlgorithm", signing_algorithm, ALL_SIGNING_ALGORITHMS)
        check_enum("messageType", message_type, MESSAGE_TYPES)
        check_grant_tokens(grant_tokens)
        check_flag("dryRun", dry_run)
        if message_type == DIGEST and len(message) != digest_size(signing_algorithm):
            # A DIGEST is signed as given; it must be a hash value of the algorithm's hash.
            raise invalid(
                "message",
                f"Digest is invalid length for algorithm {signing_algorithm}: "
                f"{len(message)} bytes, not {digest_size(signing_algorithm)}",
            )
        key = self._resolve(key_id)
        self._usable(key)
        self._require_usage(key, SIGN_VERIFY, "signing")
        if signing_algorithm not in SIGNING_ALGORITHMS[key.key_spec]:
            raise InvalidKeyUsageException(
                f"{self._arn(key.key_id)} is a {key.key_spec} key; {signing_algorithm} is not "
                f"one of its signing algorithms ({', '.join(SIGNING_ALGORITHMS[key.key_spec])})"
            )
        return key, message

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
        """Sign a message of 1-4096 bytes, or a digest (``message_type="DIGEST"``, never hashed
        again), with the private key of an asymmetric SIGN_VERIFY key (KMS Sign).

        Returns:
            The signature: RSASSA-PSS / PKCS #1 v1.5, or DER-encoded ECDSA.

        Raises:
            InvalidKeyUsageException: not a SIGN_VERIFY key, or an algorithm of another key spec.
            ValidationException: a message too long, or a digest of the wrong length.
        """
        from envelope.keys.results import SignResult
        key, message = self._signing_key(
            key_id, message, signing_algorithm, message_type, grant_tokens, dry_run
        )
        signature = self._keys.sign(key, signing_algorithm, message, message_type)
        self._dry_run_stops_here(dry_run)
        return SignResult(
            key_id=self._arn(key.key_id), signature=signature, signing_algorithm=signing_algorithm
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
        """Verify a signature with the key's public key (KMS Verify).

        Raises:
            KMSInvalidSignatureException: the signature does not verify (KMS never answers
                ``SignatureValid=false``).
        """
        from envelope.keys.results import VerifyResult
        signature = check_length("signature", signature, 1, MAX_SIGNATURE)
        key, message = self._signing_key(
            key_id, message, signing_algorithm, message_type, grant_tokens, dry_run
        )
        if not self._keys.verify(key, signing_algorithm, message, signature, message_type):
            raise KMSInvalidSignatureException(
                f"the signature does not verify with {self._arn(key.key_id)} "
                f"and {signing_algorithm}"
            )
        self._dry_run_stops_here(dry_run)
        return VerifyResult(
            key_id=self._arn(key.key_id), signature_valid=True, signing_algorithm=signing_algorithm
        )
