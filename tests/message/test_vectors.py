"""The 33 legacy ESDK vectors: they decrypt with allow_legacy=True and are refused without it."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from envelope.errors import LegacySuiteError
from envelope.message import RawAesKey, RawRsaKey, decrypt, decrypt_stream, inspect
from envelope.message.wrapping import WrappingKey

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors" / "esdk-legacy"
MANIFEST = VECTORS / "manifests" / "ciphertext.manifest"

pytestmark = pytest.mark.skipif(not MANIFEST.exists(), reason=f"vectors not found at {VECTORS}")


def _manifest() -> dict[str, Any]:
    if not MANIFEST.exists():
        return {"test_cases": [], "test_keys": {}}
    data: dict[str, Any] = json.loads(MANIFEST.read_text())
    return data


def _keys(case: dict[str, Any], test_keys: dict[str, Any]) -> list[WrappingKey]:
    bits = {"0014": 128, "0114": 128, "0214": 128, "0046": 192, "0146": 192, "0346": 192}.get(
        case["algorithm"], 256
    )
    keys: list[WrappingKey] = []
    for mk in case["master_keys"]:
        if not mk["decryptable"]:
            continue
        if mk["encryption_algorithm"] == "AES":
            material = base64.b64decode("".join(test_keys["AES"][str(bits)]["key"]))
            keys.append(RawAesKey(mk["provider_id"], f"AES.{bits}..", material))
        else:
            entry = test_keys["RSA"][str(mk["key_bits"])]
            pem = entry["line_separator"].join(entry["key"]).encode()
            private = load_pem_private_key(pem, password=None)
            padding = (
                "PKCS1"
                if mk["padding_algorithm"] == "PKCS1"
                else "OAEP-" + mk["padding_hash"].replace("-", "")
            )
            name = f"RSA.{mk['key_bits']}.{mk['padding_algorithm']}.{mk.get('padding_hash', '')}"
            keys.append(RawRsaKey(mk["provider_id"], name, private_key=private, padding=padding))  # type: ignore[arg-type]
    return keys


CASES = _manifest()["test_cases"]


def test_all_33_vectors_are_present() -> None:
    assert len(CASES) == 33


@pytest.mark.parametrize("case", CASES, ids=[c["ciphertext"]["filename"] for c in CASES])
def test_vector_decrypts_with_allow_legacy(case: dict[str, Any]) -> None:
    message = (VECTORS / case["ciphertext"]["filename"]).read_bytes()
    expected = (VECTORS / case["plaintext"]["filename"]).read_bytes()
    keys = _keys(case, _manifest()["test_keys"])
    assert inspect(message).suite_id == int(case["algorithm"], 16)
    assert decrypt(message, keys=keys, allow_legacy=True) == expected
    out = io.BytesIO()
    info = decrypt_stream(io.BytesIO(message), out, keys=keys, allow_legacy=True)
    assert out.getvalue() == expected
    assert info.version == 1


@pytest.mark.parametrize("case", CASES, ids=[c["ciphertext"]["filename"] for c in CASES])
def test_vector_refused_without_allow_legacy(case: dict[str, Any]) -> None:
    message = (VECTORS / case["ciphertext"]["filename"]).read_bytes()
    keys = _keys(case, _manifest()["test_keys"])
    with pytest.raises(LegacySuiteError, match="no key commitment"):
        decrypt(message, keys=keys)
