"""Nerve damage from low tissue B12: reversible dysfunction and permanent deficit.

Exposure accrues at ``e = max(0, D - D_k) / (D_ref - D_k)`` per day, where ``D`` is
the B12 metabolic deficit (:func:`b12sim.physiology.markers.deficit`), ``D_k`` its
value at the deficiency threshold and ``D_ref`` its value at the centre of the
depleting (pernicious-anaemia-like) component: a day at a typical clinical deficit
adds one exposure-day. Folic acid does not enter: it gives nerves no protection.

* reversible dysfunction ``N`` (0-1) builds as ``e (1 - N) / onset`` and, once
  exposure stops, resolves with half-life ``recovery``;
* permanent deficit: ``P = 1 - exp(-(X / theta)^k)`` of the cumulative exposure
  ``X``, with ``theta, k`` set per draw from the probabilities after 3 and 12
  months of untreated typical deficit (``neuro_permanent_p_3mo``, ``_12mo``;
  calibrated to target 6 by :mod:`b12sim.calibration.neurology`, the 12-month value
  at least :data:`MIN_GAP` above the 3-month one). ``X`` never falls, so earlier
  treatment can only lower ``P``.
"""

from __future__ import annotations

import math

from b12sim.physiology.markers import deficit
from b12sim.physiology.primitives import expm1, log, log1p, maximum, minimum

MONTH_3, MONTH_12 = 365.25 / 4, 365.25  # days
MIN_GAP = 0.05  # the 12-month probability exceeds the 3-month one by at least this


def exposure_rate(d, p):
    """Exposure-days per day for B12 deficit ``d``."""
    d_k = math.log(2.0) / p["n_hinge"]
    d_ref = deficit(p["mu_d"], p["x_k"], p["n_hinge"])
    return maximum(0.0, d - d_k) / maximum(d_ref - d_k, 1e-3)


def weibull(p3, p12):
    """``(theta, k)`` of the permanent-deficit curve through the 3- and 12-month probabilities
    (``theta`` in exposure-days)."""
    h3, h12 = -log1p(-p3), -log1p(-p12)
    k = log(h12 / h3) / math.log(MONTH_12 / MONTH_3)
    return MONTH_3 / h3 ** (1.0 / k), k


def p_permanent(x, p):
    """Probability of a permanent deficit after ``x`` exposure-days."""
    theta, k = weibull(p["neuro_permanent_p_3mo"], p["neuro_permanent_p_12mo"])
    return -expm1(-(maximum(x, 0.0) / theta) ** k)


def nerve_rates(st, e, p):
    """``(inflow, k)`` for exposure ``X`` and dysfunction ``N`` at exposure rate ``e``."""
    off = (1.0 - minimum(e, 1.0)) * math.log(2.0) / p["neuro_recovery_halflife_days"]
    on = e / p["neuro_onset_days"]
    return {"neuro_x": (e, 0.0), "neuro_n": (on, on + off)}
