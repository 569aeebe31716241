"""Calibration of the blood response to target 5 (PyMC on an emulator, NUTS via nutpie).

Target 5 (evidence.md) describes the course after B12 is given to a patient with
megaloblastic anaemia: reticulocytes rise from day 3-4 and peak around day 6-10,
Hb starts rising after about a week and the blood count is normal by about
8 weeks, MCV falls over 6-8 weeks. Each statement is read as one number on a
reference patient (a woman with pernicious anaemia, Hb 90 g/L, MCV 110 fL, given
UK IM hydroxocobalamin from day 0); the readings and their SDs are the
``target5_*`` evidence rows.

The simulator is an ODE system, so the PyMC model uses an emulator: the five
features are simulated for :data:`N_DESIGN` draws of the prior (every other
parameter, the patient's starting stores included, drawn as the simulator draws
them), and each feature is fitted by least squares with a quadratic polynomial in
the standardised log parameters. The hold-out residual SD (emulator error plus
the spread the other parameters cause) is added to each target's SD. After
sampling, :func:`checks` re-simulates posterior draws with the real engine, so the
emulator never has the last word. The woman's replete Hb enters the emulator and
is integrated out; it is not part of the shipped posterior.

Target 4's blood picture (Savage 1994: among clinically confirmed deficiency, haematocrit
normal in 28%, MCV normal in 17%) is fitted exactly, without the emulator: untreated, a
person's Hb and MCV sit at the steady state of their marrow deficit, which is the deficit of
their stores times their marrow susceptibility (:func:`presentation_shares`). The clinical
cohort's stores are the marker model's depleting component (as for Savage's MMA and tHcy
shares, at the marker posterior's medians). This is what identifies the between-person
spread of the marrow's response, ``marrow_susceptibility_sd``; Lindenbaum 1988's
presentations of nerve involvement without anaemia or macrocytosis stay held out.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from b12sim import evidence

FREE = ("marrow_delay_days", "reticulocyte_days", "epo_exponent", "marrow_sensitivity",
        "rbc_lifespan_days", "mcv_normal_fl", "mcv_per_deficit", "marrow_susceptibility_sd")
NUISANCE = ("hb_replete_female",)
PRESENTATION = ("savage_hct_normal", "savage_mcv_normal")  # fitted exactly (closed form), beside the emulator
INPUTS = FREE + NUISANCE
FEATURES = ("retic_rise_day", "retic_peak_day", "hb_rise_day", "hb_day56", "mcv_day49")
N_DESIGN = 4000
DAYS = 60
REGIMEN = "uk_im_hydroxo_no_neuro"
HB_RISE = 5.0  # g/L above day 0: "Hb starts rising" (evidence row target5_hb_rise_day)


def reference_patient() -> dict:
    """The target-5 patient (values from the ``target5_reference_*`` evidence rows)."""
    ev = evidence.value
    return dict(b12="95 pg/mL", mma=3.6, hcy=40, age=70, pernicious_anaemia=True, sex="female",
                hb=ev("target5_reference_hb"), mcv=ev("target5_reference_mcv"), neuro_days=0)


def targets() -> dict[str, tuple[float, float]]:
    """Feature -> (target value, SD) from the evidence rows."""
    out = {}
    for f in FEATURES:
        r = evidence.row(f"target5_{f}")
        out[f] = (float(r["value"]), float(r["uncertainty"]))
    return out


@functools.cache
def _clinical_deficits() -> tuple[float, np.ndarray, np.ndarray]:
    """The clinical cohort's store grid at the marker posterior's medians: the weight of the nodes without a
    marrow deficit, and the weights and ln marrow deficits (at susceptibility 1) of the others."""
    from b12sim.calibration.targets import X_GRID, x_weights
    from b12sim.physiology import markers as mk
    from b12sim.posterior import medians

    m = medians("markers", mk.PARAMS)
    c = mk.Constants.load()
    w = x_weights(m, c, np, age=evidence.value("clinical_cohort_age"), component="depleting")
    dmar = np.maximum(mk.deficit(X_GRID, m["x_k"], m["n_hinge"]) - mk.deficit(c.ln_s_med, m["x_k"], m["n_hinge"]),
                      0.0)
    keep = (w > 1e-12) & (dmar > 0)  # no deficit: normal whatever the susceptibility
    return float(w[~keep].sum()), w[keep], np.log(dmar[keep])


def presentation_shares(theta: dict, xp=np) -> dict:
    """Shares of the clinical deficiency cohort with a normal Hb (half women, WHO limits) and a normal MCV
    (<= ``mcv_upper_normal_fl``) untreated, at parameters ``theta`` (scalars; numpy or PyTensor): the
    marrow deficit of each store node (:mod:`b12sim.calibration.targets` grid, depleting component) times a
    log-normal susceptibility of log-SD ``marrow_susceptibility_sd``, against the deficits
    :func:`~b12sim.physiology.haematology.deficit_at_hb` and ``deficit_at_mcv``."""
    from b12sim.calibration.targets import normal_cdf
    from b12sim.physiology import backend

    ev = evidence.value
    w_free, w, ln_d = _clinical_deficits()
    eq = backend.of(xp)
    sd = theta["marrow_susceptibility_sd"]

    def share(limit):  # a replete value beyond the limit (limit <= 0): nobody is normal
        ok = limit > 0
        z = (xp.log(xp.where(ok, limit, 1.0)) - ln_d) / sd
        return xp.where(ok, w_free + (w * normal_cdf(z, xp)).sum(), 0.0)

    beta, gamma = theta["marrow_sensitivity"], theta["epo_exponent"]
    return {
        "savage_hct_normal": 0.5 * (share(eq.deficit_at_hb(ev("hb_normal_female"), beta, theta["hb_replete_female"],
                                                           gamma))
                                    + share(eq.deficit_at_hb(ev("hb_normal_male"), beta, theta["hb_replete_male"],
                                                             gamma))),
        "savage_mcv_normal": share(eq.deficit_at_mcv(ev("mcv_upper_normal_fl"), theta["mcv_normal_fl"],
                                                     theta["mcv_per_deficit"])),
    }


def presentation_sd(name: str, p) -> float:
    """SD (logit units) of a published share ``p`` of :data:`PRESENTATION`: binomial error of its study size and
    the between-study discrepancy of published proportions (``aggregate_discrepancy_logit``)."""
    n = float(evidence.row(name)["n"])
    return math.sqrt(1.0 / (n * p * (1.0 - p)) + evidence.value("aggregate_discrepancy_logit") ** 2)


def _crossing(y: np.ndarray, level: np.ndarray) -> np.ndarray:
    """First (linearly interpolated) day each row of ``y`` (draws, days) reaches ``level`` (NaN if never)."""
    above = y >= level[:, None]
    i = above.argmax(axis=1)
    ok = above.any(axis=1) & (i > 0)
    rows = np.arange(len(y))
    prev, cur = y[rows, np.maximum(i - 1, 0)], y[rows, i]
    frac = (level - prev) / np.where(cur > prev, cur - prev, 1.0)
    return np.where(ok, i - 1 + frac, np.nan)


def features(traj: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The five target-5 features from daily trajectories (draws, days + 1), day 0 first."""
    ret, hb, mcv = traj["reticulocytes"], traj["hb"], traj["mcv"]
    k = ret[:, :30].argmax(axis=1)
    rows = np.arange(len(ret))
    km = np.clip(k, 1, 28)
    y0, y1, y2 = ret[rows, km - 1], ret[rows, km], ret[rows, km + 1]
    curv = y0 - 2 * y1 + y2
    peak_day = km + np.where(curv < 0, 0.5 * (y0 - y2) / np.where(curv < 0, curv, -1.0), 0.0)
    rise_level = ret[:, 0] + 0.25 * (ret[rows, k] - ret[:, 0])
    return {
        "retic_rise_day": _crossing(ret, rise_level),
        "retic_peak_day": peak_day,
        "hb_rise_day": _crossing(hb, hb[:, 0] + HB_RISE),
        "hb_day56": hb[:, 56],
        "mcv_day49": mcv[:, 49],
    }


