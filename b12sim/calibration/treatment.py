"""Calibration of the treatment kinetics to Kuzminski 1998 (PyMC, NUTS via nutpie).

The free parameters are the ones the trial informs: the recent pool's half-life
and lost share, the extra serum B12 per ug in it, the store loss rate and the
passive (intrinsic-factor independent) absorption. Their priors are the evidence
rows of :data:`b12sim.simulation.parameters.PRIORS`. The data are the six
day-120 arm means (serum B12, MMA, tHcy; oral 2 mg daily vs IM 1 mg on days
1-90) of pernicious-anaemia-type patients, each log-normal with the standard
error of an arm mean (between-patient CV ``clinical_cohort_cv*`` over n) plus the
aggregate discrepancy SD.

Because the kinetics are linear, day-120 pools are closed-form sums of each
dose's impulse response (the exact pool solution of the simulator), so no ODE
solver is needed inside the model. The marker
model is held at its posterior medians, and each arm starts at the stores that
give its mean baseline serum B12 (an approximation: the simulator itself uses
every marker draw). IM retention stays at its exact Glass 1961 fit (target 2).
Haematologic and neurologic parameters are not calibrated here.
"""

from __future__ import annotations

import math

import numpy as np

from b12sim import evidence
from b12sim.physiology import backend
from b12sim.physiology import kinetics as kin
from b12sim.physiology import markers as mk

FREE = ("recent_halflife_days", "recent_lost_fraction", "serum_per_ug_recent", "loss_per_day", "passive_fraction")
DAY = 120  # Kuzminski follow-up: end of day 120 (day 1 = our day 0)
ARMS = {"oral": "kuzminski_oral", "im": "kuzminski_im"}  # arm -> regimen
MARKERS = ("b12", "mma", "hcy")  # day-120 arm means: evidence rows kuzminski_<marker>_<arm>_day120


def _fixed():
    from b12sim.posterior import load_posterior

    post = load_posterior("markers")["posterior"].to_dataset()
    return {k: float(post[k].median()) for k in mk.PARAMS}


def observations() -> list[dict]:
    """The six arm means with their log-scale standard errors."""
    ev = evidence.value
    pg = 1000.0 / ev("cobalamin_molar_mass")  # pg/mL -> pmol/L
    tau = ev("aggregate_discrepancy_sd")
    out = []
    for arm in ARMS:
        for m in MARKERS:
            row = evidence.row(f"kuzminski_{m}_{arm}_day120")
            v, n = float(row["value"]), float(row["n"])
            cv = ev("clinical_cohort_cv_b12" if m == "b12" else "clinical_cohort_cv")
            se = math.sqrt(math.log1p(cv**2) / n + tau**2)
            out.append({"name": f"{arm}_{m}", "arm": arm, "marker": m,
                        "observed": v * pg if m == "b12" else v, "se": se})
    return out


def _doses(arm: str):
    """(days, amounts in ug) of the arm's oral doses and of its retained IM doses."""
    from b12sim.regimens import load_regimen

    sched = load_regimen(ARMS[arm]).schedule(DAY)
    oral = np.flatnonzero(sched["oral_ug"])
    im = np.flatnonzero(sched["im_cyano_ug"])
    retained = kin.im_retained(sched["im_cyano_ug"][im], *kin.im_retention("cyanocobalamin"))
    return oral, sched["oral_ug"][oral], im, retained


