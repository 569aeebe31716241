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
* **losses** are a fixed fraction of the store per day (IOM: 0.1-0.2%/day), plus,
  without IF, the biliary cobalamin that would have been reabsorbed (IOM: about
  1.4 ug/day secreted at normal stores, half reabsorbed), taken proportional to the
  store.

The daily update is the exact solution of ``dS/dt = -lambda S`` between doses, with a
day's absorbed amount added at the start of the day, so any step count is stable.

Status: these are the published central values (``data/evidence/kinetics.csv``);
their calibration with PyMC against the trial targets is the next step of the
simulator issue.
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
            im_retention={f: _retention_curve(f) for f in FORMS},
        )


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


def stores(s0_ug, absorbed, if_intact, p: KineticParams) -> np.ndarray:
    """Body store (ug) at the end of each day, exact daily update.

    ``s0_ug`` (...,) initial stores; ``absorbed`` (..., days) from :func:`absorbed_per_day`.
    Returns an array of the shape of ``absorbed``.
    """
    s0 = np.asarray(s0_ug, float)
    if np.any(~np.isfinite(s0)) or np.any(s0 <= 0):
        raise InputError("s0_ug", s0_ug, "positive stores in ug")
    decay = np.exp(-np.asarray(loss_rate(if_intact, p), float))[..., None]
    a = np.asarray(absorbed, float)
    out = np.empty(np.broadcast_shapes(s0.shape + (1,), a.shape))
    s = np.broadcast_to(s0, out.shape[:-1]).astype(float)
    for t in range(out.shape[-1]):
        s = (s + a[..., t]) * decay[..., 0]
        out[..., t] = s
    return out


def days_to_fall(s0_ug: float, s1_ug: float, if_intact: float, p: KineticParams) -> float:
    """Days for untreated stores to fall from ``s0_ug`` to ``s1_ug`` with no intake (ug)."""
    return math.log(s0_ug / s1_ug) / float(loss_rate(if_intact, p))
