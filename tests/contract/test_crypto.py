"""Contract: Encrypt, Decrypt, ReEncrypt, GenerateDataKey and their documented limits."""

from __future__ import annotations

import pytest

from envelope.errors import (
    IncorrectKeyException,
    InvalidCiphertextException,
    ValidationException,
)
from envelope.keys.base import KeyService

CONTEXT = {"purpose": "test", "tenant": "a"}


@pytest.fixture
def key_id(kms: KeyService) -> str:
    return kms.create_key().key_metadata.key_id


@pytest.mark.parametrize("size", [1, 4096])
def test_encrypt_plaintext_edges(kms: KeyService, key_id: str, size: int) -> None:
    plaintext = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    result = kms.encrypt(key_id=key_id, plaintext=plaintext)
    assert result.key_id.endswith(key_id)
    assert result.encryption_algorithm == "SYMMETRIC_DEFAULT"
    assert len(result.ciphertext_blob) <= 6144
    decrypted = kms.decrypt(ciphertext_blob=result.ciphertext_blob)
    assert decrypted.plaintext == plaintext
    assert decrypted.key_id.endswith(key_id)


@pytest.mark.parametrize("size", [0, 4097])
def test_encrypt_plaintext_out_of_range(kms: KeyService, key_id: str, size: int) -> None:
    with pytest.raises(ValidationException, match="4096" if size else "1"):
        kms.encrypt(key_id=key_id, plaintext=b"p" * size)


def test_context_is_bound(kms: KeyService, key_id: str) -> None:
    blob = kms.encrypt(key_id=key_id, plaintext=b"data", encryption_context=CONTEXT).ciphertext_blob
    reordered = dict(reversed(list(CONTEXT.items())))
    assert kms.decrypt(ciphertext_blob=blob, encryption_context=reordered).plaintext == b"data"
    for wrong in (None, {}, {"purpose": "test"}, {**CONTEXT, "tenant": "b"}, {**CONTEXT, "x": "y"}):
        with pytest.raises(InvalidCiphertextException):
            kms.decrypt(ciphertext_blob=blob, encryption_context=wrong)


