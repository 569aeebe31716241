"""Starting states of simulated people: from lab values, a diagnosis, or a table.

A person's day-0 cobalamin state is inferred from their markers with the
diagnosis model, draw by draw (the posterior mean of the latent ``x`` under each
parameter draw), so a diagnosed patient's uncertainty carries into their course.
Haemoglobin and MCV are taken as given; left out, they start at the model's
steady state for the inferred deficit. Synthetic people whose stores are known
(``stores_ug``) start from them in every draw, without inference.

People eat. Whether their stores hold or fall has a cause:

* intrinsic factor is absent with pernicious anaemia, ileal resection or bariatric
  surgery, or when ``intrinsic_factor="absent"``; with no named cause, a draw
  takes it as lost with the probability that the marker model's depleting
  (malabsorption) component holds the person's day-0 stores
  (:func:`b12sim.physiology.markers.depleting_posterior`);
* a given ``diet`` (intake drawn per draw from the dietary surveys,
  ``data/evidence/diet.csv``) or ``intake_ug_per_day`` is what the person eats from
  day 0; without either, a person with intrinsic factor eats what holds their day-0
  stores steady (their stores reflect their usual diet), and one without eats the
  median omnivore intake, of which only the passive share is absorbed;
* food B12 is freed from food proteins less on acid suppression or metformin: the
  share that gives the marker model's store shift of those risk factors at steady
  state (``exp(delta)``, one population for both models), or ``food_release`` when
  given (food-cobalamin malabsorption of one person: omeprazole cut the absorption of
  protein-bound B12 to 0.28-0.41 of baseline, Marcuard 1994, Schenk 1996).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.special import ndtri

from b12sim import evidence, units
from b12sim.defaults import SEED
from b12sim.diagnosis import inputs
from b12sim.diagnosis.core import score_arrays
from b12sim.diagnosis.draws import Draws
from b12sim.errors import InputError
from b12sim.physiology import kinetics as kin
from b12sim.physiology import markers as mk
from b12sim.validation import number

EXTRA = ("hb", "mcv", "neuro_days", "sex", "stores_ug", "diet", "intake_ug_per_day", "intrinsic_factor", "food_release")
MAX_STORES_UG = 100_000.0
NO_INTRINSIC_FACTOR = ("pernicious_anaemia", "ileal_resection", "bariatric")
SEXES = ("female", "male")
MAX_NEURO_DAYS = 3650
DIETS = ("omnivore", "vegetarian", "vegan", "low_intake")
MAX_INTAKE_UG = 1000.0  # ug/day from food; fortified foods and supplements beyond it are doses
IF_STATES = ("present", "absent")


CHOICES = {  # field -> (accepted names, what the message allows)
    "sex": (SEXES, "female or male (sets the Hb normal range)"),
    "diet": (DIETS, f"one of {', '.join(DIETS)} (what the person eats from day 0)"),
    "intrinsic_factor": (IF_STATES, "present or absent"),
}
RANGES = {  # field -> (low, high, low excluded, what the message allows)
    "stores_ug": (0.0, MAX_STORES_UG, True, f"known body stores above 0 and up to {MAX_STORES_UG:,.0f} ug"),
    "intake_ug_per_day": (0.0, MAX_INTAKE_UG, False, f"dietary B12 from 0 to {MAX_INTAKE_UG:,.0f} ug/day"),
    "neuro_days": (0.0, MAX_NEURO_DAYS, False, f"days of neurological symptoms so far, 0 to {MAX_NEURO_DAYS}"),
    "food_release": (0.0, 1.0, False, "the share of food B12 freed for absorption, 0 to 1"),
}
_SEX_WORDS = {"f": "female", "m": "male", "woman": "female", "man": "male"}


def _extra(field: str, v) -> float | str:
    if field in CHOICES:
        names, allowed = CHOICES[field]
        s = str(v).strip().lower().replace("-", "_").replace(" ", "_")
        s = _SEX_WORDS.get(s, s) if field == "sex" else s
        if s not in names:
            raise InputError(field, v, allowed)
        return s
    if field in RANGES:
        lo, hi, open_lo, allowed = RANGES[field]
        try:
            x = float(v) if isinstance(v, str) else v
        except ValueError:
            x = v
        return number(field, x, lo, hi, allowed, open_lo=open_lo)
    return units.parse(field, v)


def parse(values: dict) -> dict:
    """Check one person's values: lab keywords as for ``diagnose`` plus ``hb``, ``mcv``, ``neuro_days``,
    ``sex``, ``stores_ug``, ``diet``, ``intake_ug_per_day``, ``intrinsic_factor`` and ``food_release``. A vegan ``diet``
    sets the diagnosis model's vegan risk factor unless it is given."""
    labs = {k: v for k, v in values.items() if k not in EXTRA}
    extra = {}
    for k in EXTRA:
        v = values.get(k)
        missing = v is None or (isinstance(v, float) and math.isnan(v))
        extra[k] = _extra(k, v) if not missing else {"sex": "female", "neuro_days": 0.0}.get(k, math.nan)
    if extra["diet"] == "vegan" and "vegan" not in labs:
        labs["vegan"] = True
    return inputs.from_kwargs(labs) | extra


