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
import os
import warnings

import numpy as np
import pandas as pd

from b12sim import evidence, posterior, tables, units
from b12sim.defaults import SEED
from b12sim.diagnosis import inputs
from b12sim.economics.adherence import TRAITS
from b12sim.errors import InputError, UnitWarning
from b12sim.physiology import markers as mk
from b12sim.physiology.population import BLOCK, select_people
from b12sim.simulation import people as ppl
from b12sim.validation import number, whole

CAUSES = ("pernicious_anaemia", "ileal_resection", "bariatric", "dietary", "drug", "unexplained")
CAUSE_FLAGS = {"pernicious_anaemia": ("pernicious_anaemia",), "ileal_resection": ("ileal_resection",),
               "bariatric": ("bariatric",), "dietary": ("vegan",), "drug": ("metformin", "ppi"),
               "unexplained": ()}
PERSON_FIELDS = (*inputs.FIELDS, *ppl.EXTRA)  # a cohort's columns that describe a person (people.parse)
COHORT_FIELDS = (*PERSON_FIELDS, "cause", *TRAITS.values())
MAX_PEOPLE = 10_000_000


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
    df = select_people(n, posterior.medians("markers", mk.PARAMS), lambda b: b["b12"] < cutoff, seed=seed,
                       max_people=2000 * n + 11 * BLOCK, age=tuple(age), egfr=(40.0, 110.0), risks=prev)
    if df is None:
        raise InputError("b12_cutoff", cutoff, "a cut-off that some of the population falls below")
    df = df.copy()
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


def _columns(df: pd.DataFrame, src: str) -> tuple[dict, dict]:
    """The columns of a cohort table that b12sim reads, ``{field: column}``, and the units in their
    headers, ``{field: unit}``; refuses a field named twice, a unit where none belongs and a unit column."""
    col_of, unit_of = {}, {}
    twice = df.columns[df.columns.duplicated()]
    if len(twice):
        raise InputError(f"{src} columns", [str(c) for c in df.columns], "each column name once",
                         f"{str(twice[0])!r} is there twice")
    for col in df.columns:
        base, unit = tables.split_unit(col)
        field = inputs.ALIASES.get(tables.key(base), tables.key(base))  # an alias's field, or the name itself
        if field not in COHORT_FIELDS:
            ufield = inputs.unit_column(col)
            if ufield is not None:
                raise InputError(f"{src} column {str(col)!r}", "a unit column", "units in the headers of a cohort",
                                 f"name the column of values e.g. '{ufield} (pg/mL)'")
            continue  # passed through, as by diagnose
        if field in col_of:
            raise InputError(f"{src} columns", [str(c) for c in df.columns], "each field once",
                             f"{str(col)!r} and {str(col_of[field])!r} both mean {field}")
        if unit is not None and field not in units.quantities():
            raise InputError(f"{src} column {str(col)!r}", unit, f"no unit in the header of {field}",
                             "units belong to the labs, hb, mcv, age and egfr")
        col_of[field] = col
        if unit is not None:
            unit_of[field] = unit
    missing = [c for c in ("age", "cause") if c not in col_of]
    if missing:
        raise InputError(f"{src} columns", [str(c) for c in df.columns], "age and cause are required",
                         f"missing: {', '.join(missing)}")
    return col_of, unit_of


def _given(raw) -> bool:
    """Whether a cell holds a value (not None, NaN or blank)."""
    return not (raw is None or (isinstance(raw, str) and not raw.strip()) or (isinstance(raw, float) and math.isnan(raw)))


def check_cohort(df) -> pd.DataFrame:
    """A user's cohort, checked: a table or the path of a CSV file (:func:`b12sim.tables.read`),
    one row per person, ``age`` and ``cause`` (one of :data:`CAUSES`) required.

    Columns are named as the keywords of ``simulate``, in any case, with units in headers
    (``b12 (pg/mL)``): labs, risk flags (yes/no), ``sex``, ``neuro_days`` (default 0),
    ``stores_ug`` (known stores; otherwise inferred from the labs), ``hb``, ``mcv``, ..., and
    the adherence shares of :data:`~b12sim.economics.adherence.TRAITS` (0-1; default, also for
    an empty cell: the evidence means). Other columns are passed through. Returns the values
    in canonical units under canonical names. Errors name the row (a file's spreadsheet row,
    header = row 1; a DataFrame's index label) and the column.
    """
    if isinstance(df, (str, os.PathLike)):
        df = tables.read(df, field="cohort", what="person")
    if not isinstance(df, pd.DataFrame):
        raise InputError("cohort", type(df).__name__, "a pandas DataFrame, the path of a CSV file or a number of people")
    src = tables.source(df, "cohort")
    if len(df) == 0:
        raise InputError(src, "empty table", "a table with at least one person")
    col_of, unit_of = _columns(df, src)
    pos = {c: i for i, c in enumerate(df.columns)}
    checked = {f: [] for f in col_of}
    with warnings.catch_warnings():  # values are taken as given: unusual ones are real tails, as in the microsimulation
        warnings.simplefilter("ignore", UnitWarning)
        for label, rec in zip(df.index, df.itertuples(index=False, name=None)):
            where = f"{src} row {tables.plain(label)}"
            cell = {f: tables.plain(rec[pos[c]]) for f, c in col_of.items()}
            values = {f if f not in unit_of else f"{f} ({unit_of[f]})": v for f, v in cell.items()
                      if f in PERSON_FIELDS and _given(v)}
            person = {"cause": _cause_of(f"{where} ({col_of['cause']})", cell["cause"])}
            for k in TRAITS.values():
                given = k in cell and _given(cell[k])
                person[k] = _share(f"{where} ({col_of.get(k)})", cell[k]) if given else evidence.value(f"{k}_mean")
            try:
                person |= ppl.parse(values)
            except InputError as e:
                raise InputError(f"{where} ({col_of.get(e.field, e.field)})", tables.plain(e.value), e.allowed,
                                 e.hint) from None
            for f in col_of:
                checked[f].append(person[f])
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    field_of = {c: f for f, c in col_of.items()}
    for col in df.columns:  # the user's order
        out[field_of.get(col, col)] = checked[field_of[col]] if col in field_of else df[col].to_numpy()
    for k in TRAITS.values():
        if k not in out.columns:
            out[k] = evidence.value(f"{k}_mean")
    for flag in mk.RISKS:  # the cause implies its risk flag
        col = out[flag].astype(float) if flag in out.columns else pd.Series(0.0, index=out.index)
        for cause, flags in CAUSE_FLAGS.items():
            if flag in flags[:1]:
                col = col.where(out["cause"] != cause, 1.0)
        out[flag] = col
    if "neuro_days" not in out.columns:
        out["neuro_days"] = 0.0
    return out


def _cause_of(where: str, raw) -> str:
    s = str(raw).strip().lower().replace(" ", "_").replace("-", "_") if _given(raw) else ""
    if s not in CAUSES:
        raise InputError(where, raw, "one of " + ", ".join(CAUSES), "" if s else "the cause is required")
    return s


def _share(where: str, raw) -> float:
    try:
        v = float(raw) if isinstance(raw, str) else raw
    except ValueError:
        v = raw
    return number(where, v, 0, 1, "a share from 0 to 1")
