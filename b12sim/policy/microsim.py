"""Microsimulation of cohort blocks under strategies: costs, QALYs and events per draw.

One call handles whole blocks of :data:`BLOCK` consecutive people (by their
``person`` number). Everything random about a person (which doses they take) comes
from their own seed, shared by every strategy (common random numbers), and every
parameter draw is the same in every block, so a block's sums do not depend on how
blocks are grouped into chunks or spread over workers.

Per person and draw, over days 0..horizon-1, with the economics ``decide`` uses
(:mod:`b12sim.economics`: the same day weights, utilities, dose counting and adherence):

* cost: each injection received (drug, fee and the visit it is given at), each
  whole oral tablet, the MMA test of a confirming strategy, the switching check (serum
  B12, blood collection, visit) and yearly monitoring while treated, at the draw's unit
  costs, discounted at the draw's rate for costs;
* QALYs: the utility of the day's state (:func:`b12sim.economics.day_utility`), discounted
  at the draw's rate for QALYs;
* doses received: the regimen's adherence times the person's ``oral_adherence`` or
  ``im_attendance`` (:mod:`b12sim.economics.adherence`);
* events: P(permanent deficit) at the horizon, Hb normal on day 56, injections,
  tablets, treated, switched.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from b12sim import economics as econ
from b12sim import evidence
from b12sim.defaults import DAYS_PER_YEAR
from b12sim.diagnosis import inputs
from b12sim.economics import adherence, mortality
from b12sim.errors import InputError, UnitWarning
from b12sim.physiology import kinetics as kin
from b12sim.physiology import markers as mk
from b12sim.policy.strategies import Strategy
from b12sim.simulation import engine, parameters
from b12sim.simulation import people as ppl

BLOCK = 64  # people per reduction block
ENGINE_PAIRS = 16_384  # draws x people per engine call (memory: about 50 MB per output)
OUTCOMES = {
    "cost": "currency per person (discounted)", "qaly": "QALYs per person (discounted)",
    "p_permanent": "probability of permanent nerve deficit at the horizon",
    "hb_normal_day56": "share with Hb in the normal range on day 56",
    "injections": "injections received per person", "tablets": "oral tablets taken per person",
    "treated": "share treated", "switched": "share switched to IM",
}
_SIM_OUT = ("hb", "nerve_mild", "nerve_moderate", "nerve_severe", "p_permanent", "b12")
UTILITY_ROWS = {"anaemia_low": "utility_anaemia_hb_7_8", "anaemia_high": "utility_anaemia_hb_12plus"}  # drawn
CENTRAL_DRAWS = 1000  # draws whose medians are the central (deterministic) value of each input
AGE_BANDS = (60.0, 70.0, 80.0)  # years: subgroups below 60, 60-69, 70-79, 80 and over
SUBGROUPS = {"cause": "the cause of deficiency (cohort column cause)",
             "age": "age band: under 60, 60-69, 70-79, 80+ (years)",
             "nerves": "nerve involvement at the start (neuro_days > 0): yes or no"}
SUBGROUP_OUTCOMES = ("cost", "qaly", "p_permanent")  # kept per subgroup


@dataclass(frozen=True)
class Setup:
    """Everything a block needs (picklable, so Dask workers get it whole)."""

    strategies: tuple[Strategy, ...]
    draws: int
    horizon_days: int
    seed: int
    costs: econ.UnitCosts
    discount_costs: float  # per year
    discount_qalys: float  # per year
    utilities: econ.Utilities
    mortality: bool = True
    substeps: int = engine.SUBSTEPS
    deterministic: bool = False  # every input at its central value instead of random draws
    inputs: tuple[tuple[str, tuple[float, ...]], ...] = ()  # per-draw values replacing drawn inputs
    subgroups: tuple[str, ...] = ()  # subgroup levels ("cause=..."), see subgroup_labels

    def streams(self):
        """Seed sequences: (parameters, economics, people)."""
        return np.random.SeedSequence(self.seed).spawn(3)


def economic_draws(n: int, seed, costs: econ.UnitCosts, u: econ.Utilities, discount_costs: float,
                   discount_qalys: float, *, central: bool = False) -> dict[str, np.ndarray]:
    """Per-draw economic inputs: every unit cost, ``<item>_cost`` (log-normal around the setting's
    cost with its log SD, :func:`economics.cost_draws`), the utility anchors (normal around ``u``'s
    values with the evidence rows' SDs, kept in 0-1 and ordered) and the discount rates
    ``discount_rate_costs`` and ``discount_rate_qalys`` (per year, the same in every draw).
    ``central``: every draw at the medians (the setting's costs, ``u``'s values)."""
    rng = np.random.default_rng(seed)
    scale = 0.0 if central else 1.0
    out = {f"{item}_cost": v for item, v in econ.cost_draws(costs, n, rng, scale=scale).items()}
    for name, row in UTILITY_ROWS.items():
        z = scale * rng.standard_normal(n)
        out[name] = np.clip(getattr(u, name) + evidence.uncertainty(row) * z, 0.01, 1.0)
    out["anaemia_low"] = np.minimum(out["anaemia_low"], out["anaemia_high"])
    out["discount_rate_costs"], out["discount_rate_qalys"] = np.full(n, discount_costs), np.full(n, discount_qalys)
    return out


def _drawn(setup: Setup, n: int) -> tuple[dict, dict]:
    s_par, s_econ, _ = setup.streams()
    if setup.deterministic:
        p = {k: np.full(n, np.median(v)) for k, v in parameters.draw(CENTRAL_DRAWS, s_par).items()}
    else:
        p = parameters.draw(n, s_par)
    return p, economic_draws(n, s_econ, setup.costs, setup.utilities, setup.discount_costs, setup.discount_qalys,
                             central=setup.deterministic)


def draw_inputs(setup: Setup) -> tuple[dict, dict]:
    """Simulator parameter draws and economic draws of a run (identical in every block).

    With ``setup.deterministic`` every draw holds the central value of each input (a simulator
    parameter's median over :data:`CENTRAL_DRAWS` draws, the median of an economic input's
    distribution); ``setup.inputs`` then replace single inputs draw by draw,
    and the quantities derived from them follow (the recent pool's rate from its half-life)."""
    p, ed = _drawn(setup, setup.draws)
    for name, values in setup.inputs:
        (p if name in p else ed)[name] = np.asarray(values, dtype=float)
    p["recent_per_day"] = kin.halflife_rate(p["recent_halflife_days"])
    return p, ed


def input_names(setup: Setup) -> tuple[str, ...]:
    """Names of the inputs a run draws (simulator parameters and economic inputs), which
    ``Setup.inputs`` may set."""
    p, ed = _drawn(setup, 1)
    return tuple(p) + tuple(ed)


def subgroup_labels(rows: pd.DataFrame) -> pd.DataFrame:
    """Each person's subgroup level for each of :data:`SUBGROUPS`, as ``"name=level"`` strings."""
    age = rows["age"].to_numpy(float)
    band = np.digitize(age, AGE_BANDS)
    names = [f"under {AGE_BANDS[0]:.0f}"] + [f"{a:.0f}-{b - 1:.0f}" for a, b in zip(AGE_BANDS, AGE_BANDS[1:])] \
        + [f"{AGE_BANDS[-1]:.0f}+"]
    return pd.DataFrame({"cause": "cause=" + rows["cause"].astype(str),
                         "age": ["age=" + names[b] for b in band],
                         "nerves": np.where(rows["neuro_days"].to_numpy(float) > 0, "nerves=yes", "nerves=no")},
                        index=rows.index)


def _people(rows: pd.DataFrame) -> list[dict]:
    keep = [c for c in (*inputs.FIELDS, *ppl.EXTRA) if c in rows.columns]
    out = []
    with warnings.catch_warnings():  # cohort values are canonical units; unusual ones are real tails
        warnings.simplefilter("ignore", UnitWarning)
        for pid, rec in zip(rows["person"], rows[keep].to_dict("records")):
            try:
                out.append(ppl.parse({k: v for k, v in rec.items() if not (isinstance(v, float) and math.isnan(v))}))
            except InputError as e:
                raise InputError(f"cohort row {pid} ({e.field})", e.value, e.allowed, e.hint) from None
    return out


def _uniforms(setup: Setup, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per person (CRN): the uniform deciding whether each day's dose is taken (people, days),
    then the one deciding when they stop (people,)."""
    root = setup.streams()[2]
    out = np.empty((len(ids), setup.horizon_days + 1))
    for j, pid in enumerate(ids):
        ss = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, int(pid)))
        out[j] = np.random.default_rng(ss).random(setup.horizon_days + 1)
    return out[:, :-1], out[:, -1]


def p_deficient_with_mma(rows: pd.DataFrame) -> np.ndarray:
    """P(deficient) per person from their labs including MMA (the confirming test)."""
    from b12sim.diagnosis.core import diagnose

    if "mma" not in rows.columns or rows["mma"].isna().any():
        raise InputError("cohort column mma", "missing values", "an MMA value for every person when a strategy "
                         "confirms with MMA (confirm_test = 'mma')")
    cols = [c for c in inputs.FIELDS if c in rows.columns]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnitWarning)
        res = diagnose(rows[cols].reset_index(drop=True), explain=False, progress=False)
    return res["p_deficient"].to_numpy(float)


def _plan(strategy: Strategy, rows: pd.DataFrame, p_mma) -> tuple[list, np.ndarray, np.ndarray]:
    """Per person: regimen, start day, treated."""
    neuro = rows["neuro_days"].to_numpy(float) > 0
    regs = [strategy.regimen_for(c, n) for c, n in zip(rows["cause"], neuro)]
    start = np.full(len(rows), strategy.delay_days)
    treated = np.ones(len(rows), bool)
    if strategy.confirm_test == "mma":
        tested = ~neuro
        start = np.where(tested, start + strategy.test_turnaround_days, start)
        treated = ~tested | (p_mma >= strategy.treat_threshold)
    treated &= np.array([bool(r.phases) for r in regs])
    return regs, start, treated


def _doses(regs, start, treated, shares, u, horizon, switch=None):
    """Received doses (people, days) per channel; ``u``: (daily, stopping) uniforms; ``switch``:
    (regimen, day per person) replaces from that day."""
    plans = []
    for j, (reg, s0, on) in enumerate(zip(regs, start, treated)):
        s0 = int(s0)
        if not on or s0 >= horizon:
            plans.append(())
        elif switch is not None and switch[1][j] < horizon:
            day = int(switch[1][j])
            plans.append(((reg, s0, day), (switch[0], day, horizon)))
        else:
            plans.append(((reg, s0, horizon),))
    return adherence.received(plans, *u, shares, horizon)


def _on_oral(reg) -> bool:
    return any(p.route == "oral" and p.form != "folic_acid" for p in reg.phases)


def _unit(unit: dict, **counts) -> np.ndarray:
    """Cost per draw of yearly ``counts`` (those of :func:`economics.annual_quantities`) at the
    per-draw unit costs ``unit`` (item -> (draws,))."""
    return econ.price(econ.annual_quantities(**counts), unit)


def year_starts(horizon_days: int) -> np.ndarray:
    """Index of the first day of each year of the horizon (days 0..horizon-1): the first whole day
    at or after each multiple of :data:`DAYS_PER_YEAR` that falls inside the horizon."""
    starts = np.unique(np.ceil(np.arange(0, horizon_days, DAYS_PER_YEAR)).astype(int))
    return starts[starts < horizon_days]


def _discount(rates: np.ndarray, horizon: int) -> np.ndarray:
    """Discount factors (draws, days 0..horizon) at each draw's rate (computed once per distinct rate)."""
    uniq, inv = np.unique(rates, return_inverse=True)
    return np.stack([np.asarray(econ.discount_factor(np.arange(horizon + 1.0), r)) for r in uniq])[inv]


@dataclass(frozen=True)
class _Common:
    """Inputs shared by every strategy of a block."""

    p: dict
    ed: dict
    unit: dict  # item -> unit cost per draw (draws,)
    disc_cost: np.ndarray  # (draws, days + 1): days 0..horizon
    disc_qaly: np.ndarray  # (draws, days + 1)
    c_mma: np.ndarray  # (draws,)
    c_check: np.ndarray  # (draws,)
    cutoff: float


def _strategy(setup: Setup, s: Strategy, cm: _Common, rows, arr, u, shares, surv, p_mma):
    """Per person outcomes (draws, people, outcomes) and undiscounted yearly costs (draws, people, years).

    ``surv``: P(alive) per person on days 0..horizon."""
    h, n_draw, n = setup.horizon_days, len(cm.p["x_k"]), len(rows)
    regs, start, treated = _plan(s, rows, p_mma)
    doses = _doses(regs, start, treated, shares, u, h)
    # the numba kernel: its outputs (draws, people, days) are identical for any grouping of people
    sim = engine.run(cm.p, arr, doses, h, substeps=setup.substeps, outputs=_SIM_OUT, kernel=True)
    switched = np.zeros((n_draw, n), bool)
    check_day = np.full(n, h)
    alt_doses = doses
    if s.switch_to is not None:
        oral = treated & np.array([_on_oral(r) for r in regs])
        check_day = np.where(oral, start + s.switch_check_day, h)
        due = check_day < h
        if due.any():
            fail = np.zeros_like(switched)
            fail[:, due] = sim["b12"][:, due, check_day[due] - 1] < cm.cutoff
            if fail.any():
                alt_doses = _doses(regs, start, treated, shares, u, h, switch=(s.switch_to, check_day))
                alt = engine.run(cm.p, arr, alt_doses, h, substeps=setup.substeps, outputs=_SIM_OUT, kernel=True)
                for k in _SIM_OUT:
                    sim[k] = np.where(fail[:, :, None], alt[k], sim[k])
                switched = fail
    res = econ.resources(doses)
    inj, tabs = res["injections"][None], res["tablets"][None]
    if switched.any():
        pick, alt = switched[:, :, None], econ.resources(alt_doses)
        inj = np.where(pick, alt["injections"][None], inj)
        tabs = np.where(pick, alt["tablets"][None], tabs)
    daily = np.broadcast_to(econ.dose_cost(inj, tabs, {k: v[:, None, None] for k, v in cm.unit.items()}),
                            (n_draw, n, h)).copy()  # (draws, people, days)
    if s.confirm_test == "mma":
        daily[:, :, 0] += np.where(rows["neuro_days"].to_numpy(float) > 0, 0.0, cm.c_mma[:, None])
    checked = np.flatnonzero(check_day < h)
    daily[:, checked, check_day[checked]] += cm.c_check[:, None]  # the check, on day check_day
    if s.monitoring:
        tests = {k: v for k, v in s.monitoring.items() if k != "physician_visits"}
        yearly = _unit(cm.unit, tests=tests, physician_visits=s.monitoring.get("physician_visits", 0.0))
        on = (np.arange(h)[None, :] >= start[:, None]) & treated[:, None]
        daily += on[None] * (yearly[:, None, None] / DAYS_PER_YEAR)
    cost = np.einsum("dph,dh,ph->dp", daily, cm.disc_cost[:, :h], surv[:, :h])  # paid on the day
    lo, hi = (cm.ed[k][:, None, None] for k in ("anaemia_low", "anaemia_high"))
    utility = econ.day_utility(sim["hb"], sim["nerve_mild"], sim["nerve_moderate"], sim["nerve_severe"],
                               setup.utilities, lo, hi)
    # lived to the day's end
    qaly = np.einsum("dph,dh,ph->dp", utility, cm.disc_qaly[:, 1:], surv[:, 1:]) / DAYS_PER_YEAR
    by_year = np.add.reduceat(daily * surv[None, :, :h], year_starts(h), axis=2)
    day56 = min(56, h) - 1
    hb_normal = np.where(arr["female"], evidence.value("hb_normal_female"), evidence.value("hb_normal_male"))
    out = np.stack([
        cost, qaly, sim["p_permanent"][:, :, -1], (sim["hb"][:, :, day56] >= hb_normal).astype(float),
        np.broadcast_to(inj.sum(axis=-1), (n_draw, n)), np.broadcast_to(tabs.sum(axis=-1), (n_draw, n)),
        np.broadcast_to(treated.astype(float), (n_draw, n)), switched.astype(float),
    ], axis=-1)
    return out, by_year


def run_blocks(setup: Setup, rows: pd.DataFrame, draws: slice = slice(None)) -> tuple[np.ndarray, ...]:
    """Sums per block: (block ids, outcomes (blocks, strategies, draws, :data:`OUTCOMES`),
    undiscounted survival-weighted costs (blocks, strategies, draws, years), and the outcomes
    :data:`SUBGROUP_OUTCOMES` of each subgroup level of ``setup.subgroups`` (blocks, levels,
    strategies, draws, outcomes)).

    ``rows``: whole blocks of a checked cohort (``person`` numbers ``k * BLOCK ...``);
    ``draws``: the parameter draws to run (a slice of the run's draws; each draw is
    computed the same whichever slice it is in).
    People are simulated in groups of :data:`ENGINE_PAIRS` // draws so that trajectories
    never take more memory than that, whatever the block count.
    """
    p, ed = draw_inputs(setup)
    p, ed = ({k: np.asarray(v)[draws] for k, v in d.items()} for d in (p, ed))
    n_draw = len(p["x_k"])
    ids = rows["person"].to_numpy(int)
    if setup.deterministic and not any(name in mk.PARAMS for name, _ in setup.inputs):
        # the marker model is the same in every draw: so are the people (who has lost intrinsic
        # factor is drawn per draw), and scenarios differ only by the inputs they set
        one = ppl.arrays(_people(rows), {k: v[:1] for k, v in p.items()}, seed=setup.streams()[0], ids=ids)
        arr = {k: np.repeat(v, n_draw, axis=0) if np.ndim(v) == 2 else v for k, v in one.items()}
    else:
        arr = ppl.arrays(_people(rows), p, seed=setup.streams()[0], ids=ids, draw_ids=np.arange(setup.draws)[draws])
    u, u_stop = _uniforms(setup, ids)
    shares = {route: rows[col].to_numpy(float) for route, col in adherence.TRAITS.items()}
    h = setup.horizon_days
    surv = (mortality.survival(rows["age"].to_numpy(float), arr["female"], np.arange(h + 1))
            if setup.mortality else np.ones((len(rows), h + 1)))
    unit = {item: ed[f"{item}_cost"] for item in econ.COST_ITEMS if f"{item}_cost" in ed}
    cm = _Common(p, ed, unit, _discount(ed["discount_rate_costs"], h), _discount(ed["discount_rate_qalys"], h),
                 _unit(unit, tests={"mma": 1}), _unit(unit, tests={"b12": 1}, physician_visits=1),
                 evidence.value("cohort_b12_cutoff"))
    p_mma = p_deficient_with_mma(rows) if any(s.confirm_test == "mma" for s in setup.strategies) else None
    n_s, n = len(setup.strategies), len(rows)
    per = np.zeros((n_s, n_draw, n, len(OUTCOMES)))
    yearly = np.zeros((n_s, n_draw, n, len(year_starts(h))))
    step = max(1, ENGINE_PAIRS // n_draw)
    for a in range(0, n, step):
        sl = slice(a, min(n, a + step))
        sub = {k: (v[:, sl] if np.ndim(v) == 2 else v[sl]) for k, v in arr.items()}
        sh = {k: v[sl] for k, v in shares.items()}
        pm = None if p_mma is None else p_mma[sl]
        for si, s in enumerate(setup.strategies):
            per[si, :, sl], yearly[si, :, sl] = _strategy(setup, s, cm, rows.iloc[sl], sub, (u[sl], u_stop[sl]), sh,
                                                          surv[sl], pm)
    blocks = ids // BLOCK
    uniq = np.unique(blocks)
    sums = np.stack([per[:, :, blocks == b].sum(axis=2) for b in uniq])
    year_sums = np.stack([yearly[:, :, blocks == b].sum(axis=2) for b in uniq])
    member = subgroup_labels(rows).to_numpy()  # (people, variables)
    kept = [list(OUTCOMES).index(k) for k in SUBGROUP_OUTCOMES]
    group_sums = np.zeros((len(uniq), len(setup.subgroups), n_s, n_draw, len(kept)))
    for g, level in enumerate(setup.subgroups):
        inside = (member == level).any(axis=1)
        for i, b in enumerate(uniq):
            group_sums[i, g] = per[:, :, inside & (blocks == b)][..., kept].sum(axis=2)
    return uniq, sums, year_sums, group_sums
