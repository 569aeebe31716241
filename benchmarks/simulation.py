"""Treatment simulator: one patient through ``simulate``, and a cohort of patient-years through the engine.

Baselines measured in the same run: :func:`b12sim.simulation.reference.run_one`
(``solve_ivp``, one person and one draw at a time) for a few (draw, person) pairs,
and the numpy engine (``kernel=False``) on a small slice of the cohort.

The cohort is synthetic people x parameter draws, run one draw per chunk
(``engine.run`` with 1 draw x ``chunk`` people), so each simulated patient-year is
one (person, draw) pair at daily steps: heterogeneous people, their own received
doses, and each chunk under a fresh parameter draw. The engine's cost is per
(draw, person) cell, so this equals "one draw per person" in work, while keeping the
per-person inputs (doses, sex, age, intrinsic factor) realistic. If the engine
would not finish the full size inside the time budget, the rate of the chunks run
is extrapolated and the row says so.

Each part runs in a child process with an empty numba cache, so first calls are
cold (compilation included) and peak resident memory is the child's own.
"""

from __future__ import annotations

import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from benchmarks import ROOT, Result, Row

PATIENT = dict(b12="95 pg/mL", mma=3.6, hcy=40, age=70, pernicious_anaemia=True, hb=90)
REGIMEN = "uk_im_hydroxo_no_neuro"  # one patient
COHORT_REGIMEN = "oral_1mg_daily"  # cohort: a dose on every day
DAYS, DRAWS = 180, 200  # one patient
WARM_REPEATS = {"full": 5, "quick": 3, "tiny": 1}
REF_DRAWS = {"full": 3, "quick": 2, "tiny": 1}  # solve_ivp runs behind the one-patient baseline
# cohort: (people per chunk, parameter draws = chunks, days); patient-years = people * draws * days / 365
COHORT = {"full": (100_000, 10, 365), "quick": (50_000, 2, 365), "tiny": (1_000, 2, 30)}
ENGINE_BUDGET_S = {"full": 90.0, "quick": 40.0, "tiny": 60.0}  # stop adding chunks past this (then extrapolate)
REF_PEOPLE = {"full": 3, "quick": 2, "tiny": 1}  # solve_ivp patient-years behind the cohort baseline
NUMPY_PEOPLE = {"full": 2_000, "quick": 1_000, "tiny": 100}  # numpy engine (kernel=False) slice
OUTPUTS = ("hb", "p_permanent")
DAILY_CHUNKS = {"full": 3, "quick": 2, "tiny": 1}  # chunks re-run at one step per day (substeps=1)
ACCURACY = (1_000, 32)  # people; substeps of the fine solution the daily and default steps are compared with
RISKS = {"vegan": 0.03, "metformin": 0.10, "ppi": 0.15, "pernicious_anaemia": 0.05,
         "ileal_resection": 0.005, "bariatric": 0.01}
P_MISSING = {"holotc": 0.6, "hcy": 0.5, "folate": 0.2, "mma": 0.3}
SEED = 20261126
TARGET_ONE_S = 1.0  # s, one patient (issue)
TARGET_WARM_KERNEL_S = 0.1  # s, one patient once the kernel is compiled (issue 21)
TARGET_PY = 1_000_000  # patient-years
TARGET_PY_S = 10.0  # s on 2 cores (issue)