def merge(patient, values: dict):
    """``patient`` with keyword ``values`` added (a dict or a Diagnosis; the values alone when None)."""
    from b12sim.diagnosis.result import Diagnosis

    if patient is None:
        return values
    if not values:
        return patient
    if not isinstance(patient, (dict, Diagnosis)):
        raise InputError("arguments", sorted(values), "keyword values only with one patient (a dict or a Diagnosis)")
    if isinstance(patient, Diagnosis):
        patient = {k: v for k, v in patient.inputs.items() if not (isinstance(v, float) and math.isnan(v))}
    return {**patient, **values}


def from_patient(patient) -> list[dict]:
    """People (checked dicts) from a dict of values, a :class:`Diagnosis`, or a DataFrame."""
    from b12sim.diagnosis.result import Diagnosis

    if isinstance(patient, Diagnosis):
        vals = {k: v for k, v in patient.inputs.items() if not (isinstance(v, float) and math.isnan(v))}
        return [parse(vals)]
    if isinstance(patient, dict):
        return [parse(patient)]
    if isinstance(patient, pd.DataFrame):
        people = []
        for i, row in enumerate(patient.to_dict("records")):
            vals = {k: v for k, v in row.items() if not (v is None or (isinstance(v, float) and math.isnan(v)))}
            try:
                people.append(parse(vals))
            except InputError as e:
                raise InputError(f"row {i} ({e.field})", e.value, e.allowed, e.hint) from None
        if not people:
            raise InputError("patient", "empty table", "a table with at least one row")
        return people
    raise InputError("patient", type(patient).__name__, "a dict of values, a Diagnosis or a DataFrame")


def steady_stores(intake_ug_per_day, p: dict):
    """Body total (ug) at the steady state of a daily food intake (ug/day) with intrinsic factor and food B12
    freed normally, per parameter draw of ``p`` (:func:`b12sim.simulation.parameters.draw`)."""
    lam = kin.loss_rate(1.0, p["loss_per_day"], p["biliary_reabsorbed"], p["biliary_ug_per_day"],
                        evidence.value("body_store_median_ug"))
    s_per, r_per = kin.steady_pools(lam, p["recent_per_day"])
    kept = kin.food_kept(intake_ug_per_day, p["meals_per_day"], 1.0, 1.0, p["if_fraction"], p["if_max_ug"],
                         p["passive_fraction"], p["spill_ug"])
    return kept * (s_per + r_per)


def stream(param_seed: np.random.SeedSequence) -> np.random.SeedSequence:
    """The seed of :func:`arrays`' per-person draws for a run whose parameters come from ``param_seed``
    (:func:`b12sim.simulate` and :func:`b12sim.decide` share it, so one seed gives the same people)."""
    return np.random.SeedSequence(param_seed.entropy, spawn_key=(*param_seed.spawn_key, 0))


def _diet_intake(diet: str, z):
    """Intake (ug/day) of ``diet`` at standard normal deviates ``z``: log-normal around the diet's median."""
    ev = evidence.value
    median = ev("intake_omnivore_median_ug") * (1.0 if diet == "omnivore" else ev(f"intake_{diet}_ratio"))
    return median * np.exp(ev("intake_log_sd") * z)


def _log_normal(log_sd, u) -> np.ndarray:
    """Log-normal multipliers (median 1; ``log_sd`` per draw) at uniforms ``u`` (draws, people)."""
    return np.exp(np.asarray(log_sd)[:, None] * ndtri(np.clip(u, 1e-12, 1 - 1e-12)))


