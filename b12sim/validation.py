"""Checks of single values at b12sim's boundaries: one rule for numbers, one for whole numbers.

Each raises :class:`~b12sim.errors.InputError` naming the field, the value as given
and the allowed range, and returns the value as ``float`` or ``int``.
"""

from __future__ import annotations

import math
import numbers

from b12sim.errors import InputError


def number(field: str, v: object, lo: float = -math.inf, hi: float = math.inf, allowed: str | None = None, *,
           open_lo: bool = False) -> float:
    """``v`` as a float if it is a finite real number in ``[lo, hi]`` (``(lo, hi]`` with ``open_lo``)."""
    if allowed is None:
        allowed = f"a number {'above' if open_lo else 'from'} {lo:g}" + (f" to {hi:g}" if math.isfinite(hi) else "")
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise InputError(field, v, allowed)
    x = float(v)
    if not (math.isfinite(x) and (lo < x if open_lo else lo <= x) and x <= hi):
        raise InputError(field, v, allowed)
    return x


def whole(field: str, v: object, lo: int, hi: int) -> int:
    """``v`` as an int if it is a whole number (an integer-valued float counts) in ``[lo, hi]``."""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not lo <= v <= hi:
        raise InputError(field, v, f"a whole number from {lo:,} to {hi:,}")
    return int(v)
