"""Cost-effectiveness analysis of outcomes indexed by (strategy, draw).

``outcomes`` holds, for every strategy and every parameter draw, the mean cost and QALYs
per person: an xarray Dataset with variables ``cost`` and ``qaly`` over dims
``(strategy, draw)``, or a pandas DataFrame with columns ``strategy, draw, cost, qaly``
(``strategy`` and ``draw`` may be index levels). Draw ``d`` of every strategy must come
from the same parameter values, so that differences between strategies are paired.

Everything here is a view of that table:

* :func:`summary_table`: mean cost and QALYs with Monte Carlo standard errors and 95%
  intervals over draws;
* :func:`icer_table`: the efficiency frontier (strongly and extendedly dominated
  strategies removed) with ICERs along it, and each strategy's increments against an
  explicit reference, with its quadrant;
* :func:`net_monetary_benefit`, :func:`incremental_net_benefit`: NMB = wtp x QALY - cost;
* :func:`ceac`, :func:`ceaf`: the probability each strategy has the highest NMB, and the
  strategy with the highest expected NMB, over a grid of willingness-to-pay (wtp, currency
  per QALY);
* :func:`evpi`, :func:`evppi`: expected value of perfect (partial) information per person
  (the within-draw noise of a patient-level simulation: :mod:`b12sim.policy.noise`).

Monte Carlo standard errors use batch means over contiguous blocks of draws
(:func:`mcse_mean`, which is :func:`b12sim.stats.mcse`), so they stay honest when the draws
come from autocorrelated MCMC chains; the EVPI's uses a bootstrap of the same blocks with a
``seed``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special, stats

from b12sim.errors import InputError
from b12sim.stats import batching
from b12sim.stats import mcse as mcse_mean
from b12sim.validation import whole

_RTOL = 1e-9  # relative tolerance under which two mean costs (or QALYs, or ICERs) are a tie
_OUTCOMES = ("an xarray Dataset with variables cost and qaly over dims (strategy, draw), or a "
             "pandas DataFrame with columns (or index levels) strategy, draw, cost, qaly")
_WTP = "a number or 1-D list of numbers >= 0 (currency per QALY)"


@dataclass(frozen=True)
class _Outcomes:
    strategies: tuple[str, ...]
    draws: np.ndarray
    cost: np.ndarray  # (strategy, draw)
    qaly: np.ndarray  # (strategy, draw)


def _from_dataset(ds: xr.Dataset):
    arrays = {}
    for v in ("cost", "qaly"):
        if v not in ds.data_vars:
            raise InputError(f"outcomes.{v}", None, "a data variable of the outcomes Dataset",
                             f"found {sorted(map(str, ds.data_vars))}")
        da = ds[v]
        if da.ndim != 2 or set(da.dims) != {"strategy", "draw"}:
            raise InputError(f"outcomes.{v}.dims", da.dims, "exactly (strategy, draw)",
                             "average over people and time first")
        arrays[v] = da.transpose("strategy", "draw").values
    n_s, n_d = arrays["cost"].shape
    strategies = ds["strategy"].values if "strategy" in ds.coords else np.arange(n_s)
    draws = ds["draw"].values if "draw" in ds.coords else np.arange(n_d)
    return strategies, draws, arrays["cost"], arrays["qaly"]


def _from_frame(df: pd.DataFrame):
    levels = [n for n in ("strategy", "draw") if n in df.index.names and n not in df.columns]
    if levels:
        df = df.reset_index(level=levels)
    for c in ("strategy", "draw", "cost", "qaly"):
        if c not in df.columns:
            raise InputError(f"outcomes.{c}", None, "a column or index level of the outcomes DataFrame",
                             f"found columns {list(map(str, df.columns))}")
    if df.empty:
        raise InputError("outcomes", "empty DataFrame", "at least one strategy and one draw")
    dup = df.duplicated(["strategy", "draw"])
    if dup.any():
        first = df.loc[dup, ["strategy", "draw"]].iloc[0].tolist()
        raise InputError("outcomes.draw", first, "one row per (strategy, draw)")
    df = df.assign(**{v: finite(f"outcomes.{v}", df[v]) for v in ("cost", "qaly")})
    strategies = pd.unique(df["strategy"])
    cost, qaly = (df.pivot(index="strategy", columns="draw", values=v).reindex(strategies) for v in ("cost", "qaly"))
    if cost.isna().any().any():
        s = cost.index[cost.isna().any(axis=1)][0]
        raise InputError("outcomes.draw", f"strategy {s!r} lacks {int(cost.loc[s].isna().sum())} draws",
                         "the same draws for every strategy")
    return strategies, cost.columns.to_numpy(), cost.to_numpy(), qaly.to_numpy()


def finite(field: str, x) -> np.ndarray:
    """``x`` as a float array, refused (naming ``field``) if any value is missing or not finite."""
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise InputError(field, "non-numeric values", "finite numbers") from None
    bad = ~np.isfinite(a)
    if bad.any():
        raise InputError(field, f"{int(bad.sum())} missing or non-finite values", "finite numbers")
    return a


def _outcomes(outcomes) -> _Outcomes:
    if isinstance(outcomes, xr.Dataset):
        strategies, draws, cost, qaly = _from_dataset(outcomes)
    elif isinstance(outcomes, pd.DataFrame):
        strategies, draws, cost, qaly = _from_frame(outcomes)
    else:
        raise InputError("outcomes", type(outcomes).__name__, _OUTCOMES)
    if cost.size == 0:
        raise InputError("outcomes", f"shape {cost.shape}", "at least one strategy and one draw")
    cost, qaly = finite("outcomes.cost", cost), finite("outcomes.qaly", qaly)
    names = tuple(str(s) for s in strategies)
    if len(set(names)) < len(names):
        dup = sorted({s for s in names if names.count(s) > 1})
        raise InputError("outcomes.strategy", dup, "unique strategy names")
    return _Outcomes(names, np.asarray(draws), cost, qaly)


def wtp_values(wtp) -> tuple[np.ndarray, bool]:
    """Willingness-to-pay values (currency per QALY) as a 1-d array, and whether one number was given."""
    try:
        a = np.asarray(wtp, dtype=float)
    except (TypeError, ValueError):
        raise InputError("wtp", wtp, _WTP) from None
    if a.ndim > 1 or a.size == 0 or not np.all(np.isfinite(a)) or (a < 0).any():
        raise InputError("wtp", wtp, _WTP)
    return np.atleast_1d(a), a.ndim == 0


def _strategy(o: _Outcomes, name, field: str) -> int:
    if str(name) not in o.strategies:
        raise InputError(field, name, "one of " + ", ".join(o.strategies))
    return o.strategies.index(str(name))


# ---------------------------------------------------------------------------------------
# Tables


def summary_table(outcomes, *, batches: int | None = None) -> pd.DataFrame:
    """Mean cost and QALYs per person of each strategy over draws.

    Columns ``cost, cost_mcse, cost_lo, cost_hi, qaly, qaly_mcse, qaly_lo, qaly_hi``:
    mean, its Monte Carlo standard error (:func:`mcse_mean`) and the 2.5% / 97.5%
    quantiles over draws (parameter uncertainty). Rows in the order of ``outcomes``.
    """
    o = _outcomes(outcomes)
    df = pd.DataFrame(index=pd.Index(o.strategies, name="strategy"))
    for v, x in (("cost", o.cost), ("qaly", o.qaly)):
        df[v] = x.mean(axis=1)
        df[f"{v}_mcse"] = mcse_mean(x, batches)
        df[f"{v}_lo"], df[f"{v}_hi"] = np.percentile(x, [2.5, 97.5], axis=1)
    df.attrs["n_draws"] = len(o.draws)
    return df


def _same(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= _RTOL * max(abs(a), abs(b))


def _le(a: float, b: float) -> bool:
    return a < b or _same(a, b)


def _sign(d: float, a: float, b: float) -> int:
    return 0 if _same(a, b) else (1 if d > 0 else -1)


def _quadrant(dc: int, de: int) -> str:
    if dc == 0 and de == 0:
        return "same"
    if dc > 0 and de > 0:
        return "NE"
    if dc < 0 and de < 0:
        return "SW"
    return "SE dominant" if dc <= 0 and de >= 0 else "NW dominated"


def icer_table(outcomes, reference=None) -> pd.DataFrame:
    """Incremental cost-effectiveness table of mean cost and QALYs.

    The efficiency frontier is built the textbook way, from the least costly strategy:

    * **ties**: strategies with equal mean cost and equal QALYs (relative tolerance 1e-9)
      are one option: the first in ``outcomes`` stays, the others get status ``"tied"``;
    * **strong dominance**: a strategy costing as much or more for as many or fewer QALYs
      than another (equal cost with fewer QALYs, or equal QALYs at a higher cost, included)
      is ``"dominated"``;
    * **extended dominance**: among the rest, sorted by cost, a strategy whose ICER exceeds
      the next one's is ``"extendedly dominated"`` (a mix of its neighbours gives more QALYs
      for the same cost); removed one at a time until ICERs increase. Equal ICERs are kept.

    Frontier strategies get ``incremental_cost``, ``incremental_qaly`` and ``icer``
    against the previous frontier strategy (``compared_with``); the first has none.

    ``reference`` (default: the least costly frontier strategy) is the comparator of the
    columns ``cost_vs_reference``, ``qaly_vs_reference``, ``icer_vs_reference`` and
    ``quadrant``: ``"NE"`` (costlier, more QALYs), ``"SW"`` (cheaper, fewer QALYs:
    ``icer_vs_reference`` is then the saving per QALY forgone), ``"SE dominant"``,
    ``"NW dominated"``, ``"same"`` or ``"reference"``. ICERs are in currency per QALY.

    Rows are sorted by mean cost (then QALYs, descending).
    """
    o = _outcomes(outcomes)
    c, e = o.cost.mean(axis=1), o.qaly.mean(axis=1)
    n = len(c)
    order = sorted(range(n), key=lambda i: (c[i], -e[i]))
    status = ["frontier"] * n
    by = [""] * n
    for i in range(n):
        twins = [j for j in range(i) if _same(c[i], c[j]) and _same(e[i], e[j])]
        if twins:
            status[i], by[i] = "tied", o.strategies[twins[0]]
    dominates = [[j for j in order if _le(c[j], c[i]) and _le(e[i], e[j])
                  and not (_same(c[i], c[j]) and _same(e[i], e[j]))] for i in range(n)]
    for i in range(n):
        if dominates[i]:
            status[i] = "dominated"
    for i in range(n):
        if dominates[i]:
            undominated = [j for j in dominates[i] if status[j] == "frontier"]
            by[i] = o.strategies[(undominated or dominates[i])[0]]

    frontier = [i for i in order if status[i] == "frontier"]

    def icer(a: int, b: int) -> float:
        return (c[b] - c[a]) / (e[b] - e[a])

    removed = True
    while removed:
        removed = False
        for k in range(1, len(frontier) - 1):
            lo, mid, hi = frontier[k - 1:k + 2]
            here, ahead = icer(lo, mid), icer(mid, hi)
            if here > ahead and not _same(here, ahead):
                status[mid], by[mid] = "extendedly dominated", f"{o.strategies[lo]} and {o.strategies[hi]}"
                frontier.remove(mid)
                removed = True
                break

    ref = frontier[0] if reference is None else _strategy(o, reference, "reference")
    rows = []
    for i in order:
        prev = frontier[frontier.index(i) - 1] if i in frontier and frontier.index(i) > 0 else None
        dc, de = c[i] - c[ref], e[i] - e[ref]
        quad = "reference" if i == ref else _quadrant(_sign(dc, c[i], c[ref]), _sign(de, e[i], e[ref]))
        rows.append({
            "strategy": o.strategies[i], "cost": c[i], "qaly": e[i], "status": status[i],
            "dominated_by": by[i],
            "compared_with": "" if prev is None else o.strategies[prev],
            "incremental_cost": np.nan if prev is None else c[i] - c[prev],
            "incremental_qaly": np.nan if prev is None else e[i] - e[prev],
            "icer": np.nan if prev is None else icer(prev, i),
            "cost_vs_reference": dc, "qaly_vs_reference": de,
            "icer_vs_reference": dc / de if quad in ("NE", "SW") else np.nan,
            "quadrant": quad,
        })
    out = pd.DataFrame(rows).set_index("strategy")
    out.attrs["reference"] = o.strategies[ref]
    return out


# ---------------------------------------------------------------------------------------
# Net benefit, acceptability


def net_monetary_benefit(outcomes, wtp) -> xr.DataArray:
    """NMB = wtp x QALY - cost per person, over (strategy, draw), or (wtp, strategy, draw)
    when ``wtp`` is a list (currency per QALY)."""
    o = _outcomes(outcomes)
    w, scalar = wtp_values(wtp)
    nmb = xr.DataArray(w[:, None, None] * o.qaly[None] - o.cost[None], dims=("wtp", "strategy", "draw"),
                       coords={"wtp": w, "strategy": list(o.strategies), "draw": o.draws},
                       attrs={"units": "currency per person (wtp x QALY - cost)"})
    return nmb.isel(wtp=0, drop=True) if scalar else nmb


def incremental_net_benefit(outcomes, wtp: float, reference, *, batches: int | None = None) -> pd.DataFrame:
    """Incremental NMB of each strategy against ``reference`` at one ``wtp``.

    Columns: ``inmb`` (mean over draws, currency per person), ``inmb_mcse`` (its Monte
    Carlo standard error from the paired per-draw differences, :func:`mcse_mean`) and
    ``p_positive`` (share of draws where the strategy beats the reference). The reference
    itself is left out.
    """
    o = _outcomes(outcomes)
    w, scalar = wtp_values(wtp)
    if not scalar:
        raise InputError("wtp", wtp, "a single number >= 0 (currency per QALY)")
    r = _strategy(o, reference, "reference")
    inb = w[0] * (o.qaly - o.qaly[r]) - (o.cost - o.cost[r])
    keep = [i for i in range(len(o.strategies)) if i != r]
    out = pd.DataFrame({"inmb": inb[keep].mean(axis=1), "inmb_mcse": mcse_mean(inb[keep], batches),
                        "p_positive": (inb[keep] > 0).mean(axis=1)},
                       index=pd.Index([o.strategies[i] for i in keep], name="strategy"))
    out.attrs.update(reference=o.strategies[r], wtp=float(w[0]))
    return out


def _ceac(o: _Outcomes, w: np.ndarray) -> np.ndarray:
    out = np.empty((len(w), len(o.strategies)))
    for k, wk in enumerate(w):
        nmb = wk * o.qaly - o.cost
        best = nmb == nmb.max(axis=0)
        out[k] = (best / best.sum(axis=0)).mean(axis=1)
    return out


def ceac(outcomes, wtp) -> pd.DataFrame:
    """Cost-effectiveness acceptability curves: for each wtp (rows) the share of draws in
    which each strategy (columns) has the highest NMB. Strategies tied for the highest
    NMB in a draw share it equally, so every row sums to 1."""
    o = _outcomes(outcomes)
    w, _ = wtp_values(wtp)
    return pd.DataFrame(_ceac(o, w), index=pd.Index(w, name="wtp"),
                        columns=pd.Index(o.strategies, name="strategy"))


def ceaf(outcomes, wtp) -> pd.DataFrame:
    """Cost-effectiveness acceptability frontier: for each wtp the strategy with the
    highest expected NMB (the first listed on a tie), the probability that it has the
    highest NMB (its CEAC value) and its expected NMB (currency per person).

    The optimal strategy need not be the one most often best: a strategy with a rare
    large gain can have the highest expected NMB and a low probability.
    """
    o = _outcomes(outcomes)
    w, _ = wtp_values(wtp)
    probs = _ceac(o, w)
    enmb = w[:, None] * o.qaly.mean(axis=1) - o.cost.mean(axis=1)
    best = enmb.argmax(axis=1)
    rows = np.arange(len(w))
    return pd.DataFrame({"strategy": [o.strategies[i] for i in best], "probability": probs[rows, best],
                         "expected_nmb": enmb[rows, best]}, index=pd.Index(w, name="wtp"))


# ---------------------------------------------------------------------------------------
# Value of information


def _value_of_information(nmb: np.ndarray) -> float:
    """``E[max_s NMB] - max_s E[NMB]`` for nmb (strategy, draw), computed as
    ``min_s E[max NMB - NMB_s]``: a mean of non-negative regrets, so it is >= 0 and exactly
    0 when one strategy is best in every draw, whatever the round-off."""
    return float((nmb.max(axis=0) - nmb).mean(axis=1).min())


def evpi(outcomes, wtp, *, batches: int | None = None, n_boot: int = 200, seed: int = 0) -> pd.DataFrame:
    """Expected value of perfect information per person at each wtp.

    ``evpi = mean_d max_s NMB[s, d] - max_s mean_d NMB[s, d]`` (currency per person): what
    resolving all parameter uncertainty would be worth to one person's decision. It is
    never negative and is zero when one strategy has the highest NMB in every draw.
    Multiply by the discounted number of people affected for a population value.

    ``mcse``: Monte Carlo standard error from ``n_boot`` bootstrap resamples of contiguous
    blocks of draws (the batches of :func:`mcse_mean`, :func:`b12sim.stats.batching`),
    seeded by ``seed``; NaN with fewer than 4 draws.
    """
    o = _outcomes(outcomes)
    w, _ = wtp_values(wtp)
    n_boot = whole("n_boot", n_boot, 2, 100_000)
    n = len(o.draws)
    shape = batching(n, batches)
    value, se = np.empty(len(w)), np.full(len(w), np.nan)
    if shape is not None:
        b, size = shape
        counts = np.random.default_rng(np.random.SeedSequence(seed)).multinomial(b, np.full(b, 1.0 / b), size=n_boot)
    for k, wk in enumerate(w):
        nmb = wk * o.qaly - o.cost
        value[k] = _value_of_information(nmb)
        if shape is not None:
            regret = (nmb.max(axis=0) - nmb)[:, :b * size]
            regret_sums = regret.reshape(len(nmb), b, size).sum(axis=2)  # (strategy, batch)
            se[k] = ((counts @ regret_sums.T).min(axis=1) / (b * size)).std(ddof=1)
    return pd.DataFrame({"evpi": value, "mcse": se}, index=pd.Index(w, name="wtp"))


def _inputs(inputs, names: list[str], draws: np.ndarray) -> np.ndarray:
    """Parameter values as a (draw, parameter) array aligned with the outcomes' draws."""
    n = len(draws)
    cols = []
    for name in names:
        if isinstance(inputs, xr.Dataset):
            if name not in inputs.data_vars:
                raise InputError("parameters", name, "variables of inputs: " + ", ".join(map(str, inputs.data_vars)))
            da = inputs[name]
            if da.dims != ("draw",):
                raise InputError(f"inputs.{name}.dims", da.dims, "(draw,)")
            if "draw" in da.coords:
                try:
                    da = da.sel(draw=draws)
                except KeyError:
                    raise InputError("inputs.draw", "labels differ", "every draw label of outcomes") from None
            col = da.values
        elif isinstance(inputs, pd.DataFrame):
            if name not in inputs.columns:
                raise InputError("parameters", name, "columns of inputs: " + ", ".join(map(str, inputs.columns)))
            if not inputs.index.is_unique or not pd.Index(draws).isin(inputs.index).all():
                raise InputError("inputs.index", "labels differ", "unique draw labels covering those of outcomes")
            col = inputs.loc[draws, name].to_numpy()
        elif isinstance(inputs, Mapping):
            if name not in inputs:
                raise InputError("parameters", name, "keys of inputs: " + ", ".join(map(str, inputs)))
            col = inputs[name]
        else:
            raise InputError("inputs", type(inputs).__name__,
                             "an xarray Dataset over draw, a DataFrame indexed by draw, or a mapping of arrays")
        try:
            col = np.asarray(col, dtype=float)
        except (TypeError, ValueError):
            raise InputError(f"inputs.{name}", "non-numeric values", "numbers") from None
        if col.shape != (n,) or not np.all(np.isfinite(col)):
            raise InputError(f"inputs.{name}", f"shape {col.shape}" if col.shape != (n,) else "non-finite values",
                             f"{n} finite numbers, one per draw of outcomes")
        cols.append(col)
    return np.column_stack(cols)


