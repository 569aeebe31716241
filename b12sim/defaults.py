"""Defaults shared across b12sim: the seed, draw counts, the length of a year, the disclaimer.

One home for each, so that the API, the CLI and the reports agree.
"""

from __future__ import annotations

SEED = 20261125  # default seed of every stochastic entry point
DAYS_PER_YEAR = 365.25  # days; converts yearly rates, costs and utilities to days
DRAWS = {  # default posterior draws per entry point
    "diagnose": 400,  # P(deficient) within about 1 point of Monte Carlo error
    "simulate": 200,
    "decide": 200,
    "compare": 100,
    "delay_curve": 100,  # per regimen and delay
}
def version() -> str:
    """The installed package's version (pyproject.toml is its one home)."""
    from importlib.metadata import version as installed

    return installed("b12sim")


DISCLAIMER = (
    "b12sim is a research and teaching tool. Its outputs are model estimates, "
    "not medical advice; clinical decisions need a clinician and the full picture."
)
