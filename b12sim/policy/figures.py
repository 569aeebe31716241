"""Figures of a policy comparison: cost-effectiveness plane and acceptability curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 4.5))
    return ax


def ce_plane(ax, result, reference=None, wtp: tuple[float, ...] = (20_000.0, 50_000.0)):
    """Incremental cost against incremental QALYs per draw, against ``reference`` (default: the ICER table's),
    on ``ax`` (None: a new figure); returns the Axes."""
    ax = _axes(ax)
    ds = result.outcomes["outcomes"].to_dataset()
    ref = reference or result.icers().attrs["reference"]
    dc = ds["cost"] - ds["cost"].sel(strategy=ref)
    de = ds["qaly"] - ds["qaly"].sel(strategy=ref)
    for s in ds.strategy.values:
        if s == ref:
            continue
        x, y = de.sel(strategy=s), dc.sel(strategy=s)
        dots = ax.scatter(x, y, s=6, alpha=0.4, label=s)
        ax.scatter(float(x.mean()), float(y.mean()), marker="X", s=80, color=dots.get_facecolor()[0][:3],
                   edgecolor="black")
    xs = np.append(de.to_numpy().ravel(), 0.0)
    ys = np.append(dc.to_numpy().ravel(), 0.0)
    xpad = (xs.max() - xs.min()) * 0.1 or 0.01
    ypad = (ys.max() - ys.min()) * 0.1 or 1.0
    xlim, ylim = (xs.min() - xpad, xs.max() + xpad), (ys.min() - ypad, ys.max() + ypad)
    for w, ls in zip(wtp, (":", "--", "-.")):  # willingness-to-pay lines, clipped to the data's window
        ax.plot(xlim, [xlim[0] * w, xlim[1] * w], ls=ls, lw=1, color="grey", label=f"{w:,.0f} per QALY")
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    ax.axhline(0, color="black", lw=0.6)
    ax.axvline(0, color="black", lw=0.6)
    cur = result.outcomes.attrs.get("currency", "")
    ax.set_xlabel(f"incremental QALYs per person vs {ref}")
    ax.set_ylabel(f"incremental cost per person ({cur})")
    ax.set_title("cost-effectiveness plane (each dot a parameter draw; X the mean)")
    ax.legend(fontsize=7, markerscale=2)
    return ax


def ceac_plot(ax, result, wtp=None):
    """CEAC of every strategy, with the frontier (CEAF) drawn thick, on ``ax`` (None: a new figure); returns the Axes."""
    ax = _axes(ax)
    curves = result.ceac() if wtp is None else result.ceac(wtp)
    front = result.ceaf(curves.index.to_numpy())
    for s in curves.columns:
        ax.plot(curves.index, curves[s], label=s)
    ax.plot(front.index, front["probability"], color="black", lw=3, alpha=0.3, label="frontier (CEAF)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"willingness to pay ({result.outcomes.attrs.get('currency', '')} per QALY)")
    ax.set_ylabel("probability cost-effective")
    ax.set_title("cost-effectiveness acceptability")
    ax.legend(fontsize=7)
    return ax


def save_all(result, folder, *, wtp=(20_000.0, 50_000.0), reference=None) -> list[Path]:
    """Write ``ce_plane.png`` (against ``reference``, default the ICER table's) and ``ceac.png``
    into ``folder``, each atomically; returns their paths."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from b12sim.io import save_figure

    out = []
    for name, draw in (("ce_plane.png", lambda ax: ce_plane(ax, result, reference, wtp=wtp)),
                       ("ceac.png", lambda ax: ceac_plot(ax, result))):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        draw(ax)
        fig.tight_layout()
        out.append(save_figure(fig, Path(folder) / name, dpi=120))
    return out
