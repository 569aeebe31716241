"""Calibration of the nerve chain's onset, progression and fixation to target 6 (PyMC, NUTS via nutpie).

The chain (:mod:`b12sim.physiology.neurology`) at a typical clinical deficit (one
exposure-day per day) is solved exactly: ``p(t) = expm(Q t) p(0)`` with ``Q`` built from the
same flow equations the simulator steps (:func:`~b12sim.physiology.neurology.nerve_generator`).
Fitted series (every number an evidence row in ``data/evidence/treatment.csv``):

* Martin 1992: cognitive symptoms under 12 months gained 20 DRS points after treatment,
  over 12 months lost 3; each group mean is read as ``G P(no permanent part)`` averaged over
  the group's symptom durations (assumed spread evenly over 1-12 and 12-36 months), ``G``
  the gain of a complete recovery (the two 3-month patients' mean, wide SD); standard errors
  from the P values and assumed group sizes (11 and 7), as before;
* the FDA label's "longer than 3 months may produce permanent lesions": P(some permanent
  part) after 3 months of symptoms about 0.2 (SD 0.1), a soft observation (assumption);
* Chodos & Ross 1951: 12 of 22 patients kept on folic acid alone for 12-25 months developed or
  progressed subacute combined degeneration: P(moderate or worse) from no involvement,
  averaged over the between-person nerve susceptibility (its SD held at the evidence value).

Held out to test the model (``data/validation/studies.csv``): Vasconcelos 2006 (complete
resolution in 8 of 57 with SCD), the OPEN trial's null at mild deficiency, Lindenbaum 1988's
presentations without anaemia or macrocytosis. Hemmer 1998 (9 of 9 with subacute combined
degeneration improved) holds by construction: untreated, the severity always runs ahead of its
permanent part.
"""

from __future__ import annotations

import numpy as np

from b12sim import evidence
from b12sim.physiology import backend
from b12sim.physiology import neurology as neuro
from b12sim.simulation.engine import nerve_matrix

FREE = ("neuro_onset_days", "neuro_progress_days", "neuro_fixation_days")
NUISANCE = ("drs_full_gain",)
MONTH = 365.25 / 12  # days
STEP_MONTHS = 1.0  # grid of the exact solution (months)
HORIZON_MONTHS = 36
ANY_HALFLIFE = 60.0  # days: the recovery half-life plays no part while untreated (no recovery at e >= 1)
GH_NODES = 9  # Gauss-Hermite nodes over the log susceptibility
OBSERVATIONS = ("drs_under_12mo", "drs_over_12mo", "label_residual_3mo", "chodos_scd")
START_INVOLVED = neuro.ONSET
RESIDUAL = [i for i, (a, f) in enumerate(neuro.STATES) if f >= 1]
MODERATE_UP = [i for i, (a, f) in enumerate(neuro.STATES) if a >= 2]


def _band(lo_months: float, hi_months: float) -> np.ndarray:
    """Trapezoid weights on the one-month grid (0 .. :data:`HORIZON_MONTHS`) of an even spread over the band."""
    grid = np.arange(0.0, HORIZON_MONTHS + STEP_MONTHS / 2, STEP_MONTHS)
    inside = (grid >= lo_months - 1e-9) & (grid <= hi_months + 1e-9)
    w = inside.astype(float)
    ends = np.flatnonzero(inside)[[0, -1]]
    w[ends] = 0.5
    return w / w.sum()


def observations() -> dict[str, dict]:
    """Each fitted observation: its value, kind (``normal`` with ``se``, or ``binomial`` with ``n``) and the
    weights of its durations on the one-month grid."""
    from scipy import stats

    ev = evidence.value
    out = {}
    bands = {"under_12mo": (ev("target6_duration_under_12mo_lo"), 12.0),
             "over_12mo": (12.0, ev("target6_duration_over_12mo_hi"))}
    for g, (lo, hi) in bands.items():
        mean, p, n = ev(f"target6_drs_gain_{g}"), ev(f"target6_drs_gain_{g}_p"), ev(f"target6_n_{g}")
        t = stats.t.ppf(1 - p / 2, n - 1)  # two-sided paired t statistic
        out[f"drs_{g}"] = {"kind": "normal", "observed": mean, "se": abs(mean) / t, "n": int(n),
                           "weights": _band(lo, hi)}
    label = evidence.row("target6_label_p_residual_3mo")
    out["label_residual_3mo"] = {"kind": "normal", "observed": float(label["value"]),
                                 "se": float(label["uncertainty"]), "weights": _band(3.0, 3.0)}
    out["chodos_scd"] = {"kind": "binomial", "observed": ev("target6_chodos_scd"),
                         "n": int(evidence.row("target6_chodos_scd")["n"]),
                         "weights": _band(ev("target6_chodos_duration_lo"), ev("target6_chodos_duration_hi"))}
    return out


