"""Units of the laboratory and clinical quantities, and conversion at the boundary.

Inside b12sim every quantity has one canonical unit (SI-style, as clinical labs in
Europe report them):

========  =================  =========================================
field     canonical unit     also accepted
========  =================  =========================================
b12       pmol/L             pg/mL, ng/L
holotc    pmol/L             pg/mL, ng/L
mma       umol/L             nmol/L
hcy       umol/L             (tHcy)
folate    nmol/L             ng/mL, ug/L
hb        g/L                g/dL
age       years
egfr      mL/min/1.73m2
========  =================  =========================================

A bare number is read in the canonical unit; a string may carry its unit
(``"180 pg/mL"``, ``"0.42 umol/L"``, ``"420 nmol/L"``). Conversions use the molar
masses in ``data/evidence/conversions.csv``.
"""

from __future__ import annotations

import functools
import math
import re
import warnings
from dataclasses import dataclass

from b12sim import evidence
from b12sim.errors import InputError, UnitWarning


@dataclass(frozen=True)
class Quantity:
    """A measurable input: canonical unit, accepted units and plausible ranges.

    ``hard`` bounds (canonical unit) are refused; values outside ``typical`` are
    accepted but checked for a likely unit mix-up.
    """

    name: str
    label: str
    unit: str
    factors: dict[str, float]  # normalised unit spelling -> multiply to get canonical
    hard: tuple[float, float]
    typical: tuple[float, float]

    def allowed(self) -> str:
        lo, hi = self.hard
        units = ", ".join(_pretty(u) for u in sorted(self.factors))
        return f"{lo:g} to {hi:g} {self.unit}" + (f" (units: {units})" if units else "")


def _pretty(u: str) -> str:
    """Display spelling of a normalised unit (``pg/ml`` -> ``pg/mL``)."""
    return u.replace("/l", "/L").replace("ml", "mL").replace("dl", "dL")


def _norm_unit(u: str) -> str:
    u = u.strip().lower().replace(" ", "")
    u = u.replace("µ", "u").replace("μ", "u").replace("mcg", "ug")
    u = u.replace("/liter", "/l").replace("/litre", "/l")
    u = u.replace("per", "/")
    return u


@functools.cache
def quantities() -> dict[str, Quantity]:
    """The quantities b12sim accepts, by field name."""
    b12 = 1000.0 / evidence.value("cobalamin_molar_mass")  # pg/mL -> pmol/L
    fol = 1000.0 / evidence.value("folate_molar_mass")  # ng/mL -> nmol/L
    qs = [
        Quantity("b12", "serum B12", "pmol/L",
                 {"pmol/l": 1.0, "pg/ml": b12, "ng/l": b12},
                 hard=(5.0, 50_000.0), typical=(40.0, 1_500.0)),
        Quantity("holotc", "holotranscobalamin", "pmol/L",
                 {"pmol/l": 1.0, "pg/ml": b12, "ng/l": b12},
                 hard=(1.0, 5_000.0), typical=(5.0, 250.0)),
        Quantity("mma", "methylmalonic acid", "umol/L",
                 {"umol/l": 1.0, "nmol/l": 1e-3, "nmol/ml": 1.0},
                 hard=(0.01, 500.0), typical=(0.05, 20.0)),
        Quantity("hcy", "total homocysteine", "umol/L",
                 {"umol/l": 1.0, "nmol/ml": 1.0},
                 hard=(0.5, 500.0), typical=(3.0, 150.0)),
        Quantity("folate", "serum folate", "nmol/L",
                 {"nmol/l": 1.0, "ng/ml": fol, "ug/l": fol},
                 hard=(0.2, 500.0), typical=(3.0, 120.0)),
        Quantity("hb", "haemoglobin", "g/L",
                 {"g/l": 1.0, "g/dl": 10.0},
                 hard=(20.0, 250.0), typical=(50.0, 200.0)),
        Quantity("mcv", "mean cell volume", "fL", {"fl": 1.0},
                 hard=(50.0, 160.0), typical=(65.0, 130.0)),
        Quantity("age", "age", "years", {"years": 1.0, "y": 1.0, "yr": 1.0},
                 hard=(18.0, 110.0), typical=(18.0, 105.0)),
        Quantity("egfr", "eGFR", "mL/min/1.73m2",
                 {"ml/min/1.73m2": 1.0, "ml/min/1.73m^2": 1.0, "ml/min": 1.0},
                 hard=(1.0, 200.0), typical=(5.0, 150.0)),
    ]
    return {q.name: q for q in qs}