def test_tampered_blob(kms: KeyService, key_id: str) -> None:
    blob = kms.encrypt(key_id=key_id, plaintext=b"data").ciphertext_blob
    for index in (0, len(blob) // 2, len(blob) - 1):
        flipped = bytearray(blob)
        flipped[index] ^= 0x01
        with pytest.raises(InvalidCiphertextException):
            kms.decrypt(ciphertext_blob=bytes(flipped))
    with pytest.raises(InvalidCiphertextException):
        kms.decrypt(ciphertext_blob=blob[:-1])
    with pytest.raises(InvalidCiphertextException):
        kms.decrypt(ciphertext_blob=b"not a kms ciphertext blob at all, really")


def test_ciphertext_blob_limits(kms: KeyService, key_id: str) -> None:
    with pytest.raises(ValidationException):
        kms.decrypt(ciphertext_blob=b"")
    with pytest.raises(ValidationException, match="6144"):
        kms.decrypt(ciphertext_blob=b"\x01" * 6145)
    with pytest.raises(InvalidCiphertextException):
        kms.decrypt(ciphertext_blob=b"\x01" * 6144)


def test_decrypt_with_named_key(kms: KeyService, key_id: str) -> None:
    other = kms.create_key().key_metadata.key_id
    blob = kms.encrypt(key_id=key_id, plaintext=b"data").ciphertext_blob
    assert kms.decrypt(ciphertext_blob=blob, key_id=key_id).plaintext == b"data"
    with pytest.raises(IncorrectKeyException):
        kms.decrypt(ciphertext_blob=blob, key_id=other)


def test_generate_data_key_specs(kms: KeyService, key_id: str) -> None:
    for spec, size in (("AES_128", 16), ("AES_256", 32)):
        result = kms.generate_data_key(key_id=key_id, key_spec=spec, encryption_context=CONTEXT)
        assert len(result.plaintext) == size
        assert result.key_id.endswith(key_id)
        again = kms.decrypt(ciphertext_blob=result.ciphertext_blob, encryption_context=CONTEXT)
        assert again.plaintext == result.plaintext


@pytest.mark.parametrize("size", [1, 1024])
def test_generate_data_key_bytes_edges(kms: KeyService, key_id: str, size: int) -> None:
    result = kms.generate_data_key(key_id=key_id, number_of_bytes=size)
    assert len(result.plaintext) == size
    assert kms.decrypt(ciphertext_blob=result.ciphertext_blob).plaintext == result.plaintext


@pytest.mark.parametrize("size", [0, 1025])
def test_generate_data_key_bytes_out_of_range(kms: KeyService, key_id: str, size: int) -> None:
    with pytest.raises(ValidationException):
        kms.generate_data_key(key_id=key_id, number_of_bytes=size)


def test_generate_data_key_needs_exactly_one_size(kms: KeyService, key_id: str) -> None:
    with pytest.raises(ValidationException):
        kms.generate_data_key(key_id=key_id)
    with pytest.raises(ValidationException):
        kms.generate_data_key(key_id=key_id, number_of_bytes=32, key_spec="AES_256")
    with pytest.raises(ValidationException):
        kms.generate_data_key(key_id=key_id, key_spec="AES_512")


def test_generate_data_key_without_plaintext(kms: KeyService, key_id: str) -> None:
    result = kms.generate_data_key_without_plaintext(
        key_id=key_id, key_spec="AES_256", encryption_context=CONTEXT
    )
    assert not hasattr(result, "plaintext")
    decrypted = kms.decrypt(ciphertext_blob=result.ciphertext_blob, encryption_context=CONTEXT)
    assert len(decrypted.plaintext) == 32
    with pytest.raises(ValidationException):
        kms.generate_data_key_without_plaintext(key_id=key_id, number_of_bytes=1025)


def test_re_encrypt_to_another_key(kms: KeyService, key_id: str) -> None:
    other = kms.create_key().key_metadata.key_id
    blob = kms.encrypt(key_id=key_id, plaintext=b"move me", encryption_context=CONTEXT)
    moved = kms.re_encrypt(
        ciphertext_blob=blob.ciphertext_blob,
        source_encryption_context=CONTEXT,
        destination_key_id=other,
        destination_encryption_context={"new": "ctx"},
    )
    assert moved.source_key_id.endswith(key_id)
    assert moved.key_id.endswith(other)
    assert not hasattr(moved, "plaintext")
    result = kms.decrypt(ciphertext_blob=moved.ciphertext_blob, encryption_context={"new": "ctx"})
    assert result.plaintext == b"move me"
    assert result.key_id.endswith(other)
    with pytest.raises(InvalidCiphertextException):
        kms.decrypt(ciphertext_blob=moved.ciphertext_blob, encryption_context=CONTEXT)


def test_re_encrypt_checks_source(kms: KeyService, key_id: str) -> None:
    other = kms.create_key().key_metadata.key_id
    blob = kms.encrypt(key_id=key_id, plaintext=b"x", encryption_context=CONTEXT).ciphertext_blob
    with pytest.raises(IncorrectKeyException):
        kms.re_encrypt(
            ciphertext_blob=blob,
            source_key_id=other,
            source_encryption_context=CONTEXT,
            destination_key_id=other,
        )
    with pytest.raises(InvalidCiphertextException):
        kms.re_encrypt(ciphertext_blob=blob, destination_key_id=other)


def test_encrypt_via_alias_arn(kms: KeyService, key_id: str) -> None:
    arn = kms.describe_key(key_id=key_id).key_metadata.arn
    kms.create_alias(alias_name="alias/crypto", target_key_id=key_id)
    alias_arn = arn.split(":key/")[0] + ":alias/crypto"
    blob = kms.encrypt(key_id=alias_arn, plaintext=b"x").ciphertext_blob
    assert kms.decrypt(ciphertext_blob=blob, key_id="alias/crypto").plaintext == b"x"


def test_dry_run_raises_dry_run_operation_exception(kms: KeyService, key_id: str) -> None:
    """KMS DryRun: the request would have succeeded, and nothing is returned or done."""
    from envelope.errors import DryRunOperationException

    with pytest.raises(DryRunOperationException):
        kms.encrypt(key_id=key_id, plaintext=b"x", dry_run=True)
    with pytest.raises(DryRunOperationException):
        kms.generate_data_key(key_id=key_id, key_spec="AES_256", dry_run=True)


def test_grant_tokens_are_accepted(kms: KeyService, key_id: str) -> None:
    account = kms.describe_key(key_id=key_id).key_metadata.aws_account_id
    token = kms.create_grant(key_id=key_id, grantee_principal=f"arn:aws:iam::{account}:root",
                             operations=["Encrypt", "Decrypt", "DescribeKey"]).grant_token
    blob = kms.encrypt(key_id=key_id, plaintext=b"x", grant_tokens=[token]).ciphertext_blob
    assert kms.decrypt(ciphertext_blob=blob, grant_tokens=[token]).plaintext == b"x"
    assert kms.describe_key(key_id=key_id, grant_tokens=[token]).key_metadata.enabled


@pytest.mark.parametrize(
    "arguments",
    [{"plaintext": "text"}, {"encryption_context": {"k": 1}}, {"grant_tokens": ["t"] * 11}],
    ids=["str-plaintext", "int-context-value", "eleven-grant-tokens"],
)
def test_wrong_arguments_are_validation_errors_on_every_backend(
    kms: KeyService, key_id: str, arguments: dict[str, object]
) -> None:
    with pytest.raises(ValidationException):
        kms.encrypt(**{"key_id": key_id, "plaintext": b"x", **arguments})  # type: ignore[arg-type]


def test_key_id_over_2048_characters(kms: KeyService) -> None:
    with pytest.raises(ValidationException):
        kms.describe_key(key_id="alias/" + "a" * 2043)
