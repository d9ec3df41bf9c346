"""Dependencies run one way: no import cycles, ``assistant`` never imports ``ingest``, and only the index
package touches Chroma, BM25 files and the writer lock (read off the source with ``ast``, lazy imports included;
imports under ``if TYPE_CHECKING:`` are not runtime edges)."""

from __future__ import annotations

import ast
from pathlib import Path

from assistant.settings import PROJECT_ROOT

PACKAGES = ("assistant", "ingest", "ui", "evals")
# Libraries that read or write the index's artifacts (the index lock is assistant.index.lock; filelock itself is a
# general tool, also used by ui.uploads for its own upload-name map).
STORAGE_LIBRARIES = ("chromadb", "langchain_chroma", "bm25s")
# Outside the index package only its public API (``assistant.index``) and the test/bench server helper are used.
PUBLIC_INDEX_MODULES = ("assistant.index.server",)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in (PROJECT_ROOT / pkg).rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module imported anywhere in the file (project modules resolved to the module, not the package)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: {m for m in _imports(path, modules) if m in modules and m != name}
            for name, path in modules.items()}


def test_no_import_cycles() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def dfs(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                dfs(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            dfs(module, [module])
    assert cycles == []


def test_assistant_never_imports_ingest_ui_or_evals() -> None:
    bad = {m: sorted(d for d in deps if d.split(".")[0] in ("ingest", "ui", "evals"))
           for m, deps in _graph().items() if m.split(".")[0] == "assistant"}
    assert {m: d for m, d in bad.items() if d} == {}


def test_only_the_index_package_touches_storage() -> None:
    modules = _modules()
    offenders = {}
    for name, path in modules.items():
        if name == "assistant.index" or name.startswith("assistant.index."):
            continue
        used = sorted(m for m in _imports(path, modules)
                      if m.split(".")[0] in STORAGE_LIBRARIES
                      or (m.startswith("assistant.index.") and m not in PUBLIC_INDEX_MODULES))
        if used:
            offenders[name] = used
    assert offenders == {}
