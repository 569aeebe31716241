"""Calibration of the marker model to published aggregates (PyMC, NUTS via nutpie).

``calibrate()`` builds the PyMC model (priors below, likelihood from
:mod:`b12sim.calibration.targets`), samples it, checks convergence and returns a
DataTree with the posterior, prior draws, diagnostics and predictive checks. The
shipped file ``b12sim/posteriors/markers.nc`` is its output with the default
settings; ``b12sim calibrate`` rebuilds it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from b12sim import evidence
from b12sim.calibration import targets as tg
from b12sim.physiology import markers as mk


@dataclass(frozen=True)
class Observation:
    """One published statistic and how it enters the likelihood.

    ``kind``: ``"logit"`` (proportion, logit-normal), ``"quantile"`` (probability
    below a published median ~ N(0.5, sd)), ``"log"`` (log mean ~ normal),
    ``"prob"`` (probability ~ normal), ``"counts"`` (band fractions, multinomial).
    """

    name: str
    kind: str
    observed: float
    sd: float
    source: str


def _logit_sd(p: float, n: float, tau: float) -> float:
    return math.sqrt(1.0 / (n * p * (1 - p)) + tau**2)


def observations() -> list[Observation]:
    """The calibration data, read from the evidence tables."""
    ev = evidence.value
    deff = ev("survey_design_effect")
    tau_l, tau_q, tau_log = (ev("aggregate_discrepancy_logit"), ev("aggregate_discrepancy_quantile"),
                             ev("aggregate_discrepancy_sd"))
    obs = []
    n_tot = sum(n for *_, n in tg.nhanes_bands())
    for name, _, _, n in tg.nhanes_bands():
        obs.append(Observation(f"nhanes_frac_{name}", "logit", n / n_tot, _logit_sd(n / n_tot, n_tot / deff, tau_l),
                               "nhanes_n_b12_" + name))
        n_eff = n / deff
        obs.append(Observation(f"nhanes_mma_median_{name}", "quantile", 0.5,
                               math.sqrt(0.25 / n_eff + tau_q**2), f"nhanes_mma_median_b12_{name}"))
        # tHcy medians were published to whole umol/L: add the rounding error (uniform +-0.5
        # umol/L, carried to probability through a conditional log-SD of about 0.3)
        m = ev(f"nhanes_hcy_median_b12_{name}")
        rnd = (0.5 / m) / math.sqrt(3) * 0.4 / 0.3
        obs.append(Observation(f"nhanes_hcy_median_{name}", "quantile", 0.5,
                               math.sqrt(0.25 / n_eff + tau_q**2 + rnd**2), f"nhanes_hcy_median_b12_{name}"))
    for m in ("mma", "hcy"):
        p = ev(f"savage_{m}_elevated")
        n = evidence.row(f"savage_{m}_elevated")["n"]
        obs.append(Observation(f"savage_{m}_elevated", "logit", p, _logit_sd(p, n, tau_l), f"savage_{m}_elevated"))
    n_o, n_i = 18, 15
    pooled = {
        "b12": (n_o * ev("kuzminski_b12_oral_baseline") + n_i * ev("kuzminski_b12_im_baseline"))
        / (n_o + n_i) * 1000 / ev("cobalamin_molar_mass"),
        "mma": (n_o * ev("kuzminski_mma_oral_baseline") + n_i * ev("kuzminski_mma_im_baseline")) / (n_o + n_i),
        "hcy": (n_o * ev("kuzminski_hcy_oral_baseline") + n_i * ev("kuzminski_hcy_im_baseline")) / (n_o + n_i),
    }
    for m, v in pooled.items():
        cv = ev("clinical_cohort_cv_b12") if m == "b12" else ev("clinical_cohort_cv")
        obs.append(Observation(f"kuzminski_log_mean_{m}", "log", math.log(v),
                               math.sqrt(cv**2 / (n_o + n_i) + tau_log**2), f"kuzminski_{m}_*_baseline"))
    row = evidence.row("kuzminski_folate_deficient")
    p = row["value"] / row["n"]
    obs.append(Observation("kuzminski_folate_deficient", "logit", p, _logit_sd(p, row["n"], tau_l),
                           "kuzminski_folate_deficient"))
    tau_a = ev("accuracy_discrepancy_logit")  # between-study SD of published accuracy statistics
    for k in ("sensitivity", "specificity"):
        r = evidence.row(f"heil_{k}")
        obs.append(Observation(f"heil_{k}", "logit", r["value"], _logit_sd(r["value"], r["n"], tau_a), f"heil_{k}"))
    for k in ("65_74", "75plus"):
        r = evidence.row(f"clarke_low_b12_{k}")
        obs.append(Observation(f"clarke_low_b12_{k}", "logit", r["value"], _logit_sd(r["value"], r["n"], tau_l),
                               f"clarke_low_b12_{k}"))
    for k in ("young", "old"):
        obs.append(Observation(f"ganji_log_gm_{k}", "log", math.log(ev(f"ganji_mma_gm_{k}")), tau_log,
                               f"ganji_mma_gm_{k}"))
    for arm in ("placebo", "treated"):
        r = evidence.row(f"metformin_low_b12_{arm}")
        obs.append(Observation(f"metformin_low_b12_{arm}", "logit", r["value"],
                               _logit_sd(r["value"], r["n"], tau_l), f"metformin_low_b12_{arm}"))
    r = evidence.row("low_b12_not_deficient")
    obs.append(Observation("low_b12_not_deficient", "logit", r["value"],
                           math.hypot(r["uncertainty"] / (r["value"] * (1 - r["value"])), tau_l),
                           "low_b12_not_deficient"))
    obs.append(Observation("vegan_deficient", "prob", ev("vegan_deficiency_prevalence"),
                           evidence.uncertainty("vegan_deficiency_prevalence"), "vegan_deficiency_prevalence"))
    obs.append(Observation("ppi_log_or", "log", math.log(ev("ppi_odds_ratio")),
                           math.sqrt(evidence.uncertainty("ppi_odds_ratio") ** 2 + tau_l**2), "ppi_odds_ratio"))
    # serum B12 and holoTC in community cohorts aged 60 and over, and published diagnostic accuracy
    n, tau_c = evidence.row("risch_holotc_median_senior")["n"], ev("cohort_discrepancy_quantile")
    obs.append(Observation("risch_holotc_median", "quantile", 0.5, math.sqrt(0.25 / n + tau_c**2),
                           "risch_holotc_median_senior"))
    p, n_d = ev("obeid_accuracy_at_cut"), ev("obeid_n_deficient")
    n_tot = evidence.row("obeid_holotc_sens90_cut")["n"]
    for k, n in (("sensitivity", n_d), ("specificity", n_tot - n_d)):
        obs.append(Observation(f"obeid_{k}", "logit", p, _logit_sd(p, n, tau_a), "obeid_accuracy_at_cut"))
    tau_auc, cases = ev("accuracy_discrepancy_auc"), ev("clarke_case_share")
    for m in ("b12", "holotc"):
        r = evidence.row(f"clarke_auc_{m}_all")
        se = math.sqrt(r["value"] * (1 - r["value"]) / (cases * r["n"]))  # Hanley-McNeil order of magnitude
        obs.append(Observation(f"clarke_auc_{m}", "prob", r["value"], math.hypot(se, tau_auc), f"clarke_auc_{m}_all"))
    return obs


def statistic(name: str, pred: dict, xp=np):
    """Model value of an observation from the :func:`targets.predictions` dict."""
    if name == "ppi_log_or":
        lo = lambda q: xp.log(q) - xp.log1p(-q)  # noqa: E731
        return lo(pred["ppi_deficient"]) - lo(pred["base_deficient_60"])
    return pred[name]


def _beta_from_mean_sd(mean: float, sd: float) -> tuple[float, float]:
    k = mean * (1 - mean) / sd**2 - 1
    return mean * k, (1 - mean) * k


def build_model():
    """The PyMC calibration model (imports PyMC)."""
    import pymc as pm
    import pytensor.tensor as pt

    ev = evidence.value
    c = mk.Constants.load()
    med_b12 = math.sqrt(ev("nhanes_b12_cut_low") * ev("nhanes_b12_cut_high")) * 1.5
    lo_s, hi_s = math.log(ev("body_store_range_low_ug")), math.log(ev("body_store_range_high_ug"))
    renal_gap = ev("renal_quartile_log_egfr_gap")
    mma_ref = math.exp(tg.log_ref_limit("ref_mma_low", "ref_mma_high", 0))
    hcy_ref = math.exp(tg.log_ref_limit("ref_hcy_low", "ref_hcy_high", 0))
    with pm.Model() as model:
        p = {
            # replete component: spread from the IOM store range taken as +-2 SD
            "sigma_x": pm.LogNormal("sigma_x", math.log((hi_s - lo_s) / 4), 0.3),
            "gamma_age": pm.Normal("gamma_age", 0.0, 0.1),
            "mu_d": pm.Normal("mu_d", c.ln_s_med - 1.5, 0.7),
            "sigma_d": pm.LogNormal("sigma_d", math.log(0.5), 0.4),
            "pi0": pm.Normal("pi0", -4.0, 1.0),
            "pi_age": pm.Normal("pi_age", 0.3, 0.3),
            "x_k": pm.Normal("x_k", c.ln_s_med - 1.2, 0.7),
            "n_hinge": pm.LogNormal("n_hinge", math.log(2.0), 0.5),
            "b0": pm.Normal("b0", math.log(med_b12), 0.5),
            "kappa_t": pm.TruncatedNormal("kappa_t", ev("holotc_elasticity"),
                                          evidence.uncertainty("holotc_elasticity"), lower=0.3, upper=3.0),
            "m0": pm.Normal("m0", math.log(mma_ref), 0.3),
            "a_m": pm.LogNormal("a_m", math.log(1.5), 0.5),
            "bm_age": pm.Normal("bm_age", 0.05, 0.1),
            "bm_renal": pm.Normal("bm_renal", math.log1p(ev("renal_mma_increase") / mma_ref) / renal_gap, 0.4),
            "h0": pm.Normal("h0", math.log(hcy_ref), 0.3),
            "a_h": pm.LogNormal("a_h", math.log(0.7), 0.5),
            "bh_age": pm.Normal("bh_age", 0.05, 0.1),
            "bh_renal": pm.Normal("bh_renal", math.log1p(ev("renal_hcy_increase") / hcy_ref) / renal_gap, 0.4),
            "c_f": pm.TruncatedNormal("c_f", ev("folate_hcy_slope"), evidence.uncertainty("folate_hcy_slope"),
                                      lower=0.0),
            "mu_y": pm.Normal("mu_y", math.log(ev("folate_median")), 0.3),
            "sigma_y": pm.LogNormal("sigma_y", math.log(ev("folate_sd_log")), 0.3),
            # between-person SDs: every marker has one (binding proteins, genetics,
            # diet), so the prior keeps them away from zero
            **{k: pm.LogNormal(k, math.log(0.25), 0.5) for k in ("s_m", "s_h", "s_f")},
            # serum B12 = holoTC + haptocorrin-bound B12, each with its own between-person SD
            "s_t": pm.LogNormal("s_t", math.log(ev("holotc_between_sd_prior")),
                                evidence.uncertainty("holotc_between_sd_prior") / ev("holotc_between_sd_prior")),
            "s_c": pm.LogNormal("s_c", math.log(ev("haptocorrin_between_sd_prior")),
                                evidence.uncertainty("haptocorrin_between_sd_prior")
                                / ev("haptocorrin_between_sd_prior")),
            # MMA's between-person SD: growth per decade and per unit ln(90/eGFR) (log scale), from the lasting
            # contribution unrelated to B12 (markers.mma_between_sd)
            **{k: pm.Normal(k, ev(f"mma_{k}_prior"), evidence.uncertainty(f"mma_{k}_prior"))
               for k in ("sm_age", "sm_renal")},
            "delta_vegan": pm.Normal("delta_vegan", -0.5, 0.5),
            "delta_metformin": pm.Normal("delta_metformin", -0.2, 0.3),
            "delta_ppi": pm.Normal("delta_ppi", -0.2, 0.3),
        }
        a, b = _beta_from_mean_sd(ev("holotc_share_nexo"), evidence.uncertainty("holotc_share_nexo"))
        share = pm.Beta("holotc_share", a, b)  # holoTC / serum B12 at the median store
        p["t0"] = pm.Deterministic("t0", p["b0"] + pt.log(share))
        p["s_b"] = pm.Deterministic("s_b", mk.b12_between_sd(share, p["s_t"], p["s_c"]))
        pm.Deterministic("kappa_c", mk.haptocorrin_slope(p["kappa_t"], share))
        for k in mk.RISKS_DEPLETING:
            a, b = _beta_from_mean_sd(ev(f"{k}_deficiency_prevalence"), evidence.uncertainty(f"{k}_deficiency_prevalence"))
            p[f"p_{k}"] = pm.Beta(f"p_{k}", a, b)
        pred = tg.predictions(p, c, pt)
        eps = 1e-9
        for o in observations():
            val = pm.Deterministic(f"pred_{o.name}", statistic(o.name, pred, pt))
            if o.kind == "logit":
                val = pt.clip(val, eps, 1 - eps)
                val = pt.log(val) - pt.log1p(-val)
                target = math.log(o.observed / (1 - o.observed))
            else:
                target = o.observed
            pm.Normal(f"obs_{o.name}", mu=val, sigma=o.sd, observed=target)
    return model


def calibrate(*, draws: int = 1000, tune: int = 1000, chains: int = 4, seed: int = 20261124,
              progress: bool = True):
    """Fit the marker model to the evidence and return the calibration DataTree.

    Groups: ``posterior`` (parameters and predicted statistics), ``prior``,
    ``diagnostics`` (R-hat, bulk/tail ESS per parameter; divergences, wall time in
    attrs) and ``checks`` (each observation against its prior and posterior
    prediction). Imports PyMC; takes a few minutes on 2 cores.
    """
    from b12sim.calibration import sampling

    model = build_model()
    names = list(mk.PARAMS) + ["holotc_share", "kappa_c"]
    post, diag = sampling.sample(model, names, draws=draws, tune=tune, chains=chains, seed=seed, progress=progress)
    keep = names + [v for v in post.data_vars if v.startswith("pred_")]
    prior_ds = sampling.prior(model, keep, draws=draws, seed=seed)
    return sampling.tree({"posterior": post[keep], "prior": prior_ds, "diagnostics": diag,
                          "checks": predictive_checks(post, prior_ds)},
                         "b12sim marker model", "b12sim.calibration.markers.calibrate")


def predictive_checks(post, prior):
    """Observed statistic against its prior and posterior predictive intervals (95%).

    The posterior interval of a statistic adds its observation noise (the ``sd`` of
    the likelihood), so ``inside`` says whether the published value is plausible
    under the fitted model.
    """
    import xarray as xr

    rows = {k: [] for k in ("observed", "post_median", "post_lo", "post_hi", "prior_lo", "prior_hi", "z")}
    names = []
    rng = np.random.default_rng(0)
    for o in observations():
        key = f"pred_{o.name}"
        val = post[key].to_numpy().ravel()
        pri = prior[key].to_numpy().ravel()
        if o.kind == "logit":
            f = lambda v: np.log(np.clip(v, 1e-12, 1 - 1e-12) / (1 - np.clip(v, 1e-12, 1 - 1e-12)))  # noqa: E731
            inv = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
        else:
            f = inv = lambda v: v  # noqa: E731
        rep = inv(f(val) + rng.normal(0, o.sd, val.size))
        obs = o.observed
        names.append(o.name)
        rows["observed"].append(obs)
        rows["post_median"].append(float(np.median(val)))
        lo, hi = np.quantile(rep, [0.025, 0.975])
        rows["post_lo"].append(float(lo))
        rows["post_hi"].append(float(hi))
        plo, phi = np.nanquantile(pri, [0.025, 0.975])
        rows["prior_lo"].append(float(plo))
        rows["prior_hi"].append(float(phi))
        rows["z"].append(float((f(np.median(val)) - f(obs)) / o.sd))
    ds = xr.Dataset({k: ("observation", np.asarray(v)) for k, v in rows.items()},
                    coords={"observation": names})
    ds["inside"] = (ds.observed >= ds.post_lo) & (ds.observed <= ds.post_hi)
    return ds
