"""Defaults shared across b12sim: the seed, draw counts, the length of a year, the disclaimer
and the model's calibration status.

One home for each, so that the API, the CLI, the figures and the reports agree.
"""

from __future__ import annotations

MAX_SEED = 2**63 - 1  # the largest seed any entry point accepts
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


# What each part of the model is calibrated to (PyMC; b12sim/calibration/), or that it has no data.
# Every printed or drawn statement of the model's status is one of these texts or STATUS.
CALIBRATION = {
    "markers": "marker model calibrated to published population statistics of serum B12, holoTC, MMA and tHcy",
    "kinetics": "kinetics calibrated to Kuzminski 1998, absorption and retention studies, the steady store of the "
                "median diet and the speed of depletion after gastrectomy",
    "haematology": "blood response calibrated to the target-5 timeline",
    "nerves": "onset, progression and fixation of clinical nerve involvement calibrated to Martin 1992 (18 patients, "
              "through stated assumptions), the FDA 3-month statement (a soft observation) and Chodos & Ross 1951 "
              "(target 6); recovery speed and between-person susceptibility are evidence priors (no data)",
    "nerve_depth": "how fast nerve exposure grows with the depth of deficiency is an evidence prior (an assumption "
                   "informed by Leishear 2012 and the OPEN trial, not fitted)",
}
STATUS = "; ".join(CALIBRATION.values())  # attrs["calibration"] of every simulation and policy result
