"""Calibration of the cobalamin kinetics with PyMC (NUTS via nutpie): treatment, absorption and
the natural history, fitted together.

The free parameters (:data:`FREE`) have the evidence priors of
:data:`b12sim.simulation.parameters.PRIORS`. The data (:func:`observations`), each
log-normal around the model's prediction:

* the six day-120 arm means of Kuzminski 1998 (serum B12, MMA, tHcy; oral 2 mg daily vs
  IM 1 mg on days 1-90) of pernicious-anaemia-type patients, with the standard error
  of an arm mean (between-patient CV ``clinical_cohort_cv*`` over n) plus the aggregate
  discrepancy SD;
* the amounts absorbed from single oral doses of 1-1,000 ug with and without intrinsic
  factor (Carmel 2008, Table 1) and the bioavailability of 2.5 ug (Kurpad 2023);
* the share kept of injections: 72-hour urinary losses after 500 and 1,000 ug of each
  form (Glass 1961, target 2) and the retention of 10-1,000 ug (Carmel 2008);
* one population, one physiology: the steady state of the median omnivore intake with
  intrinsic factor is the marker model's median store (IOM: 2-3 mg);
* the speed of depletion without intrinsic factor: the median time from surgery to
  serum B12 < 148 pmol/L after total gastrectomy (Hu 2013).

Because the kinetics are linear between doses, day-120 pools are closed-form sums of
each day's impulse response (the exact pool solution of the simulator), so no ODE
solver is needed inside the model. The marker model is held at its posterior medians,
and each Kuzminski arm starts at the stores that give its mean baseline serum B12 (an
approximation: the simulator itself uses every marker draw). Haematologic and neurologic parameters are not
calibrated here. Published trials kept aside from this fit are checked in
``tests/test_natural_history.py``.
"""

from __future__ import annotations

import math

import numpy as np

from b12sim import evidence
from b12sim.physiology import backend
from b12sim.physiology import markers as mk
from b12sim.posterior import medians

FREE = ("recent_halflife_days", "spill_ug", "spill_hydroxo_ug", "spill_cyano_ug", "serum_per_ug_recent",
        "loss_per_day", "passive_fraction", "biliary_ug_per_day", "if_fraction", "if_max_ug")
DAY = 120  # Kuzminski follow-up: end of day 120 (day 1 = our day 0)
ARMS = {"oral": "kuzminski_oral", "im": "kuzminski_im"}  # arm -> regimen
MARKERS = ("b12", "mma", "hcy")  # day-120 arm means: evidence rows kuzminski_<marker>_<arm>_day120
SINGLE_DOSES = ((1, 1), (10, 1), (50, 1), (500, 1), (1000, 1), (500, 0), (1000, 0))  # Carmel 2008: (ug, IF)
GLASS = {"hydroxo": "ohcbl", "cyano": "cncbl"}  # form -> Glass 1961 key (72-h urinary loss after 500 and 1000 ug)
INJECTIONS = (10, 100, 1000)  # Carmel 2008: retained share of single injections (ug)


def observations() -> list[dict]:
    """The calibration data: name, observed value (canonical units) and log-scale standard error."""
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
            out.append({"name": f"{arm}_{m}", "observed": v * pg if m == "b12" else v, "se": se})
    for dose, if_intact in SINGLE_DOSES:
        key = f"carmel_absorbed_{dose}ug_{'if' if if_intact else 'noif'}"
        out.append({"name": key, "observed": ev(key), "se": ev("carmel_absorption_log_sd")})
    for form, key in GLASS.items():
        for dose in (500, 1000):
            out.append({"name": f"glass_retained_{form}_{dose}ug", "observed": 1 - ev(f"glass_loss_72h_{key}_{dose}"),
                        "se": ev("retention_log_sd")})
    for dose in INJECTIONS:
        out.append({"name": f"carmel_retained_{dose}ug_im", "observed": ev(f"carmel_retained_{dose}ug_im"),
                    "se": ev("retention_log_sd")})
    k = evidence.row("kurpad_bioavailability_2p5ug")
    se = float(k["uncertainty"]) / float(k["value"]) / math.sqrt(float(k["n"]))
    out.append({"name": "kurpad_absorbed_2p5ug", "observed": 2.5 * float(k["value"]), "se": math.hypot(se, tau)})
    out.append({"name": "steady_store_ug", "observed": ev("body_store_median_ug"), "se": ev("steady_store_log_sd")})
    out.append({"name": "gastrectomy_days", "observed": ev("hu_gastrectomy_median_days"),
                "se": ev("hu_gastrectomy_log_sd")})
    return out


def _doses(arm: str):
    """(days, amounts in ug) of the arm's oral doses and of its IM (cyanocobalamin) doses."""
    from b12sim.regimens import load_regimen

    sched = load_regimen(ARMS[arm]).schedule(DAY)
    oral = np.flatnonzero(sched["oral_ug"])
    im = np.flatnonzero(sched["im_cyano_ug"])
    return oral, sched["oral_ug"][oral], im, sched["im_cyano_ug"][im]


