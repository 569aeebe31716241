"""The notebooks in notebooks/: stored executed, and still run from top to bottom.

The slow test executes every notebook with nbclient in a temporary copy of the folder
(the stored files are never touched), in a kernel started from the interpreter running
the tests, and fails on any cell error or on a notebook that draws no figure.
"""

import json
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
CELL_TIMEOUT = 300  # seconds per cell
KERNEL = "b12sim-tests"


def _code_outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def _n_png(nb) -> int:
    return sum("image/png" in o.get("data", {}) for o in _code_outputs(nb))


def _errors(nb) -> list[str]:
    return [f"{o.get('ename')}: {o.get('evalue')}" for o in _code_outputs(nb) if o.output_type == "error"]


def test_notebooks_exist():
    assert PATHS, f"no notebooks in {NOTEBOOKS}"


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
@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_notebook_runs(path, tmp_path, this_interpreter_kernel):
    import shutil

    import nbformat
    from nbclient import NotebookClient

    work = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, work)
    nb = nbformat.read(work / path.name, as_version=4)
    for cell in nb.cells:  # start from a clean notebook
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    client = NotebookClient(nb, kernel_name=this_interpreter_kernel, timeout=CELL_TIMEOUT,
                            startup_timeout=120, allow_errors=False,
                            resources={"metadata": {"path": str(work)}})
    client.execute()  # raises CellExecutionError, with the traceback, on the first failing cell
    assert not _errors(nb), f"{path.name}: {_errors(nb)}"
    assert _n_png(nb) >= 1, f"{path.name}: ran, but drew no figure (no image/png output)"
