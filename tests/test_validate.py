"""The model against published studies: the study table, its grammar, the statistics, the runner and the CLI."""

import json
import math

import numpy as np
import pandas as pd
import pytest

import b12sim
from b12sim.cli import main
from b12sim.errors import InputError
from b12sim.studies import outcomes, populations
from b12sim.studies.table import AREAS, COLUMNS, load


@pytest.fixture(scope="module")
def shipped():
    return load()


def test_the_shipped_table_covers_every_area_beyond_its_calibration_rows(shipped):
    val = shipped[shipped["use"] == "validation"]
    assert len(val) >= 15
    assert set(AREAS) <= set(val["area"]) | {"costs"} and "costs" in set(val["area"])
    assert shipped["id"].is_unique and (shipped["citation"].str.len() > 10).all()
    # every published interval brackets its value
    has = ~shipped["lo"].isna()
    assert (shipped.loc[has, "lo"] <= shipped.loc[has, "value"]).all()
    assert (shipped.loc[has, "value"] <= shipped.loc[has, "hi"]).all()


def _write(tmp_path, edit):
    row = {c: "" for c in COLUMNS} | dict(id="x", area="treatment", study="S", citation="C 2000", select="b12 < 148",
                                           arm="oral_1mg_daily", outcome="mean b12", day="30", value="300",
                                           use="validation", flag="V")
    df = pd.DataFrame([row, row | {"id": "y"}])
    df = edit(df)
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("edit, field", [
    (lambda d: d.drop(columns=["outcome"]), "bad.csv columns"),
    (lambda d: d.assign(arm=["oral_1mg_daily", "no_such_regimen"]), "bad.csv row 3 (arm)"),
    (lambda d: d.assign(day=["30", "thirty"]), "bad.csv row 3 (day)"),
    (lambda d: d.assign(value=["300", ""]), "bad.csv row 3 (value)"),
    (lambda d: d.assign(outcome=["mean b12", "average b12"]), "bad.csv row 3 (outcome)"),
    (lambda d: d.assign(select=["b12 < 148", "b12 below 148"]), "bad.csv row 3 (select)"),
    (lambda d: d.assign(use=["validation", "training"]), "bad.csv row 3 (use)"),
    (lambda d: d.assign(id=["x", "x"]), "bad.csv row 3 (id)"),
    (lambda d: d.assign(outcome=["mean b12", "change_diff mma"]), "bad.csv row 3 (comparator)"),
])
def test_a_malformed_row_is_refused_naming_the_file_row_and_field(tmp_path, edit, field):
    with pytest.raises(InputError) as e:
        load(_write(tmp_path, edit))
    assert e.value.field == field


def test_outcome_statistics_on_known_results():
    a = {"b12": np.array([[100, 90], [200, 210], [300, 50], [120, 400.0]]),
         "mma": np.array([[0.9, 0.8], [0.2, 0.2], [0.1, 1.0], [0.5, 0.1]])}
    assert outcomes.parse("share b12 < 150").value(a, None, 1) == 0.5
    assert outcomes.parse("share b12 < 150 and mma > 0.5").value(a, None, 1) == 0.5
    assert outcomes.parse("share b12 < 150 and mma > 0.5").value(a, None, 0) == 0.25
    assert outcomes.parse("ratio_start b12").value(a, None, 1) == pytest.approx(750 / 720)
    # a low B12 ranks every raised MMA above every normal one: AUC 1; reversed, 0
    assert outcomes.parse("auc b12 for mma > 0.4").value(a, None, 0) == 1.0
    assert outcomes.parse("auc mma for mma > 0.4").value(a, None, 0) == 0.0
    # B12 < 250 catches both raised MMA (sens 1) and one of two normal ones (spec 0.5): LR+ 2, LR- 0
    assert outcomes.parse("lr_pos b12 < 250 for mma > 0.4").value(a, None, 0) == pytest.approx(2.0)
    assert outcomes.parse("lr_neg b12 < 250 for mma > 0.4").value(a, None, 0) == pytest.approx(0.0)
    assert outcomes.parse("lr_pos b12 < 150 for mma > 0.4").value(a, None, 0) == np.inf  # no false positive
    c = {"b12": a["b12"] - 10}
    assert outcomes.parse("change_diff b12").value(a, c, 1) == pytest.approx(0.0)
    assert outcomes.parse("diff_mean b12").value(a, c, 1) == pytest.approx(10.0)
    t = {"b12": np.array([[300, 250, 140, 100, 90], [300, 290, 280, 270, 260], [120, 100, 90, 80, 70.0]])}
    # results every 2 days (days 2 and 4): first low at day 2, never, day 2
    assert outcomes.parse("first_day_median b12 < 148 every 2").value(t, None, 4) == 2.0
    assert outcomes.parse("first_day_share b12 < 148 every 2").value(t, None, 4) == pytest.approx(2 / 3)


