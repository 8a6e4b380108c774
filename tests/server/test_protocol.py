"""The wire shapes: every KeyService operation is served, statuses and outputs match the model."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import inspect
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.loaders import create_loader
from botocore.model import ServiceModel, Shape

from envelope.errors import KMS_ERRORS, KeyServiceError
from envelope.keys import base
from envelope.keys.local import LocalKeyService
from envelope.keys.material import wrap_key_material
from envelope.server.protocol import STATUS, Protocol, encode_error, encode_result

RAW_MODEL = create_loader().load_service_model("kms", "service-2")
MODEL = ServiceModel(RAW_MODEL, "kms")


@pytest.fixture(scope="module")
def protocol(tmp_path_factory: pytest.TempPathFactory) -> Protocol:
    return Protocol(LocalKeyService(tmp_path_factory.mktemp("protocol-home")))


def test_every_contract_operation_is_served(protocol: Protocol) -> None:
    contract = {name for name, _ in inspect.getmembers(base.KeyService, inspect.isfunction)
                if not name.startswith("_")}  # fmt: skip
    served = {op.method for op in protocol.operations.values()}
    assert served == contract
    assert len(served) == 44


def test_every_kms_error_has_its_status() -> None:
    """Each KMS error class has a status; client faults 4xx, server faults 5xx (botocore)."""
    assert set(KMS_ERRORS) <= set(STATUS)
    shapes = RAW_MODEL["shapes"]
    checked = 0
    for code, status in STATUS.items():
        if shapes.get(code, {}).get("exception"):
            assert (status >= 500) == bool(shapes[code].get("fault")), code
            checked += 1
    assert checked >= 19


@pytest.mark.parametrize(
    ("code", "status"),
    [("NotFoundException", 404), ("DisabledException", 409), ("KMSInvalidStateException", 409),
     ("AlreadyExistsException", 409), ("KMSInternalException", 500),
     ("DependencyTimeoutException", 503), ("KeyUnavailableException", 500),
     ("InvalidCiphertextException", 400), ("ValidationException", 400)],
)  # fmt: skip
def test_smithy_statuses(code: str, status: int) -> None:
    assert encode_error(KeyServiceError("m", code=code))[0] == status


def test_unknown_errors_say_nothing() -> None:
    status, body = encode_error(KeyServiceError("path /secret/thing broke", code="Weird"))
    assert status == 500
    assert json.loads(body) == {"__type": "KMSInternalException", "message": "internal error"}


def _members(shape: Shape) -> dict[str, Shape]:
    return dict(getattr(shape, "members", {}))


def _conforms(value: Any, shape: Shape, path: str) -> None:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(value, dict), path
        members = _members(shape)
        for name, item in value.items():
            assert name in members, f"{path}.{name} is not in the model"
            _conforms(item, members[name], f"{path}.{name}")
    elif kind == "list":
        assert isinstance(value, list), path
        for item in value:
            _conforms(item, shape.member, path)  # type: ignore[attr-defined]
    elif kind == "map":
        assert isinstance(value, dict), path
        for name, item in value.items():
            _conforms(name, shape.key, f"{path} key")  # type: ignore[attr-defined]
            _conforms(item, shape.value, f"{path}.{name}")  # type: ignore[attr-defined]
    elif kind == "blob":
        base64.b64decode(value, validate=True)
    elif kind == "timestamp":
        assert isinstance(value, (int, float)), path  # epoch seconds
    elif kind == "boolean":
        assert isinstance(value, bool), path
    elif kind in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), path
    else:
        assert isinstance(value, str), path


def test_results_render_in_the_output_shapes(tmp_path: Path) -> None:
    """A real result of every operation, rendered, uses only members of its output shape."""
    with LocalKeyService(tmp_path / "home") as kms:
        protocol = Protocol(kms)
        key = kms.create_key(description="d")
        key_id = key.key_metadata.key_id
        rsa = kms.create_key(key_spec="RSA_2048").key_metadata.key_id
        kms.create_alias(alias_name="alias/shape", target_key_id=key_id)
        kms.enable_key_rotation(key_id=key_id)
        kms.rotate_key_on_demand(key_id=key_id)
        blob = kms.encrypt(key_id=key_id, plaintext=b"p").ciphertext_blob
        other = kms.create_key().key_metadata.key_id
        kms.tag_resource(key_id=key_id, tags=[{"TagKey": "team", "TagValue": "blue"}])
        tags = kms.list_resource_tags(key_id=key_id)
        signing = kms.create_key(key_spec="ECC_NIST_P256", key_usage="SIGN_VERIFY")
        signer = signing.key_metadata.key_id
        hmac_key = kms.create_key(key_spec="HMAC_256", key_usage="GENERATE_VERIFY_MAC")
        signature = kms.sign(key_id=signer, message=b"m", signing_algorithm="ECDSA_SHA_256")
        mac = kms.generate_mac(key_id=hmac_key.key_metadata.key_id, message=b"m",
                               mac_algorithm="HMAC_SHA_256")
        external = kms.create_key(origin="EXTERNAL").key_metadata.key_id
        params = kms.get_parameters_for_import(
            key_id=external, wrapping_algorithm="RSAES_OAEP_SHA_256", wrapping_key_spec="RSA_2048"
        )
        imported = kms.import_key_material(
            key_id=external, import_token=params.import_token,
            encrypted_key_material=wrap_key_material(params.public_key, "RSAES_OAEP_SHA_256",
                                                     bytes(32)),
            valid_to=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1),
            expiration_model="KEY_MATERIAL_EXPIRES",
        )
        results: dict[str, Any] = {
            "CreateKey": key,
            "DescribeKey": kms.describe_key(key_id=key_id),
            "ListKeys": kms.list_keys(limit=1),
            "ListAliases": kms.list_aliases(),
            "Encrypt": kms.encrypt(key_id=key_id, plaintext=b"p"),
            "Decrypt": kms.decrypt(ciphertext_blob=blob),
            "ReEncrypt": kms.re_encrypt(ciphertext_blob=blob, destination_key_id=key_id),
            "GenerateDataKey": kms.generate_data_key(key_id=key_id, key_spec="AES_256"),
            "GenerateDataKeyWithoutPlaintext": kms.generate_data_key_without_plaintext(
                key_id=key_id, number_of_bytes=16
            ),
            "GenerateRandom": kms.generate_random(number_of_bytes=8),
            "GetKeyRotationStatus": kms.get_key_rotation_status(key_id=key_id),
            "RotateKeyOnDemand": kms.rotate_key_on_demand(key_id=key_id),
            "ListKeyRotations": kms.list_key_rotations(key_id=key_id),
            "GetPublicKey": kms.get_public_key(key_id=rsa),
            "ScheduleKeyDeletion": kms.schedule_key_deletion(key_id=other,
                                                            pending_window_in_days=7),
            "CancelKeyDeletion": kms.cancel_key_deletion(key_id=other),
            "GetKeyPolicy": kms.get_key_policy(key_id=key_id),
            "ListKeyPolicies": kms.list_key_policies(key_id=key_id),
            "CreateGrant": kms.create_grant(
                key_id=key_id, grantee_principal=kms.caller, operations=["Decrypt"],
                retiring_principal=kms.caller, name="shape",
                constraints={"EncryptionContextSubset": {"a": "b"}}),
            "ListGrants": kms.list_grants(key_id=key_id),
            "ListRetirableGrants": kms.list_retirable_grants(retiring_principal=kms.caller),
            "ListResourceTags": tags,
            "Sign": signature,
            "Verify": kms.verify(key_id=signer, message=b"m", signature=signature.signature,
                                 signing_algorithm="ECDSA_SHA_256"),
            "GenerateMac": mac,
            "VerifyMac": kms.verify_mac(key_id=mac.key_id, message=b"m", mac=mac.mac,
                                        mac_algorithm="HMAC_SHA_256"),
            "GenerateDataKeyPair": kms.generate_data_key_pair(key_id=key_id,
                                                              key_pair_spec="ECC_NIST_P256"),
            "GenerateDataKeyPairWithoutPlaintext": kms.generate_data_key_pair_without_plaintext(
                key_id=key_id, key_pair_spec="ECC_NIST_P384"),
            "GetParametersForImport": params,
            "ImportKeyMaterial": imported,
        }  # fmt: skip
        assert results["ListGrants"].grants and results["ListRetirableGrants"].grants
        assert results["ListResourceTags"].tags
        described = {  # the metadata of the new key types fits the model too
            "signing": signing, "hmac": hmac_key, "external": kms.describe_key(key_id=external),
            "public": kms.get_public_key(key_id=signer),
        }
        for name, result in described.items():
            output = "GetPublicKey" if name == "public" else "DescribeKey"
            _conforms(json.loads(encode_result(result)), MODEL.operation_model(output).output_shape,
                      name)  # type: ignore[arg-type]
        for name, result in results.items():
            shape = MODEL.operation_model(name).output_shape
            assert shape is not None, name
            document = json.loads(encode_result(result))
            _conforms(document, shape, name)
            secret = getattr(result, "plaintext", None)
            if secret is not None:
                assert base64.b64decode(document["Plaintext"]) == secret
            private = getattr(result, "private_key_plaintext", None)
            if private is not None:
                assert base64.b64decode(document["PrivateKeyPlaintext"]) == private
        assert set(results) | {"EnableKey", "DisableKey", "CreateAlias", "DeleteAlias",
                               "EnableKeyRotation", "DisableKeyRotation",
                               "DeleteImportedKeyMaterial", "PutKeyPolicy", "RetireGrant",
                               "RevokeGrant", "UpdateAlias", "UpdateKeyDescription",
                               "TagResource", "UntagResource"} == set(
            protocol.operations)  # fmt: skip


def test_dates_are_epoch_seconds() -> None:
    moment = dt.datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=dt.timezone.utc)

    @dataclasses.dataclass(frozen=True)
    class Dated:
        creation_date: dt.datetime

    assert json.loads(encode_result(Dated(moment))) == {"CreationDate": 1714564800.25}


def test_arguments_follow_the_model(protocol: Protocol) -> None:
    operation = protocol.operation("TrentService.GenerateDataKey")
    arguments = protocol.arguments(operation, json.dumps({
        "KeyId": "alias/x", "NumberOfBytes": 32, "EncryptionContext": {"a": "b"},
        "GrantTokens": ["token"], "Unknown": 1,
    }).encode())  # fmt: skip
    assert arguments == {"key_id": "alias/x", "number_of_bytes": 32,
                         "encryption_context": {"a": "b"}, "grant_tokens": ["token"]}  # fmt: skip
    create = protocol.operation("TrentService.CreateKey")
    assert protocol.arguments(create, b'{"CustomerMasterKeySpec": "RSA_2048"}') == {
        "key_spec": "RSA_2048"
    }
    assert protocol.arguments(create, b'{"Origin": "AWS_KMS", "MultiRegion": false}') == {
        "origin": "AWS_KMS"
    }
    tags = b'{"Origin": "EXTERNAL", "Tags": [{"TagKey": "_custom_id_", "TagValue": "x"}]}'
    assert protocol.arguments(create, tags) == {
        "origin": "EXTERNAL", "tags": [{"TagKey": "_custom_id_", "TagValue": "x"}]
    }
    imports = protocol.operation("TrentService.ImportKeyMaterial")
    when = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    for sent in (when.timestamp(), "2030-01-01T00:00:00Z"):  # botocore sends epoch seconds
        body = json.dumps({"KeyId": "k", "ImportToken": "dA==", "EncryptedKeyMaterial": "bQ==",
                           "ValidTo": sent}).encode()  # fmt: skip
        assert protocol.arguments(imports, body)["valid_to"] == when
    for bad in ("tomorrow", 1e300):
        body = json.dumps({"KeyId": "k", "ImportToken": "dA==", "EncryptedKeyMaterial": "bQ==",
                           "ValidTo": bad}).encode()  # fmt: skip
        with pytest.raises(KeyServiceError, match="timestamp"):
            protocol.arguments(imports, body)


@pytest.mark.parametrize("body", [{}, {"NumberOfBytds": 32}, {"NumberOfBytes": None}])
def test_a_member_the_model_leaves_optional_but_the_service_needs(
    protocol: Protocol, body: dict[str, Any]
) -> None:
    """Found by the kms_request fuzz target: GenerateRandom without NumberOfBytes (optional in
    the model, required by KeyService.generate_random) called the method without it, and the
    TypeError became a 500. It is a ValidationException naming the member, as a null required
    member is."""
    operation = protocol.operation("TrentService.GenerateRandom")
    with pytest.raises(KeyServiceError) as caught:
        protocol.arguments(operation, json.dumps(body).encode())
    assert caught.value.code == "ValidationException"
    assert "'numberOfBytes'" in caught.value.message
    every = [(op.name, name) for op in protocol.operations.values() for name, _ in op.needs]
    assert ("GenerateRandom", "number_of_bytes") in every
