"""The README's key policy section stays true: its policy is accepted and its test passes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _section() -> str:
    text = README.read_text()
    start = text.index("## Who may use a key")
    return text[start : text.index("\n## ", start + 1)]


def test_the_example_policy_and_test_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    section = _section()
    policy = re.search(r"```json\n(.*?)```", section, re.S)
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert policy is not None and code is not None
    json.loads(policy.group(1))
    (tmp_path / "key-policy.json").write_text(policy.group(1))
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(code.group(1), "README.md", "exec"), namespace)  # our own README
    test = namespace["test_app_is_confined_to_tenant_a"]
    assert callable(test)
    test(tmp_path / "home")
