"""Microsimulation of cohort blocks under strategies: costs, QALYs and events per draw.

One call handles whole blocks of :data:`BLOCK` consecutive people (by their
``person`` number). Everything random about a person (which doses they take) comes
from their own seed, shared by every strategy (common random numbers), and every
parameter draw is the same in every block, so a block's sums do not depend on how
blocks are grouped into chunks or spread over workers.

Per person and draw, over days 1..horizon:

* cost: each injection received (drug, fee and the visit it is given at), each
  oral tablet, the MMA test of a confirming strategy, the switching check (serum
  B12, blood collection, visit) and yearly monitoring while treated, discounted;
* QALYs: the utility of the day's state, neuropathy proxy (Currie 2006) x the
  anaemia proxy relative to its top (Lloyd 2008) minus the myelopathy decrement
  (Matza 2014) weighted by P(permanent deficit), discounted; the multiplicative
  combination of proxies is an assumption;
* events: P(permanent deficit) at the horizon, Hb normal on day 56, injections,
  tablets, treated, switched.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from b12sim import evidence
from b12sim.diagnosis import inputs
from b12sim.errors import InputError, UnitWarning
from b12sim.policy import economics as econ
from b12sim.policy import mortality
from b12sim.policy.strategies import Strategy
from b12sim.regimens import CHANNELS
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
_SIM_OUT = ("hb", "neuro_dysfunction", "p_permanent", "b12")
_IM = ("im_hydroxo_ug", "im_cyano_ug")


@dataclass(frozen=True)
class Setup:
    """Everything a block needs (picklable, so Dask workers get it whole)."""

    strategies: tuple[Strategy, ...]
    draws: int
    horizon_days: int
    seed: int
    costs: econ.UnitCosts
    discount_rate: float
    utilities: econ.Utilities
    mortality: bool = True
    substeps: int = engine.SUBSTEPS

    def streams(self):
        """Seed sequences: (parameters, economics, people)."""
        return np.random.SeedSequence(self.seed).spawn(3)


def economic_draws(n: int, seed, costs: econ.UnitCosts, u: econ.Utilities) -> dict[str, np.ndarray]:
    """Per-draw utility anchors (normal around ``u``'s values with the evidence rows' SDs,
    kept in 0-1 and ordered) and oral tablet price (log-normal around the setting's price
    with the evidence row's log SD)."""
    rng = np.random.default_rng(seed)
    tab = evidence.row("cost_oral_tablet")
    out = {"oral_tablet_cost": costs.cost("oral_tablet") * np.exp(float(tab["uncertainty"]) * rng.standard_normal(n))}
    for name, row in (("anaemia_low", "utility_anaemia_hb_7_8"), ("anaemia_high", "utility_anaemia_hb_12plus")):
        sd = float(evidence.row(row)["uncertainty"])
        out[name] = np.clip(getattr(u, name) + sd * rng.standard_normal(n), 0.01, 1.0)
    out["anaemia_low"] = np.minimum(out["anaemia_low"], out["anaemia_high"])
    return out


def draw_inputs(setup: Setup) -> tuple[dict, dict]:
    """Simulator parameter draws and economic draws of a run (identical in every block)."""
    s_par, s_econ, _ = setup.streams()
    return parameters.draw(setup.draws, s_par), economic_draws(setup.draws, s_econ, setup.costs, setup.utilities)


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


def _uniforms(setup: Setup, ids: np.ndarray) -> np.ndarray:
    """Per person and day, the uniform deciding whether that day's dose is taken (CRN)."""
    root = setup.streams()[2]
    out = np.empty((len(ids), setup.horizon_days))
    for j, pid in enumerate(ids):
        ss = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, int(pid)))
        out[j] = np.random.default_rng(ss).random(setup.horizon_days)
    return out


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
    """Received doses (people, days) per channel; ``switch``: (regimen, day per person) replaces from that day."""
    out = {c: np.zeros((len(regs), horizon)) for c in CHANNELS}
    cache = {}

    def sched(reg, days):
        key = (id(reg), int(days))
        if key not in cache:
            cache[key] = reg.schedule(int(days))
        return cache[key]

    for j, (reg, s0, on) in enumerate(zip(regs, start, treated)):
        if not on or s0 >= horizon:
            continue
        first = sched(reg, horizon - s0)
        for c in CHANNELS:
            out[c][j, s0:] = first[c]
        if switch is not None and switch[1][j] < horizon:
            day = switch[1][j]
            after = sched(switch[0], horizon - day)
            for c in CHANNELS:
                out[c][j, day:] = after[c]
    for c in CHANNELS:
        share = shares["im"] if c in _IM else shares["oral"]
        out[c] *= u < share[:, None]
    return out


def _on_oral(reg) -> bool:
    return any(p.route == "oral" and p.form != "folic_acid" for p in reg.phases)


def _run_engine(setup, p, arr, doses):
    """Engine outputs (draws, people, days) of :data:`_SIM_OUT` (numba kernel: identical for any grouping)."""
    return engine.run(p, arr, doses, setup.horizon_days, substeps=setup.substeps, outputs=_SIM_OUT, kernel=True)


