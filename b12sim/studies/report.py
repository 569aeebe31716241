"""The validation report: counts, a table, a forest plot of published against predicted, markdown."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def counts(results: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """``use`` -> (rows inside the model's 95% interval, rows)."""
    return {u: (int(g["inside"].sum()), len(g)) for u, g in results.groupby("use", sort=False)}


def summary_line(results: pd.DataFrame) -> str:
    """One line with the counts, calibration rows first."""
    c = counts(results)
    parts = [f"{c[u][0]} of {c[u][1]} {u} rows inside the model's 95% interval" for u in ("calibration", "validation")
             if u in c]
    return "; ".join(parts)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    a = abs(v)
    return f"{v:,.0f}" if a >= 100 else f"{v:.3g}"


def table(results: pd.DataFrame) -> pd.DataFrame:
    """The results as text columns: study, outcome, published (interval or n), model (95%), inside, use."""
    rows = []
    for r in results.to_dict("records"):
        pub = _fmt(r["published"])
        if not math.isnan(r["published_lo"]):
            pub += f" ({_fmt(r['published_lo'])}-{_fmt(r['published_hi'])})"
        elif not math.isnan(r["n"]):
            pub += f" (n {r['n']:,.0f})"
        rows.append({"id": r["id"], "area": r["area"], "study": r["study"], "outcome": f"{r['outcome']} @ day {r['day']}",
                     "unit": r["unit"], "published": pub,
                     "model (95%)": f"{_fmt(r['model'])} ({_fmt(r['model_lo'])}-{_fmt(r['model_hi'])})",
                     "inside": "yes" if r["inside"] else "no", "use": r["use"]})
    return pd.DataFrame(rows)


def markdown(results: pd.DataFrame, *, draws: int, people: int, seed: int) -> str:
    """A short report: what was run, the counts, and the table."""
    t = table(results)
    head = "| " + " | ".join(t.columns) + " |\n|" + "---|" * len(t.columns) + "\n"
    body = "".join("| " + " | ".join(str(v).replace("|", "/") for v in row) + " |\n" for row in t.to_numpy())
    return ("# b12sim: the model against published studies\n\n"
            f"{summary_line(results)}.\n\n"
            f"Each study's population is drawn as it enrolled ({people} synthetic people), given its arms, measured "
            f"as it measured, over {draws} parameter draws (seed {seed}); the model's interval holds parameter "
            "uncertainty and the sampling error of a study of the published size. `calibration` rows were used to "
            "fit the model; `validation` rows were not.\n\n" + head + body)


def forest(results: pd.DataFrame):
    """Forest plot: the model's median and 95% interval relative to each published value
    (``(model - published) / |published|``; absolute when the published value is 0), one row per result."""
    import matplotlib.pyplot as plt

    n = len(results)
    fig, ax = plt.subplots(figsize=(9, 0.32 * n + 1.6))
    lim = (-1.0, 3.0)
    for i, r in enumerate(results.to_dict("records")):
        y = n - 1 - i
        scale = abs(r["published"]) or 1.0
        lo, mid, hi = ((np.array([r["model_lo"], r["model"], r["model_hi"]]) - r["published"]) / scale)
        color = ("tab:green" if r["inside"] else "tab:red") if r["use"] == "validation" else "tab:grey"
        ax.plot(np.clip([lo, hi], *lim), [y, y], color=color, lw=2.5, solid_capstyle="butt")
        ax.plot(np.clip(mid, *lim), y, "o", color=color, ms=4)
        for v, mark in ((lo, "<"), (hi, ">")):
            if (mark == "<" and v < lim[0]) or (mark == ">" and v > lim[1]):
                ax.plot(lim[0] if mark == "<" else lim[1], y, mark, color=color, ms=6)
    ax.axvline(0, color="black", lw=1)
    labels = [f"{r['id']}: {r['outcome']}"[:72] + (" (absolute)" if r["published"] == 0 else "")
              for r in results.to_dict("records")]
    ax.set_yticks(range(n - 1, -1, -1), labels, fontsize=7)
    ax.set_xlim(lim[0] - 0.1, lim[1] + 0.1)
    ax.set_xlabel("model relative to the published value: (model - published) / |published|  (0 = agreement)")
    ax.set_title("the model against published studies\n" + summary_line(results).replace("; ", "\n")
                 + "\ngrey: used in calibration; green: validation, inside the 95% interval; red: outside", fontsize=9)
    fig.tight_layout()
    return fig
