"""Discounting of costs and QALYs over days."""

from __future__ import annotations

import numpy as np

from b12sim import evidence
from b12sim.defaults import DAYS_PER_YEAR
from b12sim.economics.utilities import check_array
from b12sim.errors import InputError
from b12sim.validation import number

MAX_DISCOUNT_RATE = 0.2  # per year; guidelines use 0-5%


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
    r = number("rate", r, 0.0, MAX_DISCOUNT_RATE, f"an annual rate from 0 to {MAX_DISCOUNT_RATE:g}")
    if method not in ("continuous", "annual"):
        raise InputError("method", method, "'continuous' or 'annual'")
    days = check_array("days", days, 0.0, np.inf, "days >= 0")
    years = days / DAYS_PER_YEAR
    if method == "annual":
        years = np.floor(years)
    return (1.0 + r) ** (-years)
