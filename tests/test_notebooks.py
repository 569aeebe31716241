"""The notebooks in notebooks/: jupytext pairs, stored executed, on the public API, and still run.

Each notebook is a pair (notebooks/jupytext.toml): ``NN_name.py`` in jupytext's percent format,
the source people edit, and ``NN_name.ipynb``, the same cells stored executed (``make notebooks``).
The fast tests check that the two files of a pair hold the same cells, that the stored notebook
is executed, and that the code uses only the public API and never names the tracked figures/
folder. The slow test executes every script with nbclient in a temporary copy of the folder (the
stored files are never touched), in a kernel started from the interpreter running the tests, and
fails on any cell error, on a notebook that draws no figure, or on one that writes outside its folder.
"""

import ast
import json
import re
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
SCRIPTS = sorted(NOTEBOOKS.glob("*.py"))
CELL_TIMEOUT = 300  # seconds per cell
KERNEL = "b12sim-tests"

# The public API a notebook may use: `b12sim` with the names in `b12sim.__all__`, and these
# user-facing modules with their names that do not start with "_". Every other module under
# b12sim (physiology, calibration, simulation, posterior, policy.compare, ...) is internal.
PUBLIC_MODULES = ("b12sim.plots", "b12sim.evidence", "b12sim.units", "b12sim.regimens", "b12sim.errors",
                  "b12sim.policy.analysis", "b12sim.policy.sensitivity")
# Internals still used, for want of a public equivalent (each covers the names under it). The test
# fails when a notebook stops using one, so that this list only shrinks.
INTERNAL_STILL_USED = {
    "01_borderline_b12": ("b12sim.calibration.report.report",   # a calibration's convergence and checks
                          "b12sim.physiology.markers",          # PARAMS, for sample_people
                          "b12sim.physiology.population.sample_people"),  # people with their truth, any parameters
    "02_treatment_response": ("b12sim.calibration.report.report",),
    "04_oral_vs_im_policy": ("b12sim.policy.strategies.load_strategy",),  # a strategy's one-line summary
    "05_decision_at_the_bedside": ("b12sim.decision.figures",),  # EXAMPLE and write(): a decision's figures to files
}
FIGURES_PATH = re.compile(r"(^|[/\\])figures([/\\]|$)")  # a path into the tracked figures/ folder


def _cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source) for c in nb.cells]


def _code_outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def _n_png(nb) -> int:
    return sum("image/png" in o.get("data", {}) for o in _code_outputs(nb))


def _errors(nb) -> list[str]:
    return [f"{o.get('ename')}: {o.get('evalue')}" for o in _code_outputs(nb) if o.output_type == "error"]


def _b12sim_uses(tree: ast.AST) -> set[str]:
    """Dotted paths of everything the code takes from b12sim: imports and attribute chains on them."""
    aliases: dict[str, str] = {}  # local name -> what it is in b12sim
    used: set[str] = set()

    class Visitor(ast.NodeVisitor):
        def visit_Import(self, node):
            for a in node.names:
                if a.name.split(".")[0] == "b12sim":
                    used.add(a.name)
                    aliases[a.asname or "b12sim"] = a.name if a.asname else "b12sim"

        def visit_ImportFrom(self, node):
            if node.level == 0 and node.module.split(".")[0] == "b12sim":
                for a in node.names:
                    used.add(f"{node.module}.{a.name}")
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"

        def visit_Attribute(self, node):
            chain, root = [], node
            while isinstance(root, ast.Attribute):
                chain.append(root.attr)
                root = root.value
            if isinstance(root, ast.Name) and root.id in aliases:
                used.add(".".join([aliases[root.id], *reversed(chain)]))
            else:
                self.generic_visit(node)

    Visitor().visit(tree)
    return used


def _public(path: str) -> bool:
    import b12sim

    parts = path.split(".")
    if len(parts) == 1 or parts[1] in b12sim.__all__:
        return True
    for module in PUBLIC_MODULES:
        if path == module:
            return True
        if path.startswith(module + "."):
            return not path[len(module) + 1:].startswith("_")
    return False


def test_notebooks_exist():
    assert PATHS, f"no notebooks in {NOTEBOOKS}"


def test_every_notebook_is_paired_with_a_percent_script():
    import jupytext
    from jupytext.config import load_jupytext_config
    from jupytext.formats import guess_format

    assert [p.stem for p in SCRIPTS] == [p.stem for p in PATHS], "each NN_name.ipynb needs its NN_name.py, and back"
    assert load_jupytext_config(str(PATHS[0])).formats == ["ipynb,py:percent"], "notebooks/jupytext.toml pairs them"
    for script in SCRIPTS:
        assert guess_format(script.read_text(), ".py")[0] == "percent", f"{script.name}: not in the percent format"
        assert jupytext.read(script).cells, f"{script.name}: no cells"


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_notebook_holds_the_cells_of_its_script(script):
    """The .ipynb has the .py's cells, type and source, in order (so the stored outputs are the script's)."""
    import jupytext
    import nbformat

    want = _cells(jupytext.read(script))
    got = _cells(nbformat.read(script.with_suffix(".ipynb"), as_version=4))
    first = next((i for i, (a, b) in enumerate(zip(want, got)) if a != b), min(len(want), len(got)))
    assert got == want, (f"{script.stem}.ipynb differs from {script.name} from cell {first} on "
                         f"({len(got)} cells against {len(want)}): run `make notebooks` "
                         f"(or `jupytext --sync notebooks/{script.name}` to pair without executing)")


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_notebook_uses_only_the_public_api(script):
    uses = _b12sim_uses(ast.parse(script.read_text()))  # a percent script is plain Python (magics commented)
    internal = {u for u in uses if not _public(u)}
    allowed = INTERNAL_STILL_USED.get(script.stem, ())
    covered = {u for u in internal if any(u == a or u.startswith(a + ".") for a in allowed)}
    assert internal == covered, f"{script.name} uses internals: {sorted(internal - covered)}; use the public API"
    stale = [a for a in allowed if not any(u == a or u.startswith(a + ".") for u in internal)]
    assert not stale, f"{script.name} no longer uses {stale}: drop them from INTERNAL_STILL_USED"


