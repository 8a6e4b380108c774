"""Sign, Verify and GenerateMac per key spec: LocalKeyService beside raw ``cryptography``.

Each group holds the service call and the same primitive called directly on a key held in
memory (same algorithm, same 1 KiB message), so the service's overhead (validation, the keystore
lookup of the key's state, the cached unwrapped key) is read off one run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from convention import tag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pytest_benchmark.fixture import BenchmarkFixture

from envelope.keys.local import LocalKeyService

MESSAGE = b"m" * 1024
SIGNERS = {
    "ECC_NIST_P256": "ECDSA_SHA_256",
    "ECC_NIST_P384": "ECDSA_SHA_384",
    "ECC_NIST_P521": "ECDSA_SHA_512",
    "ECC_SECG_P256K1": "ECDSA_SHA_256",
    "RSA_2048": "RSASSA_PSS_SHA_256",
    "RSA_3072": "RSASSA_PSS_SHA_256",
    "RSA_4096": "RSASSA_PSS_SHA_256",
}
CURVES = {
    "ECC_NIST_P256": ec.SECP256R1, "ECC_NIST_P384": ec.SECP384R1,
    "ECC_NIST_P521": ec.SECP521R1, "ECC_SECG_P256K1": ec.SECP256K1,
}  # fmt: skip
HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512, "224": hashes.SHA224}
MACS = ["HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512"]
WHO = {"local-kms": "LocalKeyService", "cryptography": "cryptography (key in memory)"}
ROLES = {"local-kms": "subject", "cryptography": "limit"}


@pytest.fixture(scope="module")
def kms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKeyService]:
    service = LocalKeyService(Path(tmp_path_factory.mktemp("bench-signing")))
    yield service
    service.close()


def _raw_signer(spec: str) -> tuple[Callable[[bytes], bytes], Callable[[bytes, bytes], None]]:
    """Sign and verify with cryptography directly, as the service does for ``spec``."""
    digest = HASHES[SIGNERS[spec][-3:]]()
    if spec in CURVES:
        key = ec.generate_private_key(CURVES[spec]())
        public = key.public_key()
        return (lambda m: key.sign(m, ec.ECDSA(digest))), (
            lambda s, m: public.verify(s, m, ec.ECDSA(digest))
        )
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=int(spec[4:]))
    pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
    rsa_public = rsa_key.public_key()
    return (lambda m: rsa_key.sign(m, pss, digest)), (
        lambda s, m: rsa_public.verify(s, m, pss, digest)
    )


@pytest.mark.parametrize("spec", list(SIGNERS))
@pytest.mark.parametrize("who", ["local-kms", "cryptography"])
def test_sign(benchmark: BenchmarkFixture, kms: LocalKeyService, spec: str, who: str) -> None:
    tag(benchmark, area="signing", case=f"Sign {spec} {SIGNERS[spec]}", impl=WHO[who],
        role=ROLES[who], ops=1)  # fmt: skip
    if who == "cryptography":
        sign, _ = _raw_signer(spec)
        assert benchmark(sign, MESSAGE)
        return
    key_id = kms.create_key(key_spec=spec, key_usage="SIGN_VERIFY").key_metadata.key_id
    result = benchmark(kms.sign, key_id=key_id, message=MESSAGE, signing_algorithm=SIGNERS[spec])
    assert result.signature


@pytest.mark.parametrize("spec", list(SIGNERS))
@pytest.mark.parametrize("who", ["local-kms", "cryptography"])
def test_verify(benchmark: BenchmarkFixture, kms: LocalKeyService, spec: str, who: str) -> None:
    tag(benchmark, area="signing", case=f"Verify {spec} {SIGNERS[spec]}", impl=WHO[who],
        role=ROLES[who], ops=1)  # fmt: skip
    if who == "cryptography":
        sign, verify = _raw_signer(spec)
        signature = sign(MESSAGE)
        benchmark(verify, signature, MESSAGE)
        return
    key_id = kms.create_key(key_spec=spec, key_usage="SIGN_VERIFY").key_metadata.key_id
    algorithm = SIGNERS[spec]
    signature = kms.sign(key_id=key_id, message=MESSAGE, signing_algorithm=algorithm).signature
    result = benchmark(
        kms.verify, key_id=key_id, message=MESSAGE, signature=signature,
        signing_algorithm=algorithm,
    )  # fmt: skip
    assert result.signature_valid


@pytest.mark.parametrize("spec", MACS)
@pytest.mark.parametrize("who", ["local-kms", "cryptography"])
def test_generate_mac(
    benchmark: BenchmarkFixture, kms: LocalKeyService, spec: str, who: str
) -> None:
    tag(benchmark, area="signing", case=f"GenerateMac {spec}", impl=WHO[who], role=ROLES[who],
        ops=1)  # fmt: skip
    if who == "cryptography":
        material = bytes(int(spec[5:]) // 8)
        digest = HASHES[spec[5:]]

        def raw() -> bytes:
            h = hmac.HMAC(material, digest())
            h.update(MESSAGE)
            return h.finalize()

        assert benchmark(raw)
        return
    key_id = kms.create_key(key_spec=spec, key_usage="GENERATE_VERIFY_MAC").key_metadata.key_id
    result = benchmark(
        kms.generate_mac, key_id=key_id, message=MESSAGE, mac_algorithm=f"HMAC_SHA_{spec[5:]}"
    )
    assert result.mac
