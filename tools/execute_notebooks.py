"""Re-execute stored notebooks in place, so their outputs show what the code gives today.

``python tools/execute_notebooks.py [name-part ...]`` runs every notebook in notebooks/
(or those whose file name contains one of the arguments) top to bottom with nbclient,
kernel ``python3`` (the interpreter running this script), from the notebooks/ folder, and
writes it back. The builders (tools/build_*.py) also write the cells; this only refreshes
the outputs.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def execute(path: Path) -> float:
    """Execute one notebook in place; returns the wall time in s."""
    nb = nbformat.read(path, as_version=4)
    t0 = time.perf_counter()
    NotebookClient(nb, kernel_name="python3", timeout=600, startup_timeout=120, allow_errors=False,
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    elapsed = time.perf_counter() - t0
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return elapsed


def main(argv: list[str]) -> None:
    paths = [p for p in sorted(NOTEBOOKS.glob("*.ipynb")) if not argv or any(a in p.name for a in argv)]
    if not paths:
        sys.exit(f"no notebook in {NOTEBOOKS} matches {argv}")
    for p in paths:
        print(f"{p.name}: executed in {execute(p):.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
