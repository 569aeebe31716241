"""Units and input checks at the boundary."""

import math
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from b12sim import evidence, units
from b12sim.errors import InputError, UnitWarning


def test_b12_conversion_matches_published_anchor():
    # Harrington 2017: 200 pg/mL = 148 pmol/L
    assert units.parse("b12", "200 pg/mL") == pytest.approx(148, abs=0.6)
    assert units.convert(148, "pmol/L", "pg/mL", "b12") == pytest.approx(200, abs=1)


def test_other_conversions():
    assert units.parse("mma", "420 nmol/L") == pytest.approx(0.42)
    assert units.parse("hb", "12.5 g/dL") == pytest.approx(125)
    fol = 1000 / evidence.value("folate_molar_mass")
    assert units.parse("folate", "5 ng/mL") == pytest.approx(5 * fol)
    assert units.parse("holotc", "50 pmol/L") == 50
    assert units.parse("mma", "0.42 µmol/L") == units.parse("mma", "0.42 μmol/L") == 0.42


@given(st.floats(min_value=10, max_value=10_000))
def test_round_trip(v):
    there = units.convert(v, "pmol/L", "pg/mL", "b12")
    assert units.convert(there, "pg/mL", "pmol/L", "b12") == pytest.approx(v, rel=1e-12)


@pytest.mark.parametrize("raw", [-5, 0, float("nan"), float("inf"), "abc", "12 furlongs", None, True, [1]])
def test_bad_values_name_the_field(raw):
    with pytest.raises(InputError) as e:
        units.parse("b12", raw)
    assert str(e.value).startswith("b12")
    assert "pmol/L" in str(e.value)


def test_unit_mixup_is_named():
    with pytest.raises(InputError, match="looks like ng/mL"):
        units.parse("b12", 0.2)
    with pytest.warns(UnitWarning, match="looks like nmol/L"):
        units.parse("mma", 50)  # MMA given in nmol/L by mistake (50 umol/L is extreme)
    with pytest.raises(InputError, match="looks like g/dL"):
        units.parse("hb", 12)  # 12 g/L is impossible; 12 g/dL is ordinary


def test_typical_values_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for f, v in [("b12", 250), ("mma", 0.3), ("hcy", 12), ("folate", 15), ("holotc", 60), ("hb", 130)]:
            units.parse(f, v)


def test_unit_clash_and_unknown_field():
    with pytest.raises(InputError, match="carries unit"):
        units.parse("b12", "180 pg/mL", "pmol/L")
    with pytest.raises(InputError, match="field"):
        units.quantity("vitamin_d")
    with pytest.raises(InputError, match="b12 unit"):
        units.convert(1, "mg/dL", "pmol/L", "b12")
    assert math.isclose(units.parse("b12", "180", "pg/mL"), units.parse("b12", "180 pg/mL"))
