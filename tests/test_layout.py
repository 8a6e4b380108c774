"""The library's shape: no import cycles, no arrows back up, and the CLI kept out of it.

The import graph is read from the source with ``ast`` (imports under ``if TYPE_CHECKING:`` are
left out: they never run). ``from pkg import name`` is an edge to ``pkg.name`` when that is a
module, else to ``pkg``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "envelope"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool) -> list[str]:
    """Every module named by an import statement that can run (any depth, lazy ones too)."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                if not is_package:
                    anchor = anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.extend(f"{base}.{alias.name}" for alias in node.names)
            found.append(base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        tree = ast.parse(path.read_text(), filename=str(path))
        names = _imports(tree, name, path.name == "__init__.py")
        for target in names:
            if target in modules and target != name:
                targets.add(target)
        # ``from pkg import submodule`` names both pkg and pkg.submodule: keep the precise one.
        graph[name] = {t for t in targets if not any(o.startswith(t + ".") for o in targets)}
    return graph


def _third_party(module: str) -> set[str]:
    path = _modules()[module]
    tree = ast.parse(path.read_text())
    return {name.split(".")[0] for name in _imports(tree, module, path.name == "__init__.py")}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, or a module importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def connect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_finder_sees_a_cycle() -> None:
    """Control case: the finder is not blind."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_graph_sees_lazy_imports() -> None:
    """Control case: an import inside a function (config -> keys.local) is an edge."""
    assert "envelope.keys.local" in _graph()["envelope.config"]


def _reaches(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


# The layers from the bottom: what each part may depend on inside envelope.
LOWER_LAYERS = {
    "envelope.errors": set(),
    "envelope.keys.specs": set(),
    "envelope.keys.access_contract": set(),
    "envelope.keys.base": {
        "envelope.errors",
        "envelope.keys.specs",
        "envelope.keys.access_contract",
    },
}


@pytest.mark.parametrize("module", sorted(LOWER_LAYERS))
def test_bottom_modules_depend_only_on_what_is_below(module: str) -> None:
    assert _reaches(_graph(), module) <= LOWER_LAYERS[module]


def test_nothing_imports_config_from_below() -> None:
    """config chooses and configures backends; the backends must not import it."""
    graph = _graph()
    importers = {name for name, targets in graph.items() if "envelope.config" in targets}
    assert not {m for m in importers if m.startswith(("envelope.keys", "envelope.message"))}


def test_key_services_do_not_reach_up_into_messages() -> None:
    graph = _graph()
    for name in graph:
        if name.startswith("envelope.keys"):
            assert not {t for t in graph[name] if t.startswith("envelope.message")}, name


def test_messages_use_only_the_key_service_contract() -> None:
    """Messages depend on ``KeyService``, never on a backend."""
    graph = _graph()
    for name in graph:
        if name.startswith("envelope.message"):
            keys = {t for t in graph[name] if t.startswith("envelope.keys")}
            assert keys <= {"envelope.keys", "envelope.keys.base"}, (name, keys)


def test_the_library_never_imports_the_cli_or_its_toolkit() -> None:
    for name in _modules():
        assert not _third_party(name) & {"envelope_cli", "typer", "rich", "click"}, name


def test_only_the_aws_edge_imports_boto3_among_key_services() -> None:
    for name in _modules():
        if name.startswith("envelope.keys") and name != "envelope.keys.aws_client":
            assert not _third_party(name) & {"boto3", "botocore"}, name


def test_no_module_is_over_about_500_lines() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in _modules().items()}
    assert {name: n for name, n in sizes.items() if n > 520} == {}
