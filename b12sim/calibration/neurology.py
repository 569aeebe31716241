"""Calibration of the permanent-deficit curve to target 6 (PyMC, NUTS via nutpie).

Target 6 (evidence.md) has two anchors. The FDA label's "deficiency allowed to
progress for longer than 3 months may produce permanent degenerative lesions"
gives no number; it stays what it was, the prior of ``neuro_permanent_p_3mo``.
Martin 1992 gives numbers: after at least 6 months of IM cyanocobalamin, patients
whose cognitive symptoms had lasted under 12 months gained 20 DRS points on average
(paired t-test P = 0.0076), those with longer symptoms lost 3 (P = 0.34), and two
patients with 3-month histories normalised (+31, +28).

The model reads each group mean as ``G (1 - mean P(permanent))``: a patient whose
deficit has not become permanent recovers the full gain ``G`` (the two normalised
patients' mean, with a wide SD), one whose deficit has, gains nothing. The mean
runs over the group's symptom durations (assumed spread evenly over 1-12 and 12-36
months: the abstract gives neither the durations nor the group sizes) with one
exposure-day per symptomatic day. Each group's standard error comes from its
P value and assumed size (11 and 7, from 11 of 18 improving). Every assumption is
an evidence row flagged U, so the posterior is an honest reading of a small pilot
study, not a precise curve. Onset and recovery half-life of the reversible
dysfunction have no data and keep their priors.
"""

from __future__ import annotations

import numpy as np

from b12sim import evidence
from b12sim.physiology import backend
from b12sim.physiology import neurology as neuro

FREE = ("neuro_permanent_p_3mo", "neuro_permanent_p_12mo")
NUISANCE = ("drs_full_gain",)
GROUPS = ("under_12mo", "over_12mo")
NODES = 24  # midpoint-rule nodes over each group's durations
MONTH = 365.25 / 12  # days


def observations() -> dict[str, dict]:
    """Group -> observed mean DRS change, its standard error (from the P value) and durations (days)."""
    from scipy import stats

    ev = evidence.value
    bands = {"under_12mo": (ev("target6_duration_under_12mo_lo"), 12.0),
             "over_12mo": (12.0, ev("target6_duration_over_12mo_hi"))}
    out = {}
    for g in GROUPS:
        mean, p, n = ev(f"target6_drs_gain_{g}"), ev(f"target6_drs_gain_{g}_p"), ev(f"target6_n_{g}")
        t = stats.t.ppf(1 - p / 2, n - 1)  # two-sided paired t statistic
        lo, hi = bands[g]
        edges = np.linspace(lo, hi, NODES + 1)
        out[g] = {"observed": mean, "se": abs(mean) / t, "n": int(n),
                  "days": 0.5 * (edges[1:] + edges[:-1]) * MONTH}
    return out


def predict(p3, p12, gain, days, xp=np):
    """Mean DRS change of a group with symptom durations ``days`` (last axis, equally weighted);
    ``p3``, ``p12`` and ``gain`` broadcast against ``days`` without it."""
    eq = backend.of(xp)
    return gain * (1.0 - eq.p_permanent(days, *eq.weibull(p3, p12)).mean(axis=-1))


def build_model():
    """The PyMC model: evidence priors, the 12-month probability truncated above the 3-month one."""
    import pymc as pm
    import pytensor.tensor as pt

    from b12sim.calibration.priors import evidence_priors
    from b12sim.simulation.parameters import prior_of

    obs = observations()
    v12, sd12, _, _, hi12 = prior_of("neuro_permanent_p_12mo")
    gain = evidence.row("target6_drs_full_recovery_gain")
    with pm.Model() as model:
        p3 = evidence_priors(FREE[:1])["neuro_permanent_p_3mo"]
        p12 = pm.TruncatedNormal("neuro_permanent_p_12mo", mu=v12, sigma=sd12, lower=p3 + neuro.MIN_GAP, upper=hi12)
        g = pm.Normal("drs_full_gain", mu=float(gain["value"]), sigma=float(gain["uncertainty"]))
        for name, o in obs.items():
            mu = pm.Deterministic(f"pred_{name}", predict(p3, p12, g, o["days"], xp=pt))
            pm.Normal(f"obs_{name}", mu=mu, sigma=o["se"], observed=o["observed"])
    return model


def calibrate(*, draws: int = 1000, tune: int = 1000, chains: int = 4, seed: int = 20261202, progress: bool = True):
    """Sample the neurology calibration; a DataTree like the other calibrations'."""
    from b12sim.calibration import sampling

    model = build_model()
    names = FREE + NUISANCE
    post, diag = sampling.sample(model, names, draws=draws, tune=tune, chains=chains, seed=seed, progress=progress)
    keep = list(names) + [f"pred_{g}" for g in GROUPS]
    prior_ds = sampling.prior(model, keep, draws=draws * chains, seed=seed)
    return sampling.tree({"posterior": post[keep], "prior": prior_ds, "diagnostics": diag,
                          "checks": checks(post, prior_ds), "curve": curve(post, prior_ds)},
                         "b12sim permanent nerve deficit (target 6: FDA label, Martin 1992)",
                         "b12sim.calibration.neurology.calibrate")


def checks(post, prior):
    """Each group mean against prior and posterior predictive 95% intervals (its standard error added)."""
    import xarray as xr

    rng = np.random.default_rng(0)
    rows = {k: [] for k in ("observed", "post_median", "post_lo", "post_hi", "prior_lo", "prior_hi")}
    for g, o in observations().items():
        rows["observed"].append(o["observed"])
        for key, ds in (("post", post), ("prior", prior)):
            val = ds[f"pred_{g}"].to_numpy().ravel()
            rep = val + rng.normal(0.0, o["se"], val.size)
            lo, hi = np.quantile(rep, [0.025, 0.975])
            rows[f"{key}_lo"].append(float(lo))
            rows[f"{key}_hi"].append(float(hi))
            if key == "post":
                rows["post_median"].append(float(np.median(val)))
    ds = xr.Dataset({k: ("observation", np.array(v)) for k, v in rows.items()},
                    coords={"observation": [f"drs_change_{g}" for g in GROUPS]})
    ds["inside"] = (ds.observed >= ds.post_lo) & (ds.observed <= ds.post_hi)
    return ds


CURVE_MONTHS = (1, 3, 6, 12, 24)


def curve(post, prior):
    """P(permanent deficit) after 1-24 months of untreated typical deficit: prior and posterior
    median and 95% range."""
    import xarray as xr

    days = np.array(CURVE_MONTHS) * MONTH
    out = {}
    for key, ds in (("prior", prior), ("post", post)):
        p3, p12 = (ds[k].to_numpy().ravel() for k in FREE)
        pp = neuro.p_permanent(days[None, :], *neuro.weibull(p3[:, None], p12[:, None]))
        q = np.quantile(pp, [0.025, 0.5, 0.975], axis=0)
        out |= {f"{key}_lo": ("months", q[0]), f"{key}_median": ("months", q[1]), f"{key}_hi": ("months", q[2])}
    return xr.Dataset(out, coords={"months": list(CURVE_MONTHS)},
                      attrs={"note": "P(permanent deficit) after months of untreated typical deficit"})

