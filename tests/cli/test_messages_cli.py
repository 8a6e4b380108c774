"""``envelope encrypt|decrypt|inspect`` end to end; what each bad input gets."""

from __future__ import annotations

import json
import os
import pty
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Run, fails, ok_json

PLAINTEXT = os.urandom(200_000) + b"the end"


@pytest.fixture
def key_arn(envelope: Run) -> str:
    meta = ok_json(envelope("key", "create", "--json", "--alias", "alias/cli"))["KeyMetadata"]
    return str(meta["Arn"])


@pytest.fixture
def message(envelope: Run, key_arn: str, tmp_path: Path) -> Path:
    source = tmp_path / "plain.bin"
    source.write_bytes(PLAINTEXT)
    out = tmp_path / "plain.bin.env"
    result = envelope("encrypt", str(source), "-o", str(out), "--key", "alias/cli",
                      "-c", "purpose=test", "--frame-length", "4096")
    assert result.returncode == 0, result.stderr.decode()
    return out


def _only(folder: Path) -> set[str]:
    """The names in ``folder``, leaving out the test's keystore folder (ENVELOPE_HOME)."""
    return {p.name for p in folder.iterdir() if p.name != "envelope-home"}


def test_file_round_trip(envelope: Run, message: Path, tmp_path: Path) -> None:
    assert PLAINTEXT not in message.read_bytes()
    out = tmp_path / "decrypted.bin"
    result = envelope("decrypt", str(message), "-o", str(out), "-c", "purpose=test")
    assert result.returncode == 0, result.stderr.decode()
    assert out.read_bytes() == PLAINTEXT


def test_pipe_round_trip(envelope: Run, key_arn: str) -> None:
    encrypted = envelope("encrypt", "-", "-o", "-", "--key", key_arn, input=PLAINTEXT)
    assert encrypted.returncode == 0, encrypted.stderr.decode()
    decrypted = envelope("decrypt", "-", "-o", "-", input=encrypted.stdout)
    assert decrypted.returncode == 0, decrypted.stderr.decode()
    assert decrypted.stdout == PLAINTEXT


def test_signed_suite_round_trip(envelope: Run, key_arn: str) -> None:
    encrypted = envelope("encrypt", "-o", "-", "--key", key_arn, "--suite", "0x0578",
                         input=b"signed")
    assert encrypted.returncode == 0, encrypted.stderr.decode()
    decrypted = envelope("decrypt", "-o", "-", input=encrypted.stdout)
    assert decrypted.stdout == b"signed"


def test_inspect_shows_header_without_secrets(envelope: Run, message: Path, key_arn: str) -> None:
    result = envelope("inspect", str(message), "--json")
    assert result.returncode == 0, result.stderr.decode()
    text = result.stdout.decode()
    document = json.loads(text)
    assert key_arn in text
    assert "purpose" in text and "test" in text
    assert document  # a non-empty header description
    human = envelope("inspect", str(message))
    assert key_arn in human.stdout.decode()


def test_wrong_context_leaves_no_output(envelope: Run, message: Path, tmp_path: Path) -> None:
    before = _only(tmp_path)
    out = tmp_path / "out.bin"
    fails(envelope("decrypt", str(message), "-o", str(out), "-c", "purpose=other"),
          "encryption context check failed")
    assert _only(tmp_path) == before