def simulate_features(p: dict) -> dict[str, np.ndarray]:
    """Target-5 features of the reference patient for parameter draws ``p`` (real engine)."""
    from b12sim.regimens import load_regimen
    from b12sim.simulation import engine
    from b12sim.simulation import people as ppl
    from b12sim.simulation.simulate import _doses

    people = ppl.from_patient(reference_patient())
    arr = ppl.arrays(people, p)
    doses = _doses(load_regimen(REGIMEN), 1, 0, DAYS, 0)
    c = engine.mk.Constants.load()
    q = engine.person_params(p, arr)
    day0 = engine.observe(engine.initial_state(q, arr, c), q, arr, c)
    keep = ("reticulocytes", "hb", "mcv")
    out = engine.run(p, arr, doses, DAYS, outputs=keep)
    return features({k: np.concatenate([day0[k][:, :1], out[k][:, 0]], axis=1) for k in keep})


class Emulator:
    """Quadratic least-squares emulator of the features in the standardised log inputs."""

    def __init__(self, design: dict[str, np.ndarray], feats: dict[str, np.ndarray], holdout: float = 0.25):
        z = np.log(np.column_stack([design[k] for k in INPUTS]))
        self.centre, self.scale = z.mean(axis=0), z.std(axis=0)
        y = np.column_stack([feats[f] for f in FEATURES])
        ok = np.isfinite(y).all(axis=1)
        self.dropped = int((~ok).sum())
        z, y = z[ok], y[ok]
        n_fit = int(len(y) * (1 - holdout))
        X = self.basis((z - self.centre) / self.scale, np)
        self.coef = np.linalg.lstsq(X[:n_fit], y[:n_fit], rcond=None)[0]
        resid = y[n_fit:] - X[n_fit:] @ self.coef
        self.resid_sd = resid.std(axis=0)
        self.r2 = 1 - resid.var(axis=0) / y[n_fit:].var(axis=0)

    @staticmethod
    def basis(u, xp):
        """Columns 1, u_i, u_i u_j (i <= j) of standardised inputs ``u`` (..., inputs)."""
        n = len(INPUTS)
        cols = [u[..., i] for i in range(n)]
        cols += [u[..., i] * u[..., j] for i in range(n) for j in range(i, n)]
        ones = xp.ones_like(cols[0])
        return xp.stack([ones, *cols], axis=-1)

    def predict(self, theta: dict, xp=np):
        """Feature predictions (..., features) for inputs ``theta`` (name -> value)."""
        z = xp.stack([xp.log(theta[k]) for k in INPUTS], axis=-1)
        return xp.dot(self.basis((z - self.centre) / self.scale, xp), self.coef)


