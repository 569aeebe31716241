"""The evidence tables: schema, citations, flags, and the numbers code relies on."""

import math

import pandas as pd
import pytest

from b12sim import evidence


def test_every_row_has_value_unit_citation_and_flag():
    t = evidence.table()
    assert len(t) > 60
    assert t["value"].notna().all()
    for col in ("unit", "citation", "flag"):
        blank = t[col].isna() | (t[col].astype(str).str.strip() == "")
        assert not blank.any(), f"rows without {col}: {list(t.index[blank])}"
    assert set(t["flag"]) <= evidence.FLAGS


def test_unverified_rows_say_so():
    t = evidence.table()
    u = t[t["flag"] == "U"]
    # an assumption is either labelled as one or says it was not retrieved/confirmed
    text = (u["citation"].astype(str) + " " + u["note"].fillna("").astype(str)).str.lower()
    ok = text.str.contains("assum|background|not retrieved|not found|unverified|confirm")
    assert ok.all(), list(u.index[~ok])


def test_published_numbers_as_in_the_dossier():
    ev = evidence.value
    assert ev("nhanes_n_b12_low") + ev("nhanes_n_b12_mid") + ev("nhanes_n_b12_high") == 12683
    assert ev("savage_mma_elevated") == 0.984 and ev("savage_hcy_elevated") == 0.959
    assert ev("within_cv_b12") == 0.23 and ev("within_cv_hcy") == 0.17
    assert ev("folate_deficiency_cutoff") == 7
    assert 1000 / ev("cobalamin_molar_mass") == pytest.approx(0.7378, abs=1e-4)


def test_derived_mma_limit_matches_nhanes_cutoff():
    # Denver normal range 73-271 nmol/L taken as mean +- 2 SD (log scale): the 3 SD limit
    from b12sim.calibration.targets import log_ref_limit

    lim = math.exp(log_ref_limit("ref_mma_low", "ref_mma_high", 3))
    assert lim == pytest.approx(evidence.value("nhanes_mma_cutoff"), rel=0.01)


def test_missing_quantity_is_named():
    with pytest.raises(KeyError, match="no_such_number"):
        evidence.value("no_such_number")


def test_csv_files_share_one_schema():
    from importlib import resources

    for res in resources.files("b12sim._evidence").iterdir():
        if res.name.endswith(".csv"):
            with res.open() as fh:
                cols = tuple(pd.read_csv(fh, nrows=0).columns)
            assert cols == evidence.COLUMNS, res.name
