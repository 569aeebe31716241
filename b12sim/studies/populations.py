"""Study populations: synthetic people selected the way a study enrolled them.

A ``select`` text is a list of conditions separated by ``;`` (canonical units, see
:mod:`b12sim.units`):

* ``age 65-90``, ``egfr 30-110``: the uniform ranges people are drawn from (default: the
  policy cohort's ages, ``data/evidence/population.csv``, and eGFR 40-110);
* ``b12 < 148``, ``mma >= 0.271``, ``b12 125-200``: entry on *measured* results (with
  their within- and between-person noise), as the study selected;
* ``pernicious_anaemia yes`` (any risk flag, ``yes``/``no``): everyone, or no one, has it
  (otherwise the population prevalences apply); ``risks none``: no one has any;
* ``component main`` / ``component depleting``: the marker model's component (stores at
  the steady state of the diet / falling for want of intrinsic factor); ``deficient yes/no``;
* ``intrinsic_factor absent``, ``diet vegan``, ``sex male``, ``hb 84`` (g/L at day 0),
  ``neuro_days 90-365`` (days of nerve symptoms so far, drawn evenly from the range): what
  the simulator is told (by default intrinsic factor is absent in the depleting component).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from b12sim import evidence
from b12sim.errors import InputError
from b12sim.physiology import markers as mk
from b12sim.physiology.population import BLOCK, select_people

OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}
SIM_FIELDS = {"intrinsic_factor": ("absent", "present"), "diet": ("omnivore", "vegetarian", "vegan", "low_intake"),
              "sex": ("female", "male")}
SIM_NUMBERS = ("hb", "neuro_days")  # given as a value or an even range
MAX_PEOPLE = 50 * BLOCK  # people drawn (about 200,000) before a selection is declared empty


@dataclass(frozen=True)
class Spec:
    """A parsed ``select`` text."""

    age: tuple[float, float] | None = None
    egfr: tuple[float, float] = (40.0, 110.0)
    labs: tuple = ()  # (marker, op, value) on measured day-0 results
    flags: dict = field(default_factory=dict)  # risk flag -> prevalence (0 or 1)
    component: str | None = None
    deficient: bool | None = None
    sim: dict = field(default_factory=dict)  # simulator fields


def _range(item: str, text: str) -> tuple[float, float]:
    m = re.fullmatch(r"\s*([0-9.]+)\s*-\s*([0-9.]+)\s*", text)
    if not m or float(m.group(1)) >= float(m.group(2)):
        raise InputError("select", item, "a range 'low-high' with low < high")
    return float(m.group(1)), float(m.group(2))


def _number(item: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError("select", item, "a number or a range 'low-high'") from None


def parse(text: str) -> Spec:
    """The :class:`Spec` of a ``select`` text (see the module doc); refusals name the condition."""
    kw = {"labs": [], "flags": {}, "sim": {}}
    for item in (s.strip() for s in str(text).split(";")):
        if not item:
            continue
        name, _, rest = item.partition(" ")
        name, rest = name.strip().lower(), rest.strip()
        op = re.fullmatch(r"(<=|>=|<|>)\s*([0-9.]+)", rest)
        if name in ("age", "egfr"):
            kw[name] = _range(item, rest)
        elif name in mk.MARKERS:
            if op:
                kw["labs"].append((name, op.group(1), float(op.group(2))))
            else:
                lo, hi = _range(item, rest)
                kw["labs"] += [(name, ">=", lo), (name, "<=", hi)]
        elif name in mk.RISKS and rest in ("yes", "no"):
            kw["flags"][name] = float(rest == "yes")
        elif name == "risks" and rest == "none":
            kw["flags"] |= {k: 0.0 for k in mk.RISKS}
        elif name == "component" and rest in ("main", "depleting"):
            kw["component"] = rest
        elif name == "deficient" and rest in ("yes", "no"):
            kw["deficient"] = rest == "yes"
        elif name in SIM_FIELDS and rest in SIM_FIELDS[name]:
            kw["sim"][name] = rest
        elif name in SIM_NUMBERS:
            kw["sim"][name] = _range(item, rest) if "-" in rest else (_number(item, rest),) * 2
        else:
            raise InputError("select", item, "conditions such as 'age 65-90', 'b12 < 148', 'mma 0.2-0.5', "
                             "'pernicious_anaemia yes', 'risks none', 'component main', 'deficient no', 'intrinsic_factor absent', "
                             "'diet vegan', 'sex male', 'hb 84' or 'neuro_days 90-365', separated by ';'")
    kw["labs"] = tuple(kw["labs"])
    return Spec(**kw)


def sample(spec: Spec, n: int, params: dict, seed: int) -> pd.DataFrame:
    """``n`` people of ``spec`` drawn from the marker model at ``params`` (scalars), as
    :func:`~b12sim.physiology.population.sample_people` gives them plus ``between_<marker>``,
    each person's lasting deviation (ln units) of a measured marker from the expected value:
    the day-0 residual's between-person share, drawn given that residual."""
    ev = evidence.value
    age = spec.age or (ev("cohort_age_min"), ev("cohort_age_max"))
    prev = {k: ev(f"prevalence_{k}") for k in mk.RISKS} | spec.flags

    def keep(block):
        ok = np.ones(len(block), bool)
        for marker, op, v in spec.labs:
            ok &= OPS[op](block[marker].to_numpy(float), v)
        if spec.component is not None:
            ok &= block["depleting"].to_numpy() == (spec.component == "depleting")
        if spec.deficient is not None:
            ok &= block["deficient"].to_numpy() == spec.deficient
        return ok

    df = select_people(n, params, keep, seed=seed, max_people=MAX_PEOPLE, age=age, egfr=spec.egfr, risks=prev)
    if df is None:
        raise InputError("select", spec, "conditions that some of the population meets")
    df = df.reset_index(drop=True)
    c = mk.Constants.load()
    means = mk.log_means(np.log(df["true_stores_ug"].to_numpy()), np.log(df["true_folate"].to_numpy()),
                         df["age"].to_numpy(), df["egfr"].to_numpy(), params, c)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
    for m, sb in mk.between_sds(params, *mk.covariates(df["age"].to_numpy(), df["egfr"].to_numpy())).items():
        sw = c.within[m]
        share = sb**2 / (sb**2 + sw**2)
        resid = np.log(df[m].to_numpy(float)) - means[m]
        df[f"between_{m}"] = share * resid + np.sqrt(share) * sw * rng.standard_normal(len(df))
    return df


def simulator_people(df: pd.DataFrame, spec: Spec, seed: int) -> pd.DataFrame:
    """Simulator inputs of sampled people: known stores, true folate, risk flags and what ``spec`` tells
    the simulator (intrinsic factor absent in the depleting component unless the study says otherwise;
    numbers given as a range drawn evenly per person from ``seed``)."""
    out = df[["age", "egfr", *mk.RISKS]].copy()
    out["b12"] = df["b12"]
    out["folate"] = df["true_folate"]
    out["stores_ug"] = df["true_stores_ug"]
    out["intrinsic_factor"] = np.where(df["depleting"], "absent", "present")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(4,)))
    for k, v in spec.sim.items():
        out[k] = rng.uniform(*v, len(out)) if k in SIM_NUMBERS else v
    return out