def _poly_terms(z: np.ndarray, max_degree: int, max_terms: int) -> tuple[np.ndarray, list[int]]:
    """Intercept and the monomials of the columns of ``z`` by increasing total degree, up
    to ``max_degree`` and ``max_terms`` columns; and the column count up to each degree."""
    terms, sizes = [np.ones(len(z))], []
    for d in range(1, max_degree + 1):
        new = [np.prod(z[:, combo], axis=1)
               for combo in itertools.combinations_with_replacement(range(z.shape[1]), d)]
        if len(terms) + len(new) > max_terms:
            break
        terms += new
        sizes.append(len(terms))
    return np.column_stack(terms), sizes


def _orthonormal(basis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gram-Schmidt (with re-orthogonalisation) of the columns in order: orthonormal
    columns whose leading ones span the leading columns of ``basis``. A column (nearly) in
    the span of the earlier ones, e.g. the square of a binary parameter, is dropped.
    Returns the orthonormal columns and the indices of the basis columns kept."""
    q = np.empty((len(basis), 0))
    kept = []
    for j in range(basis.shape[1]):
        v = basis[:, j]
        for _ in range(2):
            v = v - q @ (q.T @ v)
        norm = np.linalg.norm(v)
        if norm > 1e-8 * np.linalg.norm(basis[:, j]):
            q = np.column_stack([q, v / norm])
            kept.append(j)
    return q, np.array(kept)


def _smooth(x: np.ndarray, y: np.ndarray, max_degree: int, folds: int, seed: int):
    """Fitted E[y | x] for each column of ``y`` by polynomial least squares, with basis and
    degree chosen per column by ``folds``-fold cross-validation. Returns (fitted, choices).

    The polynomial terms are orthonormalised once per basis (nested by degree), so every
    fold and degree is a small linear solve and the fits stay well conditioned."""
    n = len(x)
    keep = x.std(axis=0) > 0
    if not keep.any():
        return np.broadcast_to(y.mean(axis=0), y.shape), ["constant"] * y.shape[1]
    x = x[:, keep]
    max_terms = max(n // 10, 2)
    transforms = {
        "standardised": (x - x.mean(axis=0)) / x.std(axis=0),
        # ranks -> normal quantiles: a monotone transform leaves E[y | x] and so the EVPPI
        # unchanged, and suits skewed parameters better than raw powers
        "normal scores": special.ndtri((stats.rankdata(x, axis=0) - 0.5) / n),
    }
    fold = np.empty(n, dtype=int)
    fold[np.random.default_rng(np.random.SeedSequence(seed)).permutation(n)] = np.arange(n) % folds
    tests = [fold == f for f in range(folds)]
    candidates, cv = [], []
    for tname, z in transforms.items():
        basis, sizes = _poly_terms(z, max_degree, max_terms)
        if not sizes:
            continue
        q, kept = _orthonormal(basis)
        qy = q.T @ y
        held_out = [(t, q[t], q[t].T @ q[t], q[t].T @ y[t]) for t in tests]
        for degree, size in enumerate(sizes, 1):
            p = int((kept < size).sum())
            sse = np.zeros(y.shape[1])
            for t, qt, gram, rhs in held_out:
                # training normal equations = full-data ones (identity) minus the held-out fold's
                coef = np.linalg.lstsq(np.eye(p) - gram[:p, :p], qy[:p] - rhs[:p], rcond=None)[0]
                sse += ((y[t] - qt[:, :p] @ coef) ** 2).sum(axis=0)
            candidates.append((tname, degree, q[:, :p], qy[:p]))
            cv.append(sse)
    if not candidates:
        raise InputError("parameters", int(keep.sum()), f"at most {max_terms - 1} parameters for {n} draws",
                         "a linear fit needs about 10 draws per term")
    best = np.argmin(np.array(cv), axis=0)
    fitted = np.empty_like(y)
    for c in np.unique(best):
        cols = best == c
        q, qy = candidates[c][2], candidates[c][3]
        fitted[:, cols] = q @ qy[:, cols]
    return fitted, [f"{candidates[c][0]}, degree {candidates[c][1]}" for c in best]


def evppi(outcomes, inputs, parameters: str | Sequence[str], wtp, *, max_degree: int | None = None,
          folds: int = 5, seed: int = 0) -> pd.DataFrame:
    """Expected value of partial perfect information per person for a group of parameters.

    Regression method of Strong, Oakley & Brennan (Med Decis Making 2014): the incremental
    cost and QALYs of each strategy against the first are regressed on the parameters'
    values in each draw (``inputs``: an xarray Dataset over ``draw``, a DataFrame indexed
    by draw, or a mapping of arrays in the outcomes' draw order), which estimates their
    conditional expectations given the parameters; then at each wtp

    ``evppi = mean_d max_s g_s(theta_d) - max_s mean_d g_s(theta_d)``, g = fitted incremental NMB.

    The smoother is least-squares polynomial regression, with intercept and all monomials
    up to a total degree: on standardised parameters or on their normal scores, and of
    degree 1 to ``max_degree`` (default 6 for one parameter, 4 for two, 3 for more; never
    more than one term per 10 draws), chosen for each regression by ``folds``-fold
    cross-validation (folds drawn with ``seed``). Fitting costs and QALYs separately makes
    one fit serve every wtp. The estimate is >= 0 by construction and capped at the EVPI:
    overfitting noise can push it slightly above the EVPI, which it cannot exceed.

    Returns a DataFrame indexed by wtp with columns ``evppi`` and ``evpi`` (currency per
    person); ``attrs["smoother"]`` records the basis chosen for each regression.
    """
    o = _outcomes(outcomes)
    w, _ = wtp_values(wtp)
    names = [parameters] if isinstance(parameters, str) else list(parameters) \
        if isinstance(parameters, Sequence) else None
    if not names or not all(isinstance(p, str) for p in names) or len(set(names)) < len(names):
        raise InputError("parameters", parameters, "a parameter name or a list of distinct names")
    x = _inputs(inputs, names, o.draws)
    n = len(o.draws)
    folds = whole("folds", folds, 2, max(n, 2))
    max_degree = ({1: 6, 2: 4}.get(len(names), 3) if max_degree is None
                  else whole("max_degree", max_degree, 1, 10))
    evpi_w = np.array([_value_of_information(wk * o.qaly - o.cost) for wk in w])
    s = len(o.strategies)
    if s == 1:
        out = pd.DataFrame({"evppi": np.zeros(len(w)), "evpi": evpi_w}, index=pd.Index(w, name="wtp"))
        out.attrs.update(parameters=names, smoother=[])
        return out
    y = np.concatenate([o.cost[1:] - o.cost[0], o.qaly[1:] - o.qaly[0]]).T  # (draw, 2(s-1))
    fitted, chosen = _smooth(x, y, max_degree, folds, seed)
    d_cost, d_qaly = fitted[:, :s - 1].T, fitted[:, s - 1:].T
    raw = np.empty(len(w))
    for k, wk in enumerate(w):
        raw[k] = _value_of_information(np.vstack([np.zeros(n), wk * d_qaly - d_cost]))
    out = pd.DataFrame({"evppi": np.minimum(raw, evpi_w), "evpi": evpi_w}, index=pd.Index(w, name="wtp"))
    labels = [f"{v} {st} - {o.strategies[0]}" for v in ("cost", "qaly") for st in o.strategies[1:]]
    out.attrs.update(parameters=names, smoother=dict(zip(labels, chosen, strict=True)))
    return out
