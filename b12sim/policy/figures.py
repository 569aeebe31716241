"""Figures of a policy comparison: cost-effectiveness plane, acceptability curves, value of
information (EVPI, EVPPI) and deterministic sensitivity (tornado, two-way map)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from b12sim.errors import InputError


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


def evpi_plot(ax, result, wtp=None):
    """EVPI per person over willingness to pay, with a band of +-2 Monte Carlo standard errors,
    on ``ax`` (None: a new figure); returns the Axes."""
    ax = _axes(ax)
    v = result.evpi() if wtp is None else result.evpi(wtp)
    cur = result.outcomes.attrs.get("currency", "")
    ax.plot(v.index, v["evpi"], color="black", label="EVPI")
    if v["mcse"].notna().any():
        ax.fill_between(v.index, (v["evpi"] - 2 * v["mcse"]).clip(lower=0), v["evpi"] + 2 * v["mcse"], color="grey",
                        alpha=0.3, label="+-2 MCSE")
    ax.set_xlabel(f"willingness to pay ({cur} per QALY)")
    ax.set_ylabel(f"EVPI ({cur} per person)")
    ax.set_title(f"expected value of perfect information ({result.outcomes.attrs.get('draws', '?')} draws)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7)
    return ax


def evppi_plot(ax, result, groups, wtp, *, skip: bool = False):
    """EVPPI per person of parameter ``groups`` (names of :data:`compare.GROUPS` or lists of
    parameter names) at each ``wtp``, with the EVPI, on ``ax`` (None: a new figure); returns the
    Axes. ``skip``: leave out the groups the draws cannot estimate instead of raising."""
    ax = _axes(ax)
    cur = result.outcomes.attrs.get("currency", "")
    evpi = None
    for g in groups:
        try:
            v = result.evppi(g, wtp)
        except InputError:  # too many varying parameters for the draws (a linear fit needs ~10 per term)
            if not skip:
                raise
            continue
        ax.plot(v.index, v["evppi"], marker=".", label=g if isinstance(g, str) else ", ".join(g))
        evpi = v["evpi"]
    if evpi is not None:
        ax.plot(evpi.index, evpi, color="black", lw=2, alpha=0.4, label="EVPI (all parameters)")
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "too few draws to estimate any group\n(about 10 draws per parameter)",
                ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel(f"willingness to pay ({cur} per QALY)")
    ax.set_ylabel(f"EVPPI ({cur} per person)")
    ax.set_title("expected value of partial perfect information, by parameter group")
    ax.set_ylim(bottom=0)
    return ax


def tornado(ax, table, top: int = 15):
    """Tornado diagram of a one-way table (:meth:`Sensitivity.tornado`): for each factor a bar from
    the incremental NMB at its low end to that at its high end, widest at the top, around the base
    case; on ``ax`` (None: a new figure); returns the Axes."""
    t = table.head(top).iloc[::-1]
    ax = _axes(ax)
    base, a = table.attrs["base"], table.attrs
    y = np.arange(len(t))
    for col, colour, label in (("inmb_low", "tab:blue", "factor at its low end"),
                               ("inmb_high", "tab:orange", "factor at its high end")):
        ax.barh(y, t[col] - base, left=base, color=colour, alpha=0.8, label=label)
    ax.axvline(base, color="black", lw=1)
    if t[["inmb_low", "inmb_high"]].min().min() < 0 < t[["inmb_low", "inmb_high"]].max().max():
        ax.axvline(0, color="grey", lw=0.8, ls=":")  # where the decision changes

    def fmt(v):
        return "" if v != v else f"{v:.3g}"

    ax.set_yticks(y, [f"{f}  ({fmt(r['low'])} to {fmt(r['high'])})" if r["low"] == r["low"] else f"{f} (group)"
                      for f, r in t.iterrows()], fontsize=7)
    ax.set_xlabel(f"incremental NMB of {a['strategy']} vs {a['reference']} at {a['wtp']:,.0f} per QALY "
                  f"({a['currency']} per person)")
    ax.set_title("one-way sensitivity (everything else at its central value)")
    ax.legend(fontsize=7, loc="lower right")
    return ax


def two_way(ax, grid, wtp: float):
    """Map of the strategy with the highest NMB at ``wtp`` over a two-way grid (:meth:`Sensitivity.grid`),
    on ``ax`` (None: a new figure); returns the Axes."""
    ax = _axes(ax)
    names = sorted(set(grid.to_numpy().ravel()))
    codes = grid.map(names.index).to_numpy(float)
    cmap = _colormap(len(names))
    ax.pcolormesh(grid.columns.to_numpy(float), grid.index.to_numpy(float), codes, cmap=cmap, vmin=-0.5,
                  vmax=len(names) - 0.5, shading="nearest")
    from matplotlib.patches import Patch

    ax.legend([Patch(color=cmap(i)) for i in range(len(names))], names, fontsize=7)
    ax.set_xlabel(grid.columns.name)
    ax.set_ylabel(grid.index.name)
    ax.set_title(f"strategy with the highest net benefit at {wtp:,.0f} per QALY")
    return ax


def _colormap(n: int):
    """A qualitative colormap of ``n`` colours."""
    from matplotlib.colors import ListedColormap
    import matplotlib.pyplot as plt

    return ListedColormap([plt.get_cmap("tab10")(i % 10) for i in range(n)])


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

