"""The CLI's header pre-read: the EDK cap before any work, and the suite's own signature label."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from envelope.message.header import FRAMED, EncryptedDataKey, Header, serialize_header
from envelope.message.suites import SUITES
from tests.cli.conftest import Run, fails, ok_json


def _header(edk_count: int, suite_id: int = 0x0478) -> bytes:
    """A header of ``edk_count`` aws-kms EDKs (with a public key entry for signed suites)."""
    suite = SUITES[suite_id]
    v2 = suite.message_version == 2
    header = Header(
        version=suite.message_version,
        suite=suite,
        message_id=os.urandom(32 if v2 else 16),
        encryption_context={"aws-crypto-public-key": "AAAA"} if suite.signed else {},
        encrypted_data_keys=tuple(
            EncryptedDataKey("aws-kms", b"arn:aws:kms:us-east-1:123456789012:key/k", b"%d" % i)
            for i in range(edk_count)
        ),
        content_type=FRAMED,
        frame_length=4096,
        suite_data=bytes(32) if v2 else b"",
    )
    return serialize_header(header) + bytes(16 if v2 else 28)


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("many") / "many.env"
    path.write_bytes(_header(65535) + b"body")
    return path


@pytest.mark.parametrize(
    "args",
    [["decrypt", "-o", "OUT"], ["inspect"], ["rewrap"], ["decrypt", "-o", "-"]],
    ids=["decrypt", "inspect", "rewrap", "decrypt-stdout"],
)
def test_65535_edks_are_refused_at_the_count(
    envelope: Run, many: Path, tmp_path: Path, args: list[str]
) -> None:
    """decrypt.md, "Parse the header": when the EDK count exceeds the configured maximum, "as
    soon as that can be determined during deserializing decrypt MUST process no more bytes and
    yield an error" -- in the CLI's header pre-read (inspect too) as in the library."""
    target = tmp_path / "m.env"
    target.write_bytes(many.read_bytes())
    command = [a.replace("OUT", str(tmp_path / "out")) for a in args]
    result = envelope(command[0], str(target), *command[1:])
    fails(result, "TooManyEncryptedDataKeysError", "65535 keys, the limit is 10")
    assert result.stdout == b""
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "envelope-home") == ["m.env"]
    assert target.read_bytes() == many.read_bytes()
    if args[0] != "rewrap":  # rewrap works on files only
        fails(envelope(command[0], "-", *command[1:], input=many.read_bytes()), "limit is 10")


def test_cap_is_configurable(envelope: Run, many: Path) -> None:
    """client.md, "Maximum Number Of Encrypted Data Keys": "Callers MUST have a way to disable
    this limit"."""
    info = ok_json(envelope("inspect", str(many), "--json", "--max-encrypted-data-keys", "65535"))
    assert len(info["encrypted_data_keys"]) == 65535
    eleven = envelope("inspect", "-", "--max-encrypted-data-keys", "3", input=_header(11))
    fails(eleven, "11 keys, the limit is 3")


@pytest.mark.parametrize(
    ("suite_id", "label"),
    [
        (0x0214, "ECDSA P-256"),
        (0x0346, "ECDSA P-384"),
        (0x0378, "ECDSA P-384"),
        (0x0578, "ECDSA P-384"),
    ],
)
def test_inspect_labels_the_signature_from_the_suite(
    envelope: Run, suite_id: int, label: str
) -> None:
    """algorithm-suites.md, "Supported Algorithm Suites": 0x0214 signs with ECDSA P-256, the
    other signed suites with ECDSA P-384."""
    result = envelope("inspect", "-", input=_header(1, suite_id))
    assert result.returncode == 0, result.stderr.decode()
    assert f"0x{suite_id:04x} {SUITES[suite_id].name} (signed, {label})" in result.stdout.decode()
    document = ok_json(envelope("inspect", "-", "--json", input=_header(1, suite_id)))
    assert document["signature_algorithm"] == label
