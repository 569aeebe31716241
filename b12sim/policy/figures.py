"""Figures of a policy comparison: cost-effectiveness plane and acceptability curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def ce_plane(ax, result, reference=None, wtp: tuple[float, ...] = (20_000.0, 50_000.0)):
    """Incremental cost against incremental QALYs per draw, against ``reference`` (default: the ICER table's)."""
    ds = result.outcomes["outcomes"].to_dataset()
    ref = reference or result.icers().attrs["reference"]
    dc = ds["cost"] - ds["cost"].sel(strategy=ref)
    de = ds["qaly"] - ds["qaly"].sel(strategy=ref)
    for s in ds.strategy.values:
        if s == ref:
            continue
        ax.scatter(de.sel(strategy=s), dc.sel(strategy=s), s=6, alpha=0.4, label=s)
        ax.scatter(float(de.sel(strategy=s).mean()), float(dc.sel(strategy=s).mean()), marker="X", s=80,
                   edgecolor="black")
    lim = float(np.abs(de).max()) * 1.1 or 1.0
    for w in wtp:
        ax.plot([-lim, lim], [-lim * w, lim * w], ls=":", lw=1, color="grey")
        ax.annotate(f"{w:,.0f}/QALY", (lim, lim * w), fontsize=7, color="grey", ha="right")
    ax.axhline(0, color="black", lw=0.6)
    ax.axvline(0, color="black", lw=0.6)
    cur = result.outcomes.attrs.get("currency", "")
    ax.set_xlabel(f"incremental QALYs per person vs {ref}")
    ax.set_ylabel(f"incremental cost per person ({cur})")
    ax.set_title("cost-effectiveness plane (each dot a parameter draw; X the mean)")
    ax.legend(fontsize=7, markerscale=2)


def ceac_plot(ax, result, wtp=None):
    """CEAC of every strategy, with the frontier (CEAF) drawn thick."""
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


def save_all(result, folder, *, wtp=(20_000.0, 50_000.0)) -> list[Path]:
    """Write ``ce_plane.png`` and ``ceac.png`` into ``folder``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    out = []
    for name, draw in (("ce_plane.png", lambda ax: ce_plane(ax, result, wtp=wtp)),
                       ("ceac.png", lambda ax: ceac_plot(ax, result))):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        draw(ax)
        fig.tight_layout()
        path = Path(folder) / name
        fig.savefig(path, dpi=120)
        plt.close(fig)
        out.append(path)
    return out
