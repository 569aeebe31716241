"""Calibration sampling of the marker model: nutpie against PyMC's own NUTS sampler.

Same model, chains, tuning, draws, seed and ``target_accept`` (as in
``calibrate()``); effective sample size per second is bulk ESS over the model's
parameters divided by the sampling wall time (compilation timed separately).
"""

from __future__ import annotations

import logging
import time
import warnings

import arviz as az
import numpy as np
import nutpie
import pymc as pm

from b12sim.calibration.markers import build_model
from b12sim.physiology import markers as mk
from benchmarks import Result, Row

STEPS = {"full": 300, "quick": 150, "tiny": 20}  # tune and draws per chain
CHAINS = 2
SEED = 20261124
TARGET_ACCEPT = 0.95


def ess_per_second(tree, seconds: float) -> tuple[float, float]:
    """(min, median) over parameters of bulk ESS per second of sampling."""
    ess = az.ess(tree, var_names=list(mk.PARAMS), method="bulk").to_dataset()
    vals = np.array([float(ess[k]) for k in mk.PARAMS])
    return vals.min() / seconds, float(np.median(vals)) / seconds


def run(size: str) -> Result:
    steps = STEPS[size]
    logging.getLogger("pymc").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    model = build_model()
    t_build = time.perf_counter() - t0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        compiled = nutpie.compile_pymc_model(model)
        t_compile = time.perf_counter() - t0
        t0 = time.perf_counter()
        tree = nutpie.sample(compiled, chains=CHAINS, cores=CHAINS, tune=steps, draws=steps, seed=SEED,
                             target_accept=TARGET_ACCEPT, save_warmup=False, progress_bar=False)
        t_nutpie = time.perf_counter() - t0
        t0 = time.perf_counter()
        idata = pm.sample(model=model, nuts_sampler="pymc", chains=CHAINS, cores=CHAINS, tune=steps, draws=steps,
                          random_seed=SEED, target_accept=TARGET_ACCEPT, progressbar=False,
                          compute_convergence_checks=False)
        t_pymc_wall = time.perf_counter() - t0
    t_pymc = idata["posterior"].attrs["sampling_time"]
    ess_n, ess_p = ess_per_second(tree, t_nutpie), ess_per_second(idata, t_pymc)
    rows = [
        Row("build_model()", t_build, "s"),
        Row("nutpie compile", t_compile, "s"),
        Row("PyMC set-up (compile, init; wall - sampling_time)", t_pymc_wall - t_pymc, "s",
            (t_pymc_wall - t_pymc) / t_compile, "nutpie compile"),
        Row("nutpie sampling", t_nutpie, "s", t_nutpie / t_pymc, f"PyMC sampling ({t_pymc:.1f} s)"),
        Row("PyMC sampling", t_pymc, "s"),
    ]
    for k, stat in enumerate(("min", "median")):
        rows.append(Row(f"nutpie bulk ESS/s ({stat} over parameters)", ess_n[k], "1/s", ess_n[k] / ess_p[k],
                        f"PyMC ({ess_p[k]:.2f}/s)"))
    rows += [Row(f"{name} divergences", int(t["sample_stats"]["diverging"].sum()))
             for name, t in (("nutpie", tree), ("PyMC", idata))]
    settings = {"chains": CHAINS, "tune": steps, "draws": steps, "seed": SEED, "target_accept": TARGET_ACCEPT}
    return Result("calibration", settings, rows)