def susceptibility_nodes(sd: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes (nerve susceptibility multipliers) and weights of a log-normal with median 1."""
    z, w = np.polynomial.hermite_e.hermegauss(GH_NODES)
    return np.exp(sd * z), w / w.sum()


def grid() -> np.ndarray:
    """The one-month grid (days) of :func:`path`."""
    return np.arange(int(round(HORIZON_MONTHS / STEP_MONTHS)) + 1) * STEP_MONTHS * MONTH


def path(progress, fixation, xp=np):
    """State probabilities (grid, states) of untreated symptoms at a typical clinical deficit (one exposure-day
    per day, so no recovery) from their onset, state ``(1, 0)``, on the one-month grid: powers of the exact step
    ``expm(Q dt)`` (hazards scalars; numpy or PyTensor)."""
    if xp is np:
        from scipy.linalg import expm

        q = nerve_matrix(0.0, progress, fixation, 0.0)
    else:
        import pytensor.tensor as pt
        from pytensor.tensor.linalg import expm

        q = pt.stack([pt.stack([pt.as_tensor_variable(v) for v in row])
                      for row in neuro.nerve_generator(0.0, progress, fixation, 0.0)])
    step = expm(q * (STEP_MONTHS * MONTH))
    p = [np.eye(neuro.N_NERVE)[START_INVOLVED]]
    for _ in range(grid().size - 1):
        p.append(step @ p[-1])
    return xp.stack(p)


def after_onset(g, onset, sd: float, xp=np):
    """``P(event by t)`` on the grid for people starting free of nerve involvement, where ``g`` (grid) is the
    probability of the event ``t`` days after the onset: the onset (rate ``onset`` times a log-normal
    susceptibility of log-SD ``sd``) convolved with ``g`` at the midpoint of each one-month."""
    t = grid()
    s, ws = susceptibility_nodes(sd)
    g_mid = 0.5 * (g[1:] + g[:-1])  # the event's probability half a step after the onset bin
    k = t.size
    lag = np.arange(k)[:, None] - np.arange(k - 1)[None, :] - 1  # index of T_i - t_j - dt in g_mid
    valid = lag >= 0
    gm = g_mid[np.where(valid, lag, 0)] * valid  # (grid, onset bins)
    total = 0.0
    for si, w in zip(s, ws):
        surv = xp.exp(-onset * si * t)
        total = total + w * (gm * (surv[:-1] - surv[1:])[None, :]).sum(axis=1)
    return total


def predict(onset_days, progress_days, fixation_days, gain, sd: float, xp=np) -> dict:
    """Predicted value of each observation (:func:`observations`) at the given parameters (scalars)."""
    eq = backend.of(xp)
    onset, progress, fixation, _ = eq.nerve_constants(onset_days, progress_days, fixation_days, ANY_HALFLIFE)
    involved = path(progress, fixation, xp=xp)
    obs = observations()
    residual = involved[:, RESIDUAL].sum(axis=1)
    moderate = after_onset(involved[:, MODERATE_UP].sum(axis=1), onset, sd, xp=xp)
    return {
        "drs_under_12mo": gain * (1.0 - (residual * obs["drs_under_12mo"]["weights"]).sum()),
        "drs_over_12mo": gain * (1.0 - (residual * obs["drs_over_12mo"]["weights"]).sum()),
        "label_residual_3mo": (residual * obs["label_residual_3mo"]["weights"]).sum(),
        "chodos_scd": (moderate * obs["chodos_scd"]["weights"]).sum(),
    }


def build_model():
    """The PyMC model: evidence priors of :data:`FREE`, the DRS full gain, one likelihood per observation."""
    import pymc as pm
    import pytensor.tensor as pt

    from b12sim.calibration.priors import evidence_priors

    obs = observations()
    gain_row = evidence.row("target6_drs_full_recovery_gain")
    sd = evidence.value("neuro_susceptibility_log_sd")
    with pm.Model() as model:
        pri = evidence_priors(FREE)
        g = pm.Normal("drs_full_gain", mu=float(gain_row["value"]), sigma=float(gain_row["uncertainty"]))
        pred = predict(*(pri[k] for k in FREE), g, sd, xp=pt)
        for name, o in obs.items():
            mu = pm.Deterministic(f"pred_{name}", pred[name])
            if o["kind"] == "normal":
                pm.Normal(f"obs_{name}", mu=mu, sigma=o["se"], observed=o["observed"])
            else:
                pm.Binomial(f"obs_{name}", n=o["n"], p=pt.clip(mu, 1e-9, 1 - 1e-9), observed=o["observed"])
    return model


def calibrate(*, draws: int = 1000, tune: int = 1000, chains: int = 4, seed: int = 20261207, progress: bool = True):
    """Sample the neurology calibration; a DataTree like the other calibrations'."""
    from b12sim.calibration import sampling

    model = build_model()
    names = FREE + NUISANCE
    post, diag = sampling.sample(model, names, draws=draws, tune=tune, chains=chains, seed=seed, progress=progress)
    keep = list(names) + [f"pred_{k}" for k in OBSERVATIONS]
    prior_ds = sampling.prior(model, keep, draws=draws * chains, seed=seed)
    return sampling.tree({"posterior": post[keep], "prior": prior_ds, "diagnostics": diag,
                          "checks": checks(post, prior_ds), "curve": curve(post, prior_ds)},
                         "b12sim nerve onset, progression and fixation (target 6: Martin 1992, FDA label, "
                         "Chodos & Ross 1951)", "b12sim.calibration.neurology.calibrate")


def checks(post, prior):
    """Each observation against prior and posterior predictive 95% intervals (normal: the predicted value plus
    its standard error; binomial: counts drawn at the predicted probability)."""
    import xarray as xr

    rng = np.random.default_rng(0)
    rows = {k: [] for k in ("observed", "post_median", "post_lo", "post_hi", "prior_lo", "prior_hi")}
    for name, o in observations().items():
        rows["observed"].append(o["observed"])
        for key, ds in (("post", post), ("prior", prior)):
            val = ds[f"pred_{name}"].to_numpy().ravel()
            if o["kind"] == "normal":
                rep = val + rng.normal(0.0, o["se"], val.size)
            else:
                rep = rng.binomial(o["n"], np.clip(val, 0.0, 1.0)).astype(float)
            lo, hi = np.quantile(rep, [0.025, 0.975])
            rows[f"{key}_lo"].append(float(lo))
            rows[f"{key}_hi"].append(float(hi))
            if key == "post":
                rows["post_median"].append(float(np.median(val) * (o["n"] if o["kind"] == "binomial" else 1)))
    ds = xr.Dataset({k: ("observation", np.array(v)) for k, v in rows.items()},
                    coords={"observation": list(OBSERVATIONS)})
    ds["inside"] = (ds.observed >= ds.post_lo) & (ds.observed <= ds.post_hi)
    return ds


CURVE_MONTHS = (1, 3, 6, 12, 24)


def curve(post, prior, *, max_draws: int = 400):
    """P(some permanent part) and P(moderate-severe permanent part) after 1-24 months of untreated symptoms at a
    typical clinical deficit: prior and posterior median and 95% range (``max_draws`` draws each)."""
    import xarray as xr

    idx = [int(round(m / STEP_MONTHS)) for m in CURVE_MONTHS]
    severe = [i for i, (a, f) in enumerate(neuro.STATES) if f == 2]
    out = {}
    for key, ds in (("prior", prior), ("post", post)):
        cols = [ds[k].to_numpy().ravel() for k in FREE]
        take = np.linspace(0, cols[0].size - 1, min(max_draws, cols[0].size)).astype(int)
        anyp, sev = [], []
        for j in take:
            _, progress, fixation, _ = neuro.nerve_constants(*(c[j] for c in cols), ANY_HALFLIFE)
            p = path(progress, fixation)[idx]
            anyp.append(p[:, RESIDUAL].sum(axis=1))
            sev.append(p[:, severe].sum(axis=1))
        for name, arr in (("", anyp), ("severe_", sev)):
            q = np.quantile(np.array(arr), [0.025, 0.5, 0.975], axis=0)
            out |= {f"{key}_{name}lo": ("months", q[0]), f"{key}_{name}median": ("months", q[1]),
                    f"{key}_{name}hi": ("months", q[2])}
    return xr.Dataset(out, coords={"months": list(CURVE_MONTHS)},
                      attrs={"note": "P(some permanent nerve deficit) and P(moderate-severe permanent deficit) after "
                                     "months of untreated symptoms at a typical clinical deficit"})
