"""The demo: diagnose the example patients, simulate one patient's treatment, compare strategies,
weigh treating against testing for one patient, and draw the figures."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

from b12sim.defaults import DISCLAIMER


def example_patients() -> pd.DataFrame:
    """The example patients shipped in ``data/examples/patients.csv`` (cells as text)."""
    with resources.files("b12sim._examples").joinpath("patients.csv").open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


NEXT_STEPS = """
Next: .venv/bin/b12sim --help (or `source .venv/bin/activate`, then b12sim ...);
  make lab            JupyterLab on notebooks/ (01-02, 06 researchers; 03, 05 teaching; 04 policy)
  b12sim diagnose --b12 "180 pg/mL" --mma 0.52 --age 72     one patient
  b12sim validate --only natural_history                     the model against published studies
  README.md, "Start here", for where each kind of user goes next."""
SIM_PATIENT = dict(b12="95 pg/mL", mma=3.6, hcy=40, age=70, pernicious_anaemia=True, hb="9 g/dL", neuro_days=30)
SIM_REGIMENS = ("uk_im_hydroxo_neuro", "oral_2mg_daily", "folic_acid_alone")


def _simulation(figures: Path) -> list[Path]:
    """Print and draw the treatment course of a pernicious-anaemia patient under three regimens."""
    import matplotlib.pyplot as plt

    from b12sim import plots
    from b12sim.io import save_figure
    from b12sim.simulation import delay_curve, simulate, summarise

    print("Treatment simulation: pernicious anaemia, B12 95 pg/mL, MMA 3.6 umol/L, Hb 90 g/L, "
          "30 days of neurological symptoms")
    runs = [simulate(SIM_PATIENT, r, horizon_days=120) for r in SIM_REGIMENS]
    for ds in runs:
        s = summarise(ds)
        day = ("not reached" if s["day_hb_normal"] is None
               else f"day {s['day_hb_normal']:.0f} ({s['p_hb_normal_reached']:.0%} of draws)")
        print(f"  {ds.attrs['regimen']:<20} Hb normal from {day:<22} Hb day 42 {s['hb_at_day_42']:4.0f} g/L   "
              f"P(permanent nerve deficit) {s['p_permanent_damage']:.0%}")
    print(f"  ({runs[0].attrs['calibration']})")
    print()
    written = [save_figure(plots.trajectories(runs), figures / "treatment_trajectories.png")]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    plots.delay_risk(ax, delay_curve(SIM_PATIENT, regimens=(*SIM_REGIMENS, "no_treatment")))
    return written + [save_figure(fig, figures / "delay_risk.png")]


POLICY_STRATEGIES = ("no_treatment", "oral_1mg", "im_loading_then_oral", "uk_im_hydroxo", "us_im_cyano_monthly")


def _policy(figures: Path) -> list[Path]:
    """Compare strategies on a small synthetic cohort; print the ICER table, draw the CE plane and CEAC."""
    import warnings

    from b12sim.errors import UnitWarning
    from b12sim.policy import figures as pfig
    from b12sim.policy.compare import compare_strategies
    from b12sim.policy.toolkit import toolkit_figures

    print("Policy comparison: 256 synthetic people found by a low serum B12, 20 draws, 1 year (CAD 2013)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnitWarning)
        res = compare_strategies(256, POLICY_STRATEGIES, draws=20, progress=False)
    table = res.icers(reference="no_treatment")[["cost", "qaly", "status", "icer"]]
    print(table.to_string(float_format=lambda v: f"{v:,.3f}" if abs(v) < 10 else f"{v:,.0f}"))
    print()
    written = pfig.save_all(res, figures)
    names = {"ce_plane.png": "policy_ce_plane.png", "ceac.png": "policy_ceac.png"}
    written = [p.replace(p.with_name(names[p.name])) for p in written]
    print("Policy toolkit: one-way sensitivity (tornado) and value of information, 384 people, 150 draws ...")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnitWarning)
        return written + toolkit_figures(figures)


def _decision(figures: Path) -> list[Path]:
    """Treat, test first or wait for an indeterminate patient; the threshold and waiting figures."""
    from b12sim.decision import decide
    from b12sim.decision import figures as dfig

    patient = dict(b12="155 pmol/L", age=72)
    print("Decision for an indeterminate result (B12 155 pmol/L alone, age 72):")
    d = decide(patient, turnaround=dfig.EXAMPLE_TURNAROUND)
    print(d.report().split("\nNote:")[0])
    print()
    return dfig.write(figures, test="mma", decision=d)


def run(figures: Path) -> int:
    """Print the example diagnoses and write the diagnosis figures into ``figures``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from b12sim import plots
    from b12sim.diagnosis import diagnose
    from b12sim.io import save_figure
    from b12sim.posterior import load_posterior

    table = example_patients()
    res = diagnose(table)
    show = res[["patient", "description", "p_deficient", "p_deficient_lo", "p_deficient_hi", "p_prior",
                "p_folate_deficient", "cb12", "cb12_category"]].copy()
    for c in ("p_deficient", "p_deficient_lo", "p_deficient_hi", "p_prior", "p_folate_deficient"):
        show[c] = (100 * show[c]).round(0).astype(int).astype(str) + "%"
    show["cb12"] = show["cb12"].round(2)
    with pd.option_context("display.width", 200, "display.max_colwidth", 46):
        print(show.to_string(index=False))
    print()
    figures.mkdir(parents=True, exist_ok=True)
    written = []

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    plots.probability_surface(axes[0], egfr=90)
    plots.probability_surface(axes[1], egfr=35)
    written.append(save_figure(fig, figures / "probability_surface.png"))

    fig, ax = plt.subplots(figsize=(7, 4.5))
    plots.egfr_effect(ax)
    written.append(save_figure(fig, figures / "egfr_effect.png"))

    picks = ["B", "C", "E", "H"]
    fig, axes = plt.subplots(1, len(picks), figsize=(4 * len(picks), 3.2))
    for ax, pid in zip(axes, picks):
        row = table[table["patient"] == pid].iloc[0]
        labs = {k: v for k, v in row.items() if k not in ("patient", "description") and v not in ("", "no")}
        labs = {k: (True if v == "yes" else v) for k, v in labs.items()}
        d = diagnose(**labs)
        plots.contributions(ax, d, title=f"{pid}: P = {d.p_deficient:.0%} (prior {d.p_prior:.0%})")
    fig.tight_layout()
    written.append(save_figure(fig, figures / "contributions.png"))

    fig, ax = plt.subplots(figsize=(7, 7))
    plots.predictive_checks(ax, load_posterior("markers"))
    written.append(save_figure(fig, figures / "calibration_checks.png"))

    written += _simulation(figures)
    written += _policy(figures)
    written += _decision(figures)
    for p in written:
        print(f"figure: {p}")
    print(NEXT_STEPS)
    print(DISCLAIMER)
    return 0
