"""Bad input at the Python entry points: ``b12sim.diagnose`` with keywords and with a table.

Every refusal is an :class:`InputError` whose message starts with the field (or
``columns`` for a table as a whole) and says what is allowed; a table never loses a
row or a column: bad rows get an ``error`` message and NaN results, the rest are scored.
Probabilities are not pinned (the shipped posterior may be recalibrated); only
properties are asserted.
"""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import b12sim
from b12sim import units
from b12sim.diagnosis import inputs
from b12sim.errors import InputError, UnitWarning

DRAWS = 60  # enough for properties; keeps the module fast
PG_ML = units.quantity("b12").factors["pg/ml"]  # pg/mL -> pmol/L
RESULT_COLUMNS = ["p_deficient", "p_deficient_lo", "p_deficient_hi", "p_prior", "p_folate_deficient",
                  "stores_ug", "cb12", "cb12_category", "egfr_assumed", "error"]


def dx(**labs):
    return b12sim.diagnose(draws=DRAWS, **labs)


def refused(match_start: str, **labs) -> InputError:
    with pytest.raises(InputError) as info:
        dx(**labs)
    msg = str(info.value)
    assert msg.startswith(f"{match_start}:"), msg
    assert "Traceback" not in msg
    return info.value


# --------------------------------------------------------------------------- keywords

@pytest.mark.parametrize("value", [-5, 0, -0.0, 1e7, 50_001, float("inf"), float("-inf"), "abc", "", "  ",
                                   [180], True, complex(1, 2), "1e999"])
def test_bad_b12_names_field_and_range(value):
    err = refused("b12", b12=value, age=60)
    assert err.field == "b12"
    assert "5 to 50000 pmol/L" in str(err)  # the allowed range, in the canonical unit
    assert "pg/mL" in str(err)  # and the accepted units


@pytest.mark.parametrize("field, value, allowed", [
    ("mma", -0.1, "0.01 to 500 umol/L"),
    ("hcy", 0, "0.5 to 500 umol/L"),
    ("holotc", 1e6, "1 to 5000 pmol/L"),
    ("folate", "many", "0.2 to 500 nmol/L"),
    ("egfr", -1, "1 to 200 mL/min/1.73m2"),
    ("egfr", 900, "1 to 200 mL/min/1.73m2"),
    ("age", 5, "18 to 110 years"),
    ("age", 300, "18 to 110 years"),
    ("age", "sixty", "18 to 110 years"),
])
def test_bad_values_of_other_fields(field, value, allowed):
    labs = {"b12": 200, "age": 60} | {field: value}
    err = refused(field, **labs)
    assert allowed in str(err)
    assert repr(value) in str(err)  # the value as given is echoed back


def test_nan_is_refused_not_silently_dropped():
    # NaN given as a keyword would otherwise be read as "not measured": the user's value is lost
    err = refused("b12", b12=float("nan"), mma=0.3, age=60)
    assert "None" in str(err)  # says how to mark a value as not measured
    refused("b12", b12=np.float64("nan"), mma=0.3, age=60)
    refused("b12", b12=pd.NA, mma=0.3, age=60)
    refused("age", b12=200, age=float("nan"))
    refused("egfr", b12=200, age=60, egfr=float("nan"))
    refused("vegan", b12=200, age=60, vegan=float("nan"))


def test_none_means_not_measured():
    a = dx(b12=200, mma=0.3, age=60)
    b = dx(b12=200, mma=0.3, hcy=None, holotc=None, age=60, egfr=None)
    assert a.p_deficient == pytest.approx(b.p_deficient, rel=1e-12)
    assert set(b.contributions) == {"b12", "mma"}


def test_unknown_unit_names_field_and_accepted_units():
    err = refused("b12 unit", b12="180 furlongs", age=60)
    assert "furlongs" in str(err)
    for u in ("pmol/L", "pg/mL", "ng/L"):
        assert u in str(err)
    refused("mma unit", b12=200, mma="0.3 mg/dL", age=60)


def test_unit_mixup_hint():
    # 0.2 ng/mL of B12 = 148 pmol/L; given as a bare number (pmol/L) it is impossible
    err = refused("b12", b12=0.2, age=60)
    assert "ng/mL" in str(err) and "looks like" in str(err)
    # MMA given in nmol/L without saying so
    err = refused("mma", b12=200, mma=1500, age=60)
    assert "nmol/L" in str(err)


def test_unusual_but_possible_value_warns_with_unit_hint():
    # folate 2 nmol/L is possible (severe deficiency) but also 2 ng/mL misread: accept, and warn
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        d = dx(b12=200, age=60, folate=2)
    assert 0 <= d.p_deficient <= 1 and d.inputs["folate"] == 2
    msgs = [str(w.message) for w in caught if issubclass(w.category, UnitWarning)]
    assert any(m.startswith("folate=") and "ng/mL" in m for m in msgs), msgs


