"""Deterministic sensitivity analysis: one-way (tornado) and two-way.

Every input of the microsimulation is held at its central value (a simulator parameter's
median over posterior or prior draws, an economic input's median: the setting's cost, the
utility, the discount rate) and then one factor, or a pair, is moved over its range. A
factor is any of:

* a drawn input (:func:`b12sim.policy.microsim.input_names`: simulator parameters such as
  ``neuro_fixation_days``, unit costs ``<item>_cost``, ``anaemia_low``, ``anaemia_high``,
  ``discount_rate_costs``, ``discount_rate_qalys``);
* an evidence row that feeds one (``cost_mma_test``, ``passive_absorption_fraction``,
  ``utility_anaemia_hb_7_8``, ``discount_rate`` for both rates, ...);
* a parameter group of :data:`b12sim.policy.compare.GROUPS` (``"costs"``, ``"neurology"``, ...):
  its members move together, each to its own low or high end.

A factor's default range is the 2.5% and 97.5% quantiles of its draws (its posterior, or its
evidence uncertainty), and for the discount rates the guideline's sensitivity range
(``discount_rate_low``, ``discount_rate_high`` of ``economics.csv``); ``ranges`` replaces it.

All scenarios run as the draws of one deterministic :func:`compare_strategies` call, so they
share people, doses and days (common random numbers) and differ only by what they set.
Results are in net monetary benefit (NMB = wtp x QALYs - cost, currency per person).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from b12sim import economics as econ
from b12sim import evidence
from b12sim.defaults import SEED
from b12sim.errors import InputError, did_you_mean
from b12sim.policy import microsim as ms
from b12sim.policy.compare import GROUPS, PolicyResult, compare_strategies
from b12sim.simulation import parameters
from b12sim.validation import number, whole

#: Factors of :func:`one_way` by default: the unit costs, utilities and discount rates, and the
#: simulator parameters that decide how fast treatment refills the stores and how nerves fare.
DEFAULT_FACTORS = (*GROUPS["costs"], "anaemia_low", "anaemia_high", "discount_rate_costs", "discount_rate_qalys",
                   "passive_fraction", "if_fraction", "loss_per_day", "neuro_onset_days",
                   "neuro_progress_days", "neuro_fixation_days", "neuro_recovery_halflife_days")
_DISCOUNT = ("discount_rate_costs", "discount_rate_qalys")
_QUANTILES = (0.025, 0.975)


def _evidence_inputs() -> dict[str, tuple[str, ...]]:
    """Evidence row -> the drawn inputs it feeds."""
    out = {row: (name,) for name, (row, _, _) in parameters.PRIORS.items()}
    out |= {row: (f"{item}_cost",) for item, row in econ.ONTARIO_ROWS.items()}
    out |= {row: (name,) for name, row in ms.UTILITY_ROWS.items()}
    out["discount_rate"] = _DISCOUNT
    return out


def _setup(seed: int, kw: dict) -> ms.Setup:
    """A setup of the run's economics, with :data:`microsim.CENTRAL_DRAWS` draws (for ranges)."""
    costs = kw.get("costs", "ontario")
    costs = costs if isinstance(costs, econ.UnitCosts) else econ.unit_costs(costs, overrides=kw.get("cost_overrides"),
                                                                            field="costs")
    rate = evidence.value("discount_rate") if kw.get("discount_rate") is None else kw["discount_rate"]
    dc, dq = (rate if kw.get(k) is None else kw[k] for k in ("discount_costs", "discount_qalys"))
    return ms.Setup((), ms.CENTRAL_DRAWS, 1, seed, costs, dc, dq, econ.utilities(**(kw.get("utilities") or {})))


def _factor(name, known: tuple[str, ...], ranges: Mapping) -> tuple[str, tuple[str, ...]]:
    if not isinstance(name, str):
        raise InputError("factors", name, "names of inputs, evidence rows or parameter groups")
    rows = _evidence_inputs()
    if name in GROUPS:
        if name in ranges:
            raise InputError(f"ranges.{name}", ranges[name], "a range for a single input (a group's members "
                             "each move over their own range)")
        return name, tuple(k for k in GROUPS[name] if k in known)
    if name in known:
        return name, (name,)
    if name in rows:
        return name, rows[name]
    choices = [*known, *rows, *GROUPS]
    raise InputError("factors", name, "drawn inputs (microsim.input_names), evidence rows that feed them, or "
                     "parameter groups (" + ", ".join(GROUPS) + ")", did_you_mean(name, choices))


