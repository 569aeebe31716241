"""Batch scoring: the numba fast path against a per-patient numpy loop, and its peak memory.

The fast path runs in a child process with an empty numba cache, so its first call
is a cold compile and its peak resident memory is its own.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

from b12sim.diagnosis import core, inputs, scoring
from b12sim.diagnosis.draws import from_posterior
from b12sim.physiology import markers as mk
from b12sim.physiology.population import sample_people
from b12sim.posterior import load_posterior
from benchmarks import ROOT, Result, Row

N_PATIENTS = {"full": 50_000, "quick": 10_000, "tiny": 500}  # fast path (explain=True on a tenth)
EXPLAIN_SHARE = 10
N_NAIVE = {"full": 300, "quick": 60, "tiny": 5}  # per-patient loop, extrapolated
P_MISSING = {"holotc": 0.6, "hcy": 0.5, "folate": 0.2, "mma": 0.3}
RISKS = {"vegan": 0.03, "metformin": 0.10, "ppi": 0.15, "pernicious_anaemia": 0.02,
         "ileal_resection": 0.005, "bariatric": 0.01}
SEED = 20260101
TARGET = 100_000  # patients/s on 2 cores (issue target, explain=False)


def patients(n: int):
    """Model arrays ``(obs, a, r, risks)`` of ``n`` synthetic patients at the posterior mean."""
    post = load_posterior("markers")["posterior"]
    params = {k: float(post[k].mean()) for k in mk.PARAMS}
    people = sample_people(n, params, seed=SEED, risks=RISKS, p_missing=P_MISSING)
    return inputs.arrays(people[list(inputs.FIELDS)])


def draws():
    """The shipped posterior thinned to ``core.DEFAULT_DRAWS`` draws, as ``diagnose`` uses it."""
    return from_posterior(load_posterior("markers"), core.DEFAULT_DRAWS)


def max_rss() -> int:
    """Peak resident memory of this process so far, in bytes."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def fast_path(path: str) -> dict:
    """Child process: first call, seconds per batch (explain off/on), peak RSS added by scoring."""
    with np.load(path) as f:
        args = [f[k] for k in ("obs", "a", "r", "risks")]
    dr = draws()
    t0 = time.perf_counter()
    core.summarise(*(x[: core.SMALL_BATCH + 1] for x in args), dr, explain=False)
    out = {"first_call_s": time.perf_counter() - t0, "threads": numba.get_num_threads()}
    rss0 = max_rss()
    for explain in (False, True):
        part = [x[: len(x) // EXPLAIN_SHARE] for x in args] if explain else args
        t0 = time.perf_counter()
        core.summarise(*part, dr, explain=explain)
        out[f"rate_explain_{explain}"] = len(part[0]) / (time.perf_counter() - t0)
        if not explain:
            out["peak_bytes"] = max_rss() - rss0
    return out


def naive_rate(args, dr, masks, n: int) -> float:
    """Patients per second of :func:`scoring.score_reference` called once per patient."""
    scoring.score_reference(*(x[0] for x in args), dr, masks)  # warm-up, not timed
    t0 = time.perf_counter()
    for i in range(n):
        scoring.score_reference(*(x[i] for x in args), dr, masks)
    return n / (time.perf_counter() - t0)


def run(size: str) -> Result:
    n, n_naive = N_PATIENTS[size], N_NAIVE[size]
    args = patients(n)
    dr = draws()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "patients.npz")
        np.savez(path, **dict(zip(("obs", "a", "r", "risks"), args)))
        env = os.environ | {"NUMBA_CACHE_DIR": str(Path(tmp) / "numba")}
        proc = subprocess.run([sys.executable, "-m", "benchmarks.scoring", path], cwd=ROOT, env=env,
                              capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"fast-path child failed:\n{proc.stderr}")
    fast = json.loads(proc.stdout.splitlines()[-1])
    rows = [Row("kernel first call (cold numba compile)", fast["first_call_s"], "s")]
    naive = {}
    for explain in (False, True):
        masks = core.MASKS if explain else core.MASKS[:1]
        naive[explain] = naive_rate(args, dr, masks, n_naive)
        rate = fast[f"rate_explain_{explain}"]
        target = f">= {TARGET:,}/s" if not explain else ""
        rows.append(Row(f"fast path, explain={explain}", rate, "patients/s", rate / naive[explain],
                        f"naive loop ({naive[explain]:,.1f}/s)", target, rate >= TARGET if not explain else None))
    rows += [Row(f"naive loop, explain={k} ({n_naive} patients)", v, "patients/s") for k, v in naive.items()]
    out_bytes = n * dr.n * 3 * 8  # p_def, p_fol, ex: float64 (N, draws) each
    rows.append(Row(f"peak memory, explain=False, {n:,} patients", fast["peak_bytes"] / 2**20, "MiB",
                    fast["peak_bytes"] / out_bytes, f"unchunked per-draw arrays ({out_bytes / 2**20:,.0f} MiB)"))
    settings = {"patients": n, "naive_patients": n_naive, "draws": dr.n, "numba_threads": fast["threads"],
                "p_missing": P_MISSING, "risks": RISKS, "seed": SEED}
    return Result("scoring", settings, rows)


if __name__ == "__main__":
    print(json.dumps(fast_path(sys.argv[1])))
