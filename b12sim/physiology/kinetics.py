"""Cobalamin kinetics: how food and doses become body stores, and how stores are lost.

The state is the body store ``S`` (ug), the same latent state as the marker model
(:mod:`b12sim.physiology.markers` uses ``x = ln(S + P)``). Per day:

* **food**: the day's dietary intake (ug) is eaten in meals; the share freed from
  food proteins (all of it normally; less in food-cobalamin malabsorption: atrophic
  gastritis, long-term acid suppression) is absorbed per meal like an oral dose.
* **oral** doses (and each meal) are absorbed through intrinsic factor (IF),
  saturable: a Michaelis-Menten curve with initial slope ``if_fraction`` (about 60%
  of a 1-2 ug dose) and plateau ``if_max_ug`` (receptor capacity, 1.5-2.5 ug per
  dose), plus passive uptake of about 1% of the dose that needs no IF. Without IF
  (pernicious anaemia, gastrectomy, ileal resection) only the passive part remains.
  Crystalline B12 (tablets) needs no release from food, so it is absorbed normally
  in food-cobalamin malabsorption.
* **retention depends on the amount**: what enters the blood at once is kept as
  ``a / (1 + a / spill_ug)`` (:func:`retained`): binding holds physiological amounts
  almost whole (a meal; 97% of a 10 ug injection, Carmel 2008), while most of the
  passive uptake of a 1-2 mg tablet and of a 1 mg injection spills into urine. Each
  route has its capacity: absorbed oral B12, and **IM** hydroxocobalamin, which binds
  to plasma proteins and is kept far better than cyanocobalamin (Glass 1961: 27% vs
  69% of 1 mg lost in urine within 72 h).
* kept cobalamin first enters a **recent pool** ``P`` (circulating and
  exchangeable), which moves to the deep stores ``S`` with rate ``k``; the recent
  pool is what makes serum B12 peak after doses and stay higher on daily oral dosing
  than weeks after an injection (Kuzminski 1998).
* **losses** from the stores are a fixed fraction per day (IOM: 0.1-0.2%/day),
  plus, without IF, the biliary cobalamin that would have been reabsorbed (IOM:
  about 1.4 ug/day secreted at normal stores, half reabsorbed; the enterohepatic
  circulation), taken proportional to the store.

A constant intake therefore has a steady state (:func:`steady_pools`): a person who
eats and absorbs normally stays where they are, and stores fall only for a reason
(lost IF, malabsorption, less food). Between doses the two pools follow a linear
system whose exact solution (:func:`pool_update`) the simulator steps with and the
treatment calibration sums over doses, so any step is stable.

Status: priors from published central values and stated assumptions
(``data/evidence/kinetics.csv``, ``treatment.csv``, ``diet.csv``); the parameters of
:data:`b12sim.simulation.parameters.KINETIC` are calibrated with PyMC
(:mod:`b12sim.calibration.treatment`; what to: ``b12sim.defaults.CALIBRATION["kinetics"]``).
"""

from __future__ import annotations

import math

from b12sim.physiology.primitives import exp, expm1, where


def halflife_rate(halflife_days):
    """Rate (1/day) of a first-order decay with the given half-life (days)."""
    return math.log(2) / halflife_days


def first_order_step(k, dt):
    """``(decay, gain)`` of the exact step of ``dz/dt = inflow - k z`` over ``dt`` days with constant
    inflow and ``k`` (1/day, >= 0): ``z`` becomes ``z decay + inflow gain``."""
    positive = k > 0
    return exp(-k * dt), where(positive, -expm1(-k * dt) / where(positive, k, 1.0), dt)


def oral_absorbed(dose_ug, if_intact, if_fraction, if_max_ug, passive_fraction):
    """Amount absorbed (ug) from an oral dose (ug): through intrinsic factor (``if_intact`` 1, or 0
    without it) with initial slope ``if_fraction`` and plateau ``if_max_ug`` (ug), plus the passive share."""
    return if_intact * if_max_ug * dose_ug / (dose_ug + if_max_ug / if_fraction) + passive_fraction * dose_ug


def retained(absorbed_ug, spill_ug):
    """Amount (ug) kept of cobalamin entering the blood at once (ug; absorbed or injected):
    ``a / (1 + a / spill_ug)``. Binding holds physiological amounts almost whole; what exceeds its
    capacity (``spill_ug``, ug, the amount of which half is kept) is lost in urine."""
    return absorbed_ug / (1.0 + absorbed_ug / spill_ug)


def food_kept(intake_ug_per_day, meals_per_day, release, if_intact, if_fraction, if_max_ug, passive_fraction,
              spill_ug):
    """Cobalamin kept (ug/day) from food: the day's intake (ug) eaten in ``meals_per_day`` equal meals,
    the share ``release`` freed from food proteins (1; less in food-cobalamin malabsorption) absorbed
    per meal as an oral dose (:func:`oral_absorbed`) and kept as in :func:`retained`."""
    meal = release * intake_ug_per_day / meals_per_day
    return meals_per_day * retained(oral_absorbed(meal, if_intact, if_fraction, if_max_ug, passive_fraction), spill_ug)


def loss_rate(if_intact, loss_per_day, biliary_reabsorbed, biliary_ug_per_day, store_median_ug):
    """Fractional store loss per day: the basal loss plus, without intrinsic factor (``if_intact``
    0), the share ``biliary_reabsorbed`` of the bile (ug/day at the median store, ug) that is no
    longer reabsorbed, taken proportional to the store."""
    return loss_per_day + (1.0 - if_intact) * (biliary_reabsorbed * biliary_ug_per_day / store_median_ug)


def pool_update(lam, recent_per_day, dt):
    """Exact solution of the two pools over ``dt`` days as ``(e_s, e_r, g)``: stores ``S`` (ug)
    become ``S e_s + g P`` and the recent pool ``P`` becomes ``P e_r``. ``lam``: the store loss
    rate (:func:`loss_rate`, 1/day); ``recent_per_day``: the recent pool's transfer rate to the
    stores (1/day); ``g`` and ``e_r`` are the response to 1 ug put into ``P`` ``dt`` days earlier."""
    e_s, e_r = exp(-lam * dt), exp(-recent_per_day * dt)
    apart = abs(recent_per_day - lam) > 1e-12
    # integral of k e^{-k u} e^{-lam (dt - u)} du over [0, dt]
    return e_s, e_r, recent_per_day * where(apart, (e_s - e_r) / where(apart, recent_per_day - lam, 1.0), dt * e_r)


def steady_pools(lam, recent_per_day):
    """``(S, P)`` (ug per ug/day kept) at the end of each day when the same amount enters the recent
    pool at the start of every day: the steady state of a constant daily intake, per ug/day."""
    e_s, e_r, g = pool_update(lam, recent_per_day, 1.0)
    recent = e_r / (1.0 - e_r)
    return g * (recent + 1.0) / (1.0 - e_s), recent