def test_public_modules_exist():
    import importlib

    for module in PUBLIC_MODULES:
        importlib.import_module(module)


def test_public_api_rule_catches_internals():
    code = ("import b12sim\nfrom b12sim import plots, evidence as ev\nfrom b12sim.simulation import engine\n"
            "b12sim.simulate(p, 'x').isel(day=0)\nplots._hidden(ax)\nev.table()\nb12sim.physiology.markers.PARAMS\n")
    uses = _b12sim_uses(ast.parse(code))
    assert {u for u in uses if not _public(u)} == {"b12sim.simulation.engine", "b12sim.plots._hidden",
                                                     "b12sim.physiology.markers.PARAMS"}
    assert {"b12sim.simulate", "b12sim.evidence.table"} <= uses


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_notebook_code_never_names_the_figures_folder(script):
    """Notebooks write their own files beside them (e.g. slides/), never into the project's tracked figures/."""
    strings = [n.value for n in ast.walk(ast.parse(script.read_text()))
               if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert not [s for s in strings if FIGURES_PATH.search(s)], f"{script.name} names a figures/ path in its code"


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_stored_notebook_is_executed(path):
    """Stored with outputs (so it reads on GitHub), in order, without errors."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    counts = [c.execution_count for c in code]
    assert None not in counts, f"{path.name}: cells not executed: {[i for i, n in enumerate(counts) if n is None]}"
    assert counts == sorted(counts), f"{path.name}: cells executed out of order: {counts}"
    assert not _errors(nb), f"{path.name}: stored error outputs {_errors(nb)}"
    assert _n_png(nb) >= 1, f"{path.name}: no figure (image/png) among the stored outputs"


def test_make_notebooks_takes_the_script_and_keeps_later_notebook_edits(tmp_path):
    """tools/execute_notebooks.py takes the script's cells with the stored ids, and refuses a notebook
    edited after its script (an .ipynb newer than its script is fine while they hold the same cells)."""
    import importlib.util
    import os
    import shutil

    import nbformat

    tools = NOTEBOOKS.parent / "tools"
    spec = importlib.util.spec_from_file_location("execute_notebooks", tools / "execute_notebooks.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    script, path = tmp_path / SCRIPTS[0].name, tmp_path / PATHS[0].name
    shutil.copy(SCRIPTS[0], script)
    shutil.copy(PATHS[0], path)
    stored = nbformat.read(path, as_version=4)
    script.write_text(script.read_text().replace("# %%\n", "# %%\n# edited\n", 1))
    os.utime(path, (1e9, 1e9))  # the script is the newer file
    nb = tool.paired(script)
    assert [c.id for c in nb.cells] == [c.id for c in stored.cells]
    assert sum(c.source.startswith("# edited") for c in nb.cells) == 1
    os.utime(script, (1e9, 1e9))
    os.utime(path, (1e9 + 60, 1e9 + 60))  # the notebook is newer, and holds other cells
    with pytest.raises(SystemExit, match="edited after"):
        tool.paired(script)
    shutil.copy(SCRIPTS[0], script)
    os.utime(script, (1e9, 1e9))
    assert tool.cells(tool.paired(script)) == tool.cells(stored)


@pytest.fixture
def this_interpreter_kernel(tmp_path, monkeypatch):
    """A kernelspec that starts ipykernel with ``sys.executable``, whatever kernels the user has."""
    import importlib.util

    if importlib.util.find_spec("ipykernel") is None:
        pytest.fail(f"ipykernel is not installed for {sys.executable}; install b12sim with the [dev] extra")
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "b12sim tests",
        "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # let the kernel use its inline backend
    return KERNEL


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_notebook_runs(script, tmp_path, this_interpreter_kernel):
    import shutil

    import jupytext
    from nbclient import NotebookClient

    work = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, work)
    nb = jupytext.read(work / script.name)  # the source, without outputs
    client = NotebookClient(nb, kernel_name=this_interpreter_kernel, timeout=CELL_TIMEOUT,
                            startup_timeout=120, allow_errors=False,
                            resources={"metadata": {"path": str(work)}})
    client.execute()  # raises CellExecutionError, with the traceback, on the first failing cell
    assert not _errors(nb), f"{script.name}: {_errors(nb)}"
    assert _n_png(nb) >= 1, f"{script.name}: ran, but drew no figure (no image/png output)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jupyter", "notebooks"], \
        f"{script.name} wrote outside its folder: {sorted(p.name for p in tmp_path.iterdir())}"