def predict(theta: dict, xp=np) -> dict:
    """Predicted day-120 arm means (log canonical units) for parameter values ``theta``.

    Each dose's amount (passive absorption of oral doses: no intrinsic factor; retained
    IM doses) enters the recent pool; the day-120 pools are the sums of their impulse
    responses (:func:`b12sim.physiology.kinetics.pool_update` over the days since the dose).
    """
    eq = backend.of(xp)
    ev = evidence.value
    p = _fixed()
    c = mk.Constants.load()
    s_med = math.exp(c.ln_s_med)
    ks, kl = eq.recent_rates(theta["recent_halflife_days"], theta["recent_lost_fraction"])
    lam = eq.loss_rate(0.0, theta["loss_per_day"], ev("biliary_reabsorbed_fraction"),
                       ev("biliary_secretion_ug_per_day"), s_med)
    a, r = mk.covariates(ev("clinical_cohort_age"), ev("clinical_cohort_egfr"))
    sd = mk.log_sds(p, c)
    pg = 1000.0 / ev("cobalamin_molar_mass")
    out = {}
    for arm in ARMS:
        base = ev(f"kuzminski_b12_{arm}_baseline") * pg
        s0 = s_med * base / math.exp(p["b0"] + sd["b12"] ** 2 / 2)  # median person of the arm mean
        oral_days, oral_dose, im_days, im_amt = _doses(arm)
        amt = [eq.oral_absorbed(float(d), 0.0, ev("if_fraction_small_dose"), ev("if_saturation_ug"),
                                theta["passive_fraction"]) for d in oral_dose] + [float(v) for v in im_amt]
        w = xp.stack(amt) if xp is not np else np.asarray(amt)
        tau = DAY - np.concatenate([oral_days, im_days]).astype(float)
        e_s, e_r, g = eq.pool_update(lam, ks, kl, tau)
        pool = (w * e_r).sum()
        stores = s0 * eq.pool_update(lam, ks, kl, float(DAY))[0] + (w * g).sum()
        x = xp.log(stores + pool)
        d = eq.deficit(x, p["x_k"], p["n_hinge"])
        out[f"{arm}_b12"] = xp.log(eq.b12_with_recent(x, pool, p["b0"], theta["serum_per_ug_recent"], c.ln_s_med)) \
            + sd["b12"] ** 2 / 2
        out[f"{arm}_mma"] = eq.log_mma(d, a, r, p["m0"], p["bm_age"], p["bm_renal"], p["a_m"]) + sd["mma"] ** 2 / 2
        out[f"{arm}_hcy"] = eq.log_hcy(d, float(mk.folate_deficit(p["mu_y"], c.ln_fol_hinge)), a, r, p["h0"],
                                       p["bh_age"], p["bh_renal"], p["a_h"], p["c_f"]) + sd["hcy"] ** 2 / 2
    return out


def build_model():
    """The PyMC model: evidence priors on :data:`FREE`, log-normal arm means."""
    import pymc as pm
    import pytensor.tensor as pt

    from b12sim.calibration.priors import evidence_priors

    with pm.Model() as model:
        theta = evidence_priors(FREE)
        pred = predict(theta, xp=pt)
        for o in observations():
            mu = pm.Deterministic(f"pred_{o['name']}", pred[o["name"]])
            pm.Normal(f"obs_{o['name']}", mu=mu, sigma=o["se"], observed=math.log(o["observed"]))
    return model


def calibrate(*, draws: int = 1000, tune: int = 1000, chains: int = 4, seed: int = 20261125, progress: bool = True):
    """Sample the treatment calibration; a DataTree like the marker calibration's."""
    from b12sim.calibration import sampling

    model = build_model()
    post, diag = sampling.sample(model, FREE, draws=draws, tune=tune, chains=chains, seed=seed, progress=progress)
    keep = list(FREE) + [v for v in post.data_vars if v.startswith("pred_")]
    prior_ds = sampling.prior(model, keep, draws=draws, seed=seed)
    return sampling.tree({"posterior": post[keep], "prior": prior_ds, "diagnostics": diag,
                          "checks": checks(post, prior_ds)},
                         "b12sim treatment kinetics (Kuzminski 1998)", "b12sim.calibration.treatment.calibrate")


def checks(post, prior):
    """Each arm mean against its prior and posterior predictive 95% intervals (observation noise added)."""
    import xarray as xr

    rng = np.random.default_rng(0)
    rows = {k: [] for k in ("observed", "post_median", "post_lo", "post_hi", "prior_lo", "prior_hi")}
    names = []
    for o in observations():
        val = post[f"pred_{o['name']}"].to_numpy().ravel()
        rep = np.exp(val + rng.normal(0, o["se"], val.size))
        pv = prior[f"pred_{o['name']}"].to_numpy().ravel()
        pri = np.exp(pv + rng.normal(0, o["se"], pv.size))
        names.append(o["name"])
        rows["observed"].append(o["observed"])
        rows["post_median"].append(float(np.exp(np.median(val))))
        for key, arr in (("post", rep), ("prior", pri)):
            lo, hi = np.quantile(arr, [0.025, 0.975])
            rows[f"{key}_lo"].append(float(lo))
            rows[f"{key}_hi"].append(float(hi))
    ds = xr.Dataset({k: ("observation", np.array(v)) for k, v in rows.items()}, coords={"observation": names})
    ds["inside"] = (ds.observed >= ds.post_lo) & (ds.observed <= ds.post_hi)
    return ds
