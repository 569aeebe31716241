"""A new user's first hour (issue 17): one source for the model's status, Jupyter comfort, readable explanations."""

import pathlib
import re

import matplotlib
import pytest

import b12sim
from b12sim.defaults import CALIBRATION, STATUS

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
    assert "Martin 1992" in CALIBRATION["permanent_deficit"] and "Kuzminski 1998" in CALIBRATION["kinetics"]
    assert "no data" in CALIBRATION["reversible_dysfunction"]


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
    assert CALIBRATION["permanent_deficit"] in footer
    assert CALIBRATION["reversible_dysfunction"] in footer
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
    assert list(tab.index) == ["p_permanent_damage", "day_hb_normal", "day_mma_normal", "day_b12_normal",
                               "hb_at_day_42"]
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
