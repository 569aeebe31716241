"""A new user's first hour (issue 17): one source for the model's status, Jupyter comfort, readable explanations."""

import math
import pathlib
import re

import matplotlib
import pytest

import b12sim
from b12sim.defaults import CALIBRATION, STATUS
from b12sim.diagnosis.result import times

matplotlib.use("Agg")

ROOT = pathlib.Path(b12sim.__file__).parent
PATIENT = {"b12": 120, "mma": 0.8, "age": 70, "hb": 95, "pernicious_anaemia": True, "neuro_days": 60}
# phrases of statements about the model's calibration that are no longer true
STALE = re.compile(r"still to (come|do)|not (yet )?calibrated|priors? on two published anchors|"
                   r"(parameters|curve) (are|is) (a )?priors?\b.*not fitted", re.I)


@pytest.fixture(scope="module")
def decision():
    return b12sim.decide({"b12": 180, "mma": 0.52, "age": 72}, draws=16, seed=2)


@pytest.fixture(scope="module")
def policy():
    return b12sim.compare_strategies(32, ["uk_im_hydroxo", "oral_1mg", "no_treatment"], draws=6, seed=3,
                                     progress=False)


# --- one source for the model's status ---------------------------------------------------------------------

def test_no_stale_status_text_in_the_package():
    stale = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}" for p in sorted(ROOT.rglob("*.py"))
             for n, line in enumerate(p.read_text().splitlines(), 1) if STALE.search(line)]
    assert not stale, "stale status text (state it through b12sim.defaults.CALIBRATION):\n" + "\n".join(stale)


def test_stale_pattern_catches_the_old_notes():
    assert STALE.search("the nerve-damage parameters are priors on two published anchors (3 and 12 months), not fitted")
    assert STALE.search("calibration of the kinetics is still to come")
    assert not any(STALE.search(t) for t in CALIBRATION.values())


def test_status_is_every_part_once_and_names_what_is_calibrated_to_what():
    assert STATUS == "; ".join(CALIBRATION.values())
    assert "Martin 1992" in CALIBRATION["nerves"] and "Kuzminski 1998" in CALIBRATION["kinetics"]
    assert "no data" in CALIBRATION["nerves"]


def _status_like(text: str) -> bool:
    return bool(re.search(r"calibrat|\bpriors?\b|fitted|no data", text, re.I))


def test_simulation_and_policy_results_state_the_one_status(policy):
    ds = b12sim.simulate(PATIENT, "oral_2mg_daily", horizon_days=30, draws=4, seed=1)
    assert ds.attrs["calibration"] == STATUS
    assert policy.outcomes.attrs["calibration"] == STATUS


def test_decision_notes_state_only_the_one_status(decision):
    status_notes = [n for n in decision.notes if _status_like(n)]
    assert status_notes == [STATUS]
    lines = [line for line in decision.report().splitlines() if _status_like(line)]
    assert lines == [f"Note: {STATUS}"]


def test_decision_figure_footer_is_the_one_status(decision):
    import matplotlib.pyplot as plt

    fig = decision.plot_waiting()
    footer = " ".join(t.get_text().replace("\n", " ") for t in fig.texts)
    plt.close(fig)
    assert CALIBRATION["nerves"] in footer
    assert not STALE.search(footer)


def test_cli_simulate_note_is_the_one_status(cli):
    status, out, _ = cli("simulate", "--b12", 120, "--mma", 0.8, "--age", 70, "--regimen", "oral_2mg_daily",
                         "--horizon-days", 30, "--draws", 4)
    assert status == 0
    notes = [line.strip() for line in out.splitlines() if _status_like(line)]
    assert notes == [f"note: {STATUS}"]


# --- the package in Jupyter ------------------------------------------------------------------------------

def test_tab_completion_lists_the_lazy_api():
    names = dir(b12sim)
    for name in ("diagnose", "simulate", "decide", "compare_strategies", "PolicyResult", "delay_curve",
                 "summary_table", "validate", "__version__"):
        assert name in names
        assert getattr(b12sim, name) is not None
    assert "importlib" not in names and "annotations" not in names


def test_delay_curve_is_exported_at_the_top():
    from b12sim.simulation import delay_curve

    assert b12sim.delay_curve is delay_curve
    tab = b12sim.delay_curve(PATIENT, ["oral_2mg_daily"], delays=(0, 60), horizon_days=120, draws=4, seed=1)
    assert list(tab["delay_days"]) == [0, 60]
    assert tab["p_permanent"].iloc[1] >= tab["p_permanent"].iloc[0]


