"""``envelope key sign|verify|mac|verify-mac|import`` and the new ``key create`` options."""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.cli.conftest import Run, fails, ok_json

KEY_ID = "c0ffee00-0000-4000-8000-00000000beef"


def _create(envelope: Run, *args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    meta = ok_json(envelope("key", "create", "--json", *args, env=env))["KeyMetadata"]
    assert isinstance(meta, dict)
    return meta


def test_sign_and_verify(envelope: Run, tmp_path: Path) -> None:
    meta = _create(envelope, "--key-spec", "ECC_NIST_P384")  # usage inferred: SIGN_VERIFY
    assert meta["KeyUsage"] == "SIGN_VERIFY"
    assert meta["SigningAlgorithms"] == ["ECDSA_SHA_384"]
    key = str(meta["KeyId"])
    message, sig = tmp_path / "message", tmp_path / "message.sig"
    message.write_bytes(b"release 1.0")
    signed = envelope("key", "sign", key, "-a", "ECDSA_SHA_384", "-i", str(message),
                      "-o", str(sig))  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    checked = envelope("key", "verify", key, "-a", "ECDSA_SHA_384", "-s", str(sig),
                       "-i", str(message))  # fmt: skip
    assert checked.returncode == 0 and checked.stdout == b"signature valid\n"
    shaped = ok_json(envelope("key", "verify", key, "-a", "ECDSA_SHA_384", "-s", str(sig),
                              "--json", input=b"release 1.0"))  # fmt: skip
    assert shaped["SignatureValid"] is True and shaped["KeyId"].endswith(key)
    message.write_bytes(b"release 1.1")
    fails(envelope("key", "verify", key, "-a", "ECDSA_SHA_384", "-s", str(sig),
                   "-i", str(message)), "KMSInvalidSignatureException")  # fmt: skip
    as_json = ok_json(envelope("key", "sign", key, "-a", "ECDSA_SHA_384", "--json",
                               input=b"release 1.1"))  # fmt: skip
    assert as_json["SigningAlgorithm"] == "ECDSA_SHA_384"
    (tmp_path / "json.sig").write_bytes(base64.b64decode(as_json["Signature"]))
    assert envelope("key", "verify", key, "-a", "ECDSA_SHA_384", "-s", str(tmp_path / "json.sig"),
                    "-i", str(message)).returncode == 0  # fmt: skip


def test_large_files_are_signed_by_digest(envelope: Run, tmp_path: Path) -> None:
    key = str(_create(envelope, "--key-spec", "RSA_2048", "--key-usage", "SIGN_VERIFY")["KeyId"])
    big, sig = tmp_path / "big", tmp_path / "big.sig"
    big.write_bytes(b"x" * 100_000)
    fails(envelope("key", "sign", key, "-a", "RSASSA_PSS_SHA_256", "-i", str(big),
                   "-o", str(sig)), "over 4096 bytes")  # fmt: skip
    assert not sig.exists()
    assert envelope("key", "sign", key, "-a", "RSASSA_PSS_SHA_256", "--prehash", "-i", str(big),
                    "-o", str(sig)).returncode == 0  # fmt: skip
    assert envelope("key", "verify", key, "-a", "RSASSA_PSS_SHA_256", "--prehash",
                    "-s", str(sig), "-i", str(big)).returncode == 0  # fmt: skip
    big.write_bytes(b"x" * 99_999 + b"y")
    fails(envelope("key", "verify", key, "-a", "RSASSA_PSS_SHA_256", "--prehash",
                   "-s", str(sig), "-i", str(big)), "KMSInvalidSignatureException")  # fmt: skip


def test_mac_and_verify_mac(envelope: Run, tmp_path: Path) -> None:
    meta = _create(envelope, "--key-spec", "HMAC_256")
    assert meta["KeyUsage"] == "GENERATE_VERIFY_MAC" and meta["MacAlgorithms"] == ["HMAC_SHA_256"]
    key = str(meta["KeyId"])
    mac = tmp_path / "tag"
    assert envelope("key", "mac", key, "-a", "HMAC_SHA_256", "-o", str(mac),
                    input=b"token").returncode == 0  # fmt: skip
    assert len(mac.read_bytes()) == 32
    shaped = ok_json(envelope("key", "mac", key, "-a", "HMAC_SHA_256", "--json", input=b"token"))
    assert base64.b64decode(shaped["Mac"]) == mac.read_bytes()
    ok = envelope("key", "verify-mac", key, "-a", "HMAC_SHA_256", "-m", str(mac), input=b"token")
    assert ok.returncode == 0 and ok.stdout == b"MAC valid\n"
    fails(envelope("key", "verify-mac", key, "-a", "HMAC_SHA_256", "-m", str(mac),
                   input=b"tokeN"), "KMSInvalidMacException")  # fmt: skip
    fails(envelope("key", "mac", key, "-a", "HMAC_SHA_512", input=b"token"),
          "InvalidKeyUsageException")  # fmt: skip


def test_import_gives_the_same_key_in_two_homes(envelope: Run, tmp_path: Path) -> None:
    """The README's recipe: a fixed key id and fixed bytes make the same key anywhere."""
    material = tmp_path / "material.bin"
    material.write_bytes(bytes(range(32)))
    homes = [{"ENVELOPE_HOME": str(tmp_path / name)} for name in ("a", "b")]
    for env in homes:
        meta = _create(envelope, "--origin", "EXTERNAL", "--tag", f"_custom_id_={KEY_ID}",
                       env=env)  # fmt: skip
        assert (meta["KeyId"], meta["KeyState"], meta["Origin"]) == (
            KEY_ID, "PendingImport", "EXTERNAL"
        )  # fmt: skip
        result = ok_json(envelope("key", "import", KEY_ID, str(material), "--wrapping-key-spec",
                                  "RSA_2048", "--json", env=env))  # fmt: skip
        assert result["KeyId"].endswith(KEY_ID)
        described = ok_json(envelope("key", "describe", KEY_ID, "--json", env=env))
        assert described["KeyMetadata"]["KeyState"] == "Enabled"
        assert material.read_bytes().hex() not in str(described)
    plain, sealed, opened = tmp_path / "plain", tmp_path / "sealed", tmp_path / "opened"
    plain.write_bytes(b"made in a, opened in b")
    assert envelope("encrypt", str(plain), "-o", str(sealed), "-k", KEY_ID,
                    env=homes[0]).returncode == 0  # fmt: skip
    assert envelope("decrypt", str(sealed), "-o", str(opened), env=homes[1]).returncode == 0
    assert opened.read_bytes() == plain.read_bytes()


def test_import_a_pem_private_key_and_sign_with_it(envelope: Run, tmp_path: Path) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = tmp_path / "key.pem"
    pem.write_bytes(private.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.TraditionalOpenSSL,
                                          serialization.NoEncryption()))  # fmt: skip
    key = str(_create(envelope, "--key-spec", "ECC_NIST_P256", "--origin", "EXTERNAL")["KeyId"])
    imported = envelope("key", "import", key, str(pem), "--wrapping-key-spec", "RSA_2048")
    assert imported.returncode == 0, imported.stderr
    sig = tmp_path / "sig"
    assert envelope("key", "sign", key, "-a", "ECDSA_SHA_256", "-o", str(sig),
                    input=b"hello").returncode == 0  # fmt: skip
    private.public_key().verify(sig.read_bytes(), b"hello", ec.ECDSA(hashes.SHA256()))


def test_import_refusals(envelope: Run, tmp_path: Path) -> None:
    key = str(_create(envelope, "--origin", "EXTERNAL")["KeyId"])
    short = tmp_path / "short"
    short.write_bytes(b"k" * 31)
    fails(envelope("key", "import", key, str(short), "--wrapping-key-spec", "RSA_2048"),
          "IncorrectKeyMaterialException")  # fmt: skip
    fails(envelope("key", "import", key, str(short), "--valid-to", "next tuesday"),
          "ISO 8601")  # fmt: skip
    bad_pem = tmp_path / "bad.pem"
    bad_pem.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n")
    fails(envelope("key", "import", key, str(bad_pem)), "not an unencrypted private key")
    generated = str(_create(envelope)["KeyId"])
    fails(envelope("key", "import", generated, str(short), "--wrapping-key-spec", "RSA_2048"),
          "UnsupportedOperationException")  # fmt: skip
    fails(envelope("key", "create", "--tag", "novalue"), "KEY=VALUE")
