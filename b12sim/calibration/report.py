"""Plain-text report of a calibration: convergence and predictive checks."""

from __future__ import annotations

import xarray as xr


def report(tree: xr.DataTree) -> str:
    """Convergence diagnostics and observed-vs-predicted table of a calibration DataTree."""
    diag = tree["diagnostics"].to_dataset()
    a = diag.attrs
    worst = diag.to_dataframe().sort_values("ess_bulk").head(5)
    lines = [
        f"chains {a['chains']} x draws {a['draws']} (tune {a['tune']}), seed {a['seed']}, "
        f"sampling {a['wall_seconds']} s",
        f"divergences: {a['divergences']}   max R-hat: {a['max_r_hat']:.3f}   min bulk ESS: {a['min_ess_bulk']:.0f}",
        "lowest-ESS parameters:",
        worst.to_string(float_format=lambda v: f"{v:.3f}" if v < 10 else f"{v:.0f}"),
        "",
        "predictive checks: published value, prior and posterior predictive 95% intervals",
        tree["checks"].attrs.get("note", "(the posterior interval includes the observation noise of each statistic):"),
    ]
    checks = tree["checks"].to_dataset().to_dataframe()
    lines.append(checks[["observed", "prior_lo", "prior_hi", "post_median", "post_lo", "post_hi", "inside"]].to_string(
        float_format=lambda v: f"{v:.4g}"))
    lines.append(f"{int(checks['inside'].sum())} of {len(checks)} observations inside their 95% interval")
    if "curve" in tree:
        curve = tree["curve"].to_dataset()
        lines += ["", curve.attrs.get("note", "") + ", prior and posterior median (95% range):",
                  curve.to_dataframe().to_string(float_format=lambda v: f"{v:.3f}")]
    return "\n".join(lines)


def converged(tree: xr.DataTree, *, max_r_hat: float = 1.01, min_ess: float = 400, max_div: int = 0) -> bool:
    """True when the usual thresholds hold (Vehtari et al. 2021: R-hat < 1.01, bulk ESS > 400)."""
    a = tree["diagnostics"].attrs
    return a["max_r_hat"] < max_r_hat and a["min_ess_bulk"] > min_ess and a["divergences"] <= max_div


def diagnostics(idata, names, **attrs) -> xr.Dataset:
    """R-hat, bulk and tail ESS per parameter of ``names``; divergences, the worst values and ``attrs``."""
    import arviz as az

    summ = az.summary(idata, var_names=list(names), kind="diagnostics")
    return xr.Dataset(
        {col: ("parameter", summ[col].to_numpy(dtype=float)) for col in ("r_hat", "ess_bulk", "ess_tail")},
        coords={"parameter": list(summ.index)},
        attrs={"divergences": int(idata["sample_stats"]["diverging"].sum()), **attrs,
               "max_r_hat": float(summ["r_hat"].max()), "min_ess_bulk": float(summ["ess_bulk"].min())},
    )