def design(seed: int) -> tuple[dict, dict]:
    """Prior draws of the simulator's parameters and the reference patient's features under them."""
    from b12sim.simulation import parameters

    p = parameters.draw(N_DESIGN, seed, prior=FREE)
    return p, simulate_features(p)


def build_model(emu: Emulator):
    """The PyMC model: evidence priors on :data:`INPUTS`, normal target readings."""
    import pymc as pm
    import pytensor.tensor as pt

    from b12sim.calibration.priors import evidence_priors

    tgt = targets()
    with pm.Model() as model:
        theta = evidence_priors(INPUTS)
        pred = emu.predict(theta, xp=pt)
        for j, f in enumerate(FEATURES):
            mu = pm.Deterministic(f"pred_{f}", pred[j])
            value, sd = tgt[f]
            pm.Normal(f"obs_{f}", mu=mu, sigma=math.hypot(sd, emu.resid_sd[j]), observed=value)
        shares = presentation_shares(theta | evidence_priors(("hb_replete_male",)), xp=pt)
        for name in PRESENTATION:
            p = pm.Deterministic(f"pred_{name}", pt.clip(shares[name], 1e-9, 1 - 1e-9))
            value = evidence.value(name)
            pm.Normal(f"obs_{name}", mu=pt.log(p / (1 - p)), sigma=presentation_sd(name, value),
                      observed=math.log(value / (1 - value)))
    return model


