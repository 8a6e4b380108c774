"""LocalKeyService's MACs: GenerateMac and VerifyMac with HMAC keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from envelope.errors import InvalidKeyUsageException, KMSInvalidMacException
from envelope.keys.local.core import LocalCore
from envelope.keys.specs import ALL_MAC_ALGORITHMS, GENERATE_VERIFY_MAC, MAC_ALGORITHMS
from envelope.keys.store import KeyRecord
from envelope.keys.validate import (
    MAX_MESSAGE,
    MAX_SIGNATURE,
    check_enum,
    check_flag,
    check_grant_tokens,
    check_key_id,
    check_length,
)

# Result classes are imported where they are built: their modules load on first use, so
# `envelope encrypt` never creates them (CLI start-up is a benchmark figure).
if TYPE_CHECKING:
    from envelope.keys.results import GenerateMacResult, VerifyMacResult


class MacOperations(LocalCore):
    """GenerateMac and VerifyMac (HMAC, RFC 2104), with KMS's limits and errors."""

    def _mac_key(
        self,
        key_id: str,
        message: bytes,
        mac_algorithm: str,
        grant_tokens: Sequence[str] | None,
        dry_run: bool,
    ) -> tuple[KeyRecord, bytes]:
        check_key_id(key_id)
        message = check_length("message", message, 1, MAX_MESSAGE)
        check_enum("macAlgorithm", mac_algorithm, ALL_MAC_ALGORITHMS)
        check_grant_tokens(grant_tokens)
        check_flag("dryRun", dry_run)
        key = self._resolve(key_id)
        self._usable(key)
        self._require_usage(key, GENERATE_VERIFY_MAC, "a MAC")
        if mac_algorithm not in MAC_ALGORITHMS[key.key_spec]:
            raise InvalidKeyUsageException(
                f"{self._arn(key.key_id)} is a {key.key_spec} key; use "
                f"{MAC_ALGORITHMS[key.key_spec][0]}, not {mac_algorithm}"
            )
        return key, message

    def generate_mac(
        self,
        *,
        key_id: str,
        message: bytes,
        mac_algorithm: str,
        grant_tokens: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> GenerateMacResult:
        """HMAC of a message of 1-4096 bytes under an HMAC key (KMS GenerateMac).

        Raises:
            InvalidKeyUsageException: not an HMAC key, or the algorithm of another HMAC spec.
        """
        from envelope.keys.results import GenerateMacResult
        key, message = self._mac_key(key_id, message, mac_algorithm, grant_tokens, dry_run)
        tag = self._keys.mac(key, mac_algorithm, message)
        self._dry_run_stops_here(dry_run)
        return GenerateMacResult(mac=tag, mac_algorithm=mac_algorithm, key_id=self._arn(key.key_id))

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
        """Check an HMAC in constant time (KMS VerifyMac).

        Raises:
            KMSInvalidMacException: the MAC does not verify (KMS never answers MacValid=false).
        """
        from envelope.keys.results import VerifyMacResult
        mac = check_length("mac", mac, 1, MAX_SIGNATURE)
        key, message = self._mac_key(key_id, message, mac_algorithm, grant_tokens, dry_run)
        if not self._keys.mac_matches(key, mac_algorithm, message, mac):
            raise KMSInvalidMacException(
                f"the MAC does not verify with {self._arn(key.key_id)} and {mac_algorithm}"
            )
        self._dry_run_stops_here(dry_run)
        return VerifyMacResult(
            key_id=self._arn(key.key_id), mac_valid=True, mac_algorithm=mac_algorithm
        )
