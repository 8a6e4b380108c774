"""``envelope rewrap``: after a rotation, data keys move to the new version; bodies stay put."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from envelope.keys import blob
from envelope.message.header import parse_header
from envelope.message.reader import BytesReader
from tests.cli.conftest import Run, fails, ok_json

MIB = 1024**2


def _split(message: bytes) -> tuple[list[bytes], bytes]:
    """The EDK ciphertexts and the body (everything after the header and its authentication)."""
    reader = BytesReader(message)
    header, _, _ = parse_header(reader, max_encrypted_data_keys=10)
    return [bytes(e.ciphertext) for e in header.encrypted_data_keys], message[reader.offset :]


def _write_random(path: Path, size: int) -> bytes:
    digest = hashlib.sha256()
    block = os.urandom(MIB)
    with path.open("wb") as handle:
        for i in range(size // MIB):
            chunk = i.to_bytes(8, "big") + block[8:]
            handle.write(chunk)
            digest.update(chunk)
    return digest.digest()


def test_rewrap_64_mib_after_rotation(envelope: Run, tmp_path: Path) -> None:
    key_id = ok_json(envelope("key", "create", "--json", "--alias", "alias/r"))["KeyMetadata"][
        "KeyId"
    ]
    source, sealed, opened = tmp_path / "big", tmp_path / "big.env", tmp_path / "big.out"
    digest = _write_random(source, 64 * MIB)
    result = envelope("encrypt", str(source), "-o", str(sealed), "--key", "alias/r",
                      "-c", "purpose=rewrap")
    assert result.returncode == 0, result.stderr.decode()
    before_edks, before_body = _split(sealed.read_bytes())
    assert envelope("key", "rotate", "alias/r").returncode == 0

    result = envelope("rewrap", str(sealed))
    assert result.returncode == 0, result.stderr.decode()
    assert f"rewrapped {sealed}" in result.stderr.decode()

    after_edks, after_body = _split(sealed.read_bytes())
    assert after_body == before_body  # the 64 MiB body is byte-for-byte the same
    old, new = blob.parse(before_edks[0]), blob.parse(after_edks[0])
    assert old.key_id == new.key_id == key_id
    assert new.version > old.version  # the data key is now under the rotated version
    assert {p.name for p in tmp_path.iterdir()} == {"envelope-home", "big", "big.env"}

    result = envelope("decrypt", str(sealed), "-o", str(opened), "-c", "purpose=rewrap")
    assert result.returncode == 0, result.stderr.decode()
    assert hashlib.sha256(opened.read_bytes()).digest() == digest


def test_rewrap_to_another_key(envelope: Run, tmp_path: Path) -> None:
    first = ok_json(envelope("key", "create", "--json"))["KeyMetadata"]["Arn"]
    second = ok_json(envelope("key", "create", "--json"))["KeyMetadata"]["Arn"]
    sealed = tmp_path / "m.env"
    assert envelope("encrypt", "-o", str(sealed), "--key", first, input=b"move me").returncode == 0
    result = envelope("rewrap", str(sealed), "--to", second)
    assert result.returncode == 0, result.stderr.decode()
    info = ok_json(envelope("inspect", str(sealed), "--json"))
    assert [e["provider_info"] for e in info["encrypted_data_keys"]] == [second]
    assert envelope("key", "disable", first).returncode == 0  # the old key is no longer needed
    opened = envelope("decrypt", str(sealed), "-o", "-")
    assert opened.returncode == 0, opened.stderr.decode()
    assert opened.stdout == b"move me"


def test_rewrap_failure_leaves_the_file_alone(envelope: Run, tmp_path: Path) -> None:
    arn = ok_json(envelope("key", "create", "--json"))["KeyMetadata"]["Arn"]
    good, junk = tmp_path / "good.env", tmp_path / "junk.env"
    assert envelope("encrypt", "-o", str(good), "--key", arn, input=b"x").returncode == 0
    junk.write_bytes(b"not a message")
    original = good.read_bytes()
    assert envelope("key", "disable", arn).returncode == 0
    fails(envelope("rewrap", str(good)), "DisabledException")
    fails(envelope("rewrap", str(junk)))
    assert good.read_bytes() == original
    assert junk.read_bytes() == b"not a message"
    assert {p.name for p in tmp_path.iterdir()} == {"envelope-home", "good.env", "junk.env"}


def test_rewrap_keeps_the_file_mode(envelope: Run, tmp_path: Path) -> None:
    arn = ok_json(envelope("key", "create", "--json"))["KeyMetadata"]["Arn"]
    sealed = tmp_path / "m.env"
    assert envelope("encrypt", "-o", str(sealed), "--key", arn, input=b"x").returncode == 0
    assert sealed.stat().st_mode & 0o777 == 0o600  # new outputs are private
    sealed.chmod(0o640)
    assert envelope("key", "rotate", arn).returncode == 0
    assert envelope("rewrap", str(sealed)).returncode == 0
    assert sealed.stat().st_mode & 0o777 == 0o640


def test_signed_messages_need_a_full_re_encrypt(envelope: Run, tmp_path: Path) -> None:
    arn = ok_json(envelope("key", "create", "--json"))["KeyMetadata"]["Arn"]
    sealed = tmp_path / "signed.env"
    result = envelope("encrypt", "-o", str(sealed), "--key", arn, "--suite", "0x0578",
                      input=b"signed")
    assert result.returncode == 0, result.stderr.decode()
    original = sealed.read_bytes()
    fails(envelope("rewrap", str(sealed)), "signed")
    assert sealed.read_bytes() == original


def test_rewrap_several_files_through_a_pipe_too(envelope: Run, tmp_path: Path) -> None:
    arn = ok_json(envelope("key", "create", "--json"))["KeyMetadata"]["Arn"]
    files = [tmp_path / f"m{n}.env" for n in range(3)]
    for n, path in enumerate(files):
        assert envelope("encrypt", "-o", str(path), "--key", arn,
                        input=str(n).encode()).returncode == 0
    assert envelope("key", "rotate", arn).returncode == 0
    result = envelope("rewrap", *map(str, files))
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr.decode().count("rewrapped ") == 3
    piped = envelope("rewrap", "-", input=files[0].read_bytes())
    assert piped.returncode == 0, piped.stderr.decode()
    opened = envelope("decrypt", "-o", "-", input=piped.stdout)
    assert opened.stdout == b"0"
    for n, path in enumerate(files):
        assert envelope("decrypt", str(path), "-o", "-").stdout == str(n).encode()