@pytest.mark.parametrize("value, hint", [
    ("NA", "not measured"),
    ("n/a", "not measured"),
    ("<50", "censored"),
    ("0,42", "decimal point"),
    ("1,500", "decimal point"),
])
def test_spreadsheet_slips_get_a_hint(value, hint):
    err = refused("b12", b12=value, age=60)
    assert hint in str(err)


def test_unknown_keyword():
    err = refused("weight", b12=200, age=60, weight=70)
    assert "b12" in str(err) and "age" in str(err)  # lists the keywords that exist
    err = refused("homocystine", b12=200, age=60, homocystine=12)
    assert "did you mean" in str(err) and "homocysteine" in str(err)


def test_same_field_twice_is_refused():
    err = refused("serum_b12", b12=200, serum_b12=300, age=60)
    assert "both mean b12" in str(err)


def test_missing_age_and_missing_markers():
    err = refused("age", b12=200)
    assert "required" in str(err) and "18 to 110" in str(err)
    err = refused("markers", age=60)
    for m in inputs.MARKERS:
        assert m in str(err)
    refused("markers", age=60, vegan=True)


@pytest.mark.parametrize("flag", ["maybe", 2, -1, 0.5, "yess"])
def test_bad_risk_flag(flag):
    err = refused("vegan", b12=200, age=60, vegan=flag)
    assert "yes/no" in str(err)


@pytest.mark.parametrize("yes, no", [(True, False), ("yes", "no"), (1, 0), ("TRUE", "false"), ("y", "n")])
def test_risk_flag_spellings(yes, no):
    assert dx(b12=200, age=60, vegan=yes).inputs["vegan"] == 1.0
    assert dx(b12=200, age=60, vegan=no).inputs["vegan"] == 0.0


def test_strings_with_units_equal_canonical_numbers():
    canonical = dx(b12=180 * PG_ML, mma=0.42, folate=12, age=72, egfr=55)
    for variant in (
        dict(b12="180 pg/mL", mma="420 nmol/L", folate="12 nmol/L", age="72", egfr="55"),
        {"b12 (pg/mL)": 180, "mma [nmol/L]": 420, "folate": 12, "age": 72, "egfr": 55},
        dict(serum_b12="180 ng/L", methylmalonic_acid=" 0.42 µmol/L ", folate="12", age="72 years", gfr="55 mL/min"),
        {"B12 (pg/mL)": "180 pg/mL", "mma": 0.42, "folate": 12, "age": 72, "egfr": 55},
    ):
        d = dx(**variant)
        assert d.p_deficient == pytest.approx(canonical.p_deficient, rel=1e-9), variant
        assert d.inputs["b12"] == pytest.approx(180 * PG_ML)
        assert d.inputs["mma"] == pytest.approx(0.42)


def test_header_unit_and_value_unit_disagree():
    err = refused("b12", **{"b12 (pg/mL)": "180 pmol/L", "age": 60})
    assert "pg/mL" in str(err) and "pmol/L" in str(err)


def test_table_and_keywords_together_refused():
    with pytest.raises(InputError, match=r"^arguments:"):
        b12sim.diagnose(pd.DataFrame({"age": [60], "b12": [200]}), b12=300)


@pytest.mark.parametrize("table", [[{"age": 60, "b12": 200}], {"age": [60], "b12": [200]}, 3])
def test_table_must_be_a_dataframe_or_a_file(table):
    with pytest.raises(InputError, match=r"^table:.*DataFrame or the path of a CSV file"):
        b12sim.diagnose(table)


def test_a_missing_table_file_is_named(tmp_path):
    with pytest.raises(InputError, match=r"^table: got '.*patients.csv'.*no such file"):
        b12sim.diagnose(tmp_path / "patients.csv")


@pytest.mark.parametrize("draws", ["abc", 0])
def test_bad_draws(draws):
    with pytest.raises(InputError, match=r"^draws:"):
        b12sim.diagnose(b12=200, age=60, draws=draws)


# --------------------------------------------------------------------------- tables

@pytest.fixture(scope="module")
def mixed_table():
    """Good and bad rows, an odd index, and columns b12sim does not use."""
    return pd.DataFrame(
        {
            "patient_id": ["007", "A-2", "x", "y", "z", "w"],
            "b12": [200, "abc", -5, "180 pg/mL", 300, 95],
            "mma": ["0.52", "", "0.3", "0.3", "", "1.8"],
            "age": [60, 61, 62, 63, "", 68],
            "vegan": ["no", "no", "no", "yes", "no", "maybe"],
            "comment": ["first", None, "", "4th", "has, comma", "last"],
        },
        index=[10, 3, 7, 1, 99, 2],
    )


