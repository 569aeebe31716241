"""Diagnostic accuracy of one marker at one cut-off, as a published study would measure it.

In a population (ages, eGFR, risk flags) the marker model gives, for every latent store
``x`` on a grid, the probability that the test is positive (serum B12 or holoTC below the
cut-off; MMA or tHcy above it) and that the reference is positive (MMA above a cut-off, or
the model's own truth: stores below ``x_k``). Given ``x`` the two are independent (separate
measurements), so the population's 2x2 table is a sum over the grid, and sensitivity,
specificity, predictive values and likelihood ratios follow; the ROC curve sweeps the cut-off.
The same functions, written for ``xp = numpy`` or ``pytensor.tensor``, give the calibration's
accuracy targets (:mod:`b12sim.calibration.targets`) and :func:`accuracy`, over posterior draws.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr

from b12sim import units
from b12sim.diagnosis.core import _draws
from b12sim.errors import InputError
from b12sim.physiology import backend, grids
from b12sim.physiology import markers as mk
from b12sim.validation import number, whole

X_GRID = grids.store_nodes(grids.CALIBRATION_NODES)  # quadrature nodes: ln stores (ug) ...
Y_GRID = grids.Y_CALIBRATION  # ... and ln true folate (nmol/L)
LOW_IS_POSITIVE = {"b12": True, "holotc": True, "mma": False, "hcy": False}  # tested markers, direction
POPULATIONS = {  # named populations: uniform age (years) and eGFR (mL/min/1.73m2) ranges
    "adults": {"age": (30.0, 90.0), "egfr": (60.0, 110.0)},
    "older": {"age": (65.0, 90.0), "egfr": (40.0, 110.0)},
}
NODES = 5  # midpoint nodes over an age or eGFR range
STATS = ("sensitivity", "specificity", "ppv", "npv", "lr_pos", "lr_neg", "prevalence")


def normal_cdf(z, xp):
    """Standard normal CDF of ``z`` under numpy or PyTensor."""
    if xp is np:
        return ndtr(z)
    return 0.5 * (1.0 + xp.erf(z / math.sqrt(2.0)))


def _expand(p):
    """Parameters with one more trailing axis where they are arrays (draws), for (x, folate) grids."""
    return {k: v[..., None] if getattr(v, "ndim", 0) else v for k, v in p.items()}


def _normalise(lw, xp):
    w = xp.exp(lw - lw.max(axis=-1, keepdims=True))
    return w / w.sum(axis=-1, keepdims=True)


def x_weights(p, c, xp, *, age, risks=None, component="mixture"):
    """Normalised prior weights of the population on ``X_GRID`` (last axis; parameters may be (D, 1) arrays).

    ``component``: ``"mixture"`` (general population) or ``"depleting"`` (clinical deficiency cohort).
    """
    eq = backend.of(xp)
    a, _ = mk.covariates(age, mk.EGFR_REF)
    if component == "depleting":
        lw = eq.normal_log_density(X_GRID, p["mu_d"], p["sigma_d"])
    else:
        lw = eq.store_log_prior(X_GRID, eq.depleting_log_odds(a, risks or {}, p), eq.main_mean(a, risks or {}, p, c),
                                p["sigma_x"], p["mu_d"], p["sigma_d"])
    return _normalise(lw, xp)


def y_weights(p, xp):
    """Normalised prior weights of true folate on ``Y_GRID`` (last axis)."""
    return _normalise(backend.of(xp).normal_log_density(Y_GRID, p["mu_y"], p["sigma_y"]), xp)


def cdf_given_x(marker, value, p, c, xp, *, age, egfr):
    """P(marker < value | x) on ``X_GRID`` (folate integrated out for tHcy); ``value`` in canonical units."""
    eq = backend.of(xp)
    lv = math.log(value)
    if marker == "hcy":
        q = _expand(p)
        mu = eq.log_means(X_GRID[:, None], Y_GRID[None, :], age, egfr, q, c)["hcy"]
        cdf = normal_cdf((lv - mu) / eq.log_sds(q, c, *mk.covariates(age, egfr))["hcy"], xp)
        return (cdf * y_weights(q, xp)[..., None, :]).sum(axis=-1)
    mu = eq.log_means(X_GRID, 0.0, age, egfr, p, c)[marker]
    return normal_cdf((lv - mu) / eq.log_sds(p, c, *mk.covariates(age, egfr))[marker], xp)


def positive_given_x(marker, cutoff, p, c, xp, *, age, egfr):
    """P(test positive | x) on ``X_GRID``: ``marker`` below ``cutoff`` (B12, holoTC) or above it (MMA, tHcy)."""
    cdf = cdf_given_x(marker, cutoff, p, c, xp, age=age, egfr=egfr)
    return cdf if LOW_IS_POSITIVE[marker] else 1.0 - cdf


def reference_given_x(reference: str, p, c, xp, *, age, egfr):
    """P(reference positive | x) on ``X_GRID``: ``"deficient"`` (stores below ``x_k``, smoothed over 0.02
    ln-units) or ``"mma>V"`` (MMA above V umol/L, :func:`parse_reference`)."""
    kind, v = parse_reference(reference)
    if kind == "deficient":
        return normal_cdf((p["x_k"] - X_GRID) / 0.02, xp)
    return 1.0 - cdf_given_x("mma", v, p, c, xp, age=age, egfr=egfr)


def table(marker, cutoff, reference, p, c, xp, *, nodes, risks=None):
    """Population shares ``(tp, fp, fn, tn)`` of the 2x2 table, summed over the population ``nodes``
    (``(age, egfr, weight)``, weights summing to 1)."""
    tp = fp = fn = tn = 0.0
    for age, egfr, wk in nodes:
        w = wk * x_weights(p, c, xp, age=age, risks=risks)
        t = positive_given_x(marker, cutoff, p, c, xp, age=age, egfr=egfr)
        r = reference_given_x(reference, p, c, xp, age=age, egfr=egfr)
        tp = tp + (w * t * r).sum(axis=-1)
        fp = fp + (w * t * (1.0 - r)).sum(axis=-1)
        fn = fn + (w * (1.0 - t) * r).sum(axis=-1)
        tn = tn + (w * (1.0 - t) * (1.0 - r)).sum(axis=-1)
    return tp, fp, fn, tn


def statistics(tp, fp, fn, tn) -> dict:
    """:data:`STATS` from the 2x2 shares (LR+ = sens / (1 - spec), LR- = (1 - sens) / spec)."""
    sens, spec = tp / (tp + fn), tn / (tn + fp)
    return {"sensitivity": sens, "specificity": spec, "ppv": tp / (tp + fp), "npv": tn / (tn + fn),
            "lr_pos": sens / (1.0 - spec), "lr_neg": (1.0 - sens) / spec, "prevalence": tp + fn}


def roc(marker, reference, p, c, *, nodes, cutoffs, risks=None):
    """True- and false-positive rates at each of ``cutoffs`` (numpy; arrays (..., K)) and the AUC (trapezoid)."""
    tpr, fpr = [], []
    for k in cutoffs:
        tp, fp, fn, tn = table(marker, float(k), reference, p, c, np, nodes=nodes, risks=risks)
        tpr.append(tp / (tp + fn))
        fpr.append(fp / (fp + tn))
    tpr, fpr = np.stack(tpr, axis=-1), np.stack(fpr, axis=-1)
    order = np.argsort(fpr, axis=-1)
    f, t = np.take_along_axis(fpr, order, -1), np.take_along_axis(tpr, order, -1)
    f = np.concatenate([np.zeros(f.shape[:-1] + (1,)), f, np.ones(f.shape[:-1] + (1,))], axis=-1)
    t = np.concatenate([np.zeros(t.shape[:-1] + (1,)), t, np.ones(t.shape[:-1] + (1,))], axis=-1)
    return tpr, fpr, (0.5 * (t[..., 1:] + t[..., :-1]) * np.diff(f, axis=-1)).sum(axis=-1)


def auc(marker, reference, p, c, *, nodes, risks=None, n_cut: int = 200):
    """Area under the ROC curve of ``marker`` for ``reference`` (cut-offs swept log-evenly over the assay range)."""
    lo, hi = units.quantity(marker).hard
    return roc(marker, reference, p, c, nodes=nodes, cutoffs=np.geomspace(lo, hi, n_cut), risks=risks)[2]


def auc_store_marker(marker, reference, p, c, xp, *, nodes, risks=None):
    """AUC of serum B12 or holoTC (low is positive) for ``reference`` in the population ``nodes``, exactly on the
    grid and differentiable (numpy or PyTensor): both markers depend on stores alone, so the reference-positive
    and -negative people pool over the nodes into weights on ``X_GRID``, and a positive person's value is below
    a negative one's with probability ``Phi((mu(x') - mu(x)) / (sqrt(2) sd))``."""
    pos = neg = 0.0
    for age, egfr, wk in nodes:
        w = wk * x_weights(p, c, xp, age=age, risks=risks)
        r = reference_given_x(reference, p, c, xp, age=age, egfr=egfr)
        pos, neg = pos + w * r, neg + w * (1.0 - r)
    eq = backend.of(xp)
    mu = eq.log_means(X_GRID, 0.0, mk.AGE_REF, mk.EGFR_REF, p, c)[marker]
    sd = eq.log_sds(p, c, *mk.covariates(mk.AGE_REF, mk.EGFR_REF))[marker]
    below = normal_cdf((mu[..., None, :] - mu[..., :, None]) / (math.sqrt(2.0) * sd[..., None]), xp)  # (.., G, G')
    num = (pos[..., :, None] * neg[..., None, :] * below).sum(axis=(-1, -2))
    return num / (pos.sum(axis=-1) * neg.sum(axis=-1))


def parse_reference(reference) -> tuple[str, float]:
    """``("deficient", nan)`` or ``("mma", V)`` from ``"deficient"`` or ``"mma>V"`` (V umol/L); InputError otherwise."""
    allowed = "'deficient' or 'mma>V' with V in umol/L from 0.1 to 5 (e.g. 'mma>0.271')"
    if not isinstance(reference, str):
        raise InputError("reference", reference, allowed)
    s = reference.strip().lower().replace(" ", "")
    if s == "deficient":
        return "deficient", math.nan
    m = re.fullmatch(r"mma>([0-9]*\.?[0-9]+)", s)
    if not m:
        raise InputError("reference", reference, allowed)
    v = float(m.group(1))
    if not 0.1 <= v <= 5.0:
        raise InputError("reference", reference, allowed)
    return "mma", v


def population_nodes(population, per_axis: int = NODES) -> list[tuple[float, float, float]]:
    """``(age, egfr, weight)`` nodes of a named population (:data:`POPULATIONS`) or a mapping with ``age`` and
    ``egfr``, each a number or a ``(lo, hi)`` uniform range (``per_axis`` midpoint nodes)."""
    if isinstance(population, str):
        if population not in POPULATIONS:
            raise InputError("population", population, f"one of {', '.join(POPULATIONS)} or a mapping with age and egfr")
        population = POPULATIONS[population]
    if not isinstance(population, dict) or set(population) - {"age", "egfr"}:
        raise InputError("population", population, "a name or a mapping with the keys age and egfr")
    axes = []
    for key, lo, hi in (("age", 18.0, 100.0), ("egfr", 5.0, 150.0)):
        v = population.get(key, POPULATIONS["adults"][key])
        if isinstance(v, tuple | list) and len(v) == 2:
            a, b = (number(f"population.{key}", u, lo, hi) for u in v)
            if a > b:
                raise InputError(f"population.{key}", v, "a range (lo, hi) with lo <= hi")
            axes.append(a + (b - a) * (np.arange(per_axis) + 0.5) / per_axis if b > a else np.array([a]))
        else:
            axes.append(np.array([number(f"population.{key}", v, lo, hi)]))
    w = 1.0 / (axes[0].size * axes[1].size)
    return [(float(a), float(e), w) for a in axes[0] for e in axes[1]]


@dataclass(frozen=True)
class Accuracy:
    """Result of :func:`accuracy`: ``summary`` (statistic x median / 95% interval over draws), the ROC curve
    (``roc``: cut-off, median TPR and FPR with intervals) and the settings."""

    marker: str
    cutoff: float
    reference: str
    population: object
    summary: pd.DataFrame
    roc: pd.DataFrame

    def __repr__(self) -> str:
        head = (f"{self.marker} {'<' if LOW_IS_POSITIVE[self.marker] else '>'} {self.cutoff:g} "
                f"{units.quantity(self.marker).unit} against {self.reference} ({self.population})")
        return head + "\n" + self.summary.round(3).to_string() + "\nResearch and teaching only: not medical advice."

    def plot_roc(self, ax=None):
        """The ROC curve (median and 95% band over draws) with the chosen cut-off marked; returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(4.5, 4.5))
        r = self.roc
        ax.fill_between(r["fpr"], r["tpr_lo"], r["tpr_hi"], alpha=0.25, label="95% interval")
        ax.plot(r["fpr"], r["tpr"], label=f"{self.marker} (AUC {self.summary.loc['auc', 'median']:.2f})")
        s = self.summary
        ax.plot(1 - s.loc["specificity", "median"], s.loc["sensitivity", "median"], "o", color="k",
                label=f"cut-off {self.cutoff:g} {units.quantity(self.marker).unit}")
        ax.plot([0, 1], [0, 1], ":", color="grey")
        ax.set(xlabel="1 - specificity", ylabel="sensitivity", xlim=(0, 1), ylim=(0, 1),
               title=f"{self.marker} against {self.reference}")
        ax.legend(loc="lower right", fontsize="small")
        return ax


