"""Cobalamin kinetics: how doses become body stores, and how stores are lost.

The state is the body store ``S`` (ug), the same latent state as the marker model
(:mod:`b12sim.physiology.markers` uses ``x = ln S``). Per day:

* **oral** doses are absorbed through intrinsic factor (IF), saturable: a
  Michaelis-Menten curve with initial slope ``if_fraction`` (about 60% of a 1-2 ug
  dose) and plateau ``if_max_ug`` (receptor capacity, 1.5-2.5 ug per dose), plus
  passive uptake of about 1% of the dose that needs no IF. Without IF (pernicious
  anaemia, gastrectomy, ileal resection) only the passive part remains.
* **IM** doses are retained as ``R d / (d + K)`` per form: the unbound excess is lost
  in urine. ``R`` and ``K`` are solved from the 72-hour urinary losses after 500 and
  1,000 ug (Glass 1961), so hydroxocobalamin keeps about 73% of 1 mg and
  cyanocobalamin about 31%.
* absorbed and retained cobalamin first enters a **recent pool** ``P`` (circulating
  and exchangeable), which moves to the deep stores ``S`` with rate ``k_s`` and is
  partly lost (urine, bile) with rate ``k_l``; the recent pool is what makes serum
  B12 peak after doses and stay higher on daily oral dosing than weeks after an
  injection (Kuzminski 1998).
* **losses** from the stores are a fixed fraction per day (IOM: 0.1-0.2%/day),
  plus, without IF, the biliary cobalamin that would have been reabsorbed (IOM:
  about 1.4 ug/day secreted at normal stores, half reabsorbed), taken
  proportional to the store.

The latent state of the marker model is the body total ``x = ln(S + P)``.

Between doses the two pools follow a linear system whose exact solution
(:func:`pool_update`) the simulator steps with and the treatment calibration sums
over doses, so any step is stable.

Status: published central values and stated assumptions
(``data/evidence/kinetics.csv``, ``treatment.csv``), the recent pool, the store loss
and passive absorption calibrated to Kuzminski 1998 (:mod:`b12sim.calibration.treatment`).
"""

from __future__ import annotations

import functools
import math

from b12sim import evidence
from b12sim.errors import InputError
from b12sim.physiology.primitives import exp, expm1, where

FORMS = ("hydroxocobalamin", "cyanocobalamin")
_GLASS = {"hydroxocobalamin": "ohcbl", "cyanocobalamin": "cncbl"}


@functools.cache
def im_retention(form: str) -> tuple[float, float]:
    """``(R, K)`` (ug) of :func:`im_retained` for ``form``, through the two Glass 1961 points."""
    if form not in FORMS:
        raise InputError("form", form, f"one of {', '.join(FORMS)}")
    key = _GLASS[form]
    d1, d2 = 500.0, 1000.0
    r1 = d1 * (1 - evidence.value(f"glass_loss_72h_{key}_500"))
    r2 = d2 * (1 - evidence.value(f"glass_loss_72h_{key}_1000"))
    # r1 (d1 + K) / d1 = r2 (d2 + K) / d2  ->  solve for K, then R
    k = (r2 - r1) / (r1 / d1 - r2 / d2)
    return r1 * (d1 + k) / d1, k


def halflife_rate(halflife_days):
    """Rate (1/day) of a first-order decay with the given half-life (days)."""
    return math.log(2) / halflife_days


def first_order_step(k, dt):
    """``(decay, gain)`` of the exact step of ``dz/dt = inflow - k z`` over ``dt`` days with constant
    inflow and ``k`` (1/day, >= 0): ``z`` becomes ``z decay + inflow gain``."""
    positive = k > 0
    return exp(-k * dt), where(positive, -expm1(-k * dt) / where(positive, k, 1.0), dt)


def recent_rates(halflife_days, lost_fraction):
    """``(k_s, k_l)``: transfer to the stores and loss rates (1/day) of the recent pool from its
    half-life (days) and the share of it that is lost."""
    k = halflife_rate(halflife_days)
    return k * (1 - lost_fraction), k * lost_fraction


def oral_absorbed(dose_ug, if_intact, if_fraction, if_max_ug, passive_fraction):
    """Amount absorbed (ug) from an oral dose (ug): through intrinsic factor (``if_intact`` 1, or 0
    without it) with initial slope ``if_fraction`` and plateau ``if_max_ug`` (ug), plus the passive share."""
    return if_intact * if_max_ug * dose_ug / (dose_ug + if_max_ug / if_fraction) + passive_fraction * dose_ug


def im_retained(dose_ug, retained_max_ug, half_dose_ug):
    """Amount retained (ug) from an IM dose (ug), ``R d / (d + K)`` (``R``, ``K`` in ug from
    :func:`im_retention`): the unbound excess is lost in urine."""
    return retained_max_ug * dose_ug / (dose_ug + half_dose_ug)


def loss_rate(if_intact, loss_per_day, biliary_reabsorbed, biliary_ug_per_day, store_median_ug):
    """Fractional store loss per day: the basal loss plus, without intrinsic factor (``if_intact``
    0), the share ``biliary_reabsorbed`` of the bile (ug/day at the median store, ug) that is no
    longer reabsorbed, taken proportional to the store."""
    return loss_per_day + (1.0 - if_intact) * (biliary_reabsorbed * biliary_ug_per_day / store_median_ug)


def pool_update(lam, recent_to_stores_per_day, recent_lost_per_day, dt):
    """Exact solution of the two pools over ``dt`` days as ``(e_s, e_r, g)``: stores ``S`` (ug)
    become ``S e_s + g P`` and the recent pool ``P`` becomes ``P e_r``. ``lam``: the store loss
    rate (:func:`loss_rate`, 1/day); ``g`` and ``e_r`` are the response to 1 ug put into ``P``
    ``dt`` days earlier."""
    k = recent_to_stores_per_day + recent_lost_per_day
    e_s, e_r = exp(-lam * dt), exp(-k * dt)
    apart = abs(k - lam) > 1e-12
    # integral of k_s e^{-k u} e^{-lam (dt - u)} du over [0, dt]
    return e_s, e_r, recent_to_stores_per_day * where(apart, (e_s - e_r) / where(apart, k - lam, 1.0), dt * e_r)
