"""Tests of the combined indicator of B12 status (b12sim.fedosov)."""

import subprocess
import sys

import numpy as np
import pytest

from b12sim import evidence
from b12sim.fedosov import CATEGORIES, cb12, cb12_category
from b12sim.errors import InputError

NORMAL = dict(b12=300.0, holotc=50.0, mma=0.2, hcy=10.0)


def test_hand_computed_value():
    # holoTC 100, B12 1000 pmol/L; MMA 1, Hcy 10 umol/L; age 46 y
    # log ratio: log10(100 * 1000 / (1 * 10)) = log10(1e4) = 4
    # age term: (46/230)^2.6 = 0.2^2.6 = exp(2.6 * ln 0.2) = exp(-4.184539) = 0.0152292
    #           3.79 / 1.0152292 = 3.733147
    # cB12 = 4 - 3.733147 = 0.266853
    assert cb12(b12=1000, holotc=100, mma=1, hcy=10, age=46) == pytest.approx(0.266853, abs=1e-6)


def test_strings_with_units_equal_canonical_numbers():
    # 1355.37 pg/mL = 1000 pmol/L (molar mass 1355.37 g/mol); 1000 nmol/L = 1 umol/L
    got = cb12(b12="1355.37 pg/mL", holotc="100 pmol/L", mma="1000 nmol/L", hcy="10 umol/L", age="46 years")
    assert got == pytest.approx(0.266853, abs=1e-6)
    assert isinstance(got, float)


def test_age_term_from_evidence_is_unverified_and_documented():
    for q in ("cb12_age_term_amplitude", "cb12_age_term_scale_age", "cb12_age_term_exponent"):
        assert evidence.row(q)["flag"] == "U"


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (-2.5 - 1e-9, "probable deficiency"),
        (-2.5, "possible deficiency"),
        (-1.5 - 1e-9, "possible deficiency"),
        (-1.5, "low"),
        (-0.5 - 1e-9, "low"),
        (-0.5, "adequate"),
        (1.5, "adequate"),
        (1.5 + 1e-9, "elevated"),
        (-4.0, "probable deficiency"),
        (0.0, "adequate"),
        (3.0, "elevated"),
    ],
)
def test_category_boundaries(value, label):
    assert cb12_category(value) == label


def test_category_vectorised():
    got = cb12_category(np.array([-3.0, -2.0, -1.0, 0.0, 2.0]))
    assert list(got) == list(CATEGORIES)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "low", None])
def test_category_bad_input(bad):
    with pytest.raises(InputError) as err:
        cb12_category(bad)
    assert err.value.field == "cb12"


@pytest.mark.parametrize(("field", "sign"), [("b12", 1), ("holotc", 1), ("mma", -1), ("hcy", -1)])
def test_monotone_in_each_marker(field, sign):
    levels = np.array([0.5, 1.0, 2.0, 4.0])
    args = {f: np.full(4, v) for f, v in NORMAL.items()}
    args[field] = NORMAL[field] * levels
    diffs = np.diff(cb12(**args, age=60))
    assert np.all(sign * diffs > 0)


def test_vectorised_equals_scalar():
    rng = np.random.default_rng(1)
    n = 7
    arrays = dict(
        b12=rng.uniform(80, 900, n), holotc=rng.uniform(10, 150, n),
        mma=rng.uniform(0.1, 3.0, n), hcy=rng.uniform(5, 60, n),
    )
    age = rng.uniform(20, 95, n)
    vec = cb12(**arrays, age=age)
    assert isinstance(vec, np.ndarray) and vec.shape == (n,)
    for i in range(n):
        assert vec[i] == pytest.approx(cb12(**{f: float(a[i]) for f, a in arrays.items()}, age=float(age[i])))
    # a scalar age broadcasts against marker arrays
    np.testing.assert_allclose(cb12(**arrays, age=50), [cb12(**{f: float(a[i]) for f, a in arrays.items()}, age=50) for i in range(n)])


def test_supported_form_is_finite():
    assert np.isfinite(cb12(**NORMAL, age=70))


@pytest.mark.parametrize("drop", [("b12",), ("holotc",), ("mma",), ("hcy",), ("holotc", "mma"), ("b12", "hcy")])
def test_missing_markers_raise_with_supported_list(drop):
    args = {f: (None if f in drop else v) for f, v in NORMAL.items()}
    with pytest.raises(InputError) as err:
        cb12(**args, age=50)
    assert err.value.field == ", ".join(drop)
    assert "b12, holotc, mma, hcy" in err.value.allowed


def test_nan_in_array_means_missing():
    args = {f: np.array([v, v]) for f, v in NORMAL.items()}
    args["mma"][1] = np.nan
    with pytest.raises(InputError) as err:
        cb12(**args, age=50)
    assert err.value.field == "mma"
    assert "b12, holotc, mma, hcy" in err.value.allowed


def test_folate_correction_not_implemented():
    with pytest.raises(InputError) as err:
        cb12(**NORMAL, age=50, folate=15.0)
    assert err.value.field == "folate"


@pytest.mark.parametrize("field", ["b12", "holotc", "mma", "hcy", "age"])
@pytest.mark.parametrize("bad", [-1.0, 0.0, float("nan"), "abc", "180 furlongs"])
def test_bad_scalar_input_names_field(field, bad):
    args = dict(NORMAL, age=50.0)
    args[field] = bad
    with pytest.raises(InputError) as err:
        cb12(**args)
    assert err.value.field.split()[0] == field


@pytest.mark.parametrize("field", ["b12", "holotc", "mma", "hcy", "age"])
@pytest.mark.parametrize("bad", [-1.0, 0.0, np.inf])
def test_bad_array_input_names_field(field, bad):
    args = {f: np.array([v, v]) for f, v in dict(NORMAL, age=50.0).items()}
    args[field][1] = bad
    with pytest.raises(InputError) as err:
        cb12(**args)
    assert err.value.field == field


def test_text_array_names_field():
    with pytest.raises(InputError) as err:
        cb12(**dict(NORMAL, hcy=["10", "ten"]), age=50)
    assert err.value.field == "hcy"


def test_mismatched_shapes_raise():
    with pytest.raises(InputError):
        cb12(**dict(NORMAL, b12=[300.0, 200.0]), age=[50.0, 60.0, 70.0])


def test_does_not_import_pymc():
    code = "import sys, b12sim.fedosov; assert 'pymc' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
