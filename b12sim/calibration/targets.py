"""Published aggregates the marker model must reproduce, as functions of its parameters.

Each target is a population (age, eGFR, mixture of latent states) and a statistic
(a band probability, a median, a mean, a proportion above a cut). The functions are
written once for ``xp = numpy`` (checks, reports) and ``xp = pytensor.tensor``
(the calibration likelihood); the latent state is integrated on fixed grids
(:mod:`b12sim.diagnosis.accuracy`, which also computes the diagnostic-accuracy targets as the
published studies did: same reference, cut-offs, ages and eGFR).
"""

from __future__ import annotations

import math

import numpy as np

from b12sim import evidence
from b12sim.diagnosis import accuracy as acc
from b12sim.diagnosis.accuracy import X_GRID, Y_GRID, normal_cdf, cdf_given_x, x_weights, y_weights
from b12sim.physiology import backend
from b12sim.physiology import markers as mk

def band_prob(lo, hi, p, c, xp, *, age, egfr):
    """Per-node P(lo <= serum B12 < hi | x) (pmol/L; None = open end)."""
    up = cdf_given_x("b12", hi, p, c, xp, age=age, egfr=egfr) if hi else 1.0
    dn = cdf_given_x("b12", lo, p, c, xp, age=age, egfr=egfr) if lo else 0.0
    return up - dn


def mean_given_x(marker, p, c, xp, *, age, egfr):
    """E[marker | x] on ``X_GRID`` in canonical units (lognormal mean)."""
    sd = backend.of(xp).log_sds(p, c, *mk.covariates(age, egfr))[marker]
    if marker == "hcy":
        mu = backend.of(xp).log_means(X_GRID[:, None], Y_GRID[None, :], age, egfr, p, c)["hcy"]
        return (xp.exp(mu + sd**2 / 2) * y_weights(p, xp)[None, :]).sum(axis=1)
    mu = backend.of(xp).log_means(X_GRID, 0.0, age, egfr, p, c)[marker]
    return xp.exp(mu + sd**2 / 2)


def nhanes_bands():
    """The Bailey 2013 serum B12 bands: (name, lo, hi, n) in pmol/L."""
    ev = evidence.value
    lo, hi = ev("nhanes_b12_cut_low"), ev("nhanes_b12_cut_high")
    return [("low", None, lo, ev("nhanes_n_b12_low")),
            ("mid", lo, hi, ev("nhanes_n_b12_mid")),
            ("high", hi, None, ev("nhanes_n_b12_high"))]


def log_ref_limit(low: str, high: str, k_sd: float) -> float:
    """ln of the (mean + k SD) limit when a reference range is mean +- 2 SD on the log scale."""
    lo, hi = math.log(evidence.value(low)), math.log(evidence.value(high))
    return (lo + hi) / 2 + k_sd * (hi - lo) / 4


