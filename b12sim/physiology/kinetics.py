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

The daily update is the exact solution of the linear two-pool system between
doses, with a day's absorbed amount added to ``P`` at the start of the day, so any
step is stable. Parameters may be arrays (one value per posterior draw).

Status: published central values and stated assumptions
(``data/evidence/kinetics.csv``, ``treatment.csv``); their calibration with PyMC
against the trial targets is still to come.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from b12sim import evidence
from b12sim.errors import InputError

FORMS = ("hydroxocobalamin", "cyanocobalamin")
_GLASS = {"hydroxocobalamin": "ohcbl", "cyanocobalamin": "cncbl"}


def _retention_curve(form: str) -> tuple[float, float]:
    """(R ug, K ug) of ``retained = R d / (d + K)`` through the two Glass 1961 points."""
    key = _GLASS[form]
    d1, d2 = 500.0, 1000.0
    r1 = d1 * (1 - evidence.value(f"glass_loss_72h_{key}_500"))
    r2 = d2 * (1 - evidence.value(f"glass_loss_72h_{key}_1000"))
    # r1 (d1 + K) / d1 = r2 (d2 + K) / d2  ->  solve for K, then R
    k = (r2 - r1) / (r1 / d1 - r2 / d2)
    return r1 * (d1 + k) / d1, k


@dataclass(frozen=True)
class KineticParams:
    """Absorption, retention and loss parameters (units in the field names)."""

    if_fraction: float
    if_max_ug: float
    passive_fraction: float
    loss_per_day: float
    biliary_ug_per_day: float
    biliary_reabsorbed: float
    store_median_ug: float
    recent_to_stores_per_day: float
    recent_lost_per_day: float
    im_retention: dict  # form -> (R ug, K ug)

    @classmethod
    def from_evidence(cls) -> KineticParams:
        ev = evidence.value
        return cls(
            if_fraction=ev("if_fraction_small_dose"),
            if_max_ug=ev("if_saturation_ug"),
            passive_fraction=ev("passive_absorption_fraction"),
            loss_per_day=ev("store_loss_per_day"),
            biliary_ug_per_day=ev("biliary_secretion_ug_per_day"),
            biliary_reabsorbed=ev("biliary_reabsorbed_fraction"),
            store_median_ug=ev("body_store_median_ug"),
            **recent_rates(ev("recent_pool_halflife_days"), ev("recent_pool_lost_fraction")),
            im_retention={f: _retention_curve(f) for f in FORMS},
        )


def recent_rates(halflife_days, lost_fraction) -> dict:
    """Transfer and loss rates (1/day) of the recent pool from its half-life and lost share."""
    k = math.log(2) / np.asarray(halflife_days, float)
    f = np.asarray(lost_fraction, float)
    return {"recent_to_stores_per_day": k * (1 - f), "recent_lost_per_day": k * f}


def oral_absorbed(dose_ug, if_intact, p: KineticParams):
    """Amount absorbed (ug) from oral doses ``dose_ug``; ``if_intact`` is 1 with IF, 0 without."""
    dose = np.asarray(dose_ug, float)
    k = p.if_max_ug / p.if_fraction
    return np.asarray(if_intact, float) * p.if_max_ug * dose / (dose + k) + p.passive_fraction * dose


def im_retained(dose_ug, form: str, p: KineticParams):
    """Amount retained (ug) from IM doses of ``form`` after urinary loss of the excess."""
    if form not in FORMS:
        raise InputError("form", form, f"one of {', '.join(FORMS)}")
    r, k = p.im_retention[form]
    dose = np.asarray(dose_ug, float)
    return r * dose / (dose + k)


def loss_rate(if_intact, p: KineticParams):
    """Fractional store loss per day: the basal loss plus, without IF, unreabsorbed bile."""
    bile = p.biliary_reabsorbed * p.biliary_ug_per_day / p.store_median_ug
    return p.loss_per_day + (1.0 - np.asarray(if_intact, float)) * bile


def absorbed_per_day(doses: dict, if_intact, p: KineticParams) -> np.ndarray:
    """Cobalamin entering the stores each day (ug) from regimen channels.

    ``doses``: arrays of the same shape (..., days) for ``oral_ug``, ``im_hydroxo_ug``
    and ``im_cyano_ug`` (as :meth:`b12sim.regimens.Regimen.schedule` or ``sample``
    give them); ``if_intact`` broadcasts against the leading dimensions.
    """
    ifi = np.asarray(if_intact, float)[..., None]
    return (oral_absorbed(doses["oral_ug"], ifi, p)
            + im_retained(doses["im_hydroxo_ug"], "hydroxocobalamin", p)
            + im_retained(doses["im_cyano_ug"], "cyanocobalamin", p))


def step(s, r, absorbed, lam, p: KineticParams, dt: float = 1.0):
    """Exact update of (stores ``s``, recent pool ``r``) over ``dt`` days (ug).

    ``absorbed`` (ug) enters the recent pool at the start of the step; ``lam`` is the
    store loss rate from :func:`loss_rate`. Arrays broadcast.
    """
    ks, kl = p.recent_to_stores_per_day, p.recent_lost_per_day
    k = ks + kl
    r0 = r + absorbed
    er, es = np.exp(-k * dt), np.exp(-lam * dt)
    # integral of ks r0 e^{-k u} e^{-lam (dt - u)} du over [0, dt]
    gain = ks * r0 * np.where(np.abs(k - lam) > 1e-12, (es - er) / np.where(np.abs(k - lam) > 1e-12, k - lam, 1.0), dt * er)
    return s * es + gain, r0 * er


def pools(s0_ug, absorbed, if_intact, p: KineticParams, r0_ug=0.0):
    """Stores and recent pool (ug) at the end of each day, exact daily update.

    ``s0_ug`` (...,) initial stores; ``absorbed`` (..., days) from
    :func:`absorbed_per_day`. Returns ``(stores, recent)``, each shaped like ``absorbed``.
    """
    s0 = np.asarray(s0_ug, float)
    if np.any(~np.isfinite(s0)) or np.any(s0 <= 0):
        raise InputError("s0_ug", s0_ug, "positive stores in ug")
    lam = np.asarray(loss_rate(if_intact, p), float)
    a = np.asarray(absorbed, float)
    shape = np.broadcast_shapes(s0.shape + (1,), a.shape)
    out_s, out_r = np.empty(shape), np.empty(shape)
    s = np.broadcast_to(s0, shape[:-1]).astype(float)
    r = np.broadcast_to(np.asarray(r0_ug, float), shape[:-1]).astype(float)
    for t in range(shape[-1]):
        s, r = step(s, r, a[..., t], lam, p)
        out_s[..., t], out_r[..., t] = s, r
    return out_s, out_r


def days_to_fall(s0_ug: float, s1_ug: float, if_intact: float, p: KineticParams) -> float:
    """Days for untreated stores to fall from ``s0_ug`` to ``s1_ug`` with no intake (ug)."""
    return math.log(s0_ug / s1_ug) / float(loss_rate(if_intact, p))
