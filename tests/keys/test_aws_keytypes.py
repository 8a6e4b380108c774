"""AwsKmsKeyService passes the new operations through with KMS's parameter and response shapes.

Sign, Verify, GenerateMac, VerifyMac and CreateKey's new arguments run against moto's server in
the contract suite. moto has no GenerateDataKeyPair, GetParametersForImport, ImportKeyMaterial or
DeleteImportedKeyMaterial (it answers HTTP 500), and ``envelope serve`` is not on this branch, so
their requests are checked here against botocore's Stubber, which validates each request against
botocore's KMS model and asserts the exact parameters sent.
"""

from __future__ import annotations

import datetime as dt

import boto3
import pytest
from botocore.stub import Stubber

from envelope.errors import IncorrectKeyMaterialException, KMSInvalidSignatureException
from envelope.keys.aws import AwsKmsKeyService

ARN = "arn:aws:kms:us-east-1:123456789012:key/0badcafe-1234-4abc-8def-0123456789ab"
WHEN = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


@pytest.fixture
def stubbed() -> tuple[AwsKmsKeyService, Stubber]:
    client = boto3.client(
        "kms", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    stubber = Stubber(client)
    stubber.activate()
    return AwsKmsKeyService(client), stubber


def test_data_key_pair_shapes(stubbed: tuple[AwsKmsKeyService, Stubber]) -> None:
    service, stubber = stubbed
    stubber.add_response(
        "generate_data_key_pair",
        {"PrivateKeyCiphertextBlob": b"blob", "PrivateKeyPlaintext": b"der", "PublicKey": b"pub",
         "KeyId": ARN, "KeyPairSpec": "ECC_NIST_P256"},
        {"KeyId": "k", "KeyPairSpec": "ECC_NIST_P256", "EncryptionContext": {"a": "b"},
         "GrantTokens": ["g"]},
    )  # fmt: skip
    pair = service.generate_data_key_pair(
        key_id="k", key_pair_spec="ECC_NIST_P256", encryption_context={"a": "b"},
        grant_tokens=["g"],
    )  # fmt: skip
    assert (pair.private_key_ciphertext_blob, pair.private_key_plaintext, pair.public_key) == (
        b"blob", b"der", b"pub"
    )  # fmt: skip
    assert (pair.key_id, pair.key_pair_spec) == (ARN, "ECC_NIST_P256")
    stubber.add_response(
        "generate_data_key_pair_without_plaintext",
        {"PrivateKeyCiphertextBlob": b"blob", "PublicKey": b"pub", "KeyId": ARN,
         "KeyPairSpec": "RSA_2048"},
        {"KeyId": "k", "KeyPairSpec": "RSA_2048", "DryRun": True},
    )  # fmt: skip
    bare = service.generate_data_key_pair_without_plaintext(
        key_id="k", key_pair_spec="RSA_2048", dry_run=True
    )
    assert (bare.public_key, bare.key_pair_spec) == (b"pub", "RSA_2048")
    stubber.assert_no_pending_responses()


def test_import_shapes(stubbed: tuple[AwsKmsKeyService, Stubber]) -> None:
    service, stubber = stubbed
    stubber.add_response(
        "get_parameters_for_import",
        {"KeyId": ARN, "ImportToken": b"token", "PublicKey": b"wrapping",
         "ParametersValidTo": WHEN},
        {"KeyId": "k", "WrappingAlgorithm": "RSA_AES_KEY_WRAP_SHA_256",
         "WrappingKeySpec": "RSA_4096"},
    )  # fmt: skip
    params = service.get_parameters_for_import(
        key_id="k", wrapping_algorithm="RSA_AES_KEY_WRAP_SHA_256", wrapping_key_spec="RSA_4096"
    )
    assert (params.import_token, params.public_key, params.parameters_valid_to) == (
        b"token", b"wrapping", WHEN
    )  # fmt: skip
    stubber.add_response(
        "import_key_material",
        {"KeyId": ARN, "KeyMaterialId": "a" * 64},
        {"KeyId": "k", "ImportToken": b"token", "EncryptedKeyMaterial": b"wrapped",
         "ValidTo": WHEN, "ExpirationModel": "KEY_MATERIAL_EXPIRES"},
    )  # fmt: skip
    result = service.import_key_material(
        key_id="k", import_token=b"token", encrypted_key_material=b"wrapped", valid_to=WHEN,
        expiration_model="KEY_MATERIAL_EXPIRES",
    )  # fmt: skip
    assert (result.key_id, result.key_material_id) == (ARN, "a" * 64)
    stubber.add_response(
        "import_key_material", {}, {"KeyId": "k", "ImportToken": b"t",
                                    "EncryptedKeyMaterial": b"w"}  # an older KMS answers {}
    )  # fmt: skip
    older = service.import_key_material(key_id="k", import_token=b"t", encrypted_key_material=b"w")
    assert (older.key_id, older.key_material_id) == ("k", None)
    stubber.add_response("delete_imported_key_material", {}, {"KeyId": "k"})
    assert service.delete_imported_key_material(key_id="k") is None
    stubber.add_client_error(
        "import_key_material", service_error_code="IncorrectKeyMaterialException",
        service_message="not the same material",
    )  # fmt: skip
    with pytest.raises(IncorrectKeyMaterialException, match="not the same material"):
        service.import_key_material(key_id="k", import_token=b"t", encrypted_key_material=b"w")
    stubber.assert_no_pending_responses()


def test_verify_failure_is_the_kms_class(stubbed: tuple[AwsKmsKeyService, Stubber]) -> None:
    service, stubber = stubbed
    stubber.add_client_error("verify", service_error_code="KMSInvalidSignatureException")
    with pytest.raises(KMSInvalidSignatureException):
        service.verify(key_id="k", message=b"m", signature=b"s", signing_algorithm="ECDSA_SHA_256")


def test_blob_members_are_checked_before_sending(stubbed: tuple[AwsKmsKeyService, Stubber]) -> None:
    service, _ = stubbed
    from envelope.errors import ValidationException

    with pytest.raises(ValidationException, match="Message"):
        service.sign(key_id="k", message="text", signing_algorithm="ECDSA_SHA_256")  # type: ignore[arg-type]
    with pytest.raises(ValidationException, match="EncryptedKeyMaterial"):
        service.import_key_material(key_id="k", import_token=b"t",
                                    encrypted_key_material="x")  # type: ignore[arg-type]  # fmt: skip
