"""The import graph of undo_lib, read from the source with ast, has no cycle."""
import ast

from undo_lib import repo_path


def _module(path) -> str:
    rel = path.relative_to(repo_path()).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _exists(module: str) -> bool:
    path = repo_path(*module.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def import_graph() -> dict:
    """{module: set of undo_lib modules it imports (at any depth of its code)}."""
    graph = {}
    for path in repo_path("undo_lib").rglob("*.py"):
        name, edges = _module(path), set()
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")
                if node.level:
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.startswith("undo_lib"):  # `from A import b`: module A.b when there is one, else A
                    edges.update(f"{target}.{a.name}" if _exists(f"{target}.{a.name}") else target
                                 for a in node.names)
            elif isinstance(node, ast.Import):
                edges.update(a.name for a in node.names if a.name.startswith("undo_lib"))
        graph[name] = edges
    return {m: {e for e in es if e in graph and e != m} for m, es in graph.items()}


def _cycle(graph):
    state = {}

    def visit(m, path):
        state[m] = "open"
        for n in sorted(graph[m]):
            if state.get(n) == "open":
                return path + [m, n]
            if n not in state and (found := visit(n, path + [m])):
                return found
        state[m] = "done"
        return None
    for m in sorted(graph):
        if m not in state and (found := visit(m, [])):
            return found
    return None


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert "undo_lib.pipeline" in graph and "undo_lib.runner" in graph["undo_lib.pipeline"]
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
