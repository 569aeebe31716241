"""Fedosov's combined indicator of vitamin B12 status (cB12).

The four-marker indicator is

    4cB12 = log10[(holoTC * B12) / (MMA * Hcy)] - A / (1 + (age / B)**C)

with holoTC and B12 in pmol/L, MMA and Hcy in umol/L and age in years
(Fedosov et al., Clin Chem Lab Med 2015;53:1215-25).

What is and is not implemented, and why:

* The general form (log ratio minus an age factor) is verified in the 2015
  abstract. The age-factor constants A = 3.79, B = 230 years, C = 2.6 and the
  units above are **unverified** background knowledge (flag ``U`` in
  ``data/evidence/cb12.csv``): no retrieved source states them. The units are
  at least consistent: typical normal markers give cB12 near 0.
* Only the four-marker form is implemented. The three- and two-marker forms
  (3cB12, 2cB12) replace a missing marker by a fitted prediction whose
  equations were not retrieved, so any other combination of markers raises
  :class:`~b12sim.errors.InputError`.
* The folate correction (cB12 + delta_folate) is not implemented either: its
  curve against serum folate was not retrieved, so passing ``folate`` raises.

Categories (Viapath/Nutristasis reference ranges; deficiency cB12 < -0.5 from
Fedosov 2015). Lower bounds are inclusive, so a value of exactly -2.5, -1.5 or
-0.5 falls in the category above it; exactly 1.5 is still "adequate":

====================  ==================
cB12                  category
====================  ==================
< -2.5                probable deficiency
[-2.5, -1.5)          possible deficiency
[-1.5, -0.5)          low
[-0.5, 1.5]           adequate
> 1.5                 elevated
====================  ==================
"""

from __future__ import annotations

import numbers

import numpy as np

from b12sim import evidence, units
from b12sim.errors import InputError

MARKERS = ("b12", "holotc", "mma", "hcy")
CATEGORIES = ("probable deficiency", "possible deficiency", "low", "adequate", "elevated")
# evidence rows of the category bounds, lowest first
CUTS = ("cb12_cut_probable_possible", "cb12_cut_possible_low", "cb12_cut_low_adequate", "cb12_cut_adequate_elevated")
_SUPPORTED = (
    "all four of b12, holotc, mma, hcy (4cB12); the 3- and 2-marker forms are "
    "not implemented because their equations (Fedosov 2015) could not be confirmed"
)


def cb12(b12=None, holotc=None, mma=None, hcy=None, *, age, folate=None):
    """Four-marker combined indicator of B12 status, 4cB12 (log10 units; a float when every input is a scalar).

    ``b12``, ``holotc``: serum total B12 and holotranscobalamin (pmol/L); ``mma``, ``hcy``:
    methylmalonic acid and total homocysteine (umol/L); ``age``: years. A number is read in
    these units and a string may carry its own unit (``"180 pg/mL"``). Arrays hold numbers in
    these units, NaN meaning a missing marker; they broadcast against each other and against
    ``age``. ``folate`` must be None: the folate correction is not implemented.

    Raises :class:`InputError` naming the field, for a missing marker, ``folate``, or a value
    that is not a plausible positive number in an accepted unit.
    """
    if folate is not None:
        raise InputError("folate", folate, "None",
                         "the folate correction of cB12 is not implemented: its curve could not be confirmed")
    raw = {"b12": b12, "holotc": holotc, "mma": mma, "hcy": hcy}
    missing = [f for f, v in raw.items() if v is None]
    if missing:
        raise InputError(", ".join(missing), None, _SUPPORTED)
    vals = {f: _read(f, v) for f, v in (*raw.items(), ("age", age))}
    for f in MARKERS:
        n_nan = int(np.isnan(vals[f]).sum())
        if n_nan:
            raise InputError(f, f"NaN (missing) in {n_nan} of {vals[f].size} values", _SUPPORTED)
    n_nan = int(np.isnan(vals["age"]).sum())
    if n_nan:
        raise InputError("age", f"NaN in {n_nan} of {vals['age'].size} values", units.quantity("age").allowed())
    try:
        b, h, m, y, a = np.broadcast_arrays(*(vals[f] for f in (*MARKERS, "age")))
    except ValueError:
        shapes = {f: v.shape for f, v in vals.items()}
        raise InputError("b12, holotc, mma, hcy, age", shapes, "arrays of one broadcastable shape") from None
    age_term = evidence.value("cb12_age_term_amplitude") / (
        1.0 + (a / evidence.value("cb12_age_term_scale_age")) ** evidence.value("cb12_age_term_exponent")
    )
    out = np.log10((h * b) / (m * y)) - age_term
    return float(out) if out.ndim == 0 else out


def cb12_category(value):
    """Category label(s) of cB12 value(s) (log10 units), per the table in the module docstring: a
    label for a scalar, an object array of labels for an array."""
    try:
        v = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InputError("cb12", value, "finite numbers (cB12, log10 units)") from None
    if not np.isfinite(v).all():
        raise InputError("cb12", value, "finite numbers (cB12, log10 units)")
    lower = [evidence.value(q) for q in CUTS[:-1]]
    idx = np.searchsorted(lower, v, side="right") + (v > evidence.value(CUTS[-1]))  # 1.5 itself is "adequate"
    labels = np.asarray(CATEGORIES, dtype=object)[idx]
    return labels if v.ndim else str(labels)


def _read(field: str, raw) -> np.ndarray:
    """One input as a float array in its canonical unit (0-d for a scalar), range-checked."""
    if isinstance(raw, (str, numbers.Number, np.generic)):
        return np.asarray(units.parse(field, raw))
    q = units.quantity(field)
    try:
        arr = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        raise InputError(field, raw, q.allowed(), "arrays must hold numbers in the canonical unit") from None
    if arr.ndim == 0:
        return np.asarray(units.parse(field, float(arr)))
    lo, hi = q.hard
    bad = ~np.isnan(arr) & ~((arr >= lo) & (arr <= hi))
    if bad.any():
        raise InputError(field, float(arr[bad][0]), q.allowed(), f"{int(bad.sum())} of {arr.size} values outside the plausible range")
    return arr