def _ranges(factors: list[tuple[str, tuple[str, ...]]], ranges: Mapping, setup: ms.Setup) -> dict:
    """(low, high) of every input of ``factors``."""
    p, ed = ms.draw_inputs(setup)
    drawn = p | ed
    out = {}
    for label, names in factors:
        for k in names:
            if label in ranges:
                given = ranges[label]
                if not (isinstance(given, Sequence) and len(given) == 2):
                    raise InputError(f"ranges.{label}", given, "a pair (low, high)")
                out[k] = tuple(number(f"ranges.{label}", v, -np.inf, np.inf, "finite numbers") for v in given)
            elif k in _DISCOUNT:
                out[k] = (evidence.value("discount_rate_low"), evidence.value("discount_rate_high"))
            else:
                out[k] = tuple(float(q) for q in np.quantile(drawn[k], _QUANTILES))
            if out[k][0] == out[k][1] and len(names) == 1:
                raise InputError(f"ranges.{label}", out[k], "a range with low < high",
                                 f"{k} does not vary in the draws: give ranges={{{label!r}: (low, high)}}")
    return out


@dataclass
class Sensitivity:
    """A deterministic sensitivity analysis: the run and what each scenario set.

    ``result``: the :class:`PolicyResult` of the deterministic run, one draw per scenario.
    ``scenarios``: per scenario (its draw), ``factor`` and ``end`` (``"base"``, ``"low"``,
    ``"high"``; for two-way analyses the grid position) and, per factor, the value set.
    """

    result: PolicyResult
    scenarios: pd.DataFrame
    kind: str  # "one-way" or "two-way"

    def nmb(self, wtp: float) -> pd.DataFrame:
        """NMB of every strategy (columns) in every scenario (rows), currency per person."""
        wtp = number("wtp", wtp, 0.0, np.inf, "a number >= 0 (currency per QALY)")
        ds = self.result.outcomes["outcomes"]
        nmb = (wtp * ds["qaly"] - ds["cost"]).transpose("draw", "strategy").to_numpy()
        return pd.DataFrame(nmb, index=self.scenarios.index, columns=pd.Index(ds["strategy"].values, name="strategy"))

    def _pair(self, nmb: pd.DataFrame, strategy, reference) -> tuple[str, str]:
        names = list(nmb.columns)
        if len(names) < 2:
            raise InputError("strategies", names, "at least two strategies for an incremental analysis")
        ranked = nmb.iloc[0].sort_values(ascending=False, kind="stable").index
        best = ranked[0] if strategy is None else strategy
        ref = [n for n in ranked if n != best][0] if reference is None else reference
        for field, s in (("strategy", best), ("reference", ref)):
            if s not in names:
                raise InputError(field, s, "one of " + ", ".join(names), did_you_mean(str(s), names))
        if best == ref:
            raise InputError("strategy", best, "a strategy other than the reference")
        return best, ref

    def tornado(self, wtp: float = 50_000.0, *, strategy=None, reference=None) -> pd.DataFrame:
        """One-way results as a tornado table: per factor, its low and high values, the incremental
        NMB of ``strategy`` against ``reference`` at both ends (``inmb_low``, ``inmb_high``;
        base case in ``attrs["base"]``), their spread ``swing``, and the strategy with the highest NMB
        at each end (``best_low``, ``best_high``); widest swing first.

        Defaults: ``strategy`` the one with the highest base-case NMB at ``wtp`` (currency per
        QALY), ``reference`` its closest rival (the next highest)."""
        if self.kind != "one-way":
            raise InputError("tornado", self.kind, "a one-way analysis (one_way)")
        nmb = self.nmb(wtp)
        s, r = self._pair(nmb, strategy, reference)
        inmb = nmb[s] - nmb[r]
        best = nmb.idxmax(axis=1)
        sc = self.scenarios
        rows = []
        for f in sc["factor"].iloc[1:].unique():
            lo, hi = sc.index[(sc["factor"] == f) & (sc["end"] == "low")][0], \
                sc.index[(sc["factor"] == f) & (sc["end"] == "high")][0]
            rows.append({"factor": f, "low": sc.loc[lo, f], "high": sc.loc[hi, f], "inmb_low": inmb[lo],
                         "inmb_high": inmb[hi], "swing": abs(inmb[hi] - inmb[lo]), "best_low": best[lo],
                         "best_high": best[hi]})
        out = pd.DataFrame(rows).set_index("factor").sort_values("swing", ascending=False)
        out.attrs.update(base=float(inmb.iloc[0]), best_base=best.iloc[0], strategy=s, reference=r, wtp=float(wtp),
                         currency=self.result.outcomes.attrs.get("currency", ""))
        return out

    def grid(self, wtp: float = 50_000.0) -> pd.DataFrame:
        """Two-way results: the strategy with the highest NMB at ``wtp`` for each pair of values
        (rows: the first factor's values, columns: the second's)."""
        if self.kind != "two-way":
            raise InputError("grid", self.kind, "a two-way analysis (two_way)")
        best = self.nmb(wtp).idxmax(axis=1)
        x, y = self.scenarios.columns[-2:]
        sc = self.scenarios.iloc[1:]
        return pd.DataFrame({"x": sc[x], "y": sc[y], "best": best.iloc[1:]}).pivot(index="x", columns="y",
                                                                                    values="best") \
            .rename_axis(index=x, columns=y)

    def plot_tornado(self, ax=None, *, wtp: float = 50_000.0, strategy=None, reference=None, top: int = 15):
        """Tornado diagram of :meth:`tornado` (the ``top`` widest factors); returns the Axes."""
        from b12sim.policy import figures

        return figures.tornado(ax, self.tornado(wtp, strategy=strategy, reference=reference), top=top)

    def plot_grid(self, ax=None, *, wtp: float = 50_000.0):
        """Map of the strategy with the highest NMB over a two-way grid; returns the Axes."""
        from b12sim.policy import figures

        return figures.two_way(ax, self.grid(wtp), wtp)