def predictions(p, c, xp=np):
    """Model-implied value of every calibration statistic, keyed by target name.

    Medians enter as ``P(X < published median | band)`` (0.5 if matched); the others
    are proportions, log means or log geometric means.
    """
    ev = evidence.value
    out = {}
    age_n = ev("nhanes_age_mean")
    w = x_weights(p, c, xp, age=age_n)
    for name, lo, hi, _ in nhanes_bands():
        pb = band_prob(lo, hi, p, c, xp, age=age_n, egfr=mk.EGFR_REF)
        mass = (w * pb).sum()
        out[f"nhanes_frac_{name}"] = mass
        for marker in ("mma", "hcy"):
            med = ev(f"nhanes_{marker}_median_b12_{name}")
            cdf = cdf_given_x(marker, med, p, c, xp, age=age_n, egfr=mk.EGFR_REF)
            out[f"nhanes_{marker}_median_{name}"] = (w * pb * cdf).sum() / mass

    age_c, egfr_c = ev("clinical_cohort_age"), ev("clinical_cohort_egfr")
    wd = x_weights(p, c, xp, age=age_c, component="depleting")
    mma3 = math.exp(log_ref_limit("ref_mma_low", "ref_mma_high", 3))
    hcy3 = math.exp(log_ref_limit("ref_hcy_low", "ref_hcy_high", 3))
    out["savage_mma_elevated"] = 1 - (wd * cdf_given_x("mma", mma3, p, c, xp, age=age_c, egfr=egfr_c)).sum()
    out["savage_hcy_elevated"] = 1 - (wd * cdf_given_x("hcy", hcy3, p, c, xp, age=age_c, egfr=egfr_c)).sum()
    for marker in ("b12", "mma", "hcy"):
        m = (wd * mean_given_x(marker, p, c, xp, age=age_c, egfr=egfr_c)).sum()
        out[f"kuzminski_log_mean_{marker}"] = xp.log(m)
    sd_f = backend.of(xp).log_sds(p, c, *mk.covariates(age_c, egfr_c))["folate"]
    out["kuzminski_folate_deficient"] = normal_cdf(
        (c.ln_fol_def - p["mu_y"]) / xp.sqrt(p["sigma_y"] ** 2 + sd_f**2), xp)

    age_h, egfr_h = ev("hospital_age"), ev("hospital_egfr")
    wh = x_weights(p, c, xp, age=age_h)
    t_low = cdf_given_x("holotc", ev("heil_holotc_cutoff"), p, c, xp, age=age_h, egfr=egfr_h)
    m_low = cdf_given_x("mma", ev("heil_mma_reference"), p, c, xp, age=age_h, egfr=egfr_h)
    out["heil_sensitivity"] = (wh * t_low * (1 - m_low)).sum() / (wh * (1 - m_low)).sum()
    out["heil_specificity"] = (wh * (1 - t_low) * m_low).sum() / (wh * m_low).sum()

    cut = ev("clarke_low_b12_cut")
    for name, age in (("65_74", 70.0), ("75plus", 82.0)):
        wa = x_weights(p, c, xp, age=age)
        out[f"clarke_low_b12_{name}"] = (wa * cdf_given_x("b12", cut, p, c, xp, age=age, egfr=mk.EGFR_REF)).sum()

    for name, age, egfr in (("young", 25.0, mk.EGFR_REF), ("old", 77.0, ev("old_adult_egfr"))):
        wa = x_weights(p, c, xp, age=age)
        mu = backend.of(xp).log_means(X_GRID, 0.0, age, egfr, p, c)["mma"]
        out[f"ganji_log_gm_{name}"] = (wa * mu).sum()

    mcut = ev("metformin_low_b12_cut")
    for arm, risks in (("placebo", {}), ("treated", {"metformin": 1.0})):
        wa = x_weights(p, c, xp, age=51.0, risks=risks)
        out[f"metformin_low_b12_{arm}"] = (wa * cdf_given_x("b12", mcut, p, c, xp, age=51.0, egfr=mk.EGFR_REF)).sum()

    ind = normal_cdf((p["x_k"] - X_GRID) / 0.02, xp)  # P(x < x_k) on the grid, smoothed over 0.02 ln-units
    for k in ("vegan", "ppi"):
        wa = x_weights(p, c, xp, age=60.0, risks={k: 1.0})
        out[f"{k}_deficient"] = (wa * ind).sum()
    age_f = ev("falsely_low_population_age")
    wf = x_weights(p, c, xp, age=age_f)
    low = wf * cdf_given_x("b12", ev("low_b12_cut"), p, c, xp, age=age_f, egfr=mk.EGFR_REF)
    out["low_b12_not_deficient"] = (low * (1 - ind)).sum() / low.sum()
    w0 = x_weights(p, c, xp, age=60.0)
    out["base_deficient_60"] = (w0 * ind).sum()

    age_s, egfr_s = ev("senior_age"), ev("old_adult_egfr")  # community cohorts aged 60 and over
    ws = x_weights(p, c, xp, age=age_s)
    out["risch_holotc_median"] = (ws * cdf_given_x("holotc", ev("risch_holotc_median_senior"), p, c, xp, age=age_s,
                                                   egfr=egfr_s)).sum()
    older = acc.population_nodes({"age": (65.0, 90.0), "egfr": (40.0, 110.0)}, per_axis=3)  # Clarke 2007
    for m in ("b12", "holotc"):
        out[f"clarke_auc_{m}"] = acc.auc_store_marker(m, f"mma>{ev('clarke_mma_reference')}", p, c, xp, nodes=older)
    lab = [(ev("lab_referral_age"), ev("lab_referral_egfr"), 1.0)]
    ref = f"mma>{ev('obeid_mma_reference')}"
    st = acc.statistics(*acc.table("holotc", ev("obeid_holotc_sens90_cut"), ref, p, c, xp, nodes=lab))
    out["obeid_sensitivity"] = st["sensitivity"]
    st = acc.statistics(*acc.table("holotc", ev("obeid_holotc_spec90_cut"), ref, p, c, xp, nodes=lab))
    out["obeid_specificity"] = st["specificity"]
    return out
