"""The package's layers: no module imports a higher layer or a sibling package, even lazily.

docs/architecture.md draws the same ranks. Imports inside functions count: a lazy import
of a higher layer is still a dependency on it.
"""

import ast
import pathlib

import b12sim

RANK = {  # top-level module or subpackage -> layer; a module may import only lower layers (or itself)
    "errors": 0, "defaults": 0, "evidence": 0, "io": 0,
    "validation": 1, "units": 1, "posterior": 1, "deprecation": 1, "tables": 1,
    "stats": 2,
    "physiology": 2, "regimens": 2, "fedosov": 2,
    "economics": 3, "diagnosis": 3,
    "simulation": 4,
    "calibration": 5, "cohort": 5,
    "policy": 6, "decision": 6, "studies": 6,
    "plots": 7, "demo": 8, "cli_options": 8, "cli": 9,
}
ROOT = pathlib.Path(b12sim.__file__).parent


def _unit(name: str) -> str:
    """Layer unit of a dotted module name below ``b12sim`` ("" for the package root)."""
    unit = name.split(".")[1] if "." in name else ""
    return "" if unit == "__init__" else unit


def _imports(path: pathlib.Path):
    """Every b12sim module a file imports anywhere (dotted names of files, packages as ``.__init__``)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "b12sim":
            wanted = [f"{node.module}.{a.name}" for a in node.names]  # a submodule, or a name in the module
        elif isinstance(node, ast.Import):
            wanted = [a.name for a in node.names if a.name.split(".")[0] == "b12sim"]
        else:
            continue
        for target in wanted:
            yield _resolve(target), node.lineno


def _resolve(target: str) -> str:
    """The file a dotted name lives in: the longest prefix that is a module or a package."""
    while target:
        rel = ROOT.parent / target.replace(".", "/")
        if rel.with_suffix(".py").exists():
            return target
        if (rel / "__init__.py").exists():
            return f"{target}.__init__"
        target = target.rpartition(".")[0]
    return ""


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        yield path, ".".join(rel.parts)


def test_every_module_has_a_layer():
    units = {_unit(name) for _, name in _modules() if _unit(name) not in ("", "__init__", "__main__")}
    assert units <= set(RANK), f"give these a layer in RANK and docs/architecture.md: {sorted(units - set(RANK))}"


def test_no_module_imports_a_higher_layer_or_a_sibling():
    bad = []
    for path, name in _modules():
        me = _unit(name)
        if me not in RANK:
            continue
        for target, line in _imports(path):
            other = _unit(target)
            if other == me:
                continue
            if other == "" or RANK.get(other, 99) >= RANK[me]:
                bad.append(f"{name}:{line} imports {target}")
    assert not bad, "layer violations:\n" + "\n".join(bad)


def _module_graph():
    """Module -> modules it imports (dotted names of files in the package; packages as their __init__)."""
    names = {name for _, name in _modules()}
    graph = {}
    for path, name in _modules():
        graph[name] = {target for target, _ in _imports(path) if target in names} - {name}
    return graph


def test_no_import_cycles_between_modules():
    graph = _module_graph()
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = 1
        for dep in graph.get(node, ()):
            if dep.endswith(".__init__") and node.startswith(dep[: -len("__init__")]):
                continue  # a module importing its own package's names is resolved by the package itself
            if state.get(dep) == 1:
                cycles.append(" -> ".join(stack[stack.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