def predict(theta: dict, xp=np) -> dict:
    """Predicted values (logs of canonical units) of :func:`observations` for parameter values ``theta``.

    Kuzminski arms: each day's kept food (passive uptake only: no intrinsic factor) and
    doses enter the recent pool; the day-120 pools are the sums of their impulse
    responses (:func:`b12sim.physiology.kinetics.pool_update` over the days since).
    """
    eq = backend.of(xp)
    ev = evidence.value
    p = medians("markers", mk.PARAMS)
    c = mk.Constants.load()
    s_med = math.exp(c.ln_s_med)
    k = eq.halflife_rate(theta["recent_halflife_days"])
    reabsorbed = ev("biliary_reabsorbed_fraction")

    def lam(if_intact):
        return eq.loss_rate(if_intact, theta["loss_per_day"], reabsorbed, theta["biliary_ug_per_day"], s_med)

    def absorbed(dose, if_intact):
        return eq.oral_absorbed(dose, if_intact, theta["if_fraction"], theta["if_max_ug"], theta["passive_fraction"])

    def food(if_intact):
        return eq.food_kept(ev("intake_omnivore_median_ug"), ev("meals_per_day"), 1.0, if_intact,
                            theta["if_fraction"], theta["if_max_ug"], theta["passive_fraction"], theta["spill_ug"])

    out = {}
    a, r = mk.covariates(ev("clinical_cohort_age"), ev("clinical_cohort_egfr"))
    sd = mk.log_sds(p, c, a, r)
    pg = 1000.0 / ev("cobalamin_molar_mass")
    lam0, kept0 = lam(0.0), food(0.0)
    s_per, r_per = eq.steady_pools(lam0, k)
    for arm in ARMS:
        base = ev(f"kuzminski_b12_{arm}_baseline") * pg
        total0 = s_med * base / math.exp(p["b0"] + sd["b12"] ** 2 / 2)  # median person of the arm mean
        usual = kept0 * r_per
        oral_days, oral_dose, im_days, im_dose = _doses(arm)
        amt = ([eq.retained(absorbed(float(d), 0.0), theta["spill_ug"]) for d in oral_dose]
               + [eq.retained(float(d), theta["spill_cyano_ug"]) for d in im_dose] + [kept0] * DAY)
        w = xp.stack(amt) if xp is not np else np.asarray(amt)
        tau = DAY - np.concatenate([oral_days, im_days, np.arange(DAY)]).astype(float)
        e_s, e_r, g = eq.pool_update(lam0, k, tau)
        e_s0, e_r0, g0 = eq.pool_update(lam0, k, float(DAY))
        pool = (w * e_r).sum() + usual * e_r0
        stores = (total0 - usual) * e_s0 + usual * g0 + (w * g).sum()
        x = xp.log(stores + pool)
        d = eq.deficit(x, p["x_k"], p["n_hinge"])
        out[f"{arm}_b12"] = xp.log(eq.b12_with_recent(x, pool - usual, p["b0"], theta["serum_per_ug_recent"],
                                                      c.ln_s_med)) + sd["b12"] ** 2 / 2
        out[f"{arm}_mma"] = eq.log_mma(d, a, r, p["m0"], p["bm_age"], p["bm_renal"], p["a_m"]) + sd["mma"] ** 2 / 2
        out[f"{arm}_hcy"] = eq.log_hcy(d, float(mk.folate_deficit(p["mu_y"], c.ln_fol_hinge)), a, r, p["h0"],
                                       p["bh_age"], p["bh_renal"], p["a_h"], p["c_f"]) + sd["hcy"] ** 2 / 2
    for dose, if_intact in SINGLE_DOSES:
        key = f"carmel_absorbed_{dose}ug_{'if' if if_intact else 'noif'}"
        out[key] = xp.log(absorbed(float(dose), float(if_intact)))
    out["kurpad_absorbed_2p5ug"] = xp.log(absorbed(2.5, 1.0))
    for form in GLASS:
        for dose in (500.0, 1000.0):
            out[f"glass_retained_{form}_{dose:.0f}ug"] = xp.log(eq.retained(dose, theta[f"spill_{form}_ug"]) / dose)
    for dose in INJECTIONS:
        out[f"carmel_retained_{dose}ug_im"] = xp.log(eq.retained(float(dose), theta["spill_cyano_ug"]) / dose)
    # the steady state of the median intake with intrinsic factor (stores and recent pool)
    s1, r1 = eq.steady_pools(lam(1.0), k)
    out["steady_store_ug"] = xp.log(food(1.0) * (s1 + r1))
    # after total gastrectomy: from the median store towards the passive steady state, until serum B12 < cut-off
    floor = kept0 * (s_per + r_per)
    cut = s_med * ev("gastrectomy_low_b12_cut") / math.exp(p["b0"])
    out["gastrectomy_days"] = xp.log(xp.log((s_med - floor) / (cut - floor)) / lam0)
    return out


def build_model():
    """The PyMC model: evidence priors on :data:`FREE`, log-normal observations."""
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
                         "b12sim kinetics (Kuzminski 1998, Carmel 2008, Kurpad 2023, IOM stores, Hu 2013)",
                         "b12sim.calibration.treatment.calibrate")


def checks(post, prior):
    """Each observation against its prior and posterior predictive 95% intervals (observation noise added)."""
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