def test_summary_table_is_summarise_as_rows():
    ds = b12sim.simulate(PATIENT, "uk_im_hydroxo_neuro", horizon_days=90, draws=8, seed=4)
    s, tab = b12sim.summarise(ds), b12sim.summary_table(ds)
    assert list(tab.index) == ["p_permanent_damage", "p_residual_severe", "day_hb_normal", "day_mma_normal",
                               "day_b12_normal", "hb_at_day_42"]
    for key, row in tab.iterrows():
        assert row["value"] == pytest.approx(s[key], nan_ok=True)
        assert [row["lo"], row["hi"]] == pytest.approx(s[f"{key}_interval"], nan_ok=True)
    assert tab.loc["day_hb_normal", "p_reached"] == s["p_hb_normal_reached"]
    assert tab.loc["hb_at_day_42", "unit"] == "g/L" and pytest.approx(float("nan"), nan_ok=True) == \
        tab.loc["hb_at_day_42", "p_reached"]
    both = b12sim.summary_table({"im": ds, "none": b12sim.simulate(PATIENT, "no_treatment", horizon_days=90,
                                                                    draws=8, seed=4)})
    assert both.index.names == ["run", "quantity"]
    assert both.loc[("none", "p_permanent_damage"), "value"] > both.loc[("im", "p_permanent_damage"), "value"]


def test_summary_table_of_a_short_run_leaves_out_day_42():
    ds = b12sim.simulate(PATIENT, "no_treatment", horizon_days=20, draws=4, seed=4)
    tab = b12sim.summary_table(ds)
    assert "hb_at_day_42" not in tab.index
    assert tab.loc["day_hb_normal", "p_reached"] == 0 and tab["value"].isna()["day_hb_normal"]


# --- reprs, plots and loading ---------------------------------------------------------------------------

def test_diagnosis_reprs_are_short_text_and_an_html_table():
    d = b12sim.diagnose(b12=180, mma=0.52, age=72, draws=40)
    text = repr(d)
    assert text.startswith("Diagnosis(p_deficient=") and "\n" not in text and len(text) < 200
    assert f"{d.p_deficient:.3f}" in text and "mma x" in text
    page = d._repr_html_()
    assert page.count("<tr>") == 1 + len(d.contributions)  # header and one row per marker
    assert f"{d.p_deficient:.0%}" in page and "not medical advice" in page
    assert str(d) == d.report()


def test_decision_reprs(decision):
    text = repr(decision)
    assert text.startswith(f"Decision(recommendation={decision.recommendation!r}") and "\n" not in text
    page = decision._repr_html_()
    assert page.count("<tr>") == 2 + len(decision.options) + len(decision.tests)  # two headers
    assert decision.describe(decision.recommendation) in page and "(recommended)" in page
    assert "&lt;" not in decision.report() and "<table>" in page


def test_html_cells_are_escaped():
    from b12sim.diagnosis.result import html_table

    assert "<b>" not in html_table(["<b>"], [["a & b<"]]) and "a &amp; b&lt;" in html_table(["x"], [["a & b<"]])


def test_policy_result_reprs(policy):
    text = repr(policy)
    assert text == ("PolicyResult(32 people x 6 draws, horizon 365 days, strategies uk_im_hydroxo, oral_1mg, "
                    "no_treatment; CAD 2013)")
    report = str(policy)
    s = policy.summary()
    assert f"{s.loc['oral_1mg', 'cost']:,.0f} ({s.loc['oral_1mg', 'cost_lo']:,.0f}-" in report
    assert report.splitlines()[-2] == f"Note: {STATUS}"
    page = policy._repr_html_()
    assert page.count("<tr>") == 1 + 3 and "frontier" in page


def test_policy_plot_methods_draw_what_the_saved_figures_draw(policy):
    import matplotlib.pyplot as plt

    ax = policy.plot_ce_plane(reference="no_treatment", wtp=(50_000.0,))
    assert ax.get_xlabel() == "incremental QALYs per person vs no_treatment"
    assert len(ax.collections) == 2 * 2  # draws and mean of each strategy but the reference
    ax = policy.plot_ceac()
    curves = policy.ceac()
    assert len(ax.lines) == len(curves.columns) + 1  # each strategy and the frontier
    assert list(ax.lines[0].get_ydata()) == pytest.approx(curves.iloc[:, 0].to_list())
    plt.close("all")