def test_tampered_message_leaves_no_output(envelope: Run, message: Path, tmp_path: Path) -> None:
    data = bytearray(message.read_bytes())
    data[len(data) // 2] ^= 0x01  # a body byte: some frame fails to authenticate
    tampered = tmp_path / "tampered.env"
    tampered.write_bytes(bytes(data))
    before = _only(tmp_path)
    out = tmp_path / "out.bin"
    fails(envelope("decrypt", str(tampered), "-o", str(out)), "authentication tag check failed")
    assert _only(tmp_path) == before


def test_truncated_message_leaves_no_output(envelope: Run, message: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.env"
    truncated.write_bytes(message.read_bytes()[:-10])
    before = _only(tmp_path)
    out = tmp_path / "out.bin"
    fails(envelope("decrypt", str(truncated), "-o", str(out)), "truncated")
    assert _only(tmp_path) == before


def test_not_a_message(envelope: Run, tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"this is not an envelope message")
    fails(envelope("decrypt", str(junk), "-o", str(tmp_path / "out")))
    assert not (tmp_path / "out").exists()


def test_unknown_key_on_encrypt_leaves_no_output(envelope: Run, tmp_path: Path) -> None:
    out = tmp_path / "out.env"
    fails(envelope("encrypt", "-o", str(out), "--key", "alias/missing", input=b"x"),
          "NotFoundException")
    assert _only(tmp_path) == set()


def test_missing_input_file(envelope: Run, key_arn: str, tmp_path: Path) -> None:
    fails(envelope("encrypt", str(tmp_path / "nope"), "-o", str(tmp_path / "o"), "--key", key_arn),
          f"cannot read {tmp_path / 'nope'}: No such file or directory")
    assert _only(tmp_path) == set()


def test_bad_context_pair_is_an_error(envelope: Run, key_arn: str, tmp_path: Path) -> None:
    fails(envelope("encrypt", "-o", str(tmp_path / "o"), "--key", key_arn, "-c", "novalue"),
          "KEY=VALUE")


def test_refuses_binary_to_a_terminal(key_arn: str) -> None:
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "envelope_cli", "encrypt", "-o", "-", "--key", key_arn],
            input=b"secret", stdout=terminal, stderr=subprocess.PIPE, timeout=120,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    assert result.returncode == 1
    assert b"terminal" in result.stderr


def test_trailing_bytes_leave_no_output(envelope: Run, message: Path, tmp_path: Path) -> None:
    padded = tmp_path / "padded.env"
    padded.write_bytes(message.read_bytes() + b"\0")
    before = _only(tmp_path)
    fails(envelope("decrypt", str(padded), "-o", str(tmp_path / "out")), "trailing bytes")
    assert _only(tmp_path) == before


def test_tampered_pipe_writes_nothing_after_a_bad_frame(envelope: Run, message: Path) -> None:
    data = bytearray(message.read_bytes())
    data[-100] ^= 0x01  # in the final frame: every earlier frame is fine
    result = envelope("decrypt", "-", "-o", "-", input=bytes(data))
    fails(result, "authentication tag check failed")
    assert PLAINTEXT.startswith(result.stdout)  # only authenticated frames reached stdout
    assert len(result.stdout) < len(PLAINTEXT)


def test_several_keys_any_one_decrypts(envelope: Run, key_arn: str, tmp_path: Path) -> None:
    other = ok_json(envelope("key", "create", "--json"))["KeyMetadata"]["Arn"]
    sealed = tmp_path / "two.env"
    result = envelope("encrypt", "-o", str(sealed), "--key", key_arn, "--key", other,
                      input=PLAINTEXT)
    assert result.returncode == 0, result.stderr.decode()
    info = ok_json(envelope("inspect", str(sealed), "--json"))
    assert [e["provider_info"] for e in info["encrypted_data_keys"]] == [key_arn, other]
    assert envelope("key", "disable", key_arn).returncode == 0
    opened = envelope("decrypt", str(sealed), "-o", "-")
    assert opened.returncode == 0, opened.stderr.decode()
    assert opened.stdout == PLAINTEXT
    assert envelope("key", "disable", other).returncode == 0
    fails(envelope("decrypt", str(sealed), "-o", str(tmp_path / "out")))
    assert not (tmp_path / "out").exists()


def test_reserved_context_key_is_refused(envelope: Run, key_arn: str, tmp_path: Path) -> None:
    out = tmp_path / "out.env"
    fails(envelope("encrypt", "-o", str(out), "--key", key_arn, "-c", "aws-crypto-x=1",
                   input=b"x"), "aws-crypto-")
    assert not out.exists()


def test_legacy_suite_cannot_be_written(envelope: Run, key_arn: str, tmp_path: Path) -> None:
    fails(envelope("encrypt", "-o", str(tmp_path / "o"), "--key", key_arn, "--suite", "0x0178",
                   input=b"x"), "0x0178")
    fails(envelope("encrypt", "-o", str(tmp_path / "o"), "--key", key_arn, "--suite", "many",
                   input=b"x"), "many")
    assert _only(tmp_path) == set()


def test_missing_output_folder(envelope: Run, key_arn: str, tmp_path: Path) -> None:
    fails(envelope("encrypt", "-o", str(tmp_path / "no" / "out"), "--key", key_arn, input=b"x"),
          "does not exist")


def test_usage_errors_exit_2(envelope: Run, key_arn: str, tmp_path: Path) -> None:
    assert envelope("encrypt", "-o", str(tmp_path / "o"), input=b"x").returncode == 2  # no --key
    assert envelope("encrypt", "--key", key_arn, input=b"x").returncode == 2  # no -o
    assert envelope("decrypt", "--frobnicate", "-o", "-", input=b"x").returncode == 2
    assert _only(tmp_path) == set()


def test_inspect_human_lines(envelope: Run, message: Path, key_arn: str) -> None:
    text = envelope("inspect", str(message)).stdout.decode()
    assert "0x0478 AES_256_GCM_HKDF_SHA512_COMMIT_KEY (unsigned)" in text
    assert "framed, 4096-byte frames" in text
    assert "purpose=test" in text
    assert f"aws-kms  {key_arn}" in text


def test_decrypt_refuses_a_terminal_too(message: Path) -> None:
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "envelope_cli", "decrypt", str(message), "-o", "-"],
            stdout=terminal, stderr=subprocess.PIPE, timeout=120,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    assert result.returncode == 1
    assert result.stderr.startswith(b"envelope: error: refusing to write binary output")
    assert b"envelope: hint:" in result.stderr


