"""The layering of the package, read from its source with ``ast``: the data's path runs one way
(records and text at the bottom, the stages above them, the front-ends on top), so a lower
module never imports a higher one, even inside a function.

``python tests/test_imports.py`` prints the graph."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "assistant"
FRONT_ENDS = frozenset(
    "cli web web_render api schemas server mcp_server text_render progress __main__".split()
)
# What the bottom of the stack may import: nothing above it.
BASE = {"errors": set(), "text": set(), "records": {"errors"}}
# Edges that once existed and must not come back.
BACK_EDGES = [
    ("records", "citing"),
    ("prompting", "citing"),
    ("composing", "citing"),
    ("questions", "citing"),
    ("sanitizing", "citing"),
    ("server", "cli"),
    ("facts", "verifying"),
    ("verifying", "citing"),
    ("judging", "citing"),
    ("generation", "backends"),
]


def imports(folder: Path = PACKAGE) -> dict[str, dict[str, set[str]]]:
    """module -> imported assistant module -> the names taken from it (empty for a plain
    ``import``). Imports inside functions and under TYPE_CHECKING count too."""
    graph: dict[str, dict[str, set[str]]] = {}
    for path in sorted(folder.glob("*.py")):
        edges: dict[str, set[str]] = {}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "assistant":
                    for alias in node.names:  # from assistant import model_server
                        if (folder / f"{alias.name}.py").is_file():
                            edges.setdefault(alias.name, set())
                elif node.module.startswith("assistant."):
                    target = node.module.split(".")[1]
                    edges.setdefault(target, set()).update(a.name for a in node.names)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("assistant."):
                        edges.setdefault(alias.name.split(".")[1], set())
        graph[path.stem] = edges
    return graph


def test_no_listed_back_edge_returns() -> None:
    graph = imports()
    found = [(a, b) for a, b in BACK_EDGES if b in graph.get(a, {})]
    assert found == [], f"lower modules import higher ones again: {found}"


def test_the_bottom_of_the_stack_imports_nothing_above_it() -> None:
    graph = imports()
    for module, allowed in BASE.items():
        assert set(graph[module]) <= allowed, f"{module} imports {set(graph[module]) - allowed}"


def test_answering_takes_only_the_claim_check_from_citing() -> None:
    assert imports()["answering"].get("citing", set()) <= {"check_answer", "CheckedAnswer"}


def test_no_pipeline_module_imports_a_front_end() -> None:
    graph = imports()
    wrong = {
        (module, target)
        for module, edges in graph.items()
        if module not in FRONT_ENDS and module != "__init__"
        for target in edges
        if target in FRONT_ENDS
    }
    assert wrong == set(), f"the core reaches into front-ends: {sorted(wrong)}"


def test_an_import_inside_a_function_or_under_type_checking_counts(tmp_path: Path) -> None:
    (tmp_path / "records.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from assistant.web import WebChat\n"
        "def link():\n    from assistant.citing import text_fragment_link\n",
        encoding="utf-8",
    )
    assert imports(tmp_path) == {"records": {"web": {"WebChat"}, "citing": {"text_fragment_link"}}}


if __name__ == "__main__":
    for module, edges in imports().items():
        print(f"{module:16} -> {', '.join(sorted(edges)) or '-'}")