def _run(cohort, strategies, scenarios: pd.DataFrame, values: dict, kind: str, kw: dict) -> Sensitivity:
    res = compare_strategies(cohort, strategies, draws=len(scenarios), deterministic=True, inputs=values, **kw)
    return Sensitivity(res, scenarios, kind)


def _common(factors, ranges, seed, kw):
    if ranges is not None and not isinstance(ranges, Mapping):
        raise InputError("ranges", ranges, "a mapping {factor: (low, high)}")
    ranges = dict(ranges or {})
    setup = _setup(seed, kw)
    known = ms.input_names(setup)
    resolved = [_factor(f, known, ranges) for f in factors]
    unknown = sorted(set(ranges) - {label for label, _ in resolved})
    if unknown:
        raise InputError(f"ranges.{unknown[0]}", ranges[unknown[0]], "ranges only for the factors analysed")
    labels = [label for label, _ in resolved]
    if len(set(labels)) < len(labels):
        raise InputError("factors", labels, "distinct factors")
    p, ed = ms.draw_inputs(dataclasses.replace(setup, draws=1, deterministic=True))
    central = {k: float(v[0]) for k, v in (p | ed).items()}
    return resolved, _ranges(resolved, ranges, setup), central


def one_way(cohort, strategies, factors: Sequence[str] = DEFAULT_FACTORS, *, ranges: Mapping | None = None,
            seed: int | None = None, **kwargs) -> Sensitivity:
    """One-way sensitivity analysis: the base case, then each factor at its low and its high end
    with everything else central. ``factors``: inputs, evidence rows or groups (see the module);
    ``ranges``: ``{factor: (low, high)}`` replacing default ranges of single-input factors.
    Other keywords go to :func:`compare_strategies` (``horizon_days``, ``mortality``, ...).
    Read the result with :meth:`Sensitivity.tornado` and :meth:`Sensitivity.plot_tornado`."""
    seed = SEED if seed is None else seed
    if isinstance(factors, str) or not isinstance(factors, Sequence) or not factors:
        raise InputError("factors", factors, "a non-empty list of inputs, evidence rows or parameter groups")
    resolved, rng, central = _common(factors, ranges, seed, kwargs)
    rows = [{"factor": "base", "end": "base"}]
    for label, names in resolved:
        for j, end in enumerate(("low", "high")):
            rows.append({"factor": label, "end": end, label: rng[names[0]][j] if len(names) == 1 else np.nan})
    scenarios = pd.DataFrame(rows, index=pd.RangeIndex(len(rows), name="scenario"))
    values = {k: np.full(len(rows), central[k]) for _, names in resolved for k in names}
    for i, row in enumerate(rows[1:], 1):
        names = dict(resolved)[row["factor"]]
        for k in names:
            values[k][i] = rng[k][0 if row["end"] == "low" else 1]
    return _run(cohort, strategies, scenarios, values, "one-way", dict(seed=seed, **kwargs))


def two_way(cohort, strategies, x: str, y: str, *, points: int = 5, ranges: Mapping | None = None,
            seed: int | None = None, **kwargs) -> Sensitivity:
    """Two-way sensitivity analysis: factors ``x`` and ``y`` (single inputs or evidence rows)
    over an evenly spaced ``points`` x ``points`` grid of their ranges, everything else central;
    scenario 0 is the base case. Read with :meth:`Sensitivity.grid` and :meth:`Sensitivity.plot_grid`."""
    seed = SEED if seed is None else seed
    points = whole("points", points, 2, 25)
    if x == y:
        raise InputError("y", y, "a factor other than x")
    resolved, rng, central = _common((x, y), ranges, seed, kwargs)
    for field, (label, names) in zip(("x", "y"), resolved):
        if label in GROUPS:
            raise InputError(field, label, "a single input or evidence row (not a group)")
    (xl, xn), (yl, yn) = resolved
    xs, ys = (np.linspace(*rng[n[0]], points) for n in (xn, yn))
    rows = [{"factor": "base", "end": "base", xl: central[xn[0]], yl: central[yn[0]]}]
    rows += [{"factor": f"{xl} x {yl}", "end": f"{i},{j}", xl: a, yl: b}
             for i, a in enumerate(xs) for j, b in enumerate(ys)]
    scenarios = pd.DataFrame(rows, index=pd.RangeIndex(len(rows), name="scenario"))
    values = {k: scenarios[label].to_numpy(float) for label, names in resolved for k in names}
    return _run(cohort, strategies, scenarios, values, "two-way", dict(seed=seed, **kwargs))

