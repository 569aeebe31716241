"""Figures for decision support: the probability axis with its thresholds, and the cost of waiting.

Each figure draws a :class:`~b12sim.decision.result.Decision` it is given (this module
imports nothing else of ``b12sim.decision``). :data:`EXAMPLE` is the README's borderline
patient, for whom the answer depends on how long the test takes:
``write("figures", decide(EXAMPLE, turnaround=EXAMPLE_TURNAROUND))``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from b12sim.defaults import CALIBRATION

EXAMPLE = {"b12": 155, "age": 72}  # serum B12 155 pmol/L (210 pg/mL) alone, a 72-year-old woman
EXAMPLE_TURNAROUND = 7  # days to the test result in the example figures (the README's and the demo's)
TICKS = (0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99, 0.999)
ZONES = {"no_treatment": ("no treatment", "#9ecae1"), "test": ("test first", "#fdd49e"),
         "treat": ("treat now", "#fc9272")}


def _pct(q: float) -> str:
    if q < 0.1:
        return f"{100 * q:.2g}%"
    return f"{100 * q:.1f}%" if q > 0.99 else f"{100 * q:.0f}%"


def threshold(ax=None, decision=None, *, test: str | None = None):
    """The probability of deficiency as a decision axis (log-odds scale), for one test.

    ``test``: one of the decision's tests (default: the one with the highest net value).
    Top panel: the zones where not treating, testing first and treating now are best,
    the thresholds with their 95% intervals over parameter draws, and the patient's
    probability with its credible interval. Bottom panel: each option's expected net
    monetary benefit minus that of the better of treating now and not treating.
    Returns the figure. ``ax``: None, or a pair of Axes (top, bottom).
    """
    import matplotlib.pyplot as plt

    t = test or decision.best_test
    if ax is None:
        fig, ax = plt.subplots(2, 1, figsize=(8, 5.2), sharex=True, gridspec_kw={"height_ratios": [1, 2.2]})
    top, bottom = ax
    fig = top.figure
    row = decision.thresholds
    band = row["tests"][t]
    star, (lo, hi) = row["treat"], band["band"]
    label = decision.tests.loc[t, "label"]
    lim = (1e-3, 1 - 1e-3)
    edges = [lim[0], lo, hi, lim[1]] if hi > lo else [lim[0], star, star, lim[1]]
    for (a, b), key in zip(zip(edges[:-1], edges[1:]), ZONES):
        if b > a:
            top.axvspan(a, b, color=ZONES[key][1])
            top.text(np.sqrt(a * b) if b < 0.5 else (a + b) / 2, 0.78, ZONES[key][0], ha="center", va="center",
                     fontsize=9, transform=top.get_xaxis_transform())
    marks = [(star, row["treat_interval"], "treat threshold", "k")]
    if hi > lo:
        marks += [(lo, band["band_lo_interval"], "test band", "0.35"), (hi, band["band_hi_interval"], None, "0.35")]
    for y, (q, (a, b), name, color) in zip((0.45, 0.3, 0.3), marks):
        top.errorbar([q], [y], xerr=[[q - min(a, q)], [max(b, q) - q]], fmt="|", color=color, ms=14, capsize=3,
                     transform=top.get_xaxis_transform(), label=name)
    p_shown, plo, phi = np.clip([decision.p_deficient, *decision.interval], *lim)
    top.errorbar([p_shown], [0.12], xerr=[[max(p_shown - plo, 0.0)], [max(phi - p_shown, 0.0)]],
                 fmt="v", color="C3", ms=9, capsize=3, transform=top.get_xaxis_transform(), label="this patient")
    top.set_yticks([])
    top.set_title(f"{label} first (result in {band['turnaround_days']} days) or {decision.regimen} now: "
                  f"P(deficient) = {_pct(decision.p_deficient)}", fontsize=10)
    top.legend(loc="upper right", fontsize=7, ncol=3, framealpha=0.9, bbox_to_anchor=(1, 0.66))
    c = decision.curves[t]
    ref = np.maximum(c["none"], c["treat"])
    bottom.axhline(0, color="0.6", lw=0.8)
    bottom.plot(c["p"], c["none"] - ref, color="C0", lw=2, label="no treatment")
    bottom.plot(c["p"], c["treat"] - ref, color="C3", lw=2, label="treat now")
    bottom.plot(c["p"], c["test"] - ref, color="C1", lw=2, label=f"{label} first")
    span = max(100.0, 1.3 * float(np.max(c["test"] - ref)))
    bottom.set_ylim(-4 * span, span)
    bottom.axvline(p_shown, color="C3", ls=":", lw=1)
    bottom.set_xscale("logit")
    bottom.set_xlim(*lim)
    bottom.set_xticks(TICKS, [_pct(q) for q in TICKS])
    bottom.minorticks_off()
    bottom.set_xlabel("probability of true B12 deficiency (log-odds scale)")
    bottom.set_ylabel(f"expected net benefit vs the\nbetter of treat / not treat ({decision.currency})")
    bottom.legend(fontsize=8, loc="lower center")
    fig.text(0.01, 0.005, f"Willingness to pay {decision.wtp:,.0f} {decision.currency}/QALY; harm counted to day "
             f"{decision.horizon_days}, permanent deficit for life. b12sim: research and teaching, not medical advice.",
             fontsize=6.5, color="0.4")
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    return fig


def waiting(axes=None, decision=None):
    """The cost of waiting: nerve risk against treatment delay, and each test's net value against its turnaround.

    Left: P(permanent nerve deficit | deficient) by the horizon when treatment starts
    after a delay (mean and 95% interval over draws), test turnarounds marked. Right:
    value of each test's information minus the cost of waiting minus its price; above
    zero, testing first beats acting now. Returns the figure.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    left, right = axes
    fig = left.figure
    w = decision.waiting
    left.fill_between(w["delay_days"], w["p_permanent_lo"], w["p_permanent_hi"], color="C3", alpha=0.2,
                      label="95% interval over draws")
    left.plot(w["delay_days"], w["p_permanent_if_deficient"], color="C3", lw=2, label="mean")
    left.axhline(decision.p_permanent_untreated_if_deficient, color="0.4", ls="--", lw=1,
                 label=f"not treated by day {decision.horizon_days}")
    for i, (t, r) in enumerate(decision.tests.iterrows()):
        left.axvline(r["turnaround_days"], color=f"C{i}", ls=":", lw=1.2,
                     label=f"{r['label']} result (day {r['turnaround_days']})")
    left.set_xlabel(f"days until {decision.regimen} starts")
    left.set_ylabel(f"P(permanent nerve deficit) by day {decision.horizon_days}\nif deficient")
    left.set_ylim(0, None)
    left.legend(fontsize=7.5, loc="upper left")
    left.set_title("Harm of waiting, if deficient", fontsize=10)
    right.axhline(0, color="0.5", lw=0.8)
    for i, (t, r) in enumerate(decision.tests.iterrows()):
        right.plot(w["delay_days"], w[f"net_value_{t}"], color=f"C{i}", lw=2, label=r["label"])
        right.plot([r["turnaround_days"]], [r["net_value"]], "o", color=f"C{i}")
    right.set_xlabel("test turnaround (days)")
    right.set_ylabel(f"net value of testing first ({decision.currency})")
    right.set_title(f"Value of the test - cost of waiting - price; P(deficient) = {_pct(decision.p_deficient)}",
                    fontsize=10)
    right.legend(fontsize=8)
    fig.text(0.01, 0.005, f"Nerves: {CALIBRATION['nerves']}.\n"
             "b12sim: research and teaching, not medical advice.",
             fontsize=6.5, color="0.4")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def write(folder: str | Path, decision, *, test: str | None = "mma") -> list[Path]:
    """Write ``decision_threshold.png`` (for ``test``) and ``decision_waiting.png`` of ``decision`` into ``folder``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from b12sim.io import save_figure

    out = []
    with plt.style.context("default"):  # the same files from a notebook, whose backend sets its own rcParams
        for name, fig in (("decision_threshold.png", threshold(None, decision, test=test)),
                          ("decision_waiting.png", waiting(None, decision))):
            out.append(save_figure(fig, Path(folder) / name))
    return out