def max_rss() -> int:
    """Peak resident memory of this process so far, in bytes."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def _timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


# ---------------------------------------------------------------- children


def one_patient(size: str) -> dict:
    """Child process: ``simulate`` for one patient, cold and warm; engine paths; solve_ivp per draw."""
    import b12sim

    out = {}
    kw = dict(days=DAYS, draws=DRAWS, seed=SEED)
    ds, out["cold_s"] = _timed(b12sim.simulate, PATIENT, REGIMEN, **kw)
    warm = [_timed(b12sim.simulate, PATIENT, REGIMEN, **kw)[1] for _ in range(WARM_REPEATS[size])]
    out["warm_s"] = statistics.median(warm)
    out["result_bytes"] = int(ds.nbytes)
    tracemalloc.start()
    b12sim.simulate(PATIENT, REGIMEN, **kw)
    out["traced_peak_bytes"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    from b12sim.regimens import load_regimen
    from b12sim.simulation import engine, parameters, reference
    from b12sim.simulation import people as ppl
    from b12sim.simulation.simulate import _doses

    p = parameters.draw(DRAWS, SEED)
    arr = ppl.arrays(ppl.from_patient(PATIENT), p)
    doses = _doses(load_regimen(REGIMEN), 1, 0, DAYS, SEED)
    out["engine_default_path"] = "kernel" if DRAWS >= engine.KERNEL_MIN else "numpy"
    for name, kern in (("numpy", False), ("kernel", True)):
        engine.run(p, arr, doses, DAYS, kernel=kern)  # warm-up (the kernel compiles here)
        out[f"engine_{name}_s"] = min(_timed(engine.run, p, arr, doses, DAYS, kernel=kern)[1] for _ in range(3))
    # once the kernel is compiled in the process, simulate() uses it for one patient too
    out["warm_kernel_s"] = statistics.median(_timed(b12sim.simulate, PATIENT, REGIMEN, **kw)[1]
                                             for _ in range(WARM_REPEATS[size]))
    n_ref = REF_DRAWS[size]
    ref = [_timed(reference.run_one, p, arr, doses, DAYS, draw=d, person=0)[1] for d in range(n_ref)]
    out["ref_per_draw_s"], out["ref_draws"] = sum(ref) / n_ref, n_ref
    return out


def _cohort_people(n: int):
    """``n`` synthetic people (canonical lab values, risk flags, sex) as ``people.from_patient`` gives them."""
    from b12sim.diagnosis import inputs
    from b12sim.physiology import markers as mk
    from b12sim.physiology.population import sample_people
    from b12sim.posterior import load_posterior

    post = load_posterior("markers")["posterior"]
    params = {k: float(post[k].mean()) for k in mk.PARAMS}
    table = sample_people(n, params, seed=SEED, risks=RISKS, p_missing=P_MISSING)
    female = np.random.default_rng(SEED).random(n) < 0.5
    rows = table[list(inputs.FIELDS)].to_dict("records")
    # parsed already (canonical units); built directly so that 100k rows skip the per-row checks
    return [r | {"hb": math.nan, "mcv": math.nan, "neuro_days": 0.0, "stores_ug": math.nan,
                 "sex": "female" if f else "male"}
            for r, f in zip(rows, female)]


def _draw_slice(p: dict, arr: dict, i: int, people=slice(None)) -> tuple[dict, dict]:
    """Parameter draw ``i`` only (and a slice of the people) of ``p`` and the engine inputs ``arr``."""
    p1 = {k: np.asarray(v)[i:i + 1] for k, v in p.items()}
    a1 = {k: (np.asarray(v)[i:i + 1, people] if np.ndim(v) == 2 else np.asarray(v)[people]) for k, v in arr.items()}
    return p1, a1


def cohort(size: str) -> dict:
    """Child process: patient-years per second of ``engine.run``, peak memory, solve_ivp per patient-year."""
    import numba

    from b12sim.regimens import load_regimen
    from b12sim.simulation import engine, parameters, reference
    from b12sim.simulation import people as ppl

    n, n_draws, days = COHORT[size]
    out = {"threads": numba.get_num_threads(), "people": n, "draws": n_draws, "days": days,
           "load_before": os.getloadavg()[0]}
    pe = _cohort_people(n)
    p = parameters.draw(n_draws, SEED)
    ppl.arrays(pe[:100], p)  # compiles the diagnosis scorer (a cold numba compile; not the simulator's)
    t0 = time.perf_counter()
    arr = ppl.arrays(pe, p)  # day-0 state of every person under every draw
    doses = load_regimen(COHORT_REGIMEN).sample(days, n, SEED)  # (people, days) per channel
    out["prep_s"] = time.perf_counter() - t0

    p0, a0 = _draw_slice(p, arr, 0, slice(0, 10))
    d0 = {k: v[:10] for k, v in doses.items()}
    out["first_call_s"] = _timed(engine.run, p0, a0, d0, days, outputs=OUTPUTS, kernel=True)[1]

    rss0 = max_rss()
    chunk_s, cpu0 = [], time.process_time()
    for i in range(n_draws):
        pi, ai = _draw_slice(p, arr, i)
        res, dt = _timed(engine.run, pi, ai, doses, days, outputs=OUTPUTS)
        chunk_s.append(dt)
        if i == 0:
            out["finite"] = bool(all(np.isfinite(v).all() for v in res.values()))
        del res
        if sum(chunk_s) > ENGINE_BUDGET_S[size]:
            break
    out["cpu_per_wall"] = (time.process_time() - cpu0) / sum(chunk_s)  # ~threads if the cores are free
    out["chunk_s"], out["rss_before_bytes"], out["rss_peak_bytes"] = chunk_s, rss0, max_rss()
    out["daily_chunk_s"] = [_timed(engine.run, *_draw_slice(p, arr, i), doses, days, outputs=OUTPUTS, substeps=1)[1]
                            for i in range(min(len(chunk_s), DAILY_CHUNKS[size]))]
    out["substeps"] = engine.SUBSTEPS
    m, fine = ACCURACY
    pi, ai = _draw_slice(p, arr, 0, slice(0, m))
    dm = {k: v[:m] for k, v in doses.items()}
    ref = engine.run(pi, ai, dm, days, outputs=OUTPUTS, substeps=fine, kernel=True)
    for steps in (1, engine.SUBSTEPS):
        res = engine.run(pi, ai, dm, days, outputs=OUTPUTS, substeps=steps, kernel=True)
        out[f"err_{steps}"] = {k: float(np.abs(res[k] - ref[k]).max()) for k in OUTPUTS}

    m = NUMPY_PEOPLE[size]
    pi, ai = _draw_slice(p, arr, 0, slice(0, m))
    out["numpy_s"] = _timed(engine.run, pi, ai, {k: v[:m] for k, v in doses.items()}, days,
                            outputs=OUTPUTS, kernel=False)[1]
    out["numpy_people"] = m
    k = REF_PEOPLE[size]
    out["ref_s"] = sum(_timed(reference.run_one, p, arr, doses, days, draw=j % n_draws, person=j)[1] for j in range(k))
    out["ref_people"] = k
    return out


def _child(part: str, size: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {"NUMBA_CACHE_DIR": str(Path(tmp) / "numba")}
        proc = subprocess.run([sys.executable, "-W", "ignore", "-m", "benchmarks.simulation", part, size],
                              cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{part} child failed:\n{proc.stderr}")
    return json.loads(proc.stdout.splitlines()[-1])


# ---------------------------------------------------------------- rows


def run(size: str) -> Result:
    one = _child("one_patient", size)
    ref_one = one["ref_per_draw_s"] * DRAWS
    vs_ref = f"solve_ivp x {DRAWS} draws ({ref_one:,.0f} s)"
    numpy_default = one["engine_default_path"] == "numpy"
    rows = [
        Row(f"simulate(): 1 patient, {DAYS} d x {DRAWS} draws (median)", one["warm_s"], "s",
            one["warm_s"] / ref_one, vs_ref, f"< {TARGET_ONE_S:g} s", one["warm_s"] < TARGET_ONE_S),
        Row("simulate(): same, numba kernel already compiled in the process", one["warm_kernel_s"], "s",
            one["warm_kernel_s"] / one["warm_s"], "numpy path (above)", f"< {TARGET_WARM_KERNEL_S:g} s",
            one["warm_kernel_s"] < TARGET_WARM_KERNEL_S),
        Row("simulate(): first call, fresh interpreter, cold cache", one["cold_s"], "s",
            one["cold_s"] / one["warm_s"], "warm call (median)"),
        Row(f"  engine.run only, numpy path{' (the default here)' * numpy_default}", one["engine_numpy_s"], "s",
            one["engine_numpy_s"] / ref_one, vs_ref),
        Row("  engine.run only, numba kernel forced", one["engine_kernel_s"], "s",
            one["engine_kernel_s"] / one["engine_numpy_s"], "engine.run, numpy path"),
        Row(f"  solve_ivp reference, per draw (mean of {one['ref_draws']})", one["ref_per_draw_s"], "s"),
        Row("simulate(): peak traced memory (tracemalloc)", one["traced_peak_bytes"] / 2**20, "MiB",
            one["traced_peak_bytes"] / one["result_bytes"], f"result Dataset ({one['result_bytes'] / 2**20:.1f} MiB)"),
    ]

    co = _child("cohort", size)
    n, days = co["people"], co["days"]
    py_chunk = n * days / 365.0
    done = len(co["chunk_s"])
    py_done, t_engine = py_chunk * done, sum(co["chunk_s"])
    rate = py_done / t_engine
    ref_rate = co["ref_people"] * days / 365.0 / co["ref_s"]
    numpy_rate = co["numpy_people"] * days / 365.0 / co["numpy_s"]
    vs_ref = f"solve_ivp per patient ({ref_rate:.2f}/s)"
    t_target = TARGET_PY / rate
    measured = done == co["draws"] and py_done >= TARGET_PY
    how = "measured" if measured else f"EXTRAPOLATED from {py_done:,.0f}"
    daily_rate = py_chunk * len(co["daily_chunk_s"]) / sum(co["daily_chunk_s"])
    t_daily = TARGET_PY / daily_rate
    sub, m = co["substeps"], ACCURACY[0]
    err = {k: co[f"err_{k}"] for k in (1, sub)}
    rows += [
        Row(f"engine.run, cohort ({done} x 1 draw x {n:,} people x {days} d; {sub} substeps a day, the default)",
            rate, "patient-yr/s", rate / ref_rate, vs_ref),
        Row(f"{TARGET_PY:,} patient-years, {sub} substeps a day ({how})", t_target, "s",
            t_target * ref_rate / TARGET_PY, f"solve_ivp ({TARGET_PY / ref_rate / 3600:,.0f} h)"),
        Row(f"{TARGET_PY:,} patient-years at daily steps (substeps=1; EXTRAPOLATED from "
            f"{py_chunk * len(co['daily_chunk_s']):,.0f})", t_daily, "s", t_daily / t_target,
            f"{sub} substeps a day", f"< {TARGET_PY_S:g} s", t_daily < TARGET_PY_S),
        Row(f"  max |Hb| error, daily steps / {sub} substeps ({m:,} people, vs {ACCURACY[1]} substeps)",
            f"{err[1]['hb']:.2f} / {err[sub]['hb']:.2f}", "g/L"),
        Row(f"  max |P(permanent)| error, daily steps / {sub} substeps", f"{err[1]['p_permanent']:.4f} / "
            f"{err[sub]['p_permanent']:.4f}", "probability"),
        Row("  cores busy in the engine (CPU time / wall time)", co["cpu_per_wall"], "cores",
            co["cpu_per_wall"] / co["threads"], f"numba threads ({co['threads']})",
            f"~{co['threads']} (if idle)"),
        Row(f"  per {n:,}-people chunk (min .. max of {done})", f"{min(co['chunk_s']):.1f} .. {max(co['chunk_s']):.1f}",
            "s"),
        Row(f"  numpy engine (kernel=False, {co['numpy_people']:,} people)", numpy_rate, "patient-yr/s",
            numpy_rate / ref_rate, vs_ref),
        Row(f"  solve_ivp reference ({co['ref_people']} x 1 patient x {days} d)", ref_rate, "patient-yr/s"),
        Row("  engine first call (cold numba compile, 10 people)", co["first_call_s"], "s"),
        Row(f"  input prep ({n:,} people x {co['draws']} draws, doses)", co["prep_s"], "s",
            co["prep_s"] / t_engine, "engine time of the chunks run"),
        Row("  outputs finite (first chunk)", "yes" if co["finite"] else "NO", target="yes", ok=co["finite"]),
    ]
    chunk_bytes = len(OUTPUTS) * n * days * 8
    full_bytes = len(OUTPUTS) * TARGET_PY * 365 * 8
    peak = co["rss_peak_bytes"]
    rows += [
        Row("peak resident memory of the cohort process", peak / 2**20, "MiB", peak / full_bytes,
            f"unchunked outputs, 1M pt-yr ({full_bytes / 2**30:.1f} GiB)"),
        Row("  of which added by the chunks (peak - before)", (peak - co["rss_before_bytes"]) / 2**20, "MiB",
            (peak - co["rss_before_bytes"]) / chunk_bytes, f"one chunk's outputs ({chunk_bytes / 2**20:,.0f} MiB)"),
    ]
    settings = {"patient": PATIENT, "regimen": REGIMEN, "days": DAYS, "draws": DRAWS,
                "cohort_people": n, "cohort_draws": co["draws"], "cohort_chunks_run": done, "cohort_days": days,
                "cohort_regimen": COHORT_REGIMEN, "outputs": list(OUTPUTS), "numba_threads": co["threads"],
                "cpus": os.cpu_count(), "load_avg_1min_before": round(co["load_before"], 2),
                "engine_budget_s": ENGINE_BUDGET_S[size], "risks": RISKS, "p_missing": P_MISSING, "seed": SEED}
    return Result("simulation", settings, rows)


if __name__ == "__main__":
    print(json.dumps({"one_patient": one_patient, "cohort": cohort}[sys.argv[1]](sys.argv[2])))