def test_policy_result_load_reads_what_save_wrote(policy, tmp_path):
    import pandas as pd
    import xarray as xr

    policy.save(tmp_path / "run")
    back = b12sim.PolicyResult.load(tmp_path / "run")
    xr.testing.assert_identical(back.outcomes["outcomes"].to_dataset(), policy.outcomes["outcomes"].to_dataset())
    xr.testing.assert_identical(back.outcomes["parameters"].to_dataset(), policy.outcomes["parameters"].to_dataset())
    assert back.outcomes.attrs == policy.outcomes.attrs
    pd.testing.assert_frame_equal(back.cohort, policy.cohort)
    pd.testing.assert_frame_equal(back.icers(), policy.icers())
    assert repr(back) == repr(policy)


def test_policy_result_load_refuses_a_folder_without_a_result(tmp_path):
    from b12sim.errors import InputError

    with pytest.raises(InputError, match="folder.*outcomes.nc and cohort.csv missing"):
        b12sim.PolicyResult.load(tmp_path)


# --- explanations a clinician can read --------------------------------------------------------------------

@pytest.mark.parametrize("log_ratio, text", [(math.log(2.4), "x2.4"), (math.log(0.3), "x0.3"), (0.0, "x1.0"),
                                             (math.log(12.4), "x12"), (math.log(0.031), "x0.031"),
                                             (math.log(2500), "x2,500")])
def test_likelihood_ratio_multipliers(log_ratio, text):
    from b12sim.diagnosis.result import times

    assert times(log_ratio) == text


def test_diagnosis_reports_likelihood_ratios_beside_log_odds():
    d = b12sim.diagnose(b12=180, mma=0.52, age=72, draws=40)
    assert d.likelihood_ratios == pytest.approx({k: math.exp(v) for k, v in d.contributions.items()})
    odds = lambda p: p / (1 - p)  # noqa: E731
    assert math.prod(d.likelihood_ratios.values()) == pytest.approx(odds(d.p_deficient) / odds(d.p_prior), rel=1e-5)
    rows = {line.split()[0]: line for line in d.report().splitlines() if line.startswith("  ")}
    mma = rows["MMA"]
    assert f"{times(d.contributions['mma'])} ({d.contributions['mma']:+.2f})" in mma
    assert times(math.log(6.46)) == "x6.5" and times(math.log(17.5)) == "x18" and times(math.log(0.314)) == "x0.31"
    assert mma.endswith(f"({d.alone['mma']:+.2f})")
    # JSON keeps 3 significant figures: a relative rounding error up to 5e-3
    assert d.to_dict()["likelihood_ratios"]["mma"] == pytest.approx(math.exp(d.contributions["mma"]), rel=5e-3)


def test_cli_diagnose_shows_multipliers(cli):
    """The table of likelihood ratios: MMA 0.52 umol/L at 72 y is about what an eGFR of 35 explains (the renal
    rise and the wider spread of MMA unrelated to B12 in renal impairment), so it barely moves the odds (between
    x0.5 and x1.5); the same MMA with normal kidneys multiplies them several times."""
    lrs = []
    for egfr in (35, 90):
        status, out, _ = cli("diagnose", "--b12", 180, "--mma", 0.52, "--age", 72, "--egfr", egfr, "--draws", 40)
        assert status == 0
        assert "likelihood ratio" in out
        line = next(x for x in out.splitlines() if x.strip().startswith("MMA"))
        lrs.append(float(re.search(r"x(\d+(?:\.\d+)?) \([-+]\d\.\d\d\)\s*$", line).group(1)))  # alone
    assert 0.5 < lrs[0] < 1.5 and lrs[1] > 3.0


# --- ipywidgets, guarded -------------------------------------------------------------------------------

def test_widgets_without_ipywidgets_say_how_to_install_in_one_line(monkeypatch, capsys):
    import sys

    from b12sim import plots

    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import fails as if not installed
    assert plots.widgets() is None
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "pip install 'b12sim[notebooks]'" in out


def test_widgets_with_ipywidgets_is_the_module(capsys):
    ipywidgets = pytest.importorskip("ipywidgets")
    from b12sim import plots

    assert plots.widgets() is ipywidgets and capsys.readouterr().out == ""


def test_package_imports_ipywidgets_only_through_the_guard():
    users = sorted(str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py") if "import ipywidgets" in p.read_text()
                   or "from ipywidgets" in p.read_text())
    assert users == ["plots.py"]
