"""Text that others chose never reaches the terminal as control sequences.

Key descriptions are set by whoever may create keys (any principal of ``envelope serve``), and
the encryption context and key-provider fields of a message come from whoever made the file.
Before, ``envelope key list``/``describe`` and ``envelope inspect`` printed them raw: escape
sequences could retitle the window, clear the screen, or move the cursor to overwrite earlier
lines (say, to show a key pending deletion as Enabled), and the table read [markup] in them.
Human output now shows such characters escaped (``\\x1b``); ``--json`` was already safe.
"""

from __future__ import annotations

import json
from pathlib import Path

from envelope.keys.local import LocalKeyService
from tests.cli.conftest import Run
from tests.cli.conftest import envelope as envelope  # the CLI fixture

HOSTILE = "evil\x1b]0;owned\x07\x1b[2J\x1b[1A\r\u202efake\x9b31m [bold]markup[/bold]\nKeyState: x"


def _clean(output: bytes) -> str:
    text = output.decode()
    for control in ("\x1b", "\x07", "\r", "\u202e", "\x9b"):
        assert control not in text, repr(control)
    return text


def test_key_list_and_describe_escape_a_hostile_description(
    envelope: Run, _isolated_home: Path
) -> None:
    with LocalKeyService(_isolated_home) as kms:
        key_id = kms.create_key(description=HOSTILE).key_metadata.key_id
    listed = envelope("key", "list")
    assert listed.returncode == 0, listed.stderr.decode()
    text = _clean(listed.stdout)
    assert "\\x1b]0;owned" in text and "[bold]markup[/bold]" in text
    assert len(text.strip().splitlines()) == 2  # the header and one row: no line of its own
    described = envelope("key", "describe", key_id)
    assert described.returncode == 0, described.stderr.decode()
    text = _clean(described.stdout)
    assert "\\nKeyState: x" in text
    assert [line for line in text.splitlines() if line.startswith("KeyState:")] == [
        "KeyState:     Enabled"
    ]
    as_json = json.loads(envelope("key", "describe", key_id, "--json").stdout)
    assert as_json["KeyMetadata"]["Description"] == HOSTILE  # the data itself is unchanged


def test_inspect_escapes_a_hostile_encryption_context(envelope: Run, tmp_path: Path) -> None:
    created = envelope("key", "create", "--json")
    key_id = json.loads(created.stdout)["KeyMetadata"]["KeyId"]
    message = tmp_path / "m.env"
    made = envelope(
        "encrypt", "--key", key_id, "-c", f"purpose={HOSTILE}", "-o", str(message), "-",
        input=b"data",
    )
    assert made.returncode == 0, made.stderr.decode()
    inspected = envelope("inspect", str(message))
    assert inspected.returncode == 0, inspected.stderr.decode()
    text = _clean(inspected.stdout)
    assert "purpose=evil\\x1b]0;owned" in text
    assert not any(line.startswith("KeyState") for line in text.splitlines())
