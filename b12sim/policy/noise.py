"""Within-draw (patient-level) Monte Carlo noise of a microsimulation: each draw simulates a finite sample of
people, so its mean net benefit carries their noise besides parameter uncertainty.

From batches of people x draws (:class:`b12sim.policy.compare.PolicyResult` keeps them):
:func:`variance_decomposition` (a two-way ANOVA, O'Hagan, Stevenson & Madan 2007), :func:`noise_corrected`
(the draws with the noise taken out of their spread, for EVPI and CEAC) and :func:`allocation` (the people per
draw and draws that reach a precision at the least cost).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from b12sim.errors import InputError
from b12sim.policy.analysis import finite, wtp_values

_BATCHES = ("an xarray Dataset with variables cost and qaly over dims (batch, strategy, draw) (per-person means "
            "of each batch of people) and people over (batch,)")


@dataclass(frozen=True)
class _Batches:
    strategies: tuple[str, ...]
    draws: np.ndarray
    cost: np.ndarray  # (batch, strategy, draw), per-person means of each batch
    qaly: np.ndarray
    people: np.ndarray  # (batch,)


def _batched(batches) -> _Batches:
    if not isinstance(batches, xr.Dataset):
        raise InputError("batches", type(batches).__name__, _BATCHES)
    arrays = {}
    for v in ("cost", "qaly"):
        if v not in batches.data_vars or set(batches[v].dims) != {"batch", "strategy", "draw"}:
            raise InputError(f"batches.{v}", None if v not in batches.data_vars else batches[v].dims, _BATCHES)
        arrays[v] = finite(f"batches.{v}", batches[v].transpose("batch", "strategy", "draw").values)
    if "people" not in batches.data_vars or batches["people"].dims != ("batch",):
        raise InputError("batches.people", None, _BATCHES)
    people = finite("batches.people", batches["people"].values)
    g, s, d = arrays["cost"].shape
    if (people < 1).any() or g < 2 or d < 2:
        raise InputError("batches", f"{g} batches x {d} draws", "at least 2 batches of >= 1 person and 2 draws",
                         "a run of compare_strategies keeps batches of 64 people: simulate 128 or more")
    return _Batches(tuple(str(x) for x in batches["strategy"].values), batches["draw"].values, arrays["cost"],
                    arrays["qaly"], people)


def _increments(b: _Batches) -> np.ndarray:
    """Costs then QALYs of each strategy after the first minus the first's: (batch, draw, 2 (strategies - 1))."""
    dc, dq = b.cost[:, 1:] - b.cost[:, :1], b.qaly[:, 1:] - b.qaly[:, :1]
    return np.concatenate([dc, dq], axis=1).transpose(0, 2, 1)


def _components(y: np.ndarray, n: np.ndarray) -> dict[str, np.ndarray]:
    """Two-way ANOVA (batches of people x draws, O'Hagan, Stevenson & Madan 2007) of ``y`` (batch, draw, k):
    per-person means of k outcomes in each batch of ``n`` (batch,) people. Covariance matrices (k, k):

    ``within``: of one person's outcome about its draw's mean (pooled over draws);
    ``varying``: the part of ``within`` that differs between draws (the batch x draw interaction);
    ``between``: of the draws' true means (parameter uncertainty): the covariance of the draw means less
    ``varying / people``. The rest of ``within`` is common to every draw, because the same people are
    simulated in every draw. Also ``means`` (draw, k), the draws' means over all people."""
    total, (g, d) = n.sum(), y.shape[:2]
    w = n[:, None, None]
    means = (w * y).sum(axis=0) / total
    dev = y - means
    within = np.einsum("g,gdk,gdl->kl", n, dev, dev) / (d * (g - 1))
    inter = dev - dev.mean(axis=1, keepdims=True)
    varying = np.einsum("g,gdk,gdl->kl", n, inter, inter) / ((g - 1) * (d - 1))
    between = np.atleast_2d(np.cov(means, rowvar=False)) - varying / total
    return {"within": within, "varying": varying, "between": between, "means": means}


