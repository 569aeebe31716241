"""The marker model: one latent cobalamin state and the laboratory values it produces.

Each equation is defined once here, with named arguments, and run as written on numpy
arrays, compiled by numba into the scoring and simulation kernels, or on PyTensor
tensors in the calibrations (:mod:`b12sim.physiology.backend`). The functions taking a
parameter mapping ``p`` compose those equations for the numpy and PyTensor callers.

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

Serum B12 is holoTC plus haptocorrin-bound B12. At the median store holoTC is the share
``f = e^(t0 - b0)`` of it (:func:`holotc_share`); each part has its own slope in ``x`` and
its own between-person SD (holoTC ``s_t``, haptocorrin-bound ``s_c``). To first order in the
parts' log deviations, ln serum B12 moves by ``f`` times holoTC's and ``1 - f`` times the
haptocorrin part's, so its between-person SD is ``s_b`` (:func:`b12_between_sd`) and its
residual shares ``f s_t^2`` with holoTC's (:func:`b12_holotc_cov`). The store scale keeps serum
B12's slope at 1 (the kinetics read stores off serum B12), which sets the haptocorrin part's
slope (:func:`haptocorrin_slope`).
* MMA        = m0 + bm_age a + bm_renal r + a_m D(x), with a between-person SD that grows with age and
  falling eGFR, ``s_m exp(sm_age a + sm_renal r)`` (:func:`mma_between_sd`): a lasting per-person
  contribution unrelated to B12 (renal handling beyond eGFR, gut propionate, genetic variants), normal on
  the log scale, whose mean rises with age and falling eGFR (``bm_age``, ``bm_renal``) and whose spread does
  too. ln MMA given the stores is then normal with the same SD whatever the stores, so its likelihood
  ratio is monotone: a higher MMA never lowers the probability of deficiency. The wider spread in older
  and renally impaired people keeps a raised MMA from nearly always meaning low stores there, as published
  accuracy studies find (Clarke 2007, Willis 2011).
* tHcy       = h0 + bh_age a + bh_renal r + a_h D(x) + c_f softplus(ln F_h - y)
* folate     = y

Forms for the scorers
---------------------
The mixture prior in logs (:func:`depleting_logit`, the log-odds of :func:`depleting_share`;
:func:`component_log_weights`; :func:`store_log_prior`) and the conjugate update of a normal
prior by results linear in the latent value (:func:`posterior_variance`, :func:`posterior_mean`,
:func:`evidence_terms`, :func:`log_evidence`), used alike by the numpy scorers and the kernels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from b12sim import evidence
from b12sim.physiology.primitives import exp, log, maximum, softplus, sqrt

MARKERS = ("b12", "holotc", "mma", "hcy", "folate")
RISKS_SHIFT = ("vegan", "metformin", "ppi")
RISKS_DEPLETING = ("pernicious_anaemia", "ileal_resection", "bariatric")
RISKS = RISKS_SHIFT + RISKS_DEPLETING

AGE_REF = 50.0  # years; centring only
EGFR_REF = 90.0  # mL/min/1.73m2; KDIGO G1 boundary, no renal effect above it
LN_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)

# parameter names carried by a posterior draw (scalars)
PARAMS = (
    "sigma_x", "gamma_age", "mu_d", "sigma_d", "pi0", "pi_age", "x_k", "n_hinge",
    "b0", "t0", "kappa_t", "m0", "a_m", "bm_age", "bm_renal",
    "h0", "a_h", "bh_age", "bh_renal", "c_f", "mu_y", "sigma_y",
    "s_b", "s_t", "s_m", "s_h", "s_f", "s_c",
    "sm_age", "sm_renal",
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


def covariates(age, egfr):
    """Centred age in decades and the renal term ``max(0, ln(90/eGFR))`` (age years, eGFR mL/min/1.73m2)."""
    a = (age - AGE_REF) / 10.0
    r = maximum(0.0, log(EGFR_REF / egfr))
    return a, r


def deficit(x, x_k, n_hinge):
    """B12 metabolic deficit ``D(x) = softplus(n (x_k - x)) / n`` (dimensionless, >= 0) at ln stores ``x`` (ug)."""
    return softplus(n_hinge * (x_k - x)) / n_hinge


def folate_deficit(y, ln_fol_hinge):
    """Folate metabolic deficit ``softplus(ln F_h - y)`` (dimensionless) at ln true folate ``y`` (nmol/L)."""
    return softplus(ln_fol_hinge - y)


def log_b12(x, b0, ln_s_med):
    """ln serum B12 (pmol/L) expected at ln stores ``x`` (ug)."""
    return b0 + (x - ln_s_med)


def log_holotc(x, t0, kappa_t, ln_s_med):
    """ln holoTC (pmol/L) expected at ln stores ``x`` (ug)."""
    return t0 + kappa_t * (x - ln_s_med)


def b12_with_recent(x, recent_ug, b0, serum_per_ug_recent, ln_s_med):
    """Serum B12 (pmol/L) with a recent pool: the value at ln body total ``x`` (stores and recent pool,
    ug) plus ``serum_per_ug_recent`` (pmol/L per ug) for each ug in the recent pool ``recent_ug``."""
    return exp(log_b12(x, b0, ln_s_med)) + serum_per_ug_recent * recent_ug


def holotc_share(t0, b0):
    """Share of serum B12 carried by holoTC at the median store, ``e^(t0 - b0)`` (dimensionless)."""
    return exp(t0 - b0)


def haptocorrin_slope(kappa_t, share):
    """Slope in ln stores of ln haptocorrin-bound B12 that keeps serum B12's slope at 1 to first order:
    ``(1 - share kappa_t) / (1 - share)`` (holoTC slope ``kappa_t``, holoTC share ``share``)."""
    return (1.0 - share * kappa_t) / (1.0 - share)


def b12_between_sd(share, s_t, s_c):
    """Between-person SD of ln serum B12 (log units) from those of holoTC ``s_t`` and of the
    haptocorrin-bound part ``s_c``, to first order: ``sqrt((share s_t)^2 + ((1 - share) s_c)^2)``."""
    return sqrt((share * s_t) ** 2 + ((1.0 - share) * s_c) ** 2)


def b12_holotc_cov(share, s_t):
    """Covariance (log units^2) of the residuals of ln serum B12 and ln holoTC in one person: the
    holoTC part they share, ``share s_t^2`` (within-person errors are independent)."""
    return share * s_t**2


def pair_weights(slope_b, slope_t, var_b, var_t, cov):
    """Serum B12 and holoTC measured together: weights ``(w_b, w_t)`` of their residuals in the
    information about ln stores and its precision (``Sigma^-1 s`` and ``s' Sigma^-1 s`` for slopes
    ``s`` and residual covariance ``Sigma``; ln-units^-2)."""
    det = var_b * var_t - cov * cov
    w_b = (slope_b * var_t - slope_t * cov) / det
    w_t = (slope_t * var_b - slope_b * cov) / det
    return w_b, w_t, slope_b * w_b + slope_t * w_t


def holotc_with_recent(x, recent_ug, t0, kappa_t, b0, serum_per_ug_recent, ln_s_med):
    """holoTC (pmol/L) with a recent pool: the value at ln body total ``x`` (ug) plus the recent pool's
    serum B12 share in the ratio of holoTC to serum B12 at the median store."""
    return exp(log_holotc(x, t0, kappa_t, ln_s_med)) + serum_per_ug_recent * exp(t0 - b0) * recent_ug


def log_mma(d, a, r, m0, bm_age, bm_renal, a_m):
    """ln MMA (umol/L) expected at B12 deficit ``d``, centred age ``a`` and renal term ``r``."""
    return m0 + bm_age * a + bm_renal * r + a_m * d


def mma_between_sd(a, r, s_m, sm_age, sm_renal):
    """Between-person SD (log units) of ln MMA at centred age ``a`` and renal term ``r``: ``s_m`` at 50 y and
    eGFR >= 90 times ``exp(sm_age a + sm_renal r)`` (the lasting contribution unrelated to B12 spreads more
    in older and renally impaired people)."""
    return s_m * exp(sm_age * a + sm_renal * r)


def mma_log_lik(v, mean, isd):
    """ln likelihood of ln MMA ``v`` (umol/L) with expected value ``mean`` (:func:`log_mma`) and inverse total SD
    ``isd`` (log units^-1), up to a constant that does not depend on the stores (at most 0)."""
    e = (v - mean) * isd
    return -0.5 * e * e


def log_hcy(d, dfol, a, r, h0, bh_age, bh_renal, a_h, c_f):
    """ln tHcy (umol/L) expected at B12 deficit ``d`` and folate deficit ``dfol``."""
    return h0 + bh_age * a + bh_renal * r + a_h * d + c_f * dfol


def total_sd(within, between):
    """SD of a log marker from its within-person and between-person SDs."""
    return sqrt(within**2 + between**2)


def store_mean(a, vegan, metformin, ppi, ln_s_med, gamma_age, delta_vegan, delta_metformin, delta_ppi):
    """Mean ln store (ug) of the non-depleting component at centred age ``a``; risk flags 0/1."""
    return ln_s_med + gamma_age * a + delta_vegan * vegan + delta_metformin * metformin + delta_ppi * ppi


def depleting_base_logit(a, pi0, pi_age):
    """Background log-odds of the depleting component at centred age ``a`` (no named cause)."""
    return pi0 + pi_age * a


def cause_free(pernicious_anaemia, ileal_resection, bariatric, p_pernicious_anaemia, p_ileal_resection, p_bariatric):
    """Probability that none of the named causes present (flags 0/1) puts a person in the depleting component."""
    return ((1.0 - p_pernicious_anaemia * pernicious_anaemia) * (1.0 - p_ileal_resection * ileal_resection)
            * (1.0 - p_bariatric * bariatric))


def depleting_share(a, pernicious_anaemia, ileal_resection, bariatric, pi0, pi_age,
                    p_pernicious_anaemia, p_ileal_resection, p_bariatric):
    """Probability ``pi`` of the depleting (malabsorption) component: the age-based background
    ``1 / (1 + exp(-z))`` (:func:`depleting_base_logit`), raised by each named cause present (flags 0/1)."""
    base = 1.0 / (1.0 + exp(-depleting_base_logit(a, pi0, pi_age)))
    keep = cause_free(pernicious_anaemia, ileal_resection, bariatric, p_pernicious_anaemia, p_ileal_resection,
                      p_bariatric)
    return 1.0 - (1.0 - base) * keep


def depleting_logit(z, keep):
    """:func:`depleting_share` as log-odds ``ln(pi / (1 - pi)) = ln(e^z + 1 - keep) - ln(keep)``, from the
    background log-odds ``z`` (:func:`depleting_base_logit`) and ``keep`` (:func:`cause_free`)."""
    return log(exp(z) + 1.0 - keep) - log(keep)


def component_log_weights(lo):
    """``(ln(1 - pi), ln(pi))``, the log weights of the main and the depleting component, from the
    log-odds ``lo`` of the depleting one (:func:`depleting_logit`)."""
    sp = softplus(lo)
    return -sp, lo - sp


def normal_log_density(v, mean, sd):
    """ln density of ``v`` under a normal of mean ``mean`` and SD ``sd`` (a prior component of ln stores,
    a log marker's noise; units of ``v``)."""
    return -0.5 * ((v - mean) / sd) ** 2 - (log(sd) + LN_SQRT_2PI)


def store_log_prior(x, lo, mu, sigma_x, mu_d, sigma_d):
    """ln prior density of ln stores ``x`` (ug): the main component N(``mu``,
    ``sigma_x``) and the depleting one N(``mu_d``, ``sigma_d``), the latter with log-odds ``lo``."""
    lw_main, lw_dep = component_log_weights(lo)
    main = lw_main + normal_log_density(x, mu, sigma_x)
    dep = lw_dep + normal_log_density(x, mu_d, sigma_d)
    return main + softplus(dep - main)


def depleting_posterior(x, lo, mu, sigma_x, mu_d, sigma_d):
    """Probability that a person with ln stores ``x`` (ug) is in the depleting component, the prior of
    :func:`store_log_prior` (the markers depend on ``x`` alone, so this is also the probability given
    their results and ``x``)."""
    lw_main, lw_dep = component_log_weights(lo)
    z = lw_dep + normal_log_density(x, mu_d, sigma_d) - lw_main - normal_log_density(x, mu, sigma_x)
    return exp(-softplus(-z))  # 1 / (1 + e^-z), without overflow for very negative z


def posterior_variance(s0, prec):
    """Posterior variance ``s0^2 / (1 + s0^2 prec)`` of a latent value with a normal prior of SD ``s0``
    given results of precision ``prec`` about it (each result's slope^2 / SD^2; ln-units^-2)."""
    return s0**2 / (1.0 + s0**2 * prec)


def evidence_terms(s0, prec):
    """``(l, k)`` of the log evidence ``l - k g^2`` of those results (:func:`log_evidence`); ``prec > 0``."""
    q = 1.0 + s0**2 * prec
    return -0.5 * log(q), 0.5 / (prec * q)


def posterior_mean(m0, h, prec, v):
    """Posterior mean of a latent value with a normal prior of mean ``m0`` given results of precision
    ``prec`` and information ``h`` about it (the sum over them of slope * (value - intercept) / SD^2);
    ``v``: :func:`posterior_variance`."""
    return m0 + (h - prec * m0) * v


def log_evidence(m0, h, prec, l, k):
    """Log marginal likelihood of those results under the prior of :func:`posterior_mean`, less
    ``h^2 / (2 prec)`` (shared by priors updated by the same results): ``l - k g^2``, ``g = h - prec m0``."""
    g = h - prec * m0
    return l - k * g * g


def log_means(x, y, age, egfr, p, c: Constants):
    """Expected log marker values (log canonical units) given the latent state.

    ``x``: ln stores (ug); ``y``: ln true folate (nmol/L); ``age`` years; ``egfr``
    mL/min/1.73m2; ``p``: mapping of parameter arrays/scalars. Broadcasting applies.
    """
    a, r = covariates(age, egfr)
    d = deficit(x, p["x_k"], p["n_hinge"])
    return {
        "b12": log_b12(x, p["b0"], c.ln_s_med),
        "holotc": log_holotc(x, p["t0"], p["kappa_t"], c.ln_s_med),
        "mma": log_mma(d, a, r, p["m0"], p["bm_age"], p["bm_renal"], p["a_m"]),
        "hcy": log_hcy(d, folate_deficit(y, c.ln_fol_hinge), a, r, p["h0"], p["bh_age"], p["bh_renal"], p["a_h"],
                       p["c_f"]),
        "folate": y,
    }


BETWEEN = {"b12": "s_b", "holotc": "s_t", "mma": "s_m", "hcy": "s_h", "folate": "s_f"}  # marker -> parameter


def between_sds(p, a, r):
    """Between-person SD (log units) of each log marker; MMA's at centred age ``a`` and renal term ``r``
    (:func:`mma_between_sd`)."""
    return {m: mma_between_sd(a, r, p[k], p["sm_age"], p["sm_renal"]) if m == "mma" else p[k]
            for m, k in BETWEEN.items()}


def log_sds(p, c: Constants, a, r):
    """Total SD of each log marker at centred age ``a`` and renal term ``r``: within-person and between-person
    parts combined (:func:`between_sds`)."""
    return {m: total_sd(c.within[m], s) for m, s in between_sds(p, a, r).items()}


def b12_holotc_residual_cov(p):
    """:func:`b12_holotc_cov` for a parameter mapping ``p``."""
    return b12_holotc_cov(holotc_share(p["t0"], p["b0"]), p["s_t"])


def shares_residual(m1, m2) -> bool:
    """Whether results of markers ``m1`` and ``m2`` of one person have correlated residuals (:func:`residual_cov`)."""
    return m1 == m2 or {m1, m2} == {"b12", "holotc"}


def residual_cov(m1, m2, p, c: Constants, same_occasion, a, r):
    """Covariance (log units^2) of the residuals (value less :func:`log_means`) of markers ``m1`` and ``m2`` of
    one person at centred age ``a`` and renal term ``r``: a marker with itself, its total variance on the same
    occasion and its between-person variance on another; serum B12 with holoTC, :func:`b12_holotc_cov`
    (within-person errors are independent); otherwise 0."""
    if m1 == m2:
        return log_sds(p, c, a, r)[m1] ** 2 if same_occasion else between_sds(p, a, r)[m1] ** 2
    return b12_holotc_residual_cov(p) if shares_residual(m1, m2) else 0.0


def log_residuals(z, p, c: Constants, a, r):
    """Each log marker's deviation from its mean (:func:`log_means`) given independent standard normal
    draws ``z`` (marker -> array) at centred age ``a`` and renal term ``r``: SDs of :func:`log_sds`, serum
    B12's correlated with holoTC's (:func:`b12_holotc_cov`)."""
    sds = log_sds(p, c, a, r)
    out = {m: sds[m] * z[m] for m in MARKERS}
    cov = b12_holotc_residual_cov(p)
    beta = cov / sds["holotc"] ** 2
    out["b12"] = beta * out["holotc"] + sqrt(sds["b12"] ** 2 - beta * cov) * z["b12"]
    return out


def main_mean(a, risks, p, c: Constants):
    """:func:`store_mean` for a mapping ``risks`` (name -> 0/1 value or array; absent names count as 0)."""
    return store_mean(a, *(risks.get(k, 0.0) for k in RISKS_SHIFT), c.ln_s_med, p["gamma_age"],
                      *(p[f"delta_{k}"] for k in RISKS_SHIFT))


def depleting_prob(a, risks, p):
    """:func:`depleting_share` for a mapping ``risks`` (name -> 0/1 value or array; absent names count as 0)."""
    return depleting_share(a, *(risks.get(k, 0.0) for k in RISKS_DEPLETING), p["pi0"], p["pi_age"],
                           *(p[f"p_{k}"] for k in RISKS_DEPLETING))


def depleting_log_odds(a, risks, p):
    """:func:`depleting_logit` for a mapping ``risks`` (name -> 0/1 value or array; absent names count as 0)."""
    return depleting_logit(depleting_base_logit(a, p["pi0"], p["pi_age"]),
                           cause_free(*(risks.get(k, 0.0) for k in RISKS_DEPLETING),
                                      *(p[f"p_{k}"] for k in RISKS_DEPLETING)))
