"""Synthetic people drawn from the marker model: true state and observed labs.

Used to check the diagnosis against known truth (calibration, recovery) and as the
starting population of simulations. Seeding follows the project rule: one
``seed``, and a SeedSequence child per person, so person ``i`` is the same person
whatever ``n`` is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtri

from b12sim import units
from b12sim.physiology import markers as mk


def sample_people(n: int, params: dict, *, seed: int, age=(30.0, 90.0), egfr=(40.0, 110.0),
                  risks: dict | None = None, p_missing: dict | None = None, first: int = 0) -> pd.DataFrame:
    """Draw ``n`` people and their laboratory results from one parameter set.

    ``params``: scalar value per name in :data:`markers.PARAMS`. ``age``, ``egfr``:
    uniform ranges (years; mL/min/1.73m2) or fixed numbers. ``risks``: risk factor ->
    prevalence (0-1). ``p_missing``: marker -> probability the lab was not measured.

    ``first``: index of the first person (people ``first .. first + n - 1`` of ``seed``).

    Returns one row per person: ``age``, ``egfr``, risk flags, markers in canonical
    units (NaN when not measured; clipped to the accepted input range, as an assay
    reports within its range), ``true_stores_ug``, ``true_folate`` (nmol/L),
    and the truth labels ``deficient``, ``folate_deficient`` and ``depleting`` (drawn from the
    depleting, malabsorption component: stores falling for want of intrinsic factor).
    """
    c = mk.Constants.load()
    risks = risks or {}
    p_missing = p_missing or {}
    # one row of uniforms per person: age, eGFR, component, x, y, 5 marker noises,
    # 6 risk flags, 5 missingness draws
    kids = [np.random.SeedSequence(seed, spawn_key=(i,)) for i in range(first, first + n)]
    u = np.array([np.random.default_rng(k).random(21) for k in kids]).reshape(n, 21)
    z = ndtri(np.clip(u, 1e-12, 1 - 1e-12))

    def draw_range(col, spec):
        if np.isscalar(spec):
            return np.full(n, float(spec))
        lo, hi = spec
        return lo + (hi - lo) * col

    ages = draw_range(u[:, 0], age)
    egfrs = draw_range(u[:, 1], egfr)
    flags = {k: (u[:, 10 + j] < risks.get(k, 0.0)).astype(float) for j, k in enumerate(mk.RISKS)}
    a, r = mk.covariates(ages, egfrs)
    mu = mk.main_mean(a, flags, params, c)
    dep = u[:, 2] < mk.depleting_prob(a, flags, params)
    x = np.where(dep, params["mu_d"] + params["sigma_d"] * z[:, 3], mu + params["sigma_x"] * z[:, 3])
    y = params["mu_y"] + params["sigma_y"] * z[:, 4]
    means = mk.log_means(x, y, ages, egfrs, params, c)
    res = mk.log_residuals({m: z[:, 5 + j] for j, m in enumerate(mk.MARKERS)}, params, c, a, r)
    out = {"age": ages, "egfr": egfrs, **flags}
    for j, m in enumerate(mk.MARKERS):
        val = np.exp(means[m] + res[m])
        lo, hi = units.quantity(m).hard  # as a laboratory reports: within the assay range
        out[m] = np.where(u[:, 16 + j] < p_missing.get(m, 0.0), np.nan, np.clip(val, lo, hi))
    out["true_stores_ug"] = np.exp(x)
    out["true_folate"] = np.exp(y)
    out["deficient"] = x < params["x_k"]
    out["depleting"] = dep
    out["folate_deficient"] = y < c.ln_fol_def
    return pd.DataFrame(out)


BLOCK = 4096  # people drawn at a time by :func:`select_people`


def select_people(n: int, params: dict, keep, *, seed: int, max_people: int, **kw) -> pd.DataFrame | None:
    """The first ``n`` people of ``seed`` (in person order) for whom ``keep(block)`` (a boolean array over a
    block of :func:`sample_people`) holds, indexed by person number; None when ``max_people`` have been drawn
    without finding ``n``. ``kw``: the population of :func:`sample_people`."""
    kept, first = [], 0
    while sum(len(k) for k in kept) < n:
        if first >= max_people:
            return None
        block = sample_people(BLOCK, params, seed=seed, first=first, **kw)
        block.index = np.arange(first, first + BLOCK)
        kept.append(block[np.asarray(keep(block), bool)])
        first += BLOCK
    return pd.concat(kept).iloc[:n]
