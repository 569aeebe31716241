"""Running the model through each published study and comparing with what was published.

For every row: draw the study's population (:mod:`b12sim.studies.populations`), give it
the study's arms with the simulator (same people, parameter draws and measurement noise in
arm and comparator), measure the markers as a laboratory would (each person's lasting
deviation plus fresh within-person noise at every result), compute the outcome as the study
defined it (:mod:`b12sim.studies.outcomes`), and repeat per parameter draw on a resample of
the study's size ``n`` (steady-state ratios, which have no people, take the published interval
as their sampling error). The model's 95% interval therefore holds parameter uncertainty and
the sampling error of a study of that size; the row is *inside* when the published value
lies in it. Cross-sectional rows (day 0, no arm) draw a population per parameter draw, so
the marker model's uncertainty enters too; treated rows draw theirs once, at the marker
model's posterior medians, and their uncertainty comes from the simulator's draws.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from b12sim import evidence
from b12sim.defaults import SEED
from b12sim.posterior import medians
from b12sim.physiology import markers as mk
from b12sim.studies import outcomes, populations
from b12sim.studies.table import load

DRAWS = 40
PEOPLE = 300
RESULT_COLUMNS = ("id", "area", "study", "outcome", "day", "unit", "published", "published_lo", "published_hi", "n",
                  "model", "model_lo", "model_hi", "inside", "use")


def _measured(expected: np.ndarray, between: np.ndarray, within: float, rng) -> np.ndarray:
    """Laboratory results (draws, people, days) from expected values: lasting and fresh log-normal noise."""
    return expected * np.exp(between[None, :, None] + within * rng.standard_normal(expected.shape))


def _steady_ratio(diet: str, p: dict) -> np.ndarray:
    """Serum B12 at the steady state of ``diet`` over that of the median omnivore diet, per draw (serum B12 is
    proportional to the stores at a steady state)."""
    from b12sim.simulation.people import steady_stores

    median = evidence.value("intake_omnivore_median_ug")
    return steady_stores(median * evidence.value(f"intake_{diet}_ratio"), p) / steady_stores(median, p)


def _cross_sectional(row, out: outcomes.Outcome, p: dict, draws: int, people: int, seed: int) -> list[dict]:
    """Day-0 results of a population drawn under each parameter draw: per draw ``{marker: (people, 1)}``."""
    spec = populations.parse(row["select"])
    res = []
    for d in range(draws):
        df = populations.sample(spec, people, {k: float(p[k][d]) for k in mk.PARAMS}, seed=seed + d)
        res.append({m: df[m].to_numpy(float)[:, None] for m in out.markers})
    return res


def _simulated(row, out: outcomes.Outcome, draws: int, people: int, seed: int):
    """Results ``{marker: (draws, people, day + 1)}`` of the arm and of the comparator (None without one)."""
    import warnings

    from b12sim.simulation.simulate import simulate

    spec = populations.parse(row["select"])
    df = populations.sample(spec, people, medians("markers", mk.PARAMS), seed=seed)
    sim_people = populations.simulator_people(df, spec, seed)
    day = int(row["day"])
    within = mk.Constants.load().within
    res = []
    for arm in (row["arm"], row["comparator"] if out.contrast else None):
        if arm is None:
            res.append(None)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cohort values are canonical; unusual ones are real tails
            ds = simulate(sim_people, "no_treatment" if arm == "none" else arm, horizon_days=max(day, 1),
                          draws=draws, seed=seed, outputs=out.markers)
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2,)))  # the same noise in every arm
        res.append({m: _measured(ds[m].values, df[f"between_{m}"].to_numpy(), within[m], rng)
                    if m in outcomes.LABS else ds[m].values for m in out.markers})
    return res


def _annual_cost(row) -> float:
    """Undiscounted cost (Ontario) of the arm's regimen over the year from ``day``, taking every dose."""
    from b12sim import economics
    from b12sim.regimens import load_regimen

    start = int(row["day"])
    res = economics.resources(load_regimen(row["arm"]).schedule(start + 365))
    return float(economics.dose_cost(res["injections"], res["tablets"], economics.unit_costs())[start:].sum())


def run_row(row, *, draws: int = DRAWS, people: int = PEOPLE, seed: int = SEED) -> dict:
    """One study row: the model's median and 95% interval of the outcome, and whether the published value is inside."""
    from b12sim.simulation import parameters

    out = outcomes.parse(row["outcome"])
    p = parameters.draw(draws, seed)
    day = int(row["day"])
    n = people if np.isnan(row["n"]) else int(row["n"])
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(3,)))

    def pick(values: dict, d=None):
        """A resample of ``n`` people (of draw ``d``)."""
        idx = rng.integers(0, people, n)
        return {m: (v if d is None else v[d])[idx] for m, v in values.items()}

    if out.kind == "steady_ratio":  # no people to resample: the published interval gives the sampling error
        se = (row["hi"] - row["lo"]) / (2 * 1.96) if not np.isnan(row["lo"]) else 0.0
        stat = _steady_ratio(out.diet, p) + se * rng.standard_normal(draws)
    elif out.kind == "annual_cost":
        stat = np.full(draws, _annual_cost(row))  # unit costs are taken as known
    elif day == 0 and row["arm"] == "none":
        stat = np.array([out.value(pick(v), None, 0) for v in _cross_sectional(row, out, p, draws, people, seed)])
    else:
        arm, comp = _simulated(row, out, draws, people, seed)
        stat = np.array([out.value(pick(arm, d), None if comp is None else pick(comp, d), day) for d in range(draws)])
    lo, mid, hi = np.quantile(stat, [0.025, 0.5, 0.975], method="inverted_cdf")  # no interpolation: inf allowed
    return {"id": row["id"], "area": row["area"], "study": row["study"], "outcome": row["outcome"], "day": day,
            "unit": row["unit"], "published": row["value"], "published_lo": row["lo"], "published_hi": row["hi"],
            "n": row["n"], "model": mid, "model_lo": lo, "model_hi": hi,
            "inside": bool(lo <= row["value"] <= hi), "use": row["use"]}


def run(studies=None, *, only: str | None = None, draws: int = DRAWS, people: int = PEOPLE, seed: int = SEED,
        progress: bool = False) -> pd.DataFrame:
    """Every study row (of ``studies``: a table from :func:`~b12sim.studies.table.load`, CSV paths, or the
    shipped tables), or those of one area ``only``; one result row each (:data:`RESULT_COLUMNS`)."""
    table = studies if isinstance(studies, pd.DataFrame) else load(studies)
    if only is not None:
        table = table[table["area"] == only]
    rows = table.to_dict("records")
    if progress:
        from tqdm.auto import tqdm

        rows = tqdm(rows, unit="study", desc="validating")
    return pd.DataFrame([run_row(r, draws=draws, people=people, seed=seed) for r in rows], columns=list(RESULT_COLUMNS))