def variance_decomposition(batches, wtp) -> pd.DataFrame:
    """Between-draw and within-draw variance of the incremental net benefit (INB) of each strategy against the
    first, at each ``wtp`` (currency per QALY), from ``batches`` (see :func:`noise_corrected`).

    With P people per draw and D draws, draw d's mean INB is its parameters' true INB (SD ``sigma_b`` over draws)
    plus the Monte Carlo noise of P simulated people: per person SD ``sigma_w``, of which ``sigma_wd`` differs
    between draws (the rest is common to all draws, as the same people are simulated in every draw). Columns
    (index wtp, strategy): ``inb`` (mean, currency per person), ``mcse`` (its standard error,
    ``sqrt(sigma_b^2/D + sigma_wd^2/(P D) + (sigma_w^2 - sigma_wd^2)/P)``), ``sigma_b``, ``sigma_w``, ``sigma_wd``
    (currency per person), ``reliability`` (``sigma_b^2 / (sigma_b^2 + sigma_wd^2 / P)``: the share of the
    variance of the draws' INB that is parameter uncertainty), ``people`` (P) and ``draws`` (D).
    """
    b = _batched(batches)
    w, _ = wtp_values(wtp)
    if len(b.strategies) < 2:
        raise InputError("batches.strategy", list(b.strategies), "at least two strategies (INB against the first)")
    comp = _components(_increments(b), b.people)
    people, draws, s = float(b.people.sum()), len(b.draws), len(b.strategies) - 1
    rows = []
    for wk in w:
        for i in range(s):
            lin = np.zeros(2 * s)
            lin[i], lin[s + i] = -1.0, wk  # INB = wtp x dQALY - dcost
            sb2, sw2, swd2 = (max(float(lin @ comp[k] @ lin), 0.0) for k in ("between", "within", "varying"))
            noise = swd2 / people
            rows.append({"wtp": wk, "strategy": b.strategies[i + 1], "inb": float(comp["means"].mean(axis=0) @ lin),
                         "mcse": np.sqrt(sb2 / draws + noise / draws + max(sw2 - swd2, 0.0) / people),
                         "sigma_b": np.sqrt(sb2), "sigma_w": np.sqrt(sw2), "sigma_wd": np.sqrt(swd2),
                         "reliability": sb2 / (sb2 + noise) if sb2 + noise > 0 else 1.0,
                         "people": int(people), "draws": draws})
    out = pd.DataFrame(rows).set_index(["wtp", "strategy"])
    out.attrs["reference"] = b.strategies[0]
    return out


def _sqrt_psd(m: np.ndarray, inverse: bool = False) -> np.ndarray:
    """Symmetric square root (or pseudo-inverse square root) of a symmetric matrix, negative eigenvalues as 0."""
    vals, vecs = np.linalg.eigh((m + m.T) / 2)
    keep = vals > 1e-12 * max(vals.max(initial=0.0), 1e-300)
    root = np.where(keep, np.sqrt(np.where(keep, vals, 1.0)), 0.0)
    if inverse:
        root = np.where(keep, 1.0 / np.where(keep, root, 1.0), 0.0)
    return (vecs * root) @ vecs.T