@pytest.fixture(scope="module")
def scored(mixed_table):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnitWarning)
        return b12sim.diagnose(mixed_table, draws=DRAWS)


def test_table_keeps_every_row_in_order(mixed_table, scored):
    assert len(scored) == len(mixed_table)
    assert list(scored.index) == list(mixed_table.index)


def test_table_passes_input_columns_through_unchanged(mixed_table, scored):
    assert list(scored.columns[: mixed_table.shape[1]]) == list(mixed_table.columns)
    pd.testing.assert_frame_equal(scored[list(mixed_table.columns)], mixed_table)
    for c in RESULT_COLUMNS:
        assert c in scored.columns
    assert mixed_table["b12"].tolist()[1] == "abc"  # the caller's table is not modified


def test_table_bad_rows_reported_rest_scored(scored):
    err = scored["error"]
    ok = err == ""
    assert ok.tolist() == [True, False, False, True, False, False]
    assert err[3].startswith("b12:") and "abc" in err[3]
    assert err[7].startswith("b12:") and "5 to 50000" in err[7]
    assert err[99].startswith("age:") and "required" in err[99]
    assert err[2].startswith("vegan:") and "yes/no" in err[2]
    assert scored.loc[~ok, ["p_deficient", "p_deficient_lo", "p_deficient_hi", "p_folate_deficient"]].isna().all().all()
    good = scored.loc[ok]
    assert good["p_deficient"].between(0, 1).all()
    assert (good["p_deficient_lo"] <= good["p_deficient"]).all()
    assert (good["p_deficient"] <= good["p_deficient_hi"]).all()
    assert not scored.loc[~ok, "egfr_assumed"].any()


def test_table_row_matches_single_patient(scored):
    one = dx(b12="180 pg/mL", mma=0.3, age=63, vegan=True)
    assert scored.loc[1, "p_deficient"] == pytest.approx(one.p_deficient, rel=1e-6)
    assert scored.loc[1, "llr_b12"] == pytest.approx(one.contributions["b12"], abs=1e-6)


def test_table_missing_required_columns():
    with pytest.raises(InputError, match=r"^columns:.*'age'") as info:
        b12sim.diagnose(pd.DataFrame({"b12": [200], "mma": [0.3]}))
    assert "b12" in str(info.value)  # the columns that were found are listed
    with pytest.raises(InputError, match=r"^columns:.*at least one marker") as info:
        b12sim.diagnose(pd.DataFrame({"age": [60], "weight": [70]}))
    for m in inputs.MARKERS:
        assert m in str(info.value)


@pytest.mark.parametrize("cols", [["age", "b12", "serum_b12"], ["age", "b12", "B12 (pg/mL)"],
                                  ["age", "b12", "b12"], ["Age", "age", "b12"], ["age", "hcy", "tHcy"]])
def test_table_duplicate_fields_refused(cols):
    df = pd.DataFrame([[60, 200, 210]], columns=cols)
    with pytest.raises(InputError, match=r"^columns:.*both mean"):
        b12sim.diagnose(df)


def test_table_result_column_clash_refused():
    with pytest.raises(InputError, match=r"^columns:.*error"):
        b12sim.diagnose(pd.DataFrame({"age": [60], "b12": [200], "error": ["typo"]}))


def test_table_units_by_header_column_and_cell():
    base = b12sim.diagnose(pd.DataFrame({"age": [60, 70], "b12": [180 * PG_ML, 250 * PG_ML]}), draws=DRAWS)
    variants = [
        pd.DataFrame({"age": [60, 70], "b12 (pg/mL)": [180, 250]}),
        pd.DataFrame({"age": [60, 70], "b12": ["180", "250"], "b12_unit": ["pg/mL", "pg/mL"]}),
        pd.DataFrame({"Age": [60, 70], "Serum B12": [180, 250], "Serum B12 unit": ["pg/mL", "ng/L"]}),
        pd.DataFrame({"age": [60, 70], "b12": ["180 pg/mL", 250 * PG_ML], "b12_unit": ["", None]}),
    ]
    for df in variants:
        out = b12sim.diagnose(df, draws=DRAWS)
        assert (out["error"] == "").all(), out["error"].tolist()
        np.testing.assert_allclose(out["p_deficient"], base["p_deficient"], rtol=1e-9)
        assert list(out.columns[: df.shape[1]]) == list(df.columns)


