"""Figures for diagnosis, calibration and simulation (matplotlib; each function draws on an Axes)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from b12sim.defaults import DAYS_PER_YEAR


WIDGETS_MISSING = ("The sliders need ipywidgets, which is not installed: pip install 'b12sim[notebooks]' "
                   "(or pip install ipywidgets); the figure above is the default view.")


def widgets():
    """The ``ipywidgets`` module for a notebook's sliders, or None after printing :data:`WIDGETS_MISSING`
    (one line saying how to install it), so that a notebook without it still runs to the end:
    ``w = plots.widgets()`` then ``if w: w.interact(f, x=w.IntSlider(...))``."""
    try:
        import ipywidgets
    except ImportError:
        print(WIDGETS_MISSING)
        return None
    return ipywidgets


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4.5))
    return ax


def grid_table(b12, mma, **fixed) -> pd.DataFrame:
    """All combinations of B12 (pmol/L) and MMA (umol/L) with ``fixed`` other inputs."""
    bb, mm = np.meshgrid(b12, mma)
    df = pd.DataFrame({"b12": bb.ravel(), "mma": mm.ravel()})
    for k, v in fixed.items():
        df[k] = v
    return df


def probability_surface(ax=None, *, age=70.0, egfr=90.0, b12=(70, 450), mma=(0.08, 3.0), n=60,
                        posterior=None, draws=100, **covariates):
    """Filled contours of P(deficient) over serum B12 (pmol/L) x MMA (umol/L, log axis)."""
    from b12sim.diagnosis import diagnose

    ax = _axes(ax)
    bv = np.linspace(*b12, n)
    mv = np.geomspace(*mma, n)
    res = diagnose(grid_table(bv, mv, age=age, egfr=egfr, **covariates), posterior=posterior,
                   draws=draws, explain=False)
    p = res["p_deficient"].to_numpy().reshape(n, n)
    cs = ax.contourf(bv, mv, p, levels=np.linspace(0, 1, 11), cmap="RdYlBu_r")
    ax.contour(bv, mv, p, levels=[0.5], colors="k", linewidths=1.2)
    ax.set_yscale("log")
    ax.set_xlabel("serum B12 (pmol/L)")
    ax.set_ylabel("MMA (umol/L)")
    ax.set_title(f"P(true deficiency), age {age:g}, eGFR {egfr:g}")
    ax.figure.colorbar(cs, ax=ax, label="P(deficient)")
    return ax


def egfr_effect(ax=None, *, b12=180.0, age=70.0, egfrs=(90, 60, 30), mma=(0.1, 2.0), posterior=None, draws=100):
    """P(deficient) against MMA at a fixed B12, one curve per eGFR."""
    from b12sim.diagnosis import diagnose

    ax = _axes(ax)
    mv = np.geomspace(*mma, 60)
    for e in egfrs:
        df = pd.DataFrame({"b12": b12, "mma": mv, "age": age, "egfr": float(e)})
        res = diagnose(df, posterior=posterior, draws=draws, explain=False)
        line, = ax.plot(mv, res["p_deficient"], lw=2, label=f"eGFR {e}")
        for q in ("p_deficient_lo", "p_deficient_hi"):
            ax.plot(mv, res[q], color=line.get_color(), lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    ax.set_xlabel("MMA (umol/L)")
    ax.set_ylabel("P(true deficiency)")
    ax.set_title(f"Low eGFR makes a raised MMA less telling (B12 {b12:g} pmol/L)\n"
                 "lines: mean probability; dotted: 95% credible interval", fontsize=10)
    ax.legend()
    return ax


def contributions(ax=None, diagnosis=None, *, title=""):
    """Each marker's likelihood ratio for one :class:`Diagnosis`, two bars per marker: ``combined`` (its Shapley
    share of the evidence; these multiply up to the posterior over the prior odds) and ``alone`` (the marker
    against the prior on its own). Where the two differ, the marker's message depends on the others (a
    serum B12 that is low, but less low than the MMA implies, adds evidence alone and subtracts in
    combination); the log axis is labelled as multipliers of the odds (x0.3, x1, x3)."""
    from b12sim.diagnosis.result import LABELS, times

    ax = _axes(ax)
    items = sorted(diagnosis.contributions, key=lambda k: diagnosis.contributions[k])
    y = np.arange(len(items))
    both = {"combined": (diagnosis.contributions, -0.2, 1.0), "alone": (diagnosis.alone, 0.2, 0.45)}
    for label, (vals, shift, alpha) in both.items():
        v = np.array([vals[k] for k in items])
        ax.barh(y + shift, v, height=0.38, alpha=alpha, label=label,
                color=["#c0392b" if x > 0 else "#2471a3" for x in v])
        for yi, x in zip(y + shift, v):
            ax.annotate(times(x), (x, yi), xytext=(3 if x >= 0 else -3, 0), textcoords="offset points",
                        ha="left" if x >= 0 else "right", va="center", fontsize=7)
    ax.set_yticks(y, [LABELS[k] for k in items])
    ax.axvline(0, color="k", lw=0.8)
    lo, hi = ax.get_xlim()
    ticks = [t for t in np.log([0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100]) if lo <= t <= hi]
    ax.set_xticks(ticks, [f"x{math.exp(t):.2g}" for t in ticks])
    ax.set_xlim(lo - 0.15 * (hi - lo), hi + 0.15 * (hi - lo))  # room for the labels
    ax.set_xlabel("likelihood ratio: odds multiplier (> x1 towards deficiency)")
    from matplotlib.patches import Patch

    ax.legend([Patch(color="0.3"), Patch(color="0.3", alpha=0.45)],
              ["combined (these multiply up)", "alone (marker against the prior)"], fontsize=7, loc="best")
    ax.set_title(title or f"P = {diagnosis.p_deficient:.0%} (prior {diagnosis.p_prior:.0%})")
    return ax


def predictive_checks(ax=None, tree=None):
    """Each calibration target: observed value against the posterior predictive 95% interval.

    Values are shown relative to the observation (interval / observed) on a log axis.
    """
    ax = _axes(ax)
    ch = tree["checks"].to_dataset().to_dataframe()
    y = np.arange(len(ch))
    obs = ch["observed"].to_numpy()
    is_log = np.array([n.startswith(("kuzminski_log", "ganji_log", "ppi_log")) for n in ch.index])
    scale = lambda v: np.where(is_log, np.exp(v - obs), v / obs)  # noqa: E731
    lo, hi, med = scale(ch["post_lo"].to_numpy()), scale(ch["post_hi"].to_numpy()), scale(ch["post_median"].to_numpy())
    ax.hlines(y, lo, hi, color="#2471a3", lw=3, alpha=0.6, label="posterior predictive 95%")
    ax.plot(med, y, "o", color="#2471a3", ms=4)
    ax.axvline(1.0, color="k", lw=1, label="published value")
    ax.set_xscale("log")
    ax.set_xlim(0.25, 4)
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks(y, ch.index, fontsize=7)
    ax.set_xlabel("model / published")
    ax.set_title("Calibration targets reproduced")
    ax.legend(fontsize=7, loc="lower right")
    return ax


def reliability(ax=None, p=None, truth=None, *, bins=10, label="b12sim"):
    """Reliability curve: observed frequency of deficiency by bin of predicted probability."""
    ax = _axes(ax)
    p, truth = np.asarray(p, float), np.asarray(truth, float)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
    xs, ys, ns = [], [], []
    for b in range(bins):
        sel = idx == b
        if sel.sum():
            xs.append(p[sel].mean())
            ys.append(truth[sel].mean())
            ns.append(sel.sum())
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--")
    ax.plot(xs, ys, "o-", label=label)
    ax.set_xlabel("predicted P(deficient)")
    ax.set_ylabel("observed fraction deficient")
    ax.set_title("Reliability on synthetic people with known status")
    ax.legend()
    return ax


def versus_cb12(ax=None, table=None):
    """Our probability against cB12 with the published category bands."""
    from b12sim import evidence
    from b12sim.fedosov import CUTS

    ax = _axes(ax)
    for q in CUTS:
        ax.axvline(evidence.value(q), color="0.5", lw=0.8, ls=":")
    ax.scatter(table["cb12"], table["p_deficient"], s=8, alpha=0.5)
    ax.set_xlabel("cB12 (Fedosov, 4 markers)")
    ax.set_ylabel("P(true deficiency), b12sim")
    ax.set_title("Probability against cB12 categories")
    return ax


TRAJECTORY_LABELS = {
    "hb": "haemoglobin (g/L)", "reticulocytes": "reticulocytes (%)", "mcv": "MCV (fL)",
    "b12": "serum B12 (pmol/L)", "mma": "MMA (umol/L)", "hcy": "tHcy (umol/L)",
    "holotc": "holoTC (pmol/L)", "stores_ug": "body B12 (ug)",
    "nerve_severity": "clinical nerve involvement, mean severity (0 none - 1 severe)",
    "nerve_mild": "P(mild nerve involvement now)", "nerve_moderate": "P(moderate nerve involvement now)",
    "nerve_severe": "P(severe myelopathy now)", "p_permanent": "P(permanent nerve deficit)",
    "p_residual_severe": "P(moderate-severe permanent deficit)",
}


def trajectory(ax=None, ds=None, var="hb", *, person=0, label=None, color=None):
    """Median and 95% band over draws of one simulated output against day."""
    ax = _axes(ax)
    da = ds[var].isel(person=person)
    lo, med, hi = (da.quantile(q, "draw").values for q in (0.025, 0.5, 0.975))
    day = ds["day"].values
    line, = ax.plot(day, med, color=color, label=label or ds.attrs.get("regimen"))
    ax.fill_between(day, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
    if var == "hb":
        ax.axhline(float(ds["hb_normal"].isel(person=person)), color="grey", ls=":", lw=1)
    if var in ("mma", "b12", "stores_ug"):
        ax.set_yscale("log")
    ax.set_xlabel("day")
    ax.set_ylabel(TRAJECTORY_LABELS.get(var, var))
    return ax


def trajectories(results, variables=("hb", "reticulocytes", "mcv", "b12", "mma", "nerve_severity"),
                 *, person=0, title=""):
    """A grid of :func:`trajectory` panels, one line per simulation in ``results`` (list of Datasets)."""
    import matplotlib.pyplot as plt

    cols = 3
    rows = -(-len(variables) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.3 * rows), squeeze=False)
    for ax, var in zip(axes.ravel(), variables):
        for ds in results:
            trajectory(ax, ds, var, person=person)
    for ax in axes.ravel()[len(variables):]:
        ax.set_visible(False)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(title or "median and 95% interval over parameter draws")
    fig.tight_layout()
    return fig


def delay_risk(ax=None, table=None):
    """Permanent-deficit probability against treatment delay, one colour per regimen (:func:`delay_curve`): any
    permanent deficit (solid, with its 95% band) and a moderate-severe one (dashed), when the table has it."""
    ax = _axes(ax)
    for name, g in table.groupby("regimen", sort=False):
        line, = ax.plot(g["delay_days"], g["p_permanent"], marker="o", ms=3, label=f"{name}: any")
        ax.fill_between(g["delay_days"], g["lo"], g["hi"], color=line.get_color(), alpha=0.15, lw=0)
        if "p_residual_severe" in g:
            ax.plot(g["delay_days"], g["p_residual_severe"], ls="--", color=line.get_color(), lw=1,
                    label=f"{name}: moderate-severe")
    ax.axvline(DAYS_PER_YEAR / 4, color="grey", ls=":", lw=1)
    ax.text(DAYS_PER_YEAR / 4, 0.98, " 3 months", va="top", fontsize=8, color="grey", transform=ax.get_xaxis_transform())
    ax.set_xlabel("delay before treatment (days)")
    ax.set_ylabel("P(permanent nerve deficit)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    return ax
