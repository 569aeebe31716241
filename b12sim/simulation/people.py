"""Starting states of simulated people: from lab values, a diagnosis, or a table.

A person's day-0 cobalamin state is inferred from their markers with the
diagnosis model, draw by draw (the posterior mean of the latent ``x`` under each
parameter draw), so a diagnosed patient's uncertainty carries into their course.
Haemoglobin and MCV are taken as given; left out, they start at the model's
steady state for the inferred deficit. Synthetic people whose stores are known
(``stores_ug``) start from them in every draw, without inference.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from b12sim import units
from b12sim.diagnosis import inputs
from b12sim.diagnosis.core import score_arrays
from b12sim.diagnosis.draws import Draws
from b12sim.errors import InputError
from b12sim.physiology import markers as mk

EXTRA = ("hb", "mcv", "neuro_days", "sex", "stores_ug")
MAX_STORES_UG = 100_000.0
NO_INTRINSIC_FACTOR = ("pernicious_anaemia", "ileal_resection", "bariatric")
SEXES = ("female", "male")
MAX_NEURO_DAYS = 3650


def _extra(field: str, v) -> float | str:
    if field == "sex":
        s = str(v).strip().lower()
        s = {"f": "female", "m": "male", "woman": "female", "man": "male"}.get(s, s)
        if s not in SEXES:
            raise InputError("sex", v, "female or male (sets the Hb normal range)")
        return s
    if field == "stores_ug":
        try:
            d = float(v)
        except (TypeError, ValueError):
            d = math.nan
        if not (math.isfinite(d) and 0 < d <= MAX_STORES_UG):
            raise InputError("stores_ug", v, f"known body stores above 0 and up to {MAX_STORES_UG:,.0f} ug")
        return d
    if field == "neuro_days":
        try:
            d = float(v)
        except (TypeError, ValueError):
            raise InputError("neuro_days", v, f"days of neurological symptoms so far, 0 to {MAX_NEURO_DAYS}") from None
        if not (math.isfinite(d) and 0 <= d <= MAX_NEURO_DAYS):
            raise InputError("neuro_days", v, f"days of neurological symptoms so far, 0 to {MAX_NEURO_DAYS}")
        return d
    return units.parse(field, v)


def parse(values: dict) -> dict:
    """Check one person's values: lab keywords as for ``diagnose`` plus ``hb``, ``mcv``, ``neuro_days``, ``sex``."""
    labs = {k: v for k, v in values.items() if k not in EXTRA}
    person = inputs.from_kwargs(labs)
    for k in EXTRA:
        v = values.get(k)
        person[k] = _extra(k, v) if v is not None else {"sex": "female", "neuro_days": 0.0}.get(k, math.nan)
    return person


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


def arrays(people: list[dict], p: dict) -> dict:
    """Engine inputs: ``x0`` (draws, people) and per-person arrays (see :func:`engine.run`)."""
    canon = pd.DataFrame(people, columns=list(inputs.FIELDS))
    canon["age"] = canon["age"].fillna(mk.AGE_REF)
    obs, a, r, risks = inputs.arrays(canon)
    known = np.array([q["stores_ug"] for q in people], float)
    ex = np.broadcast_to(np.log(known)[:, None], (len(people), len(p["x_k"]))).copy()
    infer = np.isnan(known)
    if infer.any():
        dr = Draws({k: np.asarray(p[k]) for k in mk.PARAMS}, mk.Constants.load())
        ex[infer] = score_arrays(obs[infer], a[infer], r[infer], risks[infer], dr, explain=False)[2]
    fol = canon["folate"].to_numpy(float)
    y0 = np.where(np.isnan(fol)[None, :], p["mu_y"][:, None], np.log(fol)[None, :])
    no_if = canon[list(NO_INTRINSIC_FACTOR)].fillna(0).to_numpy(float).max(axis=1) > 0
    return {
        "x0": ex.T, "y0": y0, "a": a, "r": r, "if_intact": (~no_if).astype(float),
        "hb": np.array([q["hb"] for q in people], float), "mcv": np.array([q["mcv"] for q in people], float),
        "neuro_days": np.array([q["neuro_days"] for q in people], float),
        "female": np.array([q["sex"] == "female" for q in people]),
    }
