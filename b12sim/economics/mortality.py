"""Background mortality: Gompertz hazards matched to life tables.

The hazard at age ``x`` (years) is ``h65 * exp(b * (x - 65))`` with slope
``b = ln 2 / mortality_doubling_years`` (Gompertz law); ``h65`` is solved per sex so that
remaining life expectancy at 65 equals the Statistics Canada life table value. B12 deficiency and
its treatment are taken not to change mortality (an assumption: no source found).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import integrate, optimize

from b12sim import evidence
from b12sim.defaults import DAYS_PER_YEAR


def _life_expectancy(h65: float, b: float) -> float:
    return integrate.quad(lambda t: math.exp(-h65 * math.expm1(b * t) / b), 0, 80)[0]


@functools.cache
def hazard_at_65(female: bool) -> float:
    """Annual mortality hazard at 65 (per year) that reproduces the life table's life expectancy."""
    target = evidence.value("life_expectancy_65_female" if female else "life_expectancy_65_male")
    b = slope()
    return optimize.brentq(lambda h: _life_expectancy(h, b) - target, 1e-5, 1.0)


def slope() -> float:
    """Gompertz slope (per year of age) from the mortality doubling time."""
    return math.log(2) / evidence.value("mortality_doubling_years")


def survival(age, female, days) -> np.ndarray:
    """P(alive) after ``days`` (1-D) for people of ``age`` (years) and sex ``female``: (people, days)."""
    b = slope()
    age = np.asarray(age, float)[:, None]
    h65 = np.where(np.asarray(female, bool), hazard_at_65(True), hazard_at_65(False))[:, None]
    t = np.asarray(days, float)[None, :] / DAYS_PER_YEAR
    return np.exp(-h65 * np.exp(b * (age - 65.0)) * np.expm1(b * t) / b)