def test_populations_are_selected_on_measured_results_with_lasting_deviations():
    from b12sim.physiology import markers as mk
    from b12sim.posterior import medians

    med = medians("markers", mk.PARAMS)
    spec = populations.parse("age 65-90; b12 < 148; component main")
    df = populations.sample(spec, 300, med, seed=3)
    assert len(df) == 300 and (df["b12"] < 148).all() and not df["depleting"].any()
    assert df["age"].between(65, 90).all()
    # the lasting part of a deviation is a shrunken share of it: smaller spread, same sign on average
    resid = np.log(df["b12"]) - np.log(np.exp(med["b0"]) * df["true_stores_ug"] / 2500)
    assert df["between_b12"].std() < resid.std() and np.corrcoef(df["between_b12"], resid)[0, 1] > 0.5
    people = populations.simulator_people(df, populations.parse("b12 < 148; intrinsic_factor absent; neuro_days 30-60"), 1)
    assert (people["intrinsic_factor"] == "absent").all() and people["neuro_days"].between(30, 60).all()
    with pytest.raises(InputError, match="select"):
        populations.sample(populations.parse("b12 < 1; mma < 0.01"), 5, med, seed=1)


def test_validate_reproduces_a_calibration_row_and_reports_a_validation_row(tmp_path):
    """The gastrectomy speed the kinetics were fitted to is reproduced; the API and the CLI agree."""
    table = load()
    rows = table[table["id"].isin(["hu_gastrectomy_median", "van_walraven_im_annual_cost"])]
    path = tmp_path / "two.csv"
    rows[list(COLUMNS)].to_csv(path, index=False)
    v = b12sim.validate(studies=[path], draws=10, people=60, seed=2)
    res = v.results.set_index("id")
    assert bool(res.loc["hu_gastrectomy_median", "inside"])
    assert v.counts == {"calibration": (1, 1), "validation": (0, 1)}
    out = tmp_path / "out"
    assert main(["validate", "--studies", str(path), "--draws", "10", "--people", "60", "--seed", "2",
                 "--out", str(out), "--json"]) == 0
    assert {p.name for p in out.iterdir()} == {"results.csv", "report.md", "forest.png"}
    saved = pd.read_csv(out / "results.csv").set_index("id")
    assert saved.loc["hu_gastrectomy_median", "model"] == pytest.approx(res.loc["hu_gastrectomy_median", "model"])
    assert main(["validate", "--studies", str(path), "--draws", "10", "--out", str(out)]) == 2  # exists, no --force


def test_cli_validate_refuses_bad_options(capsys):
    assert main(["validate", "--draws", "1"]) == 2
    assert capsys.readouterr().err.startswith("error: --draws")
    with pytest.raises(InputError, match="only"):
        b12sim.validate("kinetics")


@pytest.mark.slow
def test_every_calibration_row_is_reproduced_and_validation_rows_are_reported(capsys):
    """The whole table with the defaults: the model reproduces what it was fitted to; the validation rows are
    reported, not asserted, so the report stays honest while the model improves."""
    v = b12sim.validate()
    cal = v.results[v.results["use"] == "calibration"]
    assert len(cal) >= 8 and cal["inside"].all(), cal.loc[~cal["inside"], "id"].tolist()
    val = v.results[v.results["use"] == "validation"]
    assert len(val) >= 15 and val["model"].notna().all() and not math.isnan(float(val["model_lo"].min()))
    with capsys.disabled():
        print("\n" + repr(v))
    assert json.dumps(v.counts)