def arrays(people: list[dict], p: dict, *, seed=SEED, x0=None, ids=None, draw_ids=None) -> dict:
    """Engine inputs: ``x0`` (draws, people) and per-person arrays (see :func:`engine.run`).

    ``x0`` (draws,) or (draws, people): day-0 ln stores (ug) to use instead of inferring them.
    ``seed`` draws, for person ``i`` alone (the same whatever the others; ``ids[i]`` when given), whether
    intrinsic factor is lost when no cause is named, their intake when a diet is given, and their nerve and
    marrow susceptibilities ``nerve_s``, ``marrow_s`` (independent log-normals, median 1, log-SDs
    ``neuro_susceptibility_sd``, ``marrow_susceptibility_sd``); ``draw_ids``: the
    run's numbers of the draws in ``p`` (default 0, 1, ...), so a person's draw is the same in any chunk of draws.
    """
    canon = pd.DataFrame(people, columns=list(inputs.FIELDS))
    canon["age"] = canon["age"].fillna(mk.AGE_REF)
    obs, a, r, risks = inputs.arrays(canon)
    n_draw, n = len(p["x_k"]), len(people)
    if x0 is None:
        known = np.array([q["stores_ug"] for q in people], float)
        ex = np.broadcast_to(np.log(known)[:, None], (n, n_draw)).copy()
        infer = np.isnan(known)
        if infer.any():
            dr = Draws({k: np.asarray(p[k]) for k in mk.PARAMS}, mk.Constants.load())
            ex[infer] = score_arrays(obs[infer], a[infer], r[infer], risks[infer], dr, explain=False)[2]
        x0 = ex.T
    x0 = np.broadcast_to(np.asarray(x0, float).reshape(n_draw, -1), (n_draw, n))
    fol = canon["folate"].to_numpy(float)
    y0 = np.where(np.isnan(fol)[None, :], p["mu_y"][:, None], np.log(fol)[None, :])
    flags = {k: canon[k].fillna(0).to_numpy(float)[None, :] for k in mk.RISKS}
    named = np.maximum.reduce([flags[k] for k in NO_INTRINSIC_FACTOR])[0] > 0
    said = np.array([q.get("intrinsic_factor") if isinstance(q.get("intrinsic_factor"), str) else "" for q in people])
    q_ = {k: np.asarray(p[k])[:, None] for k in mk.PARAMS}
    c = mk.Constants.load()
    lost = mk.depleting_posterior(x0, mk.depleting_log_odds(a[None, :], flags, q_),
                                  mk.main_mean(a[None, :], flags, q_, c), q_["sigma_x"], q_["mu_d"], q_["sigma_d"])
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    keys = range(n) if ids is None else [int(i) for i in ids]
    rows = np.arange(n_draw) if draw_ids is None else np.asarray(draw_ids, int)
    u = np.empty((4, n_draw, n))  # per person and draw: uniforms for intrinsic factor, intake, nerve and marrow
    for i in range(n):
        rng = np.random.default_rng(np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, keys[i])))
        u[:, :, i] = rng.random((int(rows.max()) + 1 if n_draw else 0, 4))[rows].T
    absent = np.where(said == "absent", True, np.where(said == "present", False, named | (u[0] < lost)))
    intake = np.full((n_draw, n), np.nan)
    for i, q in enumerate(people):
        if not math.isnan(q.get("intake_ug_per_day", math.nan)):
            intake[:, i] = q["intake_ug_per_day"]
        elif isinstance(q.get("diet"), str):
            intake[:, i] = _diet_intake(q["diet"], ndtri(np.clip(u[1, :, i], 1e-12, 1 - 1e-12)))
    # without intrinsic factor the stores are not at a steady state of the diet
    intake = np.where(absent & np.isnan(intake), evidence.value("intake_omnivore_median_ug"), intake)
    release = np.exp(sum(q_[f"delta_{k}"] * flags[k] for k in ("metformin", "ppi")))
    given = np.array([q.get("food_release", math.nan) for q in people], float)
    release = np.where(np.isnan(given), release, given)
    return {
        "x0": x0, "y0": y0, "a": a, "r": r, "if_intact": (~absent).astype(float), "intake_ug": intake,
        "release": release * np.ones((n_draw, n)),
        "hb": np.array([q["hb"] for q in people], float), "mcv": np.array([q["mcv"] for q in people], float),
        "neuro_days": np.array([q["neuro_days"] for q in people], float),
        "female": np.array([q["sex"] == "female" for q in people]),
        "nerve_s": _log_normal(p["neuro_susceptibility_sd"], u[2]),
        "marrow_s": _log_normal(p["marrow_susceptibility_sd"], u[3]),
    }
