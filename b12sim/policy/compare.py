"""``compare_strategies``: a cohort, strategies and posterior draws in; a cost-effectiveness result out.

The cohort is cut into chunks of whole :data:`microsim.BLOCK`-person blocks and
each chunk runs every strategy over every draw (:func:`microsim.run_blocks`), in
this process or on a Dask cluster. Block sums are added in block order, so the
result is identical for the same seed whatever the chunk size and the number of
workers.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from b12sim import evidence
from b12sim.defaults import DISCLAIMER, DRAWS, MAX_SEED, SEED, STATUS
from b12sim.deprecation import renamed
from b12sim.errors import InputError
from b12sim.policy import analysis, noise
from b12sim.policy import cluster as dask_cluster
from b12sim import economics as econ
from b12sim.policy import microsim as ms
from b12sim.policy.population import check_cohort, synthetic_cohort
from b12sim.policy.strategies import load_strategy
from b12sim.simulation import parameters
from b12sim.diagnosis.result import html_page, html_table
from b12sim.validation import number, whole

MAX_DRAWS = 4000
MAX_BATCHES = 32  # batches of whole blocks of people kept per run, for the within-draw variance
PILOT = (512, 24)  # people (8 batches: the common part of the noise needs several) and draws of the pilot
DEFAULT_CHUNK_PAIRS = 200_000  # people x draws per chunk (memory per chunk is about 1 GB at a 1-year horizon)
OUTPUT_FILES = ("summary.csv", "icers.csv", "ceac.csv", "evpi.csv", "outcomes.nc", "cohort.csv", "ce_plane.png",
                "ceac.png")
WTP_GRID = np.arange(0, 100_001, 2_500.0)  # currency per QALY
GROUPS = {  # parameter groups for EVPPI (names of microsim draw inputs)
    # the deficiency threshold, its sharpness and the assay levels that decide who is deficient
    "diagnosis": ("x_k", "n_hinge", "b0", "m0", "a_m"),
    "kinetics": tuple(dict.fromkeys(parameters.KINETIC + ("if_fraction", "if_max_ug"))),
    "haematology": parameters.HAEMATOLOGIC + ("hb_replete_female", "hb_replete_male"),
    "neurology": ("neuro_onset_days", "neuro_progress_days", "neuro_fixation_days", "neuro_recovery_halflife_days",
                  "neuro_susceptibility_sd", "neuro_depth_power"),
    "utilities": ("anaemia_low", "anaemia_high"),
    "costs": tuple(f"{item}_cost" for item in econ.COST_ITEMS),
}


def _cohort(cohort, seed) -> pd.DataFrame:
    if isinstance(cohort, (int, np.integer)) and not isinstance(cohort, bool):
        if cohort < 1:
            raise InputError("cohort", cohort, "a number of people >= 1 or a cohort table")
        df = synthetic_cohort(int(cohort), seed=seed).rename(columns={"person": "candidate"})
    else:
        df = check_cohort(cohort)
    df = df.reset_index(drop=True)
    df["person"] = np.arange(len(df))
    return df


def _chunks(n: int, chunk_people: int) -> list[slice]:
    size = max(ms.BLOCK, (chunk_people // ms.BLOCK) * ms.BLOCK)
    return [slice(a, min(n, a + size)) for a in range(0, n, size)]


@renamed(setting="costs")
def compare_strategies(cohort, strategies, *, draws: int = DRAWS["compare"], horizon_days: int = 365,
                       seed: int = SEED, costs="ontario", discount_rate: float | None = None,
                       discount_costs: float | None = None, discount_qalys: float | None = None,
                       cost_overrides: dict | None = None, utilities: dict | None = None, mortality: bool = True,
                       subgroups: bool = False, deterministic: bool = False, inputs: dict | None = None,
                       chunk_people: int | None = None, chunk_draws: int | None = None, scheduler=None,
                       progress: bool = True, substeps: int = ms.engine.SUBSTEPS, people_per_draw=None,
                       target_mcse: float | None = None, target_wtp: float = 50_000.0, pilot: tuple = PILOT,
                       draw_cost: float = 0.0) -> PolicyResult:
    """Compare treatment strategies across a cohort under parameter uncertainty.

    ``cohort``: a number of synthetic people (:func:`synthetic_cohort`) or a table
    (:func:`check_cohort`). ``strategies``: names, files, dicts or
    :class:`~b12sim.policy.strategies.Strategy` objects (at least one). ``draws``:
    posterior draws (the outer, parameter loop; common to all strategies).
    ``horizon_days``: days simulated. ``discount_rate``: annual rate for costs and QALYs (default
    the evidence row, 1.5%, CADTH); ``discount_costs``, ``discount_qalys``: separate rates for
    each (default ``discount_rate``). ``costs``: unit costs, a setting
    name or file (see :func:`economics.unit_costs`; formerly ``setting``) or a ``UnitCosts``,
    with ``cost_overrides`` (item -> cost) replacing single items; every unit cost with an
    uncertainty is drawn per draw (:func:`economics.cost_draws`). ``utilities``: overrides of the utility
    inputs (see :func:`economics.utilities`). ``mortality``: weight costs and QALYs by
    background survival (:mod:`b12sim.economics.mortality`; off for hand checks).
    ``subgroups``: also keep cost, QALYs and P(permanent deficit) per subgroup (cause, age band,
    nerve involvement; :data:`microsim.SUBGROUPS`), read with :meth:`PolicyResult.subgroups`.
    ``deterministic``: every input at its central value (median) in every draw instead of random
    draws; ``inputs``: ``{name: values}``, one value per draw, replacing drawn inputs (simulator
    parameters, ``<item>_cost``, ``anaemia_low``, ``anaemia_high``, ``discount_rate_costs``,
    ``discount_rate_qalys``): with ``deterministic`` each draw is a scenario, as
    :mod:`b12sim.policy.sensitivity` uses it. ``scheduler``: None (this process),
    ``"local"``/``"local:N"`` (a LocalCluster of N workers) or a Dask scheduler
    address. ``chunk_people``: people per chunk (rounded to whole blocks; default
    keeps people x draws near 200,000); ``chunk_draws``: draws per chunk (default all),
    so that a small cohort with many draws can still be spread over workers.

    ``people_per_draw``: None (everyone in the cohort), a number P (the cohort's first P people) or ``"auto"``:
    a pilot run of ``pilot = (people, draws)`` estimates the between-draw and within-draw variance of the
    incremental net benefit (INB) of each strategy against the first at ``target_wtp`` (currency per QALY;
    :func:`noise.variance_decomposition`), then the run uses the people per draw (whole blocks of
    :data:`microsim.BLOCK`, up to the cohort's size) and draws (replacing ``draws``, up to :data:`MAX_DRAWS`) that
    bring the MCSE of every expected INB to ``target_mcse`` (currency per person) for the fewest person
    simulations, ``D (P + draw_cost)`` (:func:`noise.allocation`: ``MCSE^2 = sigma_b^2/D + sigma_wd^2/(P D) +
    (sigma_w^2 - sigma_wd^2)/P``; without people common to all draws the classical
    ``P* = sqrt(draw_cost) sigma_wd / sigma_b``). The result keeps per-person means of up to
    :data:`MAX_BATCHES` batches of people (``/batches``) for :meth:`PolicyResult.noise` and the noise-corrected
    EVPI, CEAC and EVPPI.
    """
    if isinstance(strategies, (str, dict)) or not hasattr(strategies, "__iter__"):
        strategies = [strategies]
    strats = tuple(load_strategy(s) for s in strategies)
    if not strats:
        raise InputError("strategies", [], "at least one strategy")
    names = [s.name for s in strats]
    if len(set(names)) != len(names):
        raise InputError("strategies", names, "distinct strategy names")
    draws = whole("draws", draws, 1, MAX_DRAWS)
    horizon_days = whole("horizon_days", horizon_days, 1, 36_525)
    seed = whole("seed", seed, 0, MAX_SEED)
    substeps = whole("substeps", substeps, 1, 96)
    rate = evidence.value("discount_rate") if discount_rate is None else discount_rate
    rates = {}
    for field, r in (("discount_rate", rate), ("discount_costs", discount_costs), ("discount_qalys", discount_qalys)):
        r = rate if r is None else r
        try:
            econ.discount_factor(0.0, r)
        except InputError as e:
            raise InputError(field, r, e.allowed) from None
        rates[field] = float(r)
    if not isinstance(costs, econ.UnitCosts):
        costs = econ.unit_costs(costs, overrides=cost_overrides, field="costs")
    df = _cohort(cohort, seed)
    if chunk_people is not None:
        whole("chunk_people", chunk_people, 1, 10**8)
    if chunk_draws is not None:
        whole("chunk_draws", chunk_draws, 1, MAX_DRAWS)
    if utilities is not None and not isinstance(utilities, dict):
        raise InputError("utilities", utilities, "a dict of utility overrides (see economics.utilities)")
    u = econ.utilities(**(utilities or {}))
    for field, flag in (("mortality", mortality), ("subgroups", subgroups), ("deterministic", deterministic)):
        if not isinstance(flag, bool):
            raise InputError(field, flag, "True or False")
    auto = _people_per_draw(people_per_draw, target_mcse, target_wtp, pilot, draw_cost, len(df), len(strats))
    if auto is not None and inputs is not None:
        raise InputError("inputs", "given", 'None with people_per_draw="auto" (the draws are chosen by the run)')

    def run(people: int, n_draws: int) -> PolicyResult:
        rows = df.iloc[:people]
        levels = tuple(sorted(np.unique(ms.subgroup_labels(rows).to_numpy()), key=_level_order)) if subgroups else ()
        setup = ms.Setup(strats, n_draws, horizon_days, seed, costs, rates["discount_costs"], rates["discount_qalys"],
                         u, mortality, substeps, deterministic, (), levels)
        if inputs is not None:
            setup = dataclasses.replace(setup, inputs=_inputs(setup, inputs))
        chunk = chunk_people if chunk_people is not None else max(ms.BLOCK, DEFAULT_CHUNK_PAIRS // n_draws)
        return _simulate(setup, rows, chunk, n_draws if chunk_draws is None else chunk_draws, scheduler, progress)

    if auto is None:
        return run(len(df) if people_per_draw is None else people_per_draw, draws)
    pilot_people, pilot_draws = auto
    estimated = run(pilot_people, pilot_draws).noise(target_wtp)
    people, n_draws = noise.allocation(estimated["sigma_b"], estimated["sigma_w"], estimated["sigma_wd"], target_mcse,
                                       block=ms.BLOCK, max_people=len(df), max_draws=MAX_DRAWS, draw_cost=draw_cost)
    res = run(people, n_draws)
    reached = float(res.noise(target_wtp)["mcse"].max())
    res.outcomes.attrs["allocation"] = (
        f"people_per_draw=auto: pilot {pilot_people} people x {pilot_draws} draws; target MCSE {target_mcse:g} of "
        f"the expected INB against {names[0]} at {target_wtp:g} per QALY; chose {people} people x {n_draws} draws; "
        f"MCSE estimated from the run {reached:,.4g}")
    return res


def _people_per_draw(value, target_mcse, target_wtp, pilot, draw_cost, cohort_size: int, n_strategies: int):
    """``people_per_draw`` checked: None for a fixed run (None or a number, also checked), else the pilot's
    (people, draws)."""
    if value is None or (isinstance(value, (int, np.integer)) and not isinstance(value, bool)):
        if value is not None:
            whole("people_per_draw", value, 1, cohort_size)
        if target_mcse is not None:
            raise InputError("target_mcse", target_mcse, 'None unless people_per_draw="auto"')
        return None
    if value != "auto":
        raise InputError("people_per_draw", value, f'None (the whole cohort), a number from 1 to {cohort_size}, '
                         'or "auto"')
    if n_strategies < 2:
        raise InputError("strategies", n_strategies, 'at least two strategies with people_per_draw="auto" (the '
                         "precision is of the INB against the first)")
    if target_mcse is None:
        raise InputError("target_mcse", None, 'a number > 0 (currency per person) with people_per_draw="auto"')
    number("target_mcse", target_mcse, 0.0, math.inf, "a number > 0 (currency per person)", open_lo=True)
    number("target_wtp", target_wtp, 0.0, math.inf, "a number >= 0 (currency per QALY)")
    number("draw_cost", draw_cost, 0.0, math.inf, "a number >= 0 (person simulations per draw)")
    lowest = 2 * ms.BLOCK
    if cohort_size < lowest:
        raise InputError("cohort", cohort_size, f'at least {lowest} people with people_per_draw="auto" (two blocks '
                         "of people give the within-draw variance)")
    if not isinstance(pilot, (tuple, list)) or len(pilot) != 2:
        raise InputError("pilot", pilot, "a pair (people, draws)")
    people = whole("pilot[0] (people)", pilot[0], lowest, 10**8)
    return min(people, cohort_size), whole("pilot[1] (draws)", pilot[1], 4, MAX_DRAWS)


def _simulate(setup: ms.Setup, df: pd.DataFrame, chunk, per_task, scheduler, progress) -> PolicyResult:
    """Run ``setup`` over the people of ``df`` and collect the result."""
    strats, draws, horizon_days, levels = setup.strategies, setup.draws, setup.horizon_days, setup.subgroups
    n = len(df)
    chunk = whole("chunk_people", chunk, 1, 10**8)
    per_task = whole("chunk_draws", per_task, 1, MAX_DRAWS)
    pieces = [(people, slice(d, min(draws, d + per_task))) for people in _chunks(n, chunk)
              for d in range(0, draws, per_task)]
    results = _run(setup, df, pieces, scheduler, progress)
    n_blocks = -(-n // ms.BLOCK)
    sums = np.zeros((n_blocks, len(strats), draws, len(ms.OUTCOMES)))
    years = np.zeros((n_blocks, len(strats), draws, len(ms.year_starts(horizon_days))))
    groups = np.zeros((n_blocks, len(levels), len(strats), draws, len(ms.SUBGROUP_OUTCOMES)))
    for (_, dsl), (ids, s_out, s_year, s_group) in zip(pieces, results):
        sums[ids, :, dsl] = s_out
        years[ids, :, dsl] = s_year
        groups[ids, :, :, dsl] = s_group
    total = sums.sum(axis=0) / n  # (strategy, draw, outcome), blocks added in order
    yearly = years.sum(axis=0) / n  # (strategy, draw, year)
    tree = _tree(setup, total, yearly, n, df)
    tree["batches"] = xr.DataTree(_batches(sums, n, tree["outcomes"]["strategy"].values))
    if levels:
        people = (ms.subgroup_labels(df).to_numpy()[:, :, None] == np.array(levels)).any(axis=1).sum(axis=0)
        means = groups.sum(axis=0) / people[:, None, None, None]
        sub = xr.Dataset({k: (("subgroup", "strategy", "draw"), means[..., j], tree["outcomes"][k].attrs)
                          for j, k in enumerate(ms.SUBGROUP_OUTCOMES)},
                         coords={"subgroup": list(levels), "strategy": tree["outcomes"]["strategy"].values,
                                 "draw": np.arange(draws)})
        sub["people"] = ("subgroup", people, {"units": "people in the subgroup"})
        tree["subgroups"] = xr.DataTree(sub)
    return PolicyResult(tree, df)


def _batches(sums: np.ndarray, n: int, strategies) -> xr.Dataset:
    """Per-person mean cost and QALYs of up to :data:`MAX_BATCHES` batches of consecutive whole blocks, from the
    block sums (block, strategy, draw, outcome), and the people in each batch."""
    size = np.minimum(ms.BLOCK, n - ms.BLOCK * np.arange(len(sums)))
    groups = np.array_split(np.arange(len(sums)), min(len(sums), MAX_BATCHES))
    people = np.array([size[g].sum() for g in groups])
    out = {k: np.stack([sums[g, :, :, list(ms.OUTCOMES).index(k)].sum(axis=0) for g in groups]) / people[:, None, None]
           for k in ("cost", "qaly")}
    return xr.Dataset({"cost": (("batch", "strategy", "draw"), out["cost"], {"units": "per person, batch mean"}),
                       "qaly": (("batch", "strategy", "draw"), out["qaly"], {"units": "per person, batch mean"}),
                       "people": ("batch", people, {"units": "people in the batch"})},
                      coords={"strategy": strategies, "draw": np.arange(sums.shape[2])})


def _level_order(level: str):
    """Subgroup levels in the order of :data:`microsim.SUBGROUPS`, age bands by age, others by name."""
    name, _, value = level.partition("=")
    digits = "".join(ch for ch in value if ch.isdigit())
    key = (0.0 if value.startswith("under") else float(digits[:2] or 0)) if name == "age" else 0.0
    return list(ms.SUBGROUPS).index(name), key, value


def _inputs(setup: ms.Setup, inputs) -> tuple:
    """``inputs`` checked: known names, one finite value per draw."""
    if not isinstance(inputs, dict):
        raise InputError("inputs", type(inputs).__name__, "a dict {input name: one value per draw}")
    known = ms.input_names(setup)
    out = []
    for name, values in inputs.items():
        if name not in known:
            from b12sim.errors import did_you_mean

            raise InputError(f"inputs.{name}", name, "names of the drawn inputs (see microsim.input_names)",
                             did_you_mean(name, known))
        try:
            v = np.broadcast_to(np.asarray(values, dtype=float), (setup.draws,))
        except (TypeError, ValueError):
            raise InputError(f"inputs.{name}", values, f"a number or {setup.draws} numbers (one per draw)") from None
        if not np.all(np.isfinite(v)):
            raise InputError(f"inputs.{name}", values, "finite numbers")
        out.append((name, tuple(float(x) for x in v)))
    return tuple(out)


def _run(setup, df, pieces, scheduler, progress) -> list:
    """Results of :func:`microsim.run_blocks` for each (people, draws) piece, in piece order."""
    client, cluster = dask_cluster.connect(scheduler) if scheduler is not None else (None, None)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(df) * setup.draws, unit="person-draw",
                   desc=f"{len(setup.strategies)} strategies x {setup.draws} draws")

    def done(people, dsl):
        if bar is not None:
            bar.update((people.stop - people.start) * len(range(setup.draws)[dsl]))

    try:
        if client is None:
            out = []
            for people, dsl in pieces:
                out.append(ms.run_blocks(setup, df.iloc[people], dsl))
                done(people, dsl)
            return out
        from distributed import as_completed

        futures = {client.submit(ms.run_blocks, setup, df.iloc[people], dsl, pure=False): i
                   for i, (people, dsl) in enumerate(pieces)}
        out = [None] * len(pieces)
        for fut in as_completed(futures):
            i = futures[fut]
            out[i] = fut.result()
            done(*pieces[i])
        return out
    finally:
        if bar is not None:
            bar.close()
        if client is not None:
            dask_cluster.close(client, cluster)


def _tree(setup: ms.Setup, total: np.ndarray, yearly: np.ndarray, n: int, df: pd.DataFrame) -> xr.DataTree:
    names = [s.name for s in setup.strategies]
    coords = {"strategy": names, "draw": np.arange(setup.draws)}
    out = xr.Dataset({k: (("strategy", "draw"), total[:, :, j], {"units": u})
                      for j, (k, u) in enumerate(ms.OUTCOMES.items())}, coords=coords)
    cur = f"{setup.costs.currency} per person (price year {setup.costs.price_year}"
    out["cost"].attrs["units"] = cur + ", discounted)"
    out["cost_by_year"] = (("strategy", "draw", "year"), yearly,
                           {"units": cur + ", undiscounted, expected over survival)"})
    out.coords["year"] = np.arange(1, yearly.shape[-1] + 1)
    p, ed = ms.draw_inputs(setup)
    wanted = {k for g in GROUPS.values() for k in g}
    pars = xr.Dataset({k: ("draw", np.asarray(v, float)) for k, v in {**p, **ed}.items() if k in wanted},
                      coords={"draw": np.arange(setup.draws)})
    tree = xr.DataTree.from_dict({"outcomes": out, "parameters": pars})
    tree.attrs.update(
        people=n, draws=setup.draws, horizon_days=setup.horizon_days, seed=str(setup.seed),
        discount_rate_costs=setup.discount_costs, discount_rate_qalys=setup.discount_qalys,
        deterministic=int(setup.deterministic), background_mortality=int(setup.mortality), currency=setup.costs.currency, price_year=setup.costs.price_year,
        setting=setup.costs.setting, deficient_share=float(df["deficient"].mean()) if "deficient" in df else math.nan,
        strategies="; ".join(f"{s.name}: {s.summary()}" for s in setup.strategies),
        calibration=STATUS, disclaimer=DISCLAIMER)
    return tree


def discounting(attrs) -> str:
    """How a result's costs and QALYs were discounted, from its attributes (results saved before
    the separate rates have one ``discount_rate``)."""
    c = attrs.get("discount_rate_costs", attrs.get("discount_rate"))
    q = attrs.get("discount_rate_qalys", attrs.get("discount_rate"))
    if c == q:
        return f"costs and QALYs discounted at {c:.1%} a year"
    return f"costs discounted at {c:.1%} and QALYs at {q:.1%} a year"


class PolicyResult:
    """Outcomes of :func:`compare_strategies`: the DataTree and the tables made from it.

    ``outcomes``: DataTree with ``/outcomes`` (strategy, draw) means per person and
    plus ``cost_by_year`` (strategy, draw, year), and ``/parameters`` (draw) values for
    EVPPI. ``cohort``: the people simulated. :meth:`save` writes both, :meth:`load` reads them back.
    """

    def __init__(self, outcomes: xr.DataTree, cohort: pd.DataFrame):
        self.outcomes = outcomes
        self.cohort = cohort

    @classmethod
    def load(cls, folder) -> PolicyResult:
        """The result :meth:`save` wrote into ``folder`` (its ``outcomes.nc`` and ``cohort.csv``)."""
        from b12sim import posterior

        folder = Path(folder)
        missing = [f for f in ("outcomes.nc", "cohort.csv") if not (folder / f).is_file()]
        if missing:
            raise InputError("folder", str(folder), "a folder written by PolicyResult.save or `b12sim compare --out`",
                             f"{' and '.join(missing)} missing")
        tree = posterior.read(folder / "outcomes.nc")
        if "outcomes" not in tree.children or "strategy" not in tree["outcomes"].dims:
            raise InputError("folder", str(folder), "a folder written by PolicyResult.save or `b12sim compare --out`",
                             "outcomes.nc holds no policy outcomes")
        return cls(tree, pd.read_csv(folder / "cohort.csv"))

    def __repr__(self) -> str:
        a = self.outcomes.attrs
        return (f"PolicyResult({a['people']} people x {a['draws']} draws, horizon {a['horizon_days']} days, "
                f"strategies {', '.join(map(str, self._ds.strategy.values))}; {a['currency']} {a['price_year']})")

    def report(self) -> str:
        """A plain-text summary: per strategy, cost, QALYs and P(permanent deficit) (means, 95% intervals)."""
        a, s = self.outcomes.attrs, self.summary()
        cells = [("strategy", "cost", "QALYs", "P(permanent deficit)")]
        cells += [(k, f"{r['cost']:,.0f} ({r['cost_lo']:,.0f}-{r['cost_hi']:,.0f})",
                   f"{r['qaly']:.3f} ({r['qaly_lo']:.3f}-{r['qaly_hi']:.3f})",
                   f"{r['p_permanent']:.1%} ({r['p_permanent_lo']:.1%}-{r['p_permanent_hi']:.1%})")
                  for k, r in s.iterrows()]
        widths = [max(len(row[j]) for row in cells) for j in range(4)]
        lines = [f"b12sim policy comparison: {a['people']} people x {a['draws']} draws, horizon {a['horizon_days']} "
                 f"days, {discounting(a)}; per person, cost in {a['currency']} "
                 f"{a['price_year']}, mean (95% interval over draws)"]
        lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
        lines += [f"Note: {a['calibration']}", a["disclaimer"]]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()

    def _repr_html_(self) -> str:
        a, s, icers = self.outcomes.attrs, self.summary(), self.icers()
        rows = [(k, f"{r['cost']:,.0f} ({r['cost_lo']:,.0f} to {r['cost_hi']:,.0f})",
                 f"{r['qaly']:.3f} ({r['qaly_lo']:.3f} to {r['qaly_hi']:.3f})",
                 f"{r['p_permanent']:.1%} ({r['p_permanent_lo']:.1%} to {r['p_permanent_hi']:.1%})",
                 icers.loc[k, "status"], "" if pd.isna(icers.loc[k, "icer"]) else f"{icers.loc[k, 'icer']:,.0f}")
                for k, r in s.iterrows()]
        return html_page(
            f"Policy comparison: {len(s)} strategies, {a['people']} people x {a['draws']} draws",
            [f"horizon {a['horizon_days']} days; {discounting(a)}; "
             f"{a['currency']} (price year {a['price_year']}) per person; 95% intervals over draws"],
            [("Per strategy (ICERs along the efficient frontier)",
              html_table(("strategy", "cost", "QALYs", "P(permanent deficit)", "status",
                          f"ICER ({a['currency']}/QALY)"), rows))],
            (a["calibration"],))

    def plot_ce_plane(self, ax=None, *, reference=None, wtp: tuple[float, ...] = (20_000.0, 50_000.0)):
        """Cost-effectiveness plane against ``reference`` (see :func:`b12sim.policy.figures.ce_plane`); the Axes."""
        from b12sim.policy import figures

        return figures.ce_plane(ax, self, reference, wtp=wtp)

    def plot_ceac(self, ax=None, *, wtp=None):
        """Acceptability curves with the frontier (see :func:`b12sim.policy.figures.ceac_plot`); the Axes."""
        from b12sim.policy import figures

        return figures.ceac_plot(ax, self, wtp=wtp)

    def plot_evpi(self, ax=None, *, wtp=None):
        """EVPI over willingness to pay (see :func:`b12sim.policy.figures.evpi_plot`); the Axes."""
        from b12sim.policy import figures

        return figures.evpi_plot(ax, self, wtp=wtp)

    def plot_evppi(self, ax=None, *, groups=None, wtp=None):
        """EVPPI of parameter ``groups`` (default: those of :data:`GROUPS` the draws can estimate) at
        each ``wtp`` (default every 10,000 per QALY) (see :func:`b12sim.policy.figures.evppi_plot`); the Axes."""
        from b12sim.policy import figures

        return figures.evppi_plot(ax, self, list(GROUPS) if groups is None else groups,
                                  WTP_GRID[::4] if wtp is None else wtp, skip=groups is None)

    @property
    def _ds(self) -> xr.Dataset:
        return self.outcomes["outcomes"].to_dataset()

    def _outcomes(self, subgroup) -> xr.Dataset:
        """The outcomes of everyone, or of one subgroup level (``"cause=dietary"``, ``"age=70-79"``, ...)."""
        if subgroup is None:
            return self._ds
        if "subgroups" not in self.outcomes.children:
            raise InputError("subgroup", subgroup, "None: this result keeps no subgroups",
                             "run compare_strategies(..., subgroups=True)")
        sub = self.outcomes["subgroups"].to_dataset()
        levels = [str(v) for v in sub["subgroup"].values]
        if subgroup not in levels:
            raise InputError("subgroup", subgroup, "one of " + ", ".join(levels))
        return sub.sel(subgroup=subgroup, drop=True)

    def subgroups(self) -> pd.DataFrame:
        """Per subgroup level and strategy: people, and the mean and 95% interval over draws of
        cost, QALYs and P(permanent deficit) per person (a result of ``compare_strategies(...,
        subgroups=True)``). Analyse one level with ``icers(subgroup=...)``, ``ceac``, ``evpi``, ``inmb``."""
        if "subgroups" not in self.outcomes.children:
            raise InputError("subgroups", None, "a result of compare_strategies(..., subgroups=True)")
        sub = self.outcomes["subgroups"].to_dataset()
        rows = []
        for level in sub["subgroup"].values:
            for s in sub["strategy"].values:
                one = sub.sel(subgroup=level, strategy=s)
                row = {"subgroup": str(level), "strategy": str(s), "people": int(one["people"])}
                for k in ms.SUBGROUP_OUTCOMES:
                    v = one[k].to_numpy()
                    row[k] = v.mean()
                    row[f"{k}_lo"], row[f"{k}_hi"] = np.quantile(v, [0.025, 0.975])
                rows.append(row)
        return pd.DataFrame(rows).set_index(["subgroup", "strategy"])

    def summary(self) -> pd.DataFrame:
        """Per strategy: mean and 95% interval over draws of every outcome, with the mean's MCSE."""
        ds = self._ds
        out = pd.DataFrame(index=pd.Index(ds.strategy.values.astype(object), name="strategy"))
        for k in ms.OUTCOMES:
            v = ds[k].transpose("strategy", "draw").to_numpy()
            out[k] = v.mean(axis=1)
            out[f"{k}_lo"], out[f"{k}_hi"] = np.quantile(v, [0.025, 0.975], axis=1)
            out[f"{k}_mcse"] = analysis.mcse_mean(v)
        return out

    def icers(self, reference=None, *, subgroup=None) -> pd.DataFrame:
        """ICER table (see :func:`analysis.icer_table`), of everyone or of one ``subgroup`` level."""
        return analysis.icer_table(self._outcomes(subgroup), reference)

    def inmb(self, wtp: float, reference, *, subgroup=None) -> pd.DataFrame:
        """Incremental net monetary benefit against ``reference`` at ``wtp``."""
        return analysis.incremental_net_benefit(self._outcomes(subgroup), wtp, reference)

    def _batches(self) -> xr.Dataset:
        if "batches" not in self.outcomes.children:
            raise InputError("corrected", True, "False for a result saved without batches of people",
                             "rerun compare_strategies to keep them")
        return self.outcomes["batches"].to_dataset()

    def _checked(self, corrected, subgroup) -> xr.Dataset:
        """The outcomes, with the within-draw noise taken out (:func:`noise.noise_corrected`) if ``corrected``."""
        if not isinstance(corrected, bool):
            raise InputError("corrected", corrected, "True or False")
        if not corrected:
            return self._outcomes(subgroup)
        if subgroup is not None:
            raise InputError("subgroup", subgroup, "None with corrected=True (batches are of everyone)")
        return noise.noise_corrected(self._batches())

    def noise(self, wtp=50_000.0) -> pd.DataFrame:
        """Between-draw and within-draw variance of each strategy's INB against the first at each ``wtp``
        (see :func:`noise.variance_decomposition`): ``sigma_b`` (parameter uncertainty), ``sigma_w`` (one
        person's Monte Carlo noise), ``sigma_wd`` (its part that differs between draws), ``reliability``,
        ``mcse`` of the expected INB, with the people per draw and draws of this run."""
        return noise.variance_decomposition(self._batches(), wtp)

    def ceac(self, wtp=WTP_GRID, *, subgroup=None, corrected: bool = False) -> pd.DataFrame:
        """Acceptability curves (:func:`analysis.ceac`); ``corrected``: of the draws with the within-draw noise
        taken out (:func:`noise.noise_corrected`)."""
        return analysis.ceac(self._checked(corrected, subgroup), wtp)

    def ceaf(self, wtp=WTP_GRID, *, subgroup=None) -> pd.DataFrame:
        return analysis.ceaf(self._outcomes(subgroup), wtp)

    def evpi(self, wtp=WTP_GRID, *, subgroup=None, corrected: bool = False) -> pd.DataFrame:
        """EVPI per person (:func:`analysis.evpi`); ``corrected`` adds ``evpi_corrected`` and its ``mcse_corrected``:
        the EVPI of the draws with the within-draw noise taken out (:func:`noise.noise_corrected`)."""
        fixed = self._checked(corrected, subgroup)
        out = analysis.evpi(self._outcomes(subgroup), wtp)
        if corrected:
            fixed = analysis.evpi(fixed, wtp)
            out["evpi_corrected"], out["mcse_corrected"] = fixed["evpi"], fixed["mcse"]
        return out

    def evppi(self, group: str, wtp=(50_000.0,), *, corrected: bool = False) -> pd.DataFrame:
        """EVPPI of a parameter group (one of :data:`GROUPS`) or a list of parameter names. The regression
        averages the within-draw noise out of the fit; ``corrected`` caps the EVPPI at the noise-corrected EVPI
        (column ``evpi``) instead of the raw one."""
        pars = self.outcomes["parameters"].to_dataset()
        names = GROUPS.get(group, group) if isinstance(group, str) else group
        if isinstance(names, str) or not set(names) <= set(pars.data_vars):
            raise InputError("group", group, "one of " + ", ".join(GROUPS) + " or a list of parameter names")
        varying = [k for k in names if float(pars[k].std()) > 0]
        fixed = self._checked(corrected, None)
        out = analysis.evppi(self._ds, pars, varying, wtp)
        if corrected:
            cap = analysis.evpi(fixed, wtp)["evpi"].to_numpy()
            out["evpi"] = cap
            out["evppi"] = np.minimum(out["evppi"].to_numpy(), cap)
        return out

    def budget_impact(self, population: int) -> pd.DataFrame:
        """Undiscounted cost of each strategy by year of the horizon for ``population`` people
        starting treatment together (expected over survival and draws; currency of the setting)."""
        population = whole("population", population, 1, 10**9)
        by_year = self._ds["cost_by_year"].mean("draw") * population
        return pd.DataFrame(by_year.to_numpy(), index=pd.Index(by_year.strategy.values, name="strategy"),
                            columns=[f"year_{y}" for y in by_year.year.values])

    def save(self, folder, *, overwrite: bool = False, wtp: tuple[float, float] = (20_000.0, 50_000.0),
             reference=None) -> list[Path]:
        """Write tables (CSV), the cohort (CSV), figures (PNG) and the outcomes (netCDF) as folder ``folder``, whole
        (:func:`b12sim.io.folder_writer`: a reader sees the old set or the new one, never a mix).

        ``reference``: comparator of ``icers.csv`` and the cost-effectiveness plane (as :meth:`icers`);
        ``wtp``: willingness-to-pay lines on the plane (currency per QALY)."""
        from b12sim import posterior
        from b12sim.io import folder_writer, write_csv
        from b12sim.policy import figures

        files = {"summary.csv": self.summary().reset_index(), "icers.csv": self.icers(reference).reset_index(),
                 "ceac.csv": self.ceac().reset_index(), "evpi.csv": self.evpi().reset_index(),
                 "cohort.csv": self.cohort}
        with folder_writer(folder, OUTPUT_FILES, overwrite=overwrite) as tmp:
            for name, df in files.items():
                write_csv(df, tmp / name)
            posterior.write(self.outcomes, tmp / "outcomes.nc")
            figures.save_all(self, tmp, wtp=wtp, reference=reference)
        return [Path(folder) / f for f in OUTPUT_FILES]
