"""Batch scoring per lab panel: the fast path against a per-patient numpy loop, and its peak memory.

Panels without MMA and tHcy are scored in closed form, the others on the quadrature grid
(:mod:`b12sim.diagnosis.scoring`); each panel's baseline is :func:`scoring.score_reference`
called once per patient, which routes a patient the same way. The fast path runs in a child
process with an empty numba cache, so its first call is a cold compile and its peak resident
memory is its own.
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

from b12sim.defaults import DRAWS
from b12sim.diagnosis import core, inputs, scoring
from b12sim.diagnosis.draws import from_posterior
from b12sim.physiology import markers as mk
from b12sim.physiology.population import sample_people
from b12sim.posterior import load_posterior
from benchmarks import ROOT, Result, Row

N_PATIENTS = {"full": 50_000, "quick": 10_000, "tiny": 500}  # fast path (explain=True on a tenth)
EXPLAIN_SHARE = 10
N_NAIVE = {"full": 300, "quick": 60, "tiny": 5}  # per-patient loop, extrapolated
P_MISSING = {"holotc": 0.6, "hcy": 0.5, "folate": 0.2, "mma": 0.3}  # the mixed panel
PANELS = {  # name: markers measured in every patient (None: missing at random as in P_MISSING)
    "B12 only": ("b12",),
    "B12+holoTC+folate": ("b12", "holotc", "folate"),
    "B12+MMA+folate": ("b12", "mma", "folate"),
    "mixed": None,
}
RISKS = {"vegan": 0.03, "metformin": 0.10, "ppi": 0.15, "pernicious_anaemia": 0.02,
         "ileal_resection": 0.005, "bariatric": 0.01}
SEED = 20260101
TARGET = 100_000  # patients/s on 2 cores (issue target, explain=False)
MIN_TIME = 3.0  # s: a fast panel is timed again until this much time is spent (best run kept; at most 10)


def patients(n: int, markers: tuple[str, ...] | None = None):
    """Model arrays ``(obs, a, r, risks)`` of ``n`` synthetic patients at the posterior mean.

    ``markers``: the panel every patient has (the others missing); None for the mixed panel.
    """
    post = load_posterior("markers")["posterior"]
    params = {k: float(post[k].mean()) for k in mk.PARAMS}
    p_missing = P_MISSING if markers is None else {m: float(m not in markers) for m in mk.MARKERS}
    people = sample_people(n, params, seed=SEED, risks=RISKS, p_missing=p_missing)
    return inputs.arrays(people[list(inputs.FIELDS)])


def route(args) -> str:
    """Which scorer a panel's patients take: closed form, grid, or the closed-form share."""
    share = scoring.closed_form(args[0]).mean()
    return {1.0: "closed form", 0.0: "grid"}.get(share, f"{share:.0%} closed form")


def draws():
    """The shipped posterior thinned to the default draws of ``diagnose``, as it uses it."""
    return from_posterior(load_posterior("markers"), DRAWS["diagnose"])


def max_rss() -> int:
    """Peak resident memory of this process so far, in bytes."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def best_rate(args, dr, explain: bool) -> float:
    """Patients per second of :func:`core.summarise`, the best of runs filling :data:`MIN_TIME`."""
    rates, spent = [], 0.0
    while not rates or (spent < MIN_TIME and len(rates) < 10):
        t0 = time.perf_counter()
        core.summarise(*args, dr, explain=explain)
        dt = time.perf_counter() - t0
        rates.append(len(args[0]) / dt)
        spent += dt
    return max(rates)


def fast_path(path: str) -> dict:
    """Child process: first call, rate per panel (explain off; on for the mixed panel), peak RSS added."""
    with np.load(path) as f:
        panels = {p: [f[f"{p}/{k}"] for k in ("obs", "a", "r", "risks")] for p in PANELS}
    dr = draws()
    t0 = time.perf_counter()
    core.summarise(*(x[: core.SMALL_BATCH + 1] for x in panels["mixed"]), dr, explain=False)
    out = {"first_call_s": time.perf_counter() - t0, "threads": numba.get_num_threads()}
    rss0 = max_rss()
    for p, args in panels.items():
        out[f"rate/{p}/False"] = best_rate(args, dr, False)
    out["peak_bytes"] = max_rss() - rss0
    out["rate/mixed/True"] = best_rate([x[: len(x) // EXPLAIN_SHARE] for x in panels["mixed"]], dr, True)
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
    panels = {p: patients(n, m) for p, m in PANELS.items()}
    dr = draws()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "patients.npz")
        np.savez(path, **{f"{p}/{k}": v for p, args in panels.items()
                          for k, v in zip(("obs", "a", "r", "risks"), args)})
        env = os.environ | {"NUMBA_CACHE_DIR": str(Path(tmp) / "numba")}
        proc = subprocess.run([sys.executable, "-m", "benchmarks.scoring", path], cwd=ROOT, env=env,
                              capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"fast-path child failed:\n{proc.stderr}")
    fast = json.loads(proc.stdout.splitlines()[-1])
    rows = [Row("kernel first call (cold numba compile)", fast["first_call_s"], "s")]
    naive_rows = []
    for p, args in panels.items():
        for explain in (False, True) if p == "mixed" else (False,):
            masks = core.MASKS if explain else core.MASKS[:1]
            naive = naive_rate(args, dr, masks, n_naive)
            rate = fast[f"rate/{p}/{explain}"]
            rows.append(Row(f"{p} ({route(args)}), explain={explain}", rate, "patients/s", rate / naive,
                            f"naive loop ({naive:,.1f}/s)", "" if explain else f">= {TARGET:,}/s",
                            None if explain else rate >= TARGET))
            naive_rows.append(Row(f"naive loop, {p}, explain={explain} ({n_naive})", naive, "patients/s"))
    rows += naive_rows
    out_bytes = n * dr.n * 3 * 8  # p_def, p_fol, ex: float64 (N, draws) each
    rows.append(Row(f"peak memory, explain=False, {n:,} patients", fast["peak_bytes"] / 2**20, "MiB",
                    fast["peak_bytes"] / out_bytes, f"unchunked per-draw arrays ({out_bytes / 2**20:,.0f} MiB)"))
    settings = {"patients": n, "naive_patients": n_naive, "draws": dr.n, "numba_threads": fast["threads"],
                "p_missing": P_MISSING, "risks": RISKS, "seed": SEED}
    return Result("scoring", settings, rows)


if __name__ == "__main__":
    print(json.dumps(fast_path(sys.argv[1])))
