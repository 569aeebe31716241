"""Unit costs, health-state utilities and discounting for policy analyses.

Numbers come from ``data/evidence/economics.csv`` (read through :mod:`b12sim.evidence`):

* **unit costs** (:func:`unit_costs`): the ``"ontario"`` setting is built from the Ontario
  fee schedule and drug prices of Masucci & Goeree 2013 (CAD, price year 2013) plus
  laboratory prices of Health Quality Ontario 2013; users may pass their own costs as a
  mapping or a CSV file, or override single items;
* **utilities** (:func:`utilities`): anaemia by haemoglobin (Lloyd 2008, linear between two
  Hb anchors, constant outside), peripheral neuropathy by severity (Currie 2006, linear
  between "no symptoms" and "severe"), and the decrement of a permanent myelopathic deficit
  (Matza 2014). None is specific to B12 deficiency: they are proxies, on their sources'
  scales (see each function);
* **discounting** (:func:`discount_factor`) of costs and QALYs over days;
* **annual cost of a regimen** from yearly counts of injections, tablets, tests, visits and
  nurse time (:func:`annual_regimen_cost`).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from b12sim import evidence
from b12sim.errors import InputError

DAYS_PER_YEAR = 365.25
MAX_DISCOUNT_RATE = 0.2  # per year; guidelines use 0-5%

#: Cost items of a setting and what one unit is.
COST_ITEMS: Mapping[str, str] = MappingProxyType({
    "physician_visit": "one physician visit (assessment fee)",
    "injection_fee_with_visit": "injection fee when the injection is given at a physician visit",
    "injection_fee_sole_reason": "injection fee when the injection is the sole reason for the encounter",
    "im_drug_per_injection": "injectable cobalamin, drug cost per injection",
    "oral_tablet": "one oral cobalamin tablet (1 mg)",
    "blood_collection": "one blood sample (venepuncture)",
    "test_cbc": "one complete blood count",
    "test_b12": "one serum B12 test",
    "test_mma": "one methylmalonic acid test",
    "test_hcy": "one total homocysteine test",
    "nurse_per_hour": "one hour of nurse time",
})
#: Laboratory tests that :func:`annual_regimen_cost` can count (item ``test_<name>``).
TESTS = tuple(k.removeprefix("test_") for k in COST_ITEMS if k.startswith("test_"))

# setting -> (item -> evidence quantity), currency, price year, note
_SETTINGS = {
    "ontario": (
        {
            "physician_visit": "cost_physician_visit",
            "injection_fee_with_visit": "cost_injection_fee_with_visit",
            "injection_fee_sole_reason": "cost_injection_fee_sole_reason",
            "im_drug_per_injection": "cost_im_b12_prescription",
            "oral_tablet": "cost_oral_tablet",
            "blood_collection": "cost_blood_collection",
            "test_cbc": "cost_cbc",
            "test_b12": "cost_b12_test",
            "test_mma": "cost_mma_test",
            "test_hcy": "cost_hcy_test",
            "nurse_per_hour": "nurse_wage_per_hour",
        },
        "CAD",
        2013,
        ("Ontario Schedule of Benefits fees and ODB drug cost (Masucci & Goeree 2013) and HQO 2013 "
         "laboratory prices, price year 2013. Not inflated to 2013 for want of a sourced index: "
         "oral_tablet (over-the-counter price, about 2019, a low-end figure) and nurse_per_hour "
         "(2002 wage, no overheads). im_drug_per_injection is the mean ODB prescription cost "
         "counted once per injection (an upper bound per dose) and is used for hydroxocobalamin "
         "too (assumption: no Ontario hydroxocobalamin price found)."),
    ),
}


def _check_number(field: str, v: object, lo: float, hi: float, allowed: str) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise InputError(field, v, allowed)
    x = float(v)
    if not (math.isfinite(x) and lo <= x <= hi):
        raise InputError(field, v, allowed)
    return x


def _check_cost(item: str, v: object) -> float:
    return _check_number(f"costs.{item}", v, 0.0, math.inf, "a finite number >= 0 (currency units)")


def _check_item(item: object) -> str:
    if item not in COST_ITEMS:
        close = difflib.get_close_matches(str(item), list(COST_ITEMS), n=1)
        raise InputError(f"costs.{item}", item, "items " + ", ".join(COST_ITEMS),
                         f"did you mean {close[0]!r}?" if close else "")
    return item


@dataclass(frozen=True)
class UnitCosts:
    """Unit costs of one setting: ``costs[item]`` in ``currency`` at ``price_year`` prices.

    Items are those of :data:`COST_ITEMS`; a setting may leave some out, and asking for a
    missing one (:meth:`cost`) raises :class:`~b12sim.errors.InputError`.
    """

    costs: Mapping[str, float]
    currency: str
    price_year: int
    setting: str
    note: str = ""

    def cost(self, item: str) -> float:
        """Unit cost of ``item`` (currency units per unit of :data:`COST_ITEMS`)."""
        _check_item(item)
        if item not in self.costs:
            raise InputError(f"costs.{item}", None, f"a unit cost for {item} in setting {self.setting!r}",
                             "add it with unit_costs(..., overrides={...})")
        return self.costs[item]


def _read_costs_csv(path: Path) -> dict:
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as e:
        raise InputError("setting", str(path), "a readable CSV file with columns item,cost", str(e)) from e
    if not {"item", "cost"} <= set(df.columns):
        raise InputError("setting", str(path), "a CSV file with columns item,cost",
                         f"found columns {list(df.columns)}")
    dup = df["item"][df["item"].duplicated()].tolist()
    if dup:
        raise InputError("setting", str(path), "each item once", f"repeated: {dup}")
    return dict(zip(df["item"], df["cost"], strict=True))


def unit_costs(setting: str | Path | Mapping[str, float] = "ontario", *,
               overrides: Mapping[str, float] | None = None,
               currency: str | None = None, price_year: int | None = None) -> UnitCosts:
    """Unit costs of a setting.

    Parameters
    ----------
    setting
        ``"ontario"`` (CAD, price year 2013, from ``economics.csv``), a mapping
        ``{item: cost}`` or the path of a CSV file with columns ``item,cost``. Items are
        those of :data:`COST_ITEMS`; a user setting may give only some of them.
    overrides
        ``{item: cost}`` replacing items of the setting (e.g. a local tablet price).
    currency, price_year
        Required for a user setting; for a named setting they relabel its costs (no
        conversion is done).

    Costs must be finite and >= 0; anything else is refused with an
    :class:`~b12sim.errors.InputError` naming the item.
    """
    if isinstance(setting, str) and setting.strip().lower() in _SETTINGS:
        name = setting.strip().lower()
        items, cur, year, note = _SETTINGS[name]
        costs = {item: evidence.value(q) for item, q in items.items()}
    elif isinstance(setting, Mapping) or (isinstance(setting, (str, Path)) and Path(setting).is_file()):
        if isinstance(setting, Mapping):
            name, costs = "user", dict(setting)
        else:
            name, costs = str(setting), _read_costs_csv(Path(setting))
        if currency is None or price_year is None:
            missing = "currency" if currency is None else "price_year"
            raise InputError(missing, None, "given with a user setting (e.g. currency='GBP', price_year=2024)")
        cur, year, note = currency, price_year, ""
    else:
        raise InputError("setting", setting, f"one of {sorted(_SETTINGS)}, a mapping {{item: cost}} "
                                             "or an existing CSV file with columns item,cost")
    if overrides is not None and not isinstance(overrides, Mapping):
        raise InputError("overrides", overrides, "a mapping {item: cost}")
    costs.update(overrides or {})
    checked = {_check_item(k): _check_cost(k, v) for k, v in costs.items()}
    cur = currency if currency is not None else cur
    if not isinstance(cur, str) or not cur.strip():
        raise InputError("currency", cur, "a currency code such as 'CAD'")
    year = price_year if price_year is not None else year
    if isinstance(year, bool) or not isinstance(year, (int, np.integer)) or not 1900 <= year <= 2100:
        raise InputError("price_year", year, "a whole year from 1900 to 2100")
    return UnitCosts(MappingProxyType(checked), cur.strip(), int(year), name, note)


def _check_count(field: str, v: object) -> float:
    return _check_number(field, v, 0.0, math.inf, "a finite number >= 0 per year")


def annual_regimen_cost(*, injections: float = 0.0, injection_at: str = "visit",
                        oral_tablets: float = 0.0, tests: Mapping[str, float] | None = None,
                        blood_draws: float | None = None, physician_visits: float = 0.0,
                        nurse_minutes_per_injection: float = 0.0,
                        costs: UnitCosts | None = None) -> pd.Series:
    """Cost of one person-year of a regimen from yearly counts, item by item.

    Parameters (all counts per year; fractions allowed, e.g. expected counts)
    ----------
    injections
        IM cobalamin injections; each costs ``im_drug_per_injection`` plus its fee.
    injection_at
        ``"visit"``: each injection is given at a physician visit (``physician_visit`` +
        ``injection_fee_with_visit``); ``"sole_reason"``: the injection is the only reason
        for the encounter (``injection_fee_sole_reason``, no visit fee).
    oral_tablets
        Oral tablets taken (``oral_tablet`` each).
    tests
        ``{"cbc" | "b12" | "mma" | "hcy": count}``.
    blood_draws
        Blood samples taken (``blood_collection`` each); default: the largest test count
        (all tests of one occasion run on one sample).
    physician_visits
        Visits besides those of ``injection_at="visit"`` (e.g. monitoring, switching).
    nurse_minutes_per_injection
        Nurse time per injection costed at ``nurse_per_hour``, for settings where staff time
        is not already paid by the injection fee (0 for the Ontario fee codes; the assumed
        10-15 minutes is ``evidence.value("nurse_minutes_per_injection")``, flag U).
    costs
        :class:`UnitCosts`; default ``unit_costs("ontario")``.

    Returns
    -------
    pandas.Series
        Components ``physician_visits, injection_fees, im_drug, oral_drug, tests,
        blood_collection, nurse_time`` and ``total``, in ``attrs["unit"]`` (currency per
        person-year at the setting's price year).
    """
    uc = unit_costs("ontario") if costs is None else costs
    if not isinstance(uc, UnitCosts):
        raise InputError("costs", type(uc).__name__, "a UnitCosts from unit_costs()")
    if injection_at not in ("visit", "sole_reason"):
        raise InputError("injection_at", injection_at, "'visit' or 'sole_reason'")
    n_inj = _check_count("injections", injections)
    n_tab = _check_count("oral_tablets", oral_tablets)
    n_vis = _check_count("physician_visits", physician_visits)
    nurse_min = _check_count("nurse_minutes_per_injection", nurse_minutes_per_injection)
    if tests is not None and not isinstance(tests, Mapping):
        raise InputError("tests", tests, "a mapping {test: count per year}")
    test_counts = {}
    for name, n in (tests or {}).items():
        if name not in TESTS:
            raise InputError(f"tests.{name}", n, "tests " + ", ".join(TESTS))
        test_counts[name] = _check_count(f"tests.{name}", n)
    draws = max(test_counts.values(), default=0.0) if blood_draws is None \
        else _check_count("blood_draws", blood_draws)

    def priced(n: float, item: str) -> float:
        return n * uc.cost(item) if n else 0.0

    visits = n_vis + (n_inj if injection_at == "visit" else 0.0)
    fee = "injection_fee_with_visit" if injection_at == "visit" else "injection_fee_sole_reason"
    parts = {
        "physician_visits": priced(visits, "physician_visit"),
        "injection_fees": priced(n_inj, fee),
        "im_drug": priced(n_inj, "im_drug_per_injection"),
        "oral_drug": priced(n_tab, "oral_tablet"),
        "tests": sum(priced(n, f"test_{t}") for t, n in test_counts.items()),
        "blood_collection": priced(draws, "blood_collection"),
        "nurse_time": priced(n_inj * nurse_min / 60.0, "nurse_per_hour"),
    }
    out = pd.Series(parts, dtype=float)
    out["total"] = out.sum()
    out.attrs.update(unit=f"{uc.currency} per person-year (price year {uc.price_year})",
                     currency=uc.currency, price_year=uc.price_year, setting=uc.setting)
    return out


# ---------------------------------------------------------------------------------------
# Utilities


@dataclass(frozen=True)
class Utilities:
    """Health-state utility inputs (0 = dead, 1 = full health; decrements as positive numbers).

    ``anaemia_low`` / ``anaemia_high``: utility at Hb ``hb_low_g_l`` / ``hb_high_g_l``
    (Lloyd 2008 societal standard gamble, cancer-related anaemia); ``neuropathy_none`` /
    ``neuropathy_severe``: EQ-5D index without / with severe neuropathic symptoms (Currie
    2006, diabetes); ``myelopathy`` / ``myelopathy_paralysis``: utility decrement of spinal
    cord compression without / with paralysis (Matza 2014).
    """

    anaemia_low: float
    anaemia_high: float
    hb_low_g_l: float
    hb_high_g_l: float
    neuropathy_none: float
    neuropathy_severe: float
    myelopathy: float
    myelopathy_paralysis: float

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name.startswith("hb_"):
                x = _check_number(f"utilities.{f.name}", v, 30.0, 200.0, "a haemoglobin from 30 to 200 g/L")
            else:
                x = _check_number(f"utilities.{f.name}", v, 0.0, 1.0, "a number from 0 to 1")
            object.__setattr__(self, f.name, x)
        if not self.hb_low_g_l < self.hb_high_g_l:
            raise InputError("utilities.hb_high_g_l", self.hb_high_g_l,
                             f"above hb_low_g_l ({self.hb_low_g_l:g} g/L)")


_UTILITY_EVIDENCE = {
    "anaemia_low": "utility_anaemia_hb_7_8",
    "anaemia_high": "utility_anaemia_hb_12plus",
    "hb_low_g_l": "utility_anaemia_hb_low_g_l",
    "hb_high_g_l": "utility_anaemia_hb_high_g_l",
    "neuropathy_none": "utility_neuropathy_none",
    "neuropathy_severe": "utility_neuropathy_severe",
    "myelopathy": "disutility_myelopathy",
    "myelopathy_paralysis": "disutility_myelopathy_paralysis",
}


def utilities(**overrides: float) -> Utilities:
    """The published utility inputs of ``economics.csv``, with any field replaced by keyword.

    Utilities and decrements must lie in [0, 1]; Hb anchors in 30-200 g/L, low below high.
    """
    for k, v in overrides.items():
        if k not in _UTILITY_EVIDENCE:
            close = difflib.get_close_matches(k, list(_UTILITY_EVIDENCE), n=1)
            raise InputError(f"utilities.{k}", v, "fields " + ", ".join(_UTILITY_EVIDENCE),
                             f"did you mean {close[0]!r}?" if close else "")
    values = {k: evidence.value(q) for k, q in _UTILITY_EVIDENCE.items()} | overrides
    return Utilities(**values)


def _check_array(field: str, x, lo: float, hi: float, allowed: str):
    """``x`` if all its values are finite and in [lo, hi] (lists become arrays; xarray stays xarray)."""
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise InputError(field, x, allowed) from None
    if a.size == 0 or not np.all(np.isfinite(a)) or a.min() < lo or a.max() > hi:
        shown = x if a.size <= 5 else f"array with min {np.nanmin(a):g}, max {np.nanmax(a):g}"
        raise InputError(field, shown, allowed)
    return x if isinstance(x, (int, float, np.ndarray)) or hasattr(x, "dims") else a


def anaemia_utility(hb_g_l, u: Utilities | None = None):
    """Utility at haemoglobin ``hb_g_l`` (g/L; scalar, numpy or xarray).

    Linear in Hb from ``u.anaemia_low`` at ``u.hb_low_g_l`` (75 g/L, middle of Lloyd's
    7-8 g/dL state) to ``u.anaemia_high`` at ``u.hb_high_g_l`` (120 g/L, start of the
    12+ g/dL state), constant outside. On Lloyd's scale even Hb >= 120 g/L is 0.708 (cancer
    patients); ``anaemia_utility(hb) - u.anaemia_high`` is the anaemia decrement (<= 0).
    """
    u = utilities() if u is None else u
    hb_g_l = _check_array("hb", hb_g_l, 0.0, 300.0, "haemoglobin from 0 to 300 g/L")
    frac = np.clip((hb_g_l - u.hb_low_g_l) / (u.hb_high_g_l - u.hb_low_g_l), 0.0, 1.0)
    return u.anaemia_low + (u.anaemia_high - u.anaemia_low) * frac


def neuropathy_utility(severity, u: Utilities | None = None):
    """EQ-5D utility at neuropathy ``severity`` (0 none to 1 severe; scalar, numpy or xarray).

    Linear between Currie 2006's "no symptoms" (0.81) and "severe" (0.25) groups; the linear
    shape is an assumption (the mild and moderate group values were not retrieved).
    ``neuropathy_utility(s) - u.neuropathy_none`` is the neuropathy decrement.
    """
    u = utilities() if u is None else u
    severity = _check_array("severity", severity, 0.0, 1.0, "a severity from 0 (none) to 1 (severe)")
    return u.neuropathy_none + (u.neuropathy_severe - u.neuropathy_none) * severity


def permanent_deficit_utility(baseline, paralysis: bool = False, u: Utilities | None = None):
    """Utility with a permanent myelopathic deficit: ``baseline`` minus Matza 2014's decrement
    for spinal cord compression (0.22, or 0.32 with paralysis), floored at 0.

    ``baseline`` is the utility without the deficit (0-1; scalar, numpy or xarray).
    """
    u = utilities() if u is None else u
    baseline = _check_array("baseline", baseline, 0.0, 1.0, "a utility from 0 to 1")
    if not isinstance(paralysis, (bool, np.bool_)):
        raise InputError("paralysis", paralysis, "True or False")
    return np.maximum(baseline - (u.myelopathy_paralysis if paralysis else u.myelopathy), 0.0)


# ---------------------------------------------------------------------------------------
# Discounting


def discount_factor(days, rate: float | None = None, *, method: str = "continuous"):
    """Present-value factor of a cost or QALY ``days`` after time zero (scalar, numpy or xarray).

    ``rate`` is the annual discount rate (default ``discount_rate`` of economics.csv: 1.5%,
    the CADTH reference case; use the same or separate rates for costs and QALYs).

    * ``"continuous"``: ``(1 + rate) ** (-days / 365.25)``, i.e. continuous discounting at
      the instantaneous rate ``ln(1 + rate)``, which compounds to ``rate`` over a year;
    * ``"annual"``: ``(1 + rate) ** (-floor(days / 365.25))``: everything in year k
      (k = 0, 1, ...) is discounted by k whole years, as in annual-cycle models.
    """
    r = evidence.value("discount_rate") if rate is None else rate
    r = _check_number("rate", r, 0.0, MAX_DISCOUNT_RATE, f"an annual rate from 0 to {MAX_DISCOUNT_RATE:g}")
    if method not in ("continuous", "annual"):
        raise InputError("method", method, "'continuous' or 'annual'")
    days = _check_array("days", days, 0.0, np.inf, "days >= 0")
    years = days / DAYS_PER_YEAR
    if method == "annual":
        years = np.floor(years)
    return (1.0 + r) ** (-years)
