"""Outcomes of treating on a given day, in the two worlds the patient may be in.

Per parameter draw the patient either **is deficient** (ln stores below ``x_k``) or
**is not**. The decision changes only *when* (or whether) a regimen starts, so the
outcomes are tabled per scenario ``j``: ``j = 0`` no treatment within the horizon,
``j >= 1`` the regimen from day ``starts[j - 1]``.

* **Deficient world**: the simulator runs the patient from the posterior mean of their
  ln stores *given deficiency* under each draw (:meth:`information.Posterior.mean_if_deficient`),
  one simulated person per scenario, all in one engine call with the same draws. Harm
  within the horizon is the utility lost to anaemia (Hb), reversible nerve dysfunction
  and permanent deficit; a permanent deficit present at the horizon is counted for the
  remaining life. An untreated deficiency is assumed found and treated with the same
  regimen at the horizon (``decision_horizon_days``, an assumption): no harm accrues
  after it, and its treatment is costed from then.
* **Not-deficient world**: treatment brings no health change, only its cost, and a
  treatment once started is assumed to continue for life (empirical B12 is rarely
  stopped); no treatment costs nothing.

Costs and QALYs use the economics the policy microsimulation uses (:mod:`b12sim.economics`):
discounted and weighted by survival (Gompertz hazards matched to Canadian life expectancy at
65) with the same day convention, a day's utility from :func:`~b12sim.economics.day_utility`,
doses counted as injections and whole tablets and kept as the regimen's adherence says
(expected here). QALYs lost are counted against a day without neuropathy, anaemia or deficit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from b12sim import economics, evidence
from b12sim.defaults import DAYS_PER_YEAR
from b12sim.economics import mortality
from b12sim.physiology import markers as mk
from b12sim.regimens import CHANNELS, Regimen
from b12sim.simulation import engine
from b12sim.simulation import people as ppl

MAX_AGE = 120.0  # years; the life table ends here
SIMULATED = ("hb", "nerve_mild", "nerve_moderate", "nerve_severe", "p_permanent", "p_residual_severe")


def life_weights(age: float, sex: str) -> np.ndarray:
    """Discount factor x survival (``economics.mortality``) for every day from today to age :data:`MAX_AGE`."""
    days = np.arange(max(int(math.ceil((MAX_AGE - age) * DAYS_PER_YEAR)), 1), dtype=float)
    alive = mortality.survival([age], [sex == "female"], days)[0]
    return np.asarray(economics.discount_factor(days)) * alive


@dataclass(frozen=True)
class Treatment:
    """Cost and burden of a regimen started on one day (not random: expected doses)."""

    cost: float  # discounted, survival-weighted cost over the remaining life (currency)
    injections: float  # IM injections within the horizon
    tablets: float  # whole oral tablets within the horizon


def treatments(regimen: Regimen, starts, horizon: int, weights: np.ndarray,
               costs: economics.UnitCosts) -> list[Treatment]:
    """Expected cost of ``regimen`` from each day in ``starts`` for life, and its doses within ``horizon`` days.

    ``weights``: discount x survival per day from today (:func:`life_weights`). Each dose
    day is kept with the probability the regimen's adherence gives it.
    """
    n = len(weights)
    res = economics.resources(regimen.schedule(n))  # days from the first treatment day
    kept = regimen.adherence.expected(np.arange(n))
    inj, tab = res["injections"] * kept, res["tablets"] * kept
    daily = economics.dose_cost(inj, tab, costs)
    out = []
    for s in starts:
        w = weights[s:]
        m = len(w)
        within = max(min(horizon - s, m), 0)
        out.append(Treatment(float(daily[:m] @ w), float(inj[:within].sum()), float(tab[:within].sum())))
    return out


@dataclass(frozen=True)
class Worlds:
    """Per-scenario outcomes: arrays (draws, scenarios) for the deficient world, (scenarios,) for costs.

    Scenario 0 is no treatment within the horizon, scenario ``j >= 1`` the regimen from
    day ``starts[j - 1]``. Deficient world: ``p_permanent`` and ``p_residual_severe`` (at the horizon),
    ``qaly_loss`` (discounted QALYs lost, a permanent deficit's residual level for life), ``day_hb_normal``
    (first day from which Hb stays normal, NaN if not within the horizon), ``cost_def``
    (treatment, including the horizon treatment of scenario 0). Not-deficient world:
    ``cost_rep``. ``injections``, ``tablets``: doses within the horizon if treated.
    """

    starts: tuple[int, ...]
    horizon: int
    p_permanent: np.ndarray
    p_residual_severe: np.ndarray
    qaly_loss: np.ndarray
    day_hb_normal: np.ndarray
    cost_def: np.ndarray
    cost_rep: np.ndarray
    injections: np.ndarray
    tablets: np.ndarray


def _first_normal_day(hb: np.ndarray, normal: float) -> np.ndarray:
    """First day (axis -1) from which ``hb >= normal`` holds to the end; NaN if it never does."""
    ok = hb >= normal
    held = np.flip(np.cumprod(np.flip(ok, axis=-1), axis=-1), axis=-1).astype(bool)
    return np.where(held.any(axis=-1), held.argmax(axis=-1).astype(float), np.nan)


def simulate(person: dict, x0: np.ndarray, params: dict, regimen: Regimen, starts, horizon: int,
             dose_seed: np.random.SeedSequence, people_seed: np.random.SeedSequence) -> dict[str, np.ndarray]:
    """Simulated Hb, nerve severities and P(permanent) of the deficient world: (draws, 1 + len(starts), horizon + 1).

    ``x0`` (draws,): starting ln stores (ug); person 0 is untreated, person ``j`` gets
    ``regimen`` from ``starts[j - 1]``. Day 0 is the untreated steady state. Runs on the
    engine's numba kernel (compiled once per installation, then cached).
    """
    people = [person] * (1 + len(starts))
    arr = ppl.arrays(people, params, seed=people_seed, x0=x0, ids=[0] * len(people))
    doses = {c: np.zeros((len(people), horizon)) for c in CHANNELS}
    for j, s in enumerate(starts, start=1):
        child = np.random.SeedSequence(dose_seed.entropy, spawn_key=(*dose_seed.spawn_key, j))
        got = regimen.sample(horizon - s, 1, child)
        for c in CHANNELS:
            doses[c][j, s:] = got[c][0]
    c = mk.Constants.load()
    q = engine.person_params(params, arr)
    day0 = engine.observe(engine.initial_state(q, arr, c), q, arr, c)
    out = engine.run(params, arr, doses, horizon, outputs=SIMULATED, kernel=True)
    return {k: np.concatenate([day0[k][..., None], v], axis=-1) for k, v in out.items()}


def worlds(person: dict, x0: np.ndarray, params: dict, regimen: Regimen, starts, horizon: int,
           dose_seed: np.random.SeedSequence, people_seed: np.random.SeedSequence, costs: economics.UnitCosts,
           u: economics.Utilities) -> Worlds:
    """Simulate the deficient world and cost both worlds (see the module doc)."""
    sim = simulate(person, x0, params, regimen, starts, horizon, dose_seed, people_seed)
    weights = life_weights(person["age"], person["sex"])
    per_day = weights[1: horizon + 1] / DAYS_PER_YEAR  # years of (discounted) life per simulated day
    after = weights[horizon + 1:].sum() / DAYS_PER_YEAR
    hb, mild, moderate, severe, pp, pps = (sim[k][..., 1:] for k in SIMULATED)
    loss = u.neuropathy_none - economics.day_utility(hb, mild, moderate, severe, u)  # against no nerve involvement, top of the Hb scale
    qaly_loss = loss @ per_day + economics.residual_decrement(pp[..., -1], pps[..., -1], u) * after
    normal = evidence.value(f"hb_normal_{person['sex']}")
    tr = treatments(regimen, (horizon, *starts), horizon, weights, costs)
    return Worlds(
        starts=tuple(starts), horizon=horizon, p_permanent=pp[..., -1], p_residual_severe=pps[..., -1],
        qaly_loss=qaly_loss,
        day_hb_normal=_first_normal_day(sim["hb"], normal),
        cost_def=np.array([t.cost for t in tr]),
        cost_rep=np.array([0.0] + [t.cost for t in tr[1:]]),
        injections=np.array([0.0] + [t.injections for t in tr[1:]]),
        tablets=np.array([0.0] + [t.tablets for t in tr[1:]]),
    )