def noise_corrected(batches) -> xr.Dataset:
    """Per-draw costs and QALYs (strategy, draw) with the within-draw Monte Carlo noise taken out of their spread.

    ``batches``: an xarray Dataset with ``cost`` and ``qaly`` over ``(batch, strategy, draw)``, each the
    per-person mean of one batch of the people simulated (batches of people in random order), and ``people`` over
    ``batch`` (people per batch), as :func:`b12sim.policy.compare.compare_strategies` keeps them.

    The increments of every strategy against the first (costs and QALYs, jointly) are moved about their mean so
    that their covariance over draws equals the between-draw covariance estimated by the two-way ANOVA of
    batches x draws (O'Hagan, Stevenson & Madan 2007): ``x'_d = mean + B^(1/2) T^(-1/2) (x_d - mean)``, with
    ``T`` the covariance of the draws' means and ``B = T - (interaction mean square) / people``. Means are
    unchanged; the spread of the net benefit at every willingness to pay is that of parameter uncertainty alone
    (exactly so in distribution when the outcomes are normal), so :func:`~b12sim.policy.analysis.evpi` and
    :func:`~b12sim.policy.analysis.ceac` of the result
    are the noise-corrected EVPI and CEAC. The first strategy keeps its draw means.
    """
    b = _batched(batches)
    n = b.people
    means = lambda x: (n[:, None, None] * x).sum(axis=0) / n.sum()  # noqa: E731
    cost, qaly = means(b.cost), means(b.qaly)
    if len(b.strategies) > 1:
        comp = _components(_increments(b), n)
        x = comp["means"]
        centre = x.mean(axis=0)
        t = np.atleast_2d(np.cov(x, rowvar=False))
        a = _sqrt_psd(comp["between"]) @ _sqrt_psd(t, inverse=True)
        fixed = centre + (x - centre) @ a.T
        s = len(b.strategies) - 1
        cost = np.vstack([cost[:1], cost[:1] + fixed[:, :s].T])
        qaly = np.vstack([qaly[:1], qaly[:1] + fixed[:, s:].T])
    coords = {"strategy": list(b.strategies), "draw": b.draws}
    return xr.Dataset({"cost": (("strategy", "draw"), cost), "qaly": (("strategy", "draw"), qaly)}, coords=coords)


def allocation(sigma_b, sigma_w, sigma_wd, target_mcse: float, *, block: int, max_people: int, max_draws: int,
               draw_cost: float = 0.0) -> tuple[int, int]:
    """People per draw P (a multiple of ``block``, at least two blocks) and draws D that bring the MCSE of every
    strategy's expected INB to ``target_mcse`` or below at the least cost ``D (P + draw_cost)`` (person
    simulations; ``draw_cost``: the overhead of one draw in person simulations).

    ``sigma_b``, ``sigma_w``, ``sigma_wd``: per strategy, as :func:`variance_decomposition`; the squared MCSE is
    ``a/D + x/(P D) + c/P`` with ``a = sigma_b^2``, ``x = sigma_wd^2``, ``c = sigma_w^2 - sigma_wd^2``, so each P
    needs ``D = (a + x/P) / (t^2 - c/P)`` draws and the cheapest P is searched over whole blocks. With c = 0 this
    is the classical optimum ``P* = sqrt(draw_cost) sigma_wd / sigma_b``; with no draw overhead and c > 0,
    ``P* = (c + sqrt(c^2 + t^2 x c / a)) / t^2``."""
    a, sw2, x = (np.atleast_1d(np.asarray(v, float)) ** 2 for v in (sigma_b, sigma_w, sigma_wd))
    c = np.maximum(sw2 - x, 0.0)
    t2 = float(target_mcse) ** 2
    people = np.arange(2 * block, max_people + 1, block, dtype=float)
    if people.size == 0:
        raise InputError("people_per_draw", "auto", f"a cohort of at least {2 * block} people (two blocks)")
    room = t2 - c[None] / people[:, None]  # (P, strategy)
    with np.errstate(divide="ignore", invalid="ignore"):
        need = np.where(room > 0, (a[None] + x[None] / people[:, None]) / room, np.inf)
    draws = np.maximum(np.ceil(need.max(axis=1) - 1e-9), 4)
    ok = draws <= max_draws
    if not ok.any():
        best = np.sqrt((a / max_draws + x / (people[-1] * max_draws) + c / people[-1]).max())
        raise InputError("target_mcse", target_mcse, f"an MCSE of at least {best:,.4g} (currency per person), "
                         f"reachable with {int(people[-1])} people and {max_draws} draws (the pilot's estimate)")
    cost = np.where(ok, draws * (people + draw_cost), np.inf)
    i = int(np.argmin(cost))
    return int(people[i]), int(draws[i])
