"""Policy cohorts: synthetic people found by a low serum B12, or a user's own table.

A synthetic cohort is drawn from the calibrated marker model (posterior medians):
older adults with the risk-factor prevalences of ``data/evidence/population.csv``
are generated one by one and kept when their measured serum B12 falls below the
cut-off, so the cohort holds what testing finds: truly deficient people and
people whose low B12 is not a tissue deficiency. Each person's cause is their
strongest risk factor; nerve involvement, symptom duration, sex and adherence
traits come from the same table. Person ``i`` of a seed is the same person
whatever ``n`` is.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from b12sim import evidence
from b12sim.defaults import SEED
from b12sim.economics.adherence import TRAITS
from b12sim.errors import InputError
from b12sim.physiology import markers as mk
from b12sim.physiology.population import sample_people
from b12sim.validation import number, whole

CAUSES = ("pernicious_anaemia", "ileal_resection", "bariatric", "dietary", "drug", "unexplained")
CAUSE_FLAGS = {"pernicious_anaemia": ("pernicious_anaemia",), "ileal_resection": ("ileal_resection",),
               "bariatric": ("bariatric",), "dietary": ("vegan",), "drug": ("metformin", "ppi"),
               "unexplained": ()}
MAX_PEOPLE = 10_000_000
_BLOCK = 4096


def _median_params() -> dict:
    from b12sim.posterior import load_posterior

    post = load_posterior("markers")["posterior"].to_dataset()
    return {k: float(post[k].median()) for k in mk.PARAMS}


def _cause(flags: dict[str, np.ndarray]) -> np.ndarray:
    out = np.full(len(next(iter(flags.values()))), "unexplained", dtype=object)
    for cause in reversed(CAUSES[:-1]):  # the first cause in CAUSES wins
        hit = np.zeros(out.shape, bool)
        for f in CAUSE_FLAGS[cause]:
            hit |= flags[f] > 0
        out[hit] = cause
    return out


def _beta(rng, mean: float, conc: float) -> float:
    m = min(max(mean, 1e-3), 1 - 1e-3)
    return float(rng.beta(m * conc, (1 - m) * conc))


def synthetic_cohort(n: int, *, seed: int = SEED, age: tuple[float, float] | None = None,
                     prevalence: dict[str, float] | None = None, b12_cutoff: float | None = None) -> pd.DataFrame:
    """``n`` people found by a serum B12 below ``b12_cutoff`` (pmol/L), with their truth.

    ``age``: uniform range in years; ``prevalence``: risk flag -> share of the
    tested population (defaults from the evidence table). Columns: labs in
    canonical units, ``age``, ``egfr``, ``sex``, risk flags, ``cause`` (one of
    :data:`CAUSES`), ``neuro_days`` (0 without nerve involvement), the truth
    ``stores_ug``, ``deficient`` and ``intrinsic_factor`` (absent in people whose stores are
    falling from malabsorption; the others are at the steady state of their diet), and adherence traits (shares of oral doses taken
    and injections received).
    """
    n = whole("n", n, 1, MAX_PEOPLE)
    ev = evidence.value
    age = age if age is not None else (ev("cohort_age_min"), ev("cohort_age_max"))
    if len(age) != 2 or not 18 <= age[0] < age[1] <= 110:
        raise InputError("age", age, "a range (low, high) of years within 18-110, low < high")
    prev = {k: ev(f"prevalence_{k}") for k in mk.RISKS}
    for k, v in (prevalence or {}).items():
        if k not in prev:
            raise InputError(f"prevalence[{k!r}]", v, "one of " + ", ".join(mk.RISKS))
        prev[k] = number(f"prevalence[{k!r}]", v, 0, 1, "a share from 0 to 1")
    cutoff = number("b12_cutoff", ev("cohort_b12_cutoff") if b12_cutoff is None else b12_cutoff, 50, 500,
                    "a serum B12 cut-off from 50 to 500 pmol/L")
    params = _median_params()
    kept, first = [], 0
    while sum(len(k) for k in kept) < n:
        block = sample_people(_BLOCK, params, seed=seed, age=tuple(age), egfr=(40.0, 110.0), risks=prev, first=first)
        block.index = np.arange(first, first + _BLOCK)
        kept.append(block[block["b12"] < cutoff])
        first += _BLOCK
        if first > 2000 * n + 10 * _BLOCK:
            raise InputError("b12_cutoff", cutoff, "a cut-off that some of the population falls below")
    df = pd.concat(kept).iloc[:n].copy()
    df["cause"] = _cause({k: df[k].to_numpy() for k in mk.RISKS})
    p_neuro, nd_med = ev("neuro_involvement_p"), ev("neuro_days_at_diagnosis")
    nd_sd = evidence.uncertainty("neuro_days_at_diagnosis")
    conc = ev("adherence_concentration")
    extra = {"sex": [], "neuro_days": [], **{k: [] for k in TRAITS.values()}}
    for i, deficient in zip(df.index, df["deficient"]):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(int(i), 1)))
        u = rng.random(3)
        extra["sex"].append("female" if u[0] < ev("cohort_female_share") else "male")
        neuro = bool(deficient) and u[1] < p_neuro
        extra["neuro_days"].append(round(nd_med * math.exp(nd_sd * rng.standard_normal()), 1) if neuro else 0.0)
        for k in TRAITS.values():
            extra[k].append(_beta(rng, ev(f"{k}_mean"), conc))
    for k, v in extra.items():
        df[k] = v
    df["intrinsic_factor"] = np.where(df.pop("depleting"), "absent", "present")
    df = df.rename(columns={"true_stores_ug": "stores_ug"}).drop(columns=["true_folate", "folate_deficient"])
    df.index.name = "person"
    return df.reset_index()


def check_cohort(df) -> pd.DataFrame:
    """A user's cohort table, checked: one row per person, ``age`` and ``cause`` required.

    Optional columns: labs (as for ``diagnose``), ``sex``, ``neuro_days``,
    ``stores_ug`` (known stores; otherwise inferred from the labs), ``hb``, ``mcv``,
    and the adherence shares of :data:`~b12sim.economics.adherence.TRAITS` (default: the evidence means).
    Errors name the row and the column.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError("cohort", type(df).__name__, "a pandas DataFrame or a number of people")
    if len(df) == 0:
        raise InputError("cohort", "empty table", "a table with at least one person")
    missing = [c for c in ("age", "cause") if c not in df.columns]
    if missing:
        raise InputError("cohort columns", missing, "age and cause are required")
    out = df.reset_index(drop=True).copy()
    bad = ~out["cause"].isin(CAUSES)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"row {i} (cause)", out["cause"].iloc[i], "one of " + ", ".join(CAUSES))
    for k in TRAITS.values():
        if k not in out.columns:
            out[k] = evidence.value(f"{k}_mean")
        v = pd.to_numeric(out[k], errors="coerce")
        bad = ~v.between(0, 1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"row {i} ({k})", out[k].iloc[i], "a share from 0 to 1")
        out[k] = v
    for flag in mk.RISKS:  # the cause implies its risk flag
        col = out[flag].fillna(0).astype(float) if flag in out.columns else pd.Series(0.0, index=out.index)
        for cause, flags in CAUSE_FLAGS.items():
            if flag in flags[:1]:
                col = col.where(out["cause"] != cause, 1.0)
        out[flag] = col
    if "neuro_days" not in out.columns:
        out["neuro_days"] = 0.0
    out["neuro_days"] = out["neuro_days"].fillna(0.0)
    return out