def quantity(field: str) -> Quantity:
    """The :class:`Quantity` named ``field``."""
    qs = quantities()
    if field not in qs:
        raise InputError("field", field, f"one of {', '.join(qs)}")
    return qs[field]


def convert(value: float, from_unit: str, to_unit: str, field: str) -> float:
    """Convert ``value`` of ``field`` between two of its accepted units."""
    q = quantity(field)
    return value * _factor(q, from_unit) / _factor(q, to_unit)


def _factor(q: Quantity, unit: str) -> float:
    key = _norm_unit(unit)
    if key not in q.factors:
        hint = "1 ng/mL = 1000 pg/mL" if key == "ng/ml" and "pg/ml" in q.factors else ""
        raise InputError(f"{q.name} unit", unit,
                         f"one of {', '.join(_pretty(u) for u in sorted(q.factors))} for {q.label}", hint)
    return q.factors[key]


_NUM_UNIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


def parse(field: str, raw: object, unit: str | None = None) -> float:
    """Read one user value of ``field`` into its canonical unit, checking its range.

    ``raw`` is a number (in ``unit``, or the canonical unit when ``unit`` is None) or a
    string such as ``"180 pg/mL"``. Raises :class:`InputError` naming the field for
    text, NaN, non-positive or implausible values and unknown units; a refusal that
    looks like a unit mix-up says which unit the number probably was in.
    """
    q = quantity(field)
    if isinstance(raw, bool) or raw is None:
        raise InputError(field, raw, q.allowed())
    if isinstance(raw, str):
        m = _NUM_UNIT.match(raw)
        if not m:
            raise InputError(field, raw, q.allowed(), "expected a number with an optional unit, e.g. '180 pg/mL'")
        num = float(m.group(1))
        if m.group(2):
            if unit is not None and _norm_unit(unit) != _norm_unit(m.group(2)):
                raise InputError(field, raw, q.allowed(), f"value carries unit {m.group(2)!r} but the unit given is {unit!r}")
            unit = m.group(2)
    else:
        try:
            num = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InputError(field, raw, q.allowed()) from None
    factor = 1.0 if unit is None else _factor(q, unit)
    if not math.isfinite(num):
        raise InputError(field, raw, q.allowed(), "not a finite number")
    val = num * factor
    lo, hi = q.hard
    if not lo <= val <= hi:
        raise InputError(field, raw, q.allowed(), _mixup_hint(q, num, unit) or "outside the plausible range")
    tlo, thi = q.typical
    if not tlo <= val <= thi:
        hint = _mixup_hint(q, num, unit)
        if hint:
            warnings.warn(f"{field}={raw!r} is unusual: {hint}", UnitWarning, stacklevel=2)
    return val


def _mixup_hint(q: Quantity, num: float, unit: str | None) -> str:
    """Suggest another accepted unit under which ``num`` would look typical."""
    given = q.factors.get(_norm_unit(unit), 1.0) if unit else 1.0
    tlo, thi = q.typical
    for alias, f in q.factors.items():
        if f == given:
            continue
        if tlo <= num * f <= thi:
            return f"looks like {_pretty(alias)} ({num:g} {_pretty(alias)} = {num * f:.4g} {q.unit})"
    # ng/mL for B12 (0.2 ng/mL = 200 pg/mL = 148 pmol/L) is a common slip not in the accepted list:
    # suggest the same amount in pg/mL, which is accepted
    if q.name in ("b12", "holotc") and tlo <= num * 1000 * q.factors["pg/ml"] <= thi:
        return (f"looks like ng/mL ({num:g} ng/mL = {num * 1000:g} pg/mL = {num * 1000 * q.factors['pg/ml']:.4g} "
                f"pmol/L); give it as '{num * 1000:g} pg/mL'")
    return ""