def accuracy(marker: str, cutoff: float, *, reference: str = "mma>0.271", population="adults",
             risks: dict | None = None, draws: int = 200, posterior=None) -> Accuracy:
    """Sensitivity, specificity, PPV, NPV, LR+, LR-, prevalence and AUC of ``marker`` at ``cutoff`` (canonical
    units: B12 and holoTC pmol/L, MMA umol/L, tHcy umol/L) against ``reference`` in ``population``, with medians
    and 95% intervals over ``draws`` posterior draws of the marker model.

    ``reference``: ``"mma>V"`` (MMA above V umol/L, the usual published reference) or ``"deficient"`` (the
    model's latent deficiency). ``population``: ``"adults"``, ``"older"`` or a mapping with ``age`` and ``egfr``
    (numbers or ranges). ``risks``: risk flags (name -> 0/1) applied to everyone. Research and teaching only.
    """
    if marker not in LOW_IS_POSITIVE:
        raise InputError("marker", marker, f"one of {', '.join(LOW_IS_POSITIVE)}")
    q = units.quantity(marker)
    cutoff = number("cutoff", cutoff, *q.hard, allowed=f"a {marker} cut-off from {q.hard[0]:g} to {q.hard[1]:g} "
                                                      f"{q.unit} (the accepted input range)")
    parse_reference(reference)
    nodes = population_nodes(population)
    if risks is not None:
        if not isinstance(risks, dict) or set(risks) - set(mk.RISKS):
            raise InputError("risks", risks, f"a mapping of {', '.join(mk.RISKS)} to 0 or 1")
        risks = {k: number(f"risks.{k}", v, 0.0, 1.0) for k, v in risks.items()}
    dr = _draws(posterior, whole("draws", draws, 1, 10_000))
    c = dr.const
    p = {k: v[:, None] for k, v in dr.params.items()}
    st = statistics(*table(marker, cutoff, reference, p, c, np, nodes=nodes, risks=risks))
    lo, hi = q.hard
    cuts = np.geomspace(lo, hi, 120)
    tpr, fpr, area = roc(marker, reference, p, c, nodes=nodes, cutoffs=cuts, risks=risks)
    st["auc"] = area
    rows = {k: (np.median(v), *np.quantile(v, [0.025, 0.975])) for k, v in st.items()}
    summary = pd.DataFrame.from_dict(rows, orient="index", columns=["median", "lo", "hi"])
    summary.index.name = "statistic"
    band = np.quantile(tpr, [0.5, 0.025, 0.975], axis=0)
    curve = pd.DataFrame({"cutoff": cuts, "fpr": np.median(fpr, axis=0), "tpr": band[0], "tpr_lo": band[1],
                          "tpr_hi": band[2]}).sort_values("fpr", ignore_index=True)
    return Accuracy(marker, cutoff, reference, population, summary, curve)