def _utility(sim, ed: dict, u0: econ.Utilities) -> np.ndarray:
    hb_frac = np.clip((sim["hb"] - u0.hb_low_g_l) / (u0.hb_high_g_l - u0.hb_low_g_l), 0.0, 1.0)
    lo, hi = ed["anaemia_low"][:, None, None], ed["anaemia_high"][:, None, None]
    anaemia = (lo + (hi - lo) * hb_frac) / hi
    neuro = u0.neuropathy_none + (u0.neuropathy_severe - u0.neuropathy_none) * np.clip(sim["neuro_dysfunction"], 0, 1)
    return np.maximum(neuro * anaemia - u0.myelopathy * sim["p_permanent"], 0.0)


def _unit(costs, **counts) -> float:
    return float(econ.annual_regimen_cost(costs=costs, **counts)["total"])


def year_starts(horizon_days: int) -> np.ndarray:
    """0-based index of the first day of each year of the horizon (days 1..horizon)."""
    return np.unique(np.ceil(np.arange(0, horizon_days, econ.DAYS_PER_YEAR)).astype(int))


@dataclass(frozen=True)
class _Common:
    """Inputs shared by every strategy of a block."""

    p: dict
    ed: dict
    disc: np.ndarray  # (days,)
    c_inj: float
    c_mma: float
    c_check: float
    cutoff: float


def _strategy(setup: Setup, s: Strategy, cm: _Common, rows, arr, u, shares, surv, p_mma):
    """Per person outcomes (draws, people, outcomes) and undiscounted yearly costs (draws, people, years)."""
    h, n_draw, n = setup.horizon_days, len(cm.p["x_k"]), len(rows)
    regs, start, treated = _plan(s, rows, p_mma)
    doses = _doses(regs, start, treated, shares, u, h)
    sim = _run_engine(setup, cm.p, arr, doses)
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
                alt = _run_engine(setup, cm.p, arr, alt_doses)
                for k in _SIM_OUT:
                    sim[k] = np.where(fail[:, :, None], alt[k], sim[k])
                switched = fail
    inj = sum(doses[ch] > 0 for ch in _IM).astype(float)[None]
    tabs = np.ceil(doses["oral_ug"] / 1000.0)[None]
    if switched.any():
        pick = switched[:, :, None]
        inj = np.where(pick, sum(alt_doses[ch] > 0 for ch in _IM).astype(float)[None], inj)
        tabs = np.where(pick, np.ceil(alt_doses["oral_ug"] / 1000.0)[None], tabs)
    daily = inj * cm.c_inj + tabs * cm.ed["oral_tablet_cost"][:, None, None]  # (draws, people, days)
    daily = np.broadcast_to(daily, (n_draw, n, h)).copy()
    if s.confirm_test == "mma":
        daily[:, :, 0] += np.where(rows["neuro_days"].to_numpy(float) > 0, 0.0, cm.c_mma)
    checked = np.flatnonzero(check_day < h)
    daily[:, checked, check_day[checked] - 1] += cm.c_check
    if s.monitoring:
        tests = {k: v for k, v in s.monitoring.items() if k != "physician_visits"}
        yearly = _unit(setup.costs, tests=tests, physician_visits=s.monitoring.get("physician_visits", 0.0))
        on = (np.arange(h)[None, :] >= start[:, None]) & treated[:, None]
        daily += on * (yearly / econ.DAYS_PER_YEAR)
    weight = cm.disc[None, :] * surv  # (people, days)
    cost = np.einsum("dph,ph->dp", daily, weight)
    qaly = np.einsum("dph,ph->dp", _utility(sim, cm.ed, setup.utilities), weight) / econ.DAYS_PER_YEAR
    by_year = np.add.reduceat(daily * surv[None], year_starts(h), axis=2)
    day56 = min(56, h) - 1
    hb_normal = np.where(arr["female"], evidence.value("hb_normal_female"), evidence.value("hb_normal_male"))
    out = np.stack([
        cost, qaly, sim["p_permanent"][:, :, -1], (sim["hb"][:, :, day56] >= hb_normal).astype(float),
        np.broadcast_to(inj.sum(axis=-1), (n_draw, n)), np.broadcast_to(tabs.sum(axis=-1), (n_draw, n)),
        np.broadcast_to(treated.astype(float), (n_draw, n)), switched.astype(float),
    ], axis=-1)
    return out, by_year


def run_blocks(setup: Setup, rows: pd.DataFrame, draws: slice = slice(None)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sums per block: (block ids, outcomes (blocks, strategies, draws, :data:`OUTCOMES`),
    undiscounted survival-weighted costs (blocks, strategies, draws, years)).

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
    arr = ppl.arrays(_people(rows), p)
    u = _uniforms(setup, ids)
    shares = {"oral": rows["oral_adherence"].to_numpy(float), "im": rows["im_attendance"].to_numpy(float)}
    h = setup.horizon_days
    surv = (mortality.survival(rows["age"].to_numpy(float), arr["female"], np.arange(1, h + 1))
            if setup.mortality else np.ones((len(rows), h)))
    c = setup.costs
    cm = _Common(p, ed, np.asarray(econ.discount_factor(np.arange(1, h + 1.0), setup.discount_rate)),
                 _unit(c, injections=1), _unit(c, tests={"mma": 1}), _unit(c, tests={"b12": 1}, physician_visits=1),
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
            per[si, :, sl], yearly[si, :, sl] = _strategy(setup, s, cm, rows.iloc[sl], sub, u[sl], sh, surv[sl], pm)
    blocks = ids // BLOCK
    uniq = np.unique(blocks)
    sums = np.stack([per[:, :, blocks == b].sum(axis=2) for b in uniq])
    year_sums = np.stack([yearly[:, :, blocks == b].sum(axis=2) for b in uniq])
    return uniq, sums, year_sums
