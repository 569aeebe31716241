"""Start-up cost: ``import b12sim`` and a one-patient CLI call, each in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import ROOT, Result, Row

HEAVY = ("pymc", "pytensor")
CLI = ["diagnose", "--b12", "180 pg/mL", "--mma", "0.42", "--age", "72", "--egfr", "55"]
CHECK = f"""
import json, sys
import b12sim
seen = {{"import": [m for m in {HEAVY!r} if m in sys.modules]}}
b12sim.diagnose(b12="180 pg/mL", mma=0.42, age=72, egfr=55)
seen["diagnose"] = [m for m in {HEAVY!r} if m in sys.modules]
print(json.dumps(seen))
"""


def _run(cmd: list[str]) -> str:
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    return proc.stdout


def best_wall(cmd: list[str], repeat: int) -> float:
    """Shortest wall time of ``cmd`` over ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        _run(cmd)
        times.append(time.perf_counter() - t0)
    return min(times)


def run(size: str) -> Result:
    py = sys.executable
    script = str(Path(py).parent / "b12sim")
    base = best_wall([py, "-c", "pass"], 5)
    imp = best_wall([py, "-c", "import b12sim"], 5)
    cli = best_wall([script, *CLI], 3)
    seen = json.loads(_run([py, "-c", CHECK]).splitlines()[-1])
    vs = f"python -c pass ({base:.3f} s)"
    rows = [
        Row("python -c pass", base, "s"),
        Row("import b12sim (best of 5)", imp, "s", imp / base, vs, "< 0.5 s", imp < 0.5),
        Row("b12sim diagnose, one patient (best of 3)", cli, "s", cli / base, vs, "< 2 s", cli < 2.0),
    ]
    rows += [Row(f"{'/'.join(HEAVY)} loaded after {k}", ", ".join(v) or "none", target="none", ok=not v)
             for k, v in seen.items()]
    return Result("startup", {"python": py, "cli": [script, *CLI]}, rows)
