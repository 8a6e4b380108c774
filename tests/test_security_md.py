"""SECURITY.md's bad-input catalogue names the tests that prove each entry: every one must exist.

A test renamed or removed would leave the catalogue pointing at nothing; this fails instead.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECURITY = ROOT / "SECURITY.md"
NODE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _test_names(path: Path) -> set[str]:
    """Test functions in a module: at module level and in ``Test*`` classes."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.update(n.name for n in node.body if isinstance(n, ast.FunctionDef))
    return {n for n in names if n.startswith("test")}


def test_every_test_security_md_names_exists() -> None:
    named = NODE.findall(SECURITY.read_text())
    assert len(named) >= 40, "the catalogue names fewer tests than it did"
    missing = [
        f"{path}::{name}"
        for path, name in named
        if not (ROOT / path).is_file() or name not in _test_names(ROOT / path)
    ]
    assert not missing, f"SECURITY.md names tests that do not exist: {missing}"


def test_every_catalogue_row_names_a_test() -> None:
    text = SECURITY.read_text()
    catalogue = text[text.index("## Bad input catalogue") : text.index("## Reporting")]
    rows = [
        line
        for line in catalogue.splitlines()
        if line.startswith("| ") and not line.startswith("| Bad input")
    ]
    assert len(rows) >= 40
    assert [row for row in rows if not NODE.search(row)] == []


def test_the_readme_links_it() -> None:
    assert "(SECURITY.md)" in (ROOT / "README.md").read_text()
