"""Update each notebook from its paired script and execute it (``make notebooks``).

Every notebook in notebooks/ is a jupytext pair (notebooks/jupytext.toml): ``NN_name.py`` in the
percent format, the source people edit and review, and ``NN_name.ipynb``, the same cells stored
executed. ``python tools/execute_notebooks.py [name-part ...]`` takes the cells of every script
(or of those whose file name contains one of the arguments), keeps the stored notebook's cell
ids and metadata, runs it top to bottom with nbclient (kernel ``python3``, the interpreter
running this script) from the notebooks/ folder, and writes the .ipynb as JupyterLab and
``jupytext --sync`` write it. A notebook whose cells were edited after its script (outside
jupytext) is refused, so that no edit is lost.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import jupytext
import nbformat
from jupytext.combine import combine_inputs_with_outputs
from jupytext.config import load_jupytext_config
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
MARGIN = 1.0  # s: an .ipynb this much newer than its script counts as edited after it (jupytext's margin)


def cells(nb) -> list[tuple[str, str]]:
    """(cell type, source) of every cell: what the pair must agree on."""
    return [(c.cell_type, c.source) for c in nb.cells]


def paired(script: Path):
    """The script's cells, with the cell ids and metadata of the stored notebook where there is one."""
    nb = jupytext.read(script, config=load_jupytext_config(str(script)))  # as JupyterLab and jupytext --sync do
    path = script.with_suffix(".ipynb")
    if not path.exists():
        return nb
    stored = nbformat.read(path, as_version=4)
    if cells(stored) != cells(nb) and path.stat().st_mtime > script.stat().st_mtime + MARGIN:
        sys.exit(f"{path.name} was edited after {script.name} and holds other cells: run "
                 f"`jupytext --sync notebooks/{path.name}` to keep its cells, or save {script.name} to drop them")
    return combine_inputs_with_outputs(nb, stored)


def execute(script: Path) -> float:
    """Update the script's .ipynb and execute it in place; returns the wall time in s."""
    nb = paired(script)
    t0 = time.perf_counter()
    NotebookClient(nb, kernel_name="python3", timeout=600, startup_timeout=120, allow_errors=False,
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    elapsed = time.perf_counter() - t0
    nbformat.validate(nb)
    jupytext.write(nb, script.with_suffix(".ipynb"))  # as jupytext pairs it (without the script's format metadata)
    return elapsed


def main(argv: list[str]) -> None:
    scripts = [p for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py")) if not argv or any(a in p.name for a in argv)]
    if not scripts:
        sys.exit(f"no notebook script (NN_name.py) in {NOTEBOOKS} matches {argv}")
    for p in scripts:
        print(f"{p.stem}: executed in {execute(p):.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