def calibrate(*, draws: int = 1000, tune: int = 1000, chains: int = 4, seed: int = 20261126, progress: bool = True):
    """Build the emulator, sample the calibration, re-simulate the posterior; a DataTree."""
    import time

    import xarray as xr

    from b12sim.calibration import sampling

    t0 = time.perf_counter()
    p_design, f_design = design(seed)
    emu = Emulator(p_design, f_design)
    t_design = time.perf_counter() - t0
    post, diag = sampling.sample(build_model(emu), INPUTS, draws=draws, tune=tune, chains=chains, seed=seed,
                                 progress=progress, design_seconds=round(t_design, 1), design_draws=N_DESIGN,
                                 design_dropped=emu.dropped)
    emu_ds = xr.Dataset({"r2": ("feature", emu.r2), "resid_sd": ("feature", emu.resid_sd)},
                        coords={"feature": list(FEATURES)})
    keep = list(FREE) + [f"pred_{f}" for f in FEATURES + PRESENTATION]
    return sampling.tree({"posterior": post[keep], "diagnostics": diag, "emulator": emu_ds,
                          "checks": checks(post, p_design, f_design, seed)},
                         "b12sim blood response (target 5, emulator)", "b12sim.calibration.haematology.calibrate")


def checks(post, p_design: dict, f_design: dict, seed: int, n: int = 1000):
    """Target readings (``observed``) against prior and posterior 95% ranges of the features,
    both simulated with the real engine.

    The posterior run takes ``n`` evenly spaced posterior draws of :data:`FREE` in
    place of their priors; everything else is drawn as in the design.
    """
    import xarray as xr

    from b12sim.posterior import thin
    from b12sim.simulation import parameters

    p = parameters.draw(n, seed + 1, prior=FREE)
    p.update(thin(post, FREE, n))
    f_post = simulate_features(p)
    tgt = targets()
    rows = {k: [] for k in ("observed", "target_sd", "prior_lo", "prior_hi", "post_median", "post_lo", "post_hi")}
    for f in FEATURES:
        value, sd = tgt[f]
        rows["observed"].append(value)
        rows["target_sd"].append(sd)
        for key, arr in (("prior", f_design[f]), ("post", f_post[f])):
            v = arr[np.isfinite(arr)]
            lo, hi = np.quantile(v, [0.025, 0.975])
            rows[f"{key}_lo"].append(float(lo))
            rows[f"{key}_hi"].append(float(hi))
            if key == "post":
                rows["post_median"].append(float(np.median(v)))
    rng = np.random.default_rng(seed + 2)
    shares = {key: [presentation_shares({k: q[k][i] for k in INPUTS + ("hb_replete_male",)})
                    for i in range(len(q["marrow_sensitivity"]))] for key, q in (("prior", p_design), ("post", p))}
    for name in PRESENTATION:  # posterior predictive: the closed form plus the share's logit-scale error
        value = evidence.value(name)
        sd = presentation_sd(name, value)
        rows["observed"].append(value)
        rows["target_sd"].append(sd)
        for key in ("prior", "post"):
            share = np.clip(np.array([one[name] for one in shares[key]]), 1e-9, 1 - 1e-9)
            logit = np.log(share / (1 - share)) + sd * rng.standard_normal(share.size)
            v = 1 / (1 + np.exp(-logit))
            lo, hi = np.quantile(v, [0.025, 0.975])
            rows[f"{key}_lo"].append(float(lo))
            rows[f"{key}_hi"].append(float(hi))
            if key == "post":
                rows["post_median"].append(float(np.median(v)))
    ds = xr.Dataset({k: ("feature", np.array(v)) for k, v in rows.items()},
                    coords={"feature": list(FEATURES + PRESENTATION)})
    ds["inside"] = (ds.observed >= ds.post_lo) & (ds.observed <= ds.post_hi)
    ds.attrs["note"] = ("(feature ranges of the reference patient simulated with the real engine, "
                        "without the readings' SD, and posterior predictive ranges of the Savage 1994 shares "
                        "(closed form with their logit-scale error); published values in the observed column):")
    return ds