def test_table_unit_column_bad_or_conflicting_unit_is_a_row_error():
    df = pd.DataFrame({"age": [60, 61, 62], "b12 (pg/mL)": [200, 200, 200], "b12_unit": ["pg/mL", "pmol/L", ""]})
    out = b12sim.diagnose(df, draws=DRAWS)
    assert out["error"].tolist()[0] == out["error"].tolist()[2] == ""
    assert out["error"][1].startswith("b12_unit:") and "disagree" in out["error"][1]
    df = pd.DataFrame({"age": [60, 61], "b12": [200, 200], "b12_unit": ["pmol/L", "furlongs"]})
    out = b12sim.diagnose(df, draws=DRAWS)
    assert out["error"][0] == ""
    assert out["error"][1].startswith("b12 unit:") and "furlongs" in out["error"][1]


def test_table_two_unit_columns_for_one_field_refused():
    df = pd.DataFrame({"age": [60], "b12": [200], "b12_unit": ["pmol/L"], "B12 units": ["pg/mL"]})
    with pytest.raises(InputError, match=r"^columns:.*unit of b12"):
        b12sim.diagnose(df)


def test_table_error_names_the_users_column():
    out = b12sim.diagnose(pd.DataFrame({"Age": [60, 60], "Serum B12": ["lots", 200]}), draws=DRAWS)
    assert out["error"][0].startswith("b12:") and "'Serum B12'" in out["error"][0]
    assert out["error"][1] == ""


def test_table_nan_cells_are_missing_markers():
    # in a table an empty / NaN cell means "not measured" (unlike an explicit NaN keyword)
    df = pd.DataFrame({"age": [60, 60], "b12": [200.0, 200.0], "mma": [np.nan, 0.3], "vegan": [np.nan, None]})
    out = b12sim.diagnose(df, draws=DRAWS)
    assert (out["error"] == "").all()
    assert math.isnan(out["llr_mma"][0]) and not math.isnan(out["llr_mma"][1])


def test_table_warnings_name_the_row():
    df = pd.DataFrame({"age": [60, 60], "b12": [200, 200], "folate": [20, 2]}, index=["p1", "p2"])
    with pytest.warns(UnitWarning, match=r"^row p2: folate="):
        out = b12sim.diagnose(df, draws=DRAWS)
    assert (out["error"] == "").all()


def test_table_duplicate_index_keeps_rows():
    df = pd.DataFrame({"age": [60, 70, 80], "b12": [200, "bad", 120]}, index=[5, 5, 6])
    out = b12sim.diagnose(df, draws=DRAWS)
    assert len(out) == 3 and list(out.index) == [5, 5, 6]
    assert out["error"].tolist()[0] == "" and out["error"].tolist()[1].startswith("b12:")
    assert out["p_deficient"].notna().tolist() == [True, False, True]


def test_table_where_every_row_is_bad_is_returned_with_errors():
    df = pd.DataFrame({"age": [60, 61], "b12": ["abc", -1], "note": ["a", "b"]})
    out = b12sim.diagnose(df, draws=DRAWS)
    assert len(out) == 2 and (out["error"] != "").all() and out["p_deficient"].isna().all()
    assert out["note"].tolist() == ["a", "b"]


def test_empty_table():
    out = b12sim.diagnose(pd.DataFrame({"age": [], "b12": []}), draws=DRAWS)
    assert len(out) == 0 and "p_deficient" in out.columns


# --------------------------------------------------------------------------- inputs module directly

def test_canonical_name():
    assert inputs.canonical_name("B12 (pg/mL)") == ("b12", "pg/mL")
    assert inputs.canonical_name("Serum B12 [ng/L]") == ("b12", "ng/L")
    assert inputs.canonical_name("tHcy") == ("hcy", None)
    assert inputs.canonical_name("patient_id") == (None, None)


def test_from_frame_reports_unused_columns():
    df = pd.DataFrame({"id": [1], "age": [60], "b12": [200], "b12_unit": ["pmol/L"], "site": ["x"]})
    canon, errors, unused = inputs.from_frame(df)
    assert unused == ["id", "site"]  # the unit column is used, not "unused"
    assert errors.tolist() == [""]
    assert canon.loc[0, "b12"] == 200


@pytest.mark.parametrize("b12, holotc, warned", [(150, 300, True), (50_000, 1, True), (150, 30, False), (400, 5, False)])
def test_holotc_that_cannot_be_part_of_serum_b12_is_flagged(b12, holotc, warned):
    """holoTC is part of serum B12 (about a quarter): above it, or below 1% of it, the pair is contradictory and
    gets a ContradictionWarning naming both values (issue 18 item 8); a plausible pair gets none."""
    import warnings

    from b12sim.errors import ContradictionWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        b12sim.diagnose(b12=b12, holotc=holotc, age=70)
    flagged = [w for w in caught if issubclass(w.category, ContradictionWarning)]
    assert bool(flagged) == warned
    if warned:
        assert f"holotc={holotc:g}" in str(flagged[0].message) and f"b12={b12:g}" in str(flagged[0].message)
