"""Running a calibration: NUTS with nutpie, prior draws, the shipped DataTree (imports PyMC).

Every calibration (markers, treatment, haematology, neurology) samples and packs its
result the same way; only its model, its checks and its extra groups differ.
"""

from __future__ import annotations

import signal
import threading
import time

TARGET_ACCEPT = 0.95  # small steps: the calibrations' posteriors have narrow, curved ridges


def sample(model, names, *, draws: int, tune: int, chains: int, seed: int, progress: bool, **attrs):
    """Sample ``model`` with nutpie; ``(posterior Dataset, diagnostics Dataset)``.

    The diagnostics cover ``names`` and carry the run settings, the sampling wall
    time (s) and ``attrs``.
    """
    import pymc as pm

    from b12sim.calibration.report import diagnostics

    t0 = time.perf_counter()
    handler = signal.getsignal(signal.SIGINT)
    try:
        idata = pm.sample(model=model, draws=draws, tune=tune, chains=chains, nuts_sampler="nutpie",
                          random_seed=seed, progressbar=progress, compute_convergence_checks=False,
                          target_accept=TARGET_ACCEPT)
    finally:  # nutpie's sampler leaves its own Ctrl-C handler installed: give the interpreter's back
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, handler)
    wall = time.perf_counter() - t0
    diag = diagnostics(idata, names, draws=draws, tune=tune, chains=chains, seed=seed,
                       wall_seconds=round(wall, 1), **attrs)
    return idata["posterior"].to_dataset(), diag


def prior(model, keep, *, draws: int, seed: int):
    """``draws`` prior predictive draws of the variables ``keep`` (seeded with ``seed + 1``)."""
    import pymc as pm

    return pm.sample_prior_predictive(model=model, draws=draws, random_seed=seed + 1)["prior"].to_dataset()[keep]


def tree(groups: dict, model: str, created_by: str):
    """The calibration DataTree of ``groups`` (name -> Dataset), labelled with the library versions."""
    import arviz as az
    import pymc as pm
    import xarray as xr

    out = xr.DataTree.from_dict(groups)
    out.attrs.update({"model": model, "created_by": created_by,
                      "pymc_version": pm.__version__, "arviz_version": az.__version__})
    return out
