"""The marker model: one latent cobalamin state and the laboratory values it produces.

This module defines the model once; the PyMC calibration, the cohort fit and the
fast numpy scorer all call these functions (``xp`` is ``numpy`` or
``pytensor.tensor``).

Latent state
------------
``x = ln S`` where ``S`` is the body's cobalamin store in ug. In the population
``x`` follows a two-component mixture: a replete/diet-limited component
``N(ln S_med + gamma_age*a + delta_risk, sigma_x)`` and a *depleting* component
``N(mu_d, sigma_d)`` (malabsorption: pernicious anaemia, ileal disease, surgery),
entered with probability ``pi(age)`` or a risk-factor specific probability.
``a = (age - 50)/10`` (decades) and ``r = max(0, ln(90/eGFR))``.

Tissue supply and true deficiency
---------------------------------
Tissue supply becomes limiting below the store level ``K`` (``x_k = ln K``). The
metabolic deficit ``D(x) = softplus(n (x_k - x))/n`` is ~0 well above ``K`` and
grows by one per unit fall of ``ln S`` well below it. **True B12 deficiency is
defined as ``x < x_k``: stores below the point where tissue supply stops keeping
MMA and tHcy metabolism normal.** Folate has its own latent ``y = ln F`` (true
serum folate, nmol/L); folate deficiency is ``F < 7 nmol/L`` (Pfeiffer 2016).

Markers (natural logs of canonical units; each with Gaussian noise whose SD
combines within-person variation, Solomon 2005, and a fitted between-person part)
-------
* serum B12  = b0 + (x - ln S_med)
* holoTC     = t0 + kappa_t (x - ln S_med)
* MMA        = m0 + bm_age a + bm_renal r + a_m D(x)
* tHcy       = h0 + bh_age a + bh_renal r + a_h D(x) + c_f softplus(ln F_h - y)
* folate     = y
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from b12sim import evidence

MARKERS = ("b12", "holotc", "mma", "hcy", "folate")
RISKS_SHIFT = ("vegan", "metformin", "ppi")
RISKS_DEPLETING = ("pernicious_anaemia", "ileal_resection", "bariatric")
RISKS = RISKS_SHIFT + RISKS_DEPLETING

AGE_REF = 50.0  # years; centring only
EGFR_REF = 90.0  # mL/min/1.73m2; KDIGO G1 boundary, no renal effect above it

# parameter names carried by a posterior draw (scalars)
PARAMS = (
    "sigma_x", "gamma_age", "mu_d", "sigma_d", "pi0", "pi_age", "x_k", "n_hinge",
    "b0", "t0", "kappa_t", "m0", "a_m", "bm_age", "bm_renal",
    "h0", "a_h", "bh_age", "bh_renal", "c_f", "mu_y", "sigma_y",
    "s_b", "s_t", "s_m", "s_h", "s_f",
    "delta_vegan", "delta_metformin", "delta_ppi",
    "p_pernicious_anaemia", "p_ileal_resection", "p_bariatric",
)


@dataclass(frozen=True)
class Constants:
    """Fixed anchors of the model, read from the evidence tables."""

    ln_s_med: float  # ln ug, population median store
    ln_fol_def: float  # ln nmol/L, folate deficiency cut
    ln_fol_hinge: float  # ln nmol/L, folate level below which tHcy rises
    within: dict  # marker -> within-person SD on the log scale

    @classmethod
    def load(cls) -> Constants:
        ev = evidence.value
        return cls(
            ln_s_med=math.log(ev("body_store_median_ug")),
            ln_fol_def=math.log(ev("folate_deficiency_cutoff")),
            ln_fol_hinge=math.log(ev("folate_hcy_rise_cutoff")),
            within={m: math.log1p(ev(f"within_cv_{m}")) for m in MARKERS},
        )


def covariates(age, egfr, xp=np):
    """Centred age in decades and the renal term ``max(0, ln(90/eGFR))``."""
    a = (age - AGE_REF) / 10.0
    r = xp.maximum(0.0, xp.log(EGFR_REF / egfr))
    return a, r


def softplus(z, xp=np):
    """``ln(1 + e^z)``, stable for large ``|z|``."""
    return xp.logaddexp(0.0, z)


def deficit(x, p, xp=np):
    """Metabolic deficit ``D(x)`` (dimensionless, >= 0)."""
    n = p["n_hinge"]
    return softplus(n * (p["x_k"] - x), xp) / n


def folate_deficit(y, c: Constants, xp=np):
    """Folate metabolic deficit ``softplus(ln F_h - y)`` (dimensionless)."""
    return softplus(c.ln_fol_hinge - y, xp)


def log_means(x, y, age, egfr, p, c: Constants, xp=np):
    """Expected log marker values (log canonical units) given the latent state.

    ``x``: ln stores (ug); ``y``: ln true folate (nmol/L); ``age`` years; ``egfr``
    mL/min/1.73m2; ``p``: mapping of parameter arrays/scalars. Broadcasting applies.
    """
    a, r = covariates(age, egfr, xp)
    dx = x - c.ln_s_med
    d = deficit(x, p, xp)
    return {
        "b12": p["b0"] + dx,
        "holotc": p["t0"] + p["kappa_t"] * dx,
        "mma": p["m0"] + p["bm_age"] * a + p["bm_renal"] * r + p["a_m"] * d,
        "hcy": (p["h0"] + p["bh_age"] * a + p["bh_renal"] * r + p["a_h"] * d
                + p["c_f"] * folate_deficit(y, c, xp)),
        "folate": y,
    }


def log_sds(p, c: Constants, xp=np):
    """Total SD of each log marker: within-person and between-person parts combined."""
    extra = {"b12": "s_b", "holotc": "s_t", "mma": "s_m", "hcy": "s_h", "folate": "s_f"}
    return {m: xp.sqrt(c.within[m] ** 2 + p[k] ** 2) for m, k in extra.items()}


def main_mean(a, risks, p, c: Constants, xp=np):
    """Mean ln store (ug) of the non-depleting component.

    ``a``: centred age (decades, see :func:`covariates`); ``risks``: risk factor name
    -> 0/1 value or array (absent names count as 0).
    """
    mu = c.ln_s_med + p["gamma_age"] * a
    for k in RISKS_SHIFT:
        if k in risks:
            mu = mu + p[f"delta_{k}"] * risks[k]
    return mu


def depleting_prob(a, risks, p, xp=np):
    """Probability of belonging to the depleting (malabsorption) component.

    The age-based background applies unless a named malabsorptive cause in ``risks``
    raises it to that cause's probability.
    """
    base = 1.0 / (1.0 + xp.exp(-(p["pi0"] + p["pi_age"] * a)))
    keep = 1.0
    for k in RISKS_DEPLETING:
        if k in risks:
            keep = keep * (1.0 - p[f"p_{k}"] * risks[k])
    return 1.0 - (1.0 - base) * keep
