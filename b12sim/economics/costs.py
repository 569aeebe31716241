"""Unit costs of a setting, the cost of a regimen-year, and the resources received doses use.

Numbers come from ``data/evidence/economics.csv`` (read through :mod:`b12sim.evidence`). The
``"ontario"`` setting (:func:`unit_costs`) is built from the Ontario fee schedule and drug
prices of Masucci & Goeree 2013 (CAD, price year 2013) plus laboratory prices of Health
Quality Ontario 2013; users may pass their own costs as a mapping or a CSV file, or override
single items. :func:`annual_regimen_cost` prices yearly counts of injections, tablets, tests,
visits and nurse time; :func:`resources` turns received doses into injections and whole
tablets (the one counting rule) and :func:`dose_cost` prices them, for ``decide`` and the
policy microsimulation alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from b12sim import evidence
from b12sim.errors import InputError, did_you_mean
from b12sim.validation import number

MAX_LOG_SD = 2.0  # a factor of about 50 either way at 95%
TABLET_UG = 1000.0  # one oral tablet is 1 mg (the unit of the "oral_tablet" cost item)
IM_CHANNELS = ("im_hydroxo_ug", "im_cyano_ug")  # dose channels given by injection (b12sim.regimens.CHANNELS)

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

#: The evidence row (``economics.csv``) of each item of the ``"ontario"`` setting.
ONTARIO_ROWS: Mapping[str, str] = MappingProxyType({
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
})

# setting -> (item -> evidence quantity), currency, price year, note
_SETTINGS = {
    "ontario": (
        ONTARIO_ROWS,
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


def _check_item(item: object) -> str:
    if item not in COST_ITEMS:
        raise InputError(f"costs.{item}", item, "items " + ", ".join(COST_ITEMS), did_you_mean(item, COST_ITEMS))
    return item


@dataclass(frozen=True)
class UnitCosts:
    """Unit costs of one setting: ``costs[item]`` in ``currency`` at ``price_year`` prices.

    Items are those of :data:`COST_ITEMS`; a setting may leave some out, and asking for a
    missing one (:meth:`cost`) raises :class:`~b12sim.errors.InputError`. ``log_sd``: the
    uncertainty of each item's cost, the SD of its logarithm (items left out are known exactly);
    :func:`cost_draws` samples it.
    """

    costs: Mapping[str, float]
    currency: str
    price_year: int
    setting: str
    note: str = ""
    log_sd: Mapping[str, float] = MappingProxyType({})

    def cost(self, item: str) -> float:
        """Unit cost of ``item`` (currency units per unit of :data:`COST_ITEMS`)."""
        _check_item(item)
        if item not in self.costs:
            raise InputError(f"costs.{item}", None, f"a unit cost for {item} in setting {self.setting!r}",
                             "add it with unit_costs(..., overrides={...})")
        return self.costs[item]


def _read_costs_csv(path: Path, field: str) -> tuple[dict, dict]:
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as e:
        raise InputError(field, str(path), "a readable CSV file with columns item,cost[,log_sd]", str(e)) from e
    if not {"item", "cost"} <= set(df.columns):
        raise InputError(field, str(path), "a CSV file with columns item,cost[,log_sd]",
                         f"found columns {list(df.columns)}")
    dup = df["item"][df["item"].duplicated()].tolist()
    if dup:
        raise InputError(field, str(path), "each item once", f"repeated: {dup}")
    sd = df.dropna(subset=["log_sd"]) if "log_sd" in df.columns else None
    return (dict(zip(df["item"], df["cost"], strict=True)),
            {} if sd is None else dict(zip(sd["item"], sd["log_sd"], strict=True)))


def unit_costs(setting: str | Path | Mapping[str, float] = "ontario", *,
               overrides: Mapping[str, float] | None = None, uncertainty: Mapping[str, float] | None = None,
               currency: str | None = None, price_year: int | None = None, field: str = "setting") -> UnitCosts:
    """Unit costs of a setting: ``"ontario"`` (CAD, price year 2013, from ``economics.csv``), a mapping
    ``{item: cost}`` or the path of a CSV file with columns ``item,cost`` and optionally ``log_sd``
    (items of :data:`COST_ITEMS`; a user setting may give only some of them).

    ``overrides``: ``{item: cost}`` replacing items of the setting (e.g. a local tablet price); an
    overridden item keeps its relative uncertainty. ``uncertainty``: ``{item: log SD}`` replacing
    the uncertainty of items (0: known exactly). The ``"ontario"`` items carry the log SDs of their
    evidence rows; a user setting's items are known exactly unless given one.
    ``currency``, ``price_year``: required for a user setting; for a named setting they relabel
    its costs (no conversion is done). ``field``: the name errors give the setting (the caller's
    keyword for it). Costs must be finite and >= 0; anything else is refused with an
    :class:`~b12sim.errors.InputError` naming the item.
    """
    if isinstance(setting, str) and setting.strip().lower() in _SETTINGS:
        name = setting.strip().lower()
        items, cur, year, note = _SETTINGS[name]
        costs = {item: evidence.value(q) for item, q in items.items()}
        sds = {item: evidence.uncertainty(q) for item, q in items.items()}
    elif isinstance(setting, Mapping) or (isinstance(setting, (str, Path)) and Path(setting).is_file()):
        if isinstance(setting, Mapping):
            name, costs, sds = "user", dict(setting), {}
        else:
            name, (costs, sds) = str(setting), _read_costs_csv(Path(setting), field)
        if currency is None or price_year is None:
            missing = "currency" if currency is None else "price_year"
            raise InputError(missing, None, "given with a user setting (e.g. currency='GBP', price_year=2024)")
        cur, year, note = currency, price_year, ""
    else:
        raise InputError(field, setting, f"one of {sorted(_SETTINGS)}, a mapping {{item: cost}} "
                                             "or an existing CSV file with columns item,cost")
    if overrides is not None and not isinstance(overrides, Mapping):
        raise InputError("overrides", overrides, "a mapping {item: cost}")
    costs.update(overrides or {})
    if uncertainty is not None and not isinstance(uncertainty, Mapping):
        raise InputError("uncertainty", uncertainty, "a mapping {item: log SD}")
    sds.update(uncertainty or {})
    checked = {_check_item(k): number(f"costs.{k}", v, 0.0, math.inf, "a finite number >= 0 (currency units)")
               for k, v in costs.items()}
    log_sd = {}
    for k, v in sds.items():
        if k not in checked:
            raise InputError(f"uncertainty.{k}", v, "items of the setting: " + ", ".join(checked))
        log_sd[k] = number(f"uncertainty.{k}", v, 0.0, MAX_LOG_SD, f"a log SD from 0 to {MAX_LOG_SD:g}")
    cur = currency if currency is not None else cur
    if not isinstance(cur, str) or not cur.strip():
        raise InputError("currency", cur, "a currency code such as 'CAD'")
    year = price_year if price_year is not None else year
    if isinstance(year, bool) or not isinstance(year, (int, np.integer)) or not 1900 <= year <= 2100:
        raise InputError("price_year", year, "a whole year from 1900 to 2100")
    return UnitCosts(MappingProxyType(checked), cur.strip(), int(year), name, note,
                     MappingProxyType({k: v for k, v in log_sd.items() if v > 0}))


def cost_draws(costs: UnitCosts, n: int, rng: np.random.Generator, *, scale: float = 1.0) -> dict[str, np.ndarray]:
    """``n`` draws of every unit cost of ``costs`` (item -> array, currency units): log-normal with
    median the setting's cost and its ``log_sd`` times ``scale`` (0: every draw at the median;
    constant when an item has no ``log_sd``), items in the order of :data:`COST_ITEMS`, one
    standard normal per draw each from ``rng``."""
    return {item: costs.costs[item] * np.exp(scale * costs.log_sd.get(item, 0.0) * rng.standard_normal(n))
            for item in COST_ITEMS if item in costs.costs}


def _check_count(field: str, v: object) -> float:
    return number(field, v, 0.0, math.inf, "a finite number >= 0 per year")


# item -> the line of annual_regimen_cost it is reported under
_LINES = {"physician_visit": "physician_visits", "injection_fee_with_visit": "injection_fees",
          "injection_fee_sole_reason": "injection_fees", "im_drug_per_injection": "im_drug",
          "oral_tablet": "oral_drug", "blood_collection": "blood_collection", "nurse_per_hour": "nurse_time"}
_LINES |= {f"test_{t}": "tests" for t in TESTS}
LINES = ("physician_visits", "injection_fees", "im_drug", "oral_drug", "tests", "blood_collection", "nurse_time")


def annual_quantities(*, injections: float = 0.0, injection_at: str = "visit", oral_tablets: float = 0.0,
                      tests: Mapping[str, float] | None = None, blood_draws: float | None = None,
                      physician_visits: float = 0.0, nurse_minutes_per_injection: float = 0.0) -> dict[str, float]:
    """Units of each cost item (:data:`COST_ITEMS`) one person-year of a regimen uses; items not used
    are left out. The arguments are those of :func:`annual_regimen_cost`, which prices these units."""
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
    fee = "injection_fee_with_visit" if injection_at == "visit" else "injection_fee_sole_reason"
    units = {"physician_visit": n_vis + (n_inj if injection_at == "visit" else 0.0), fee: n_inj,
             "im_drug_per_injection": n_inj, "oral_tablet": n_tab, "blood_collection": draws,
             "nurse_per_hour": n_inj * nurse_min / 60.0} | {f"test_{t}": n for t, n in test_counts.items()}
    return {item: n for item, n in units.items() if n}


def price(units: Mapping[str, float], costs: UnitCosts | Mapping[str, np.ndarray]):
    """Cost of ``units`` (item -> count, as from :func:`annual_quantities`) at the unit costs of a
    setting, or at per-draw unit costs (item -> array, as from :func:`cost_draws`; then an array)."""
    def unit(item):
        if isinstance(costs, UnitCosts):
            return costs.cost(item)
        if item not in costs:
            raise InputError(f"costs.{item}", None, "a unit cost for every item used", f"have {sorted(costs)}")
        return costs[item]

    return sum(n * unit(item) for item, n in units.items())


def annual_regimen_cost(*, injections: float = 0.0, injection_at: str = "visit",
                        oral_tablets: float = 0.0, tests: Mapping[str, float] | None = None,
                        blood_draws: float | None = None, physician_visits: float = 0.0,
                        nurse_minutes_per_injection: float = 0.0,
                        costs: UnitCosts | None = None) -> pd.Series:
    """Cost of one person-year of a regimen from yearly counts (fractions allowed, e.g. expected counts).

    ``injections``: IM cobalamin injections, each ``im_drug_per_injection`` plus its fee: with
    ``injection_at="visit"`` given at a physician visit (``physician_visit`` +
    ``injection_fee_with_visit``), with ``"sole_reason"`` the only reason for the encounter
    (``injection_fee_sole_reason``, no visit fee). ``oral_tablets``: ``oral_tablet`` each.
    ``tests``: ``{"cbc" | "b12" | "mma" | "hcy": count}``. ``blood_draws``: ``blood_collection``
    each; default the largest test count (all tests of one occasion run on one sample).
    ``physician_visits``: visits besides those of ``injection_at="visit"`` (e.g. monitoring,
    switching). ``nurse_minutes_per_injection``: nurse time at ``nurse_per_hour``, for settings
    where the injection fee does not pay staff time (0 for the Ontario fee codes; the assumed
    10-15 minutes is ``evidence.value("nurse_minutes_per_injection")``, flag U). ``costs``: a
    :class:`UnitCosts`, default ``unit_costs("ontario")``.

    Returns a Series, line by line: ``physician_visits, injection_fees, im_drug, oral_drug, tests,
    blood_collection, nurse_time`` and ``total``, in ``attrs["unit"]`` (currency per person-year at
    the setting's price year). The units behind it are :func:`annual_quantities`.
    """
    uc = unit_costs("ontario") if costs is None else costs
    if not isinstance(uc, UnitCosts):
        raise InputError("costs", type(uc).__name__, "a UnitCosts from unit_costs()")
    units = annual_quantities(injections=injections, injection_at=injection_at, oral_tablets=oral_tablets,
                              tests=tests, blood_draws=blood_draws, physician_visits=physician_visits,
                              nurse_minutes_per_injection=nurse_minutes_per_injection)
    out = pd.Series(0.0, index=list(LINES), dtype=float)
    for item, n in units.items():
        out[_LINES[item]] += n * uc.cost(item)
    out["total"] = out.sum()
    out.attrs.update(unit=f"{uc.currency} per person-year (price year {uc.price_year})",
                     currency=uc.currency, price_year=uc.price_year, setting=uc.setting)
    return out


def resources(doses: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Resources used by doses given per day on the channels of :data:`b12sim.regimens.CHANNELS`.

    ``injections``: one per day with an IM dose of each form; ``tablets``: whole 1 mg tablets
    per oral dose, ``ceil(oral_ug / TABLET_UG)``, as dispensed (a 1.5 mg dose takes two).
    Folic acid is not costed.
    """
    return {"injections": sum(doses[c] > 0 for c in IM_CHANNELS).astype(float),
            "tablets": np.ceil(doses["oral_ug"] / TABLET_UG)}


def dose_cost(injections, tablets, costs: UnitCosts | Mapping[str, np.ndarray]):
    """Cost of ``injections`` (drug, fee and the physician visit each is given at) and ``tablets``.

    Counts per day (arrays broadcast, as does the result); ``costs``: a setting, or per-draw unit
    costs (item -> array, as from :func:`cost_draws`, shaped to broadcast with the counts). An item
    is priced only when used, so a setting without it can still cost the other.
    """
    out = 0.0
    if np.any(injections):
        out = out + injections * price(annual_quantities(injections=1), costs)
    if np.any(tablets):
        out = out + tablets * price({"oral_tablet": 1.0}, costs)
    return out + np.zeros(np.broadcast_shapes(np.shape(injections), np.shape(tablets)))
