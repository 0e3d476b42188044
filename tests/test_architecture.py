"""The package's shape, checked from its source: no import cycle, no private name imported across
modules, no class over 200 lines, no module over 450 non-blank lines (imports inside functions count)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "reportqa"
MAX_CLASS_LINES = 200
MAX_MODULE_LINES = 450


def _modules() -> dict[str, ast.Module]:
    trees = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(["reportqa", *parts[:-1]] + ([] if parts[-1] == "__init__" else [parts[-1]]))
        trees[name] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return trees


def _is_package(name: str) -> bool:
    return (PACKAGE.joinpath(*name.split(".")[1:]) / "__init__.py").exists() or name == "reportqa"


def _imports(name: str, tree: ast.Module, known: set[str]) -> list[tuple[str, list[str]]]:
    """(imported module, names taken from it) for every import of the package's own modules."""
    found = []
    base = name.split(".") if _is_package(name) else name.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                root = ".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else []))
            else:
                root = node.module or ""
            if not root.startswith("reportqa"):
                continue
            names = [alias.name for alias in node.names]
            submodules = [f"{root}.{n}" for n in names if f"{root}.{n}" in known]
            if submodules:
                found += [(sub, []) for sub in submodules]
            if root in known:
                found.append((root, [n for n in names if f"{root}.{n}" not in known]))
        elif isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names if alias.name in known]
    return found


def _graph() -> dict[str, set[str]]:
    trees = _modules()
    known = set(trees)
    graph = {}
    for name, tree in trees.items():
        graph[name] = {target for target, _ in _imports(name, tree, known) if target != name}
    return graph


def test_no_import_cycle():
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node, path):
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if target == "reportqa":  # the package's own __init__ re-exports; nothing imports it inside
                continue
            if state.get(target) == 1:
                cycles.append(path[path.index(target) :] + [target])
            elif target not in state:
                visit(target, [*path, target])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_no_private_name_is_imported_across_modules():
    trees = _modules()
    known = set(trees)
    private = [
        f"{name} imports {target}.{taken}"
        for name, tree in trees.items()
        for target, names in _imports(name, tree, known)
        for taken in names
        if taken.startswith("_")
    ]
    assert private == []


def test_no_class_or_module_is_too_long():
    too_long = []
    for name, tree in _modules().items():
        path = PACKAGE.joinpath(*name.split(".")[1:])
        path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if len(lines) > MAX_MODULE_LINES:
            too_long.append(f"{name}: {len(lines)} non-blank lines")
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES:
                too_long.append(f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert too_long == []
