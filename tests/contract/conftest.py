"""The KeyService contract suite runs every test here against every backend.

Backends: ``local`` (LocalKeyService in-process), ``moto`` (AwsKmsKeyService against moto's
server, a real HTTP server on 127.0.0.1 started once per session) and ``serve`` (AwsKmsKeyService
against ``envelope serve``, likewise, signing with a principal's access key). A backend that is
known to differ from AWS KMS lists the test in ``DEVIATIONS`` with the AWS behaviour it lacks; the
test then runs as a strict xfail for that backend only, so a fixed backend turns the suite red
until the entry is removed. LocalKeyService and envelope serve must match AWS: they have no entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from envelope.keys.base import KeyService
from tests.moto_server import MotoServer, moto_env, moto_server
from tests.serve_server import EnvelopeServer, serve_env, serve_server

# fixtures, imported to be registered here
__all__ = ["moto_env", "moto_server", "serve_env", "serve_server"]

BACKENDS = ["local", "moto", "serve"]

# backend -> {test function name, or full test id for one parametrization: the AWS behaviour
# the backend lacks}
DEVIATIONS: dict[str, dict[str, str]] = {
    "moto": {
        # aliases
        "test_reserved_prefix": "CreateAlias refuses names under alias/aws/",
        "test_name_length_limit": "CreateAlias refuses alias names over 256 characters",
        "test_list_aliases_pages": "ListAliases honours Limit and pages with Marker",
        "test_list_aliases_limit_bounds[moto-101]": "ListAliases refuses Limit above 100",
        # keys
        "test_description_limit": "CreateKey refuses a Description over 8192 characters",
        "test_list_keys_pages": "ListKeys honours Limit and pages with Marker",
        "test_list_keys_limit_bounds[moto-1001]": "ListKeys refuses Limit above 1000",
        "test_disable_then_enable": "a disabled key refuses Encrypt with DisabledException",
        "test_decrypt_under_disabled_key": "a disabled key refuses Decrypt with DisabledException",
        "test_deletion_window_out_of_range": (
            "ScheduleKeyDeletion refuses a window outside 7-30 days with ValidationException"
        ),
        "test_pending_deletion_refuses_use_and_state_changes": (
            "a key pending deletion refuses use and state changes with KMSInvalidStateException"
        ),
        "test_cancel_deletion_of_key_not_pending": (
            "CancelKeyDeletion of a key not pending deletion is KMSInvalidStateException"
        ),
        "test_state_changes_by_arn": (
            "DisableKey/EnableKey accept a key ARN (moto answers HTTP 500)"
        ),
        # crypto
        "test_dry_run_raises_dry_run_operation_exception": (
            "DryRun answers DryRunOperationException (moto performs the operation)"
        ),
        "test_wrong_arguments_are_validation_errors_on_every_backend[moto-eleven-grant-tokens]": (
            "GrantTokens holds at most 10 tokens (botocore does not check maximums)"
        ),
        "test_key_id_over_2048_characters": (
            "a KeyId over 2048 characters is ValidationException (botocore does not check it)"
        ),
        "test_tampered_blob": (
            "a damaged ciphertext blob is InvalidCiphertextException (moto: AccessDeniedException)"
        ),
        "test_ciphertext_blob_limits": (
            "Decrypt validates CiphertextBlob length 1-6144 with ValidationException"
        ),
        "test_decrypt_with_named_key": (
            "Decrypt with a different KeyId is IncorrectKeyException (moto: AccessDeniedException)"
        ),
        "test_re_encrypt_checks_source": (
            "ReEncrypt with a different SourceKeyId is IncorrectKeyException"
        ),
        # rotation
        "test_rotation_status_defaults": "GetKeyRotationStatus returns RotationPeriodInDays",
        "test_rotation_period_edges": (
            "EnableKeyRotation keeps RotationPeriodInDays and GetKeyRotationStatus returns it"
        ),
        "test_rotation_period_out_of_range[moto-2561]": (
            "EnableKeyRotation refuses RotationPeriodInDays above 2560"
        ),
        "test_list_key_rotations_pages": (
            "ListKeyRotations pages with Limit/Marker and refuses Limit outside 1-1000"
        ),
        "test_on_demand_rotation_of_disabled_key": (
            "RotateKeyOnDemand of a disabled key is DisabledException"
        ),
        "test_rotation_of_key_pending_deletion": (
            "rotation of a key pending deletion is KMSInvalidStateException"
        ),
        "test_rotation_refuses_aliases": (
            "rotation operations given an alias answer NotFoundException (moto: HTTP 500)"
        ),
        "test_rsa_keys_do_not_rotate": (
            "RotateKeyOnDemand of an RSA key is UnsupportedOperationException"
        ),
        # RSA
        "test_oaep_limits_per_size_and_hash": (
            "RSA keys encrypt with RSAES-OAEP and enforce its plaintext limits "
            "(moto encrypts with AES)"
        ),
        "test_public_key_encrypts_for_kms": (
            "Decrypt accepts RSAES-OAEP ciphertext made with the key's public key"
        ),
        "test_algorithm_must_match_key_type": (
            "an EncryptionAlgorithm that does not fit the key is InvalidKeyUsageException"
        ),
        "test_wrong_hash_fails": "Decrypt with the wrong OAEP hash is InvalidCiphertextException",
        "test_symmetric_key_has_no_public_key": (
            "GetPublicKey of a symmetric key is UnsupportedOperationException"
        ),
        # key policies
        "test_malformed_policies_are_refused": (
            "PutKeyPolicy refuses a malformed document with MalformedPolicyDocumentException "
            "(moto stores any text)"
        ),
        "test_policy_over_32_kilobytes": (
            "PutKeyPolicy and CreateKey refuse a policy over 32 KB with LimitExceededException"
        ),
        "test_lockout_safety_check": (
            "PutKeyPolicy and CreateKey refuse a policy that locks the caller out, and the key "
            "policy is enforced afterwards"
        ),
        "test_a_deny_statement_is_enforced": (
            "key policies are enforced (moto checks one Deny, on DescribeKey only)"
        ),
        "test_context_condition_admits_only_matching_requests": (
            "key policy conditions (kms:EncryptionContext:KEY) are enforced"
        ),
        # grants
        "test_grant_lifecycle": "ListGrants names the key by its ARN (moto: by its key id)",
        "test_list_grants_filters_and_pages": (
            "ListGrants filters by GrantId and GranteePrincipal, and pages with Limit/Marker"
        ),
        "test_name_makes_retries_idempotent": (
            "CreateGrant repeating a grant with its Name returns that grant (moto adds another)"
        ),
        "test_invalid_grant_token": (
            "a grant token that names no grant is InvalidGrantTokenException (moto ignores tokens)"
        ),
        "test_unknown_and_malformed_grant_ids": (
            "a malformed GrantId is InvalidGrantIdException (moto: NotFoundException)"
        ),
        "test_invalid_grants_are_refused": (
            "CreateGrant validates Operations, Constraints and Name with ValidationException"
        ),
        "test_rsa_keys_take_no_data_key_grants_or_constraints": (
            "CreateGrant refuses operations and constraints the key does not support"
        ),
        "test_dry_run_creates_and_deletes_nothing": (
            "DryRun answers DryRunOperationException (moto performs the operation)"
        ),
        # UpdateAlias, UpdateKeyDescription
        "test_update_alias_needs_the_same_kind_of_key": (
            "UpdateAlias refuses a key of another type or key usage"
        ),
        "test_update_alias_to_key_pending_deletion": (
            "UpdateAlias refuses a key pending deletion with KMSInvalidStateException"
        ),
        "test_update_key_description": (
            "UpdateKeyDescription refuses a Description over 8192 characters "
            "(botocore does not check it)"
        ),
        "test_update_description_of_key_pending_deletion": (
            "UpdateKeyDescription of a key pending deletion is KMSInvalidStateException"
        ),
        # tags
        "test_list_resource_tags_pages": "ListResourceTags pages with Limit and Marker",
        "test_tag_limits": (
            "TagResource refuses aws: tag keys (TagException) and keys over 128 or values over "
            "256 characters (botocore does not check them)"
        ),
        "test_fifty_tags_at_most": "a key has at most 50 tags",
        "test_tags_of_key_pending_deletion": (
            "TagResource/UntagResource of a key pending deletion is KMSInvalidStateException"
        ),
        "test_resource_tag_condition": "key policy conditions (aws:ResourceTag/KEY) are enforced",
        # signing
        "test_pss_signatures_verify_outside": (
            "RSASSA-PSS salts are as long as the digest (moto uses the maximum salt length)"
        ),
        "test_digest_is_signed_as_given": (
            "MessageType DIGEST is signed as given (moto hashes the digest again)"
        ),
        "test_verify_refuses_a_bad_signature_with_the_kms_error": (
            "Verify of a bad signature is KMSInvalidSignatureException (moto: SignatureValid=false)"
        ),
        "test_digest_length_is_checked": "a DIGEST of the wrong length is ValidationException",
        "test_message_limits": "Sign refuses a message over 4096 bytes (moto signs it)",
        "test_signing_algorithm_must_fit_the_key": (
            "a signing algorithm of another key spec is InvalidKeyUsageException "
            "(moto: ValidationException)"
        ),
        "test_key_usage_is_enforced": (
            "Sign with an ENCRYPT_DECRYPT key and Encrypt with a SIGN_VERIFY key are "
            "InvalidKeyUsageException"
        ),
        "test_key_usage_must_fit_the_spec": "CreateKey refuses a KeyUsage its KeySpec lacks",
        "test_signing_keys_do_not_rotate": (
            "rotation of an asymmetric key is UnsupportedOperationException"
        ),
        # HMAC
        "test_hmac_key_metadata": (
            "DescribeKey of an HMAC key gives MacAlgorithms and no EncryptionAlgorithms"
        ),
        "test_hmac_keys_do_not_rotate_and_have_no_public_key": (
            "HMAC keys refuse RotateKeyOnDemand and GetPublicKey (UnsupportedOperationException)"
        ),
        "test_mac_algorithm_must_fit_the_key": (
            "a MAC algorithm of another HMAC spec is InvalidKeyUsageException (moto MACs anyway)"
        ),
        "test_mac_message_limits": "GenerateMac refuses a message over 4096 bytes",
        "test_mac_needs_an_hmac_key": (
            "an HMAC key refuses Encrypt and GenerateDataKey with InvalidKeyUsageException"
        ),
        # data key pairs
        "test_data_key_pair": "GenerateDataKeyPair (moto answers HTTP 500)",
        "test_data_key_pair_without_plaintext": (
            "GenerateDataKeyPairWithoutPlaintext (moto answers HTTP 500)"
        ),
        "test_data_key_pairs_need_a_symmetric_encryption_key": (
            "GenerateDataKeyPair (moto answers HTTP 500)"
        ),
        # imported key material
        "test_external_key_waits_for_material": (
            "a key with Origin EXTERNAL waits in PendingImport (moto generates material)"
        ),
        **{
            name: "GetParametersForImport and ImportKeyMaterial (moto answers HTTP 500)"
            for name in (
                "test_import_symmetric_material",
                "test_import_wrapped_by_openssl",
                "test_imported_hmac_key_matches_cryptography",
                "test_imported_signing_key_is_the_given_key",
                "test_material_must_fit_the_key_spec",
                "test_delete_and_reimport_only_the_same_material",
                "test_import_token_and_wrapping_are_checked",
                "test_expiration_rules",
                "test_only_external_keys_take_material",
            )
        },
    },
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or "kms" not in callspec.params:
            continue
        backend = callspec.params["kms"]
        deviations = DEVIATIONS.get(backend, {})
        name = getattr(item, "originalname", item.name)
        reason = deviations.get(item.name) or deviations.get(name)
        if reason:
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"{backend}: {reason}"))


@pytest.fixture(params=BACKENDS)
def kms(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KeyService]:
    backend = request.param
    if backend == "local":
        from envelope.keys.local import LocalKeyService

        service = LocalKeyService(home=tmp_path / "contract-home")
        try:
            yield service
        finally:
            service.close()
    elif backend == "moto":
        from envelope.keys.aws import AwsKmsKeyService

        server: MotoServer = request.getfixturevalue("moto_env")
        aws = AwsKmsKeyService(endpoint_url=server.url, region_name="us-east-1")
        try:
            yield aws
        finally:
            aws.close()
    elif backend == "serve":
        from envelope.keys.aws import AwsKmsKeyService

        served: EnvelopeServer = request.getfixturevalue("serve_env")
        client = AwsKmsKeyService(endpoint_url=served.url, region_name="us-east-1")
        try:
            yield client
        finally:
            client.close()
    else:  # pragma: no cover - a backend listed without a factory is a bug in this file
        raise AssertionError(f"no factory for backend {backend!r}")