def test_progress_bar_only_on_a_terminal(key_arn: str, tmp_path: Path) -> None:
    big = tmp_path / "big"
    with big.open("wb") as handle:
        handle.write(os.urandom(1024**2) * 20)  # above the 16 MiB threshold
    command = [sys.executable, "-m", "envelope_cli", "encrypt", str(big), "-o", str(tmp_path / "o"),
               "--key", key_arn]
    piped = subprocess.run(command, capture_output=True, timeout=300)
    assert piped.returncode == 0, piped.stderr.decode()
    assert piped.stderr == b""
    controller, terminal = pty.openpty()
    try:
        shown = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=terminal)
        os.close(terminal)
        seen = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        assert shown.wait(timeout=300) == 0
    finally:
        os.close(controller)
    assert b"encrypting" in seen


@pytest.mark.parametrize("kind", ["fifo", "folder", "link"])
def test_output_that_is_not_a_regular_file_is_refused_and_kept(
    envelope: Run, tmp_path: Path, kind: str
) -> None:
    """Renaming over a device, pipe, folder or link would destroy it (as root, -o /dev/null
    would replace the device): such an output is refused and left as it was."""
    arn = ok_json(envelope("key", "create", "--json"))["KeyMetadata"]["Arn"]
    source = tmp_path / "in"
    source.write_bytes(b"data")
    target = tmp_path / "out"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    else:
        (tmp_path / "real").write_bytes(b"keep me")
        target.symlink_to(tmp_path / "real")
    fails(envelope("encrypt", str(source), "-o", str(target), "--key", arn))
    assert target.is_symlink() if kind == "link" else target.exists()
    if kind == "fifo":
        assert stat.S_ISFIFO(os.lstat(target).st_mode)
    if kind == "link":
        assert (tmp_path / "real").read_bytes() == b"keep me"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
