"""Nerve damage from low tissue B12: reversible dysfunction and permanent deficit.

Exposure accrues at ``e = (max(0, D - D_k) / (D_ref - D_k))^g`` per day, where ``D`` is
the B12 metabolic deficit (:func:`b12sim.physiology.markers.deficit`), ``D_k`` its
value at the deficiency threshold, ``D_ref`` its value at the centre of the depleting
(pernicious-anaemia-like) component and ``g > 1`` the depth power: a day at a typical
clinical deficit adds one exposure-day, a mild biochemical deficit very little, a deep
one more than its depth (nerve injury needs deep tissue deficiency; ``neuro_depth_power``,
an evidence prior). Folic acid does not enter: it gives nerves no protection.

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

from b12sim.physiology.kinetics import halflife_rate
from b12sim.physiology.markers import deficit
from b12sim.physiology.primitives import exp, expm1, log, log1p, maximum, minimum, where

MONTH_3, MONTH_12 = 365.25 / 4, 365.25  # days
MIN_GAP = 0.05  # the 12-month probability exceeds the 3-month one by at least this


def exposure_anchors(x_k, n_hinge, mu_d):
    """``(D_k, u)``: the B12 deficit at the deficiency threshold ``x_k`` (``ln 2 / n``) and the
    exposure-days per day per unit of deficit above it, ``1 / (D_ref - D_k)`` with ``D_ref`` the deficit
    at the centre ``mu_d`` of the depleting component (ln ug)."""
    d_k = math.log(2.0) / n_hinge
    return d_k, 1.0 / maximum(deficit(mu_d, x_k, n_hinge) - d_k, 1e-3)


def exposure_rate(d, d_k, per_deficit, depth_power):
    """Exposure-days per day at B12 deficit ``d``: the deficit above the threshold relative to a typical
    clinical one (``d_k``, ``per_deficit`` from :func:`exposure_anchors`) to the power ``depth_power``."""
    z = maximum(0.0, d - d_k) * per_deficit
    return where(z > 0.0, exp(depth_power * log(where(z > 0.0, z, 1.0))), 0.0)


def weibull(p3, p12):
    """``(theta, k)`` of the permanent-deficit curve through the 3- and 12-month probabilities
    (``theta`` in exposure-days)."""
    h3, h12 = -log1p(-p3), -log1p(-p12)
    k = log(h12 / h3) / math.log(MONTH_12 / MONTH_3)
    return MONTH_3 / h3 ** (1.0 / k), k


def p_permanent(x, theta, k):
    """Probability of a permanent deficit after ``x`` exposure-days on the curve ``(theta, k)`` of :func:`weibull`."""
    z = maximum(x, 0.0) / theta
    return where(z > 0.0, -expm1(-exp(k * log(where(z > 0.0, z, 1.0)))), 0.0)


def dysfunction_constants(neuro_onset_days, neuro_recovery_halflife_days):
    """Onset and recovery rates (1/day) of the reversible dysfunction: ``1 / onset`` and ``ln 2 / half-life``."""
    return 1.0 / neuro_onset_days, halflife_rate(neuro_recovery_halflife_days)


def dysfunction_rates(e, onset_rate, recovery_rate):
    """``(inflow, k)`` of the reversible dysfunction ``N`` at exposure rate ``e``: it builds as
    ``e (1 - N) onset_rate`` and resolves at ``recovery_rate`` as exposure stops (:func:`dysfunction_constants`)."""
    on = e * onset_rate
    return on, on + (1.0 - minimum(e, 1.0)) * recovery_rate
