"""``diagnose``: lab results in, probability of true B12 deficiency out."""

from __future__ import annotations

import functools
import itertools
import math
import os

import numpy as np
import pandas as pd
import xarray as xr

from b12sim import posterior as shipped
from b12sim import tables
from b12sim.defaults import DRAWS
from b12sim.diagnosis import inputs, quantiles, scoring
from b12sim.diagnosis.draws import Draws, from_posterior
from b12sim.diagnosis.result import Diagnosis
from b12sim.errors import InputError
from b12sim.stats import mcse

N_MARKERS = len(inputs.MARKERS)
# every subset of the five markers; row 0 is the full set, the last row the empty set
MASKS = np.array([[(s >> k) & 1 == 0 for k in range(N_MARKERS)] for s in range(2**N_MARKERS)], bool)
SMALL_BATCH = 64  # up to this many patients the numpy grid is used (no kernel compilation; see score_arrays)
CHUNK = 10_000  # patients per kernel call: memory is about CHUNK x draws x 3 floats (~100 MB)
CHUNK_EXPLAIN = 200  # with the 32 sub-models of explain: a fraction of a second a call, so Ctrl-C gets through
INTERVAL = (0.025, 0.975)  # quantiles over draws of the reported interval of P(deficient)
CB12_MARKERS = ("b12", "holotc", "mma", "hcy")  # cB12 argument order (b12sim.fedosov, imported lazily)


def _logit(p):
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p) - np.log1p(-p)


def shapley(p_sub: np.ndarray) -> np.ndarray:
    """Shapley split of the log-odds change over :data:`MASKS` (N, 32) -> (N, 5)."""
    lo = _logit(p_sub)
    index = {tuple(m): s for s, m in enumerate(MASKS)}
    out = np.zeros((lo.shape[0], N_MARKERS))
    for k in range(N_MARKERS):
        others = [j for j in range(N_MARKERS) if j != k]
        for size in range(N_MARKERS):
            wgt = math.factorial(size) * math.factorial(N_MARKERS - size - 1) / math.factorial(N_MARKERS)
            for sub in itertools.combinations(others, size):
                without = tuple(j in sub for j in range(N_MARKERS))
                with_k = tuple(j in sub or j == k for j in range(N_MARKERS))
                out[:, k] += wgt * (lo[:, index[with_k]] - lo[:, index[without]])
    return out


@functools.cache
def _shipped_draws(draws) -> Draws:
    """Draws of the shipped posterior, extracted once per draw count."""
    return _draws(shipped.load_posterior("markers"), draws)


def _draws(posterior, draws) -> Draws:
    if posterior is None:
        if draws is None or isinstance(draws, (int, str)):
            return _shipped_draws(draws)
        posterior = shipped.load_posterior("markers")
    if isinstance(posterior, Draws):
        return posterior
    if not isinstance(posterior, (xr.DataTree, xr.Dataset)):
        raise InputError("posterior", type(posterior).__name__, "None (shipped), a DataTree or a fitted CohortModel's posterior")
    post = posterior["posterior"].to_dataset() if isinstance(posterior, xr.DataTree) else posterior
    total = post.sizes["chain"] * post.sizes["draw"]
    if draws == "all":
        return from_posterior(post, None)
    if draws is not None and (isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1):
        raise InputError("draws", draws, f"a whole number from 1 to {total}, or 'all'")
    return from_posterior(post, min(int(draws or DRAWS["diagnose"]), total))


def score_arrays(obs, a, r, risks, dr: Draws, *, explain: bool):
    """Per-draw results for arrays of patients; the numpy grid for small batches.

    Small batches (one patient, a short table) are integrated on the grid for every patient,
    so that they agree with the grid posterior :mod:`b12sim.decision` builds on; larger ones
    take the exact closed form where it applies (no MMA, no tHcy), which differs from the
    grid by its quadrature error (up to about 0.007 in a single draw).
    Returns ``(p_def, p_fol, ex)`` of shape (N, draws) and ``p_sub`` (N, sub-models).
    """
    masks = MASKS if explain else MASKS[:1]
    n = obs.shape[0]
    if n == 0:
        return np.empty((0, dr.n)), np.empty((0, dr.n)), np.empty((0, dr.n)), np.empty((0, len(masks)))
    if n <= SMALL_BATCH:
        res = [scoring.score_grid(obs[i], a[i], r[i], risks[i], dr, masks) for i in range(n)]
        return tuple(np.stack([x[k] for x in res]) for k in range(4))
    return scoring.score_batch(obs, a, r, risks, dr, masks)


def summarise(obs, a, r, risks, dr: Draws, *, explain: bool, progress: bool = False) -> dict[str, np.ndarray]:
    """Per-patient summaries, scored in chunks so memory follows the chunk, not the table.

    Keys: ``p_deficient`` (mean over draws), ``mcse`` (its Monte Carlo error, :func:`b12sim.stats.mcse`),
    ``lo``/``hi`` (2.5/97.5% over draws), ``p_folate``, ``stores_ug`` (median), ``p_sub``
    (N, sub-models; draw means).
    """
    n = obs.shape[0]
    out = {k: np.empty(n) for k in ("p_deficient", "mcse", "lo", "hi", "p_folate", "stores_ug")}
    out["p_sub"] = np.empty((n, len(MASKS) if explain else 1))
    size = CHUNK_EXPLAIN if explain else CHUNK
    starts = range(0, n, size)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, total=len(starts), unit="chunk", desc=f"scoring {n:,} patients")
    for s in starts:
        sl = slice(s, s + size)
        p_def, p_fol, ex, p_sub = score_arrays(obs[sl], a[sl], r[sl], risks[sl], dr, explain=explain)
        out["p_deficient"][sl] = p_def.mean(axis=1)
        out["mcse"][sl] = mcse(p_def)
        if len(p_def) > SMALL_BATCH:  # numba: the numbers of the numpy lines below, in parallel
            (out["lo"][sl], out["hi"][sl]), med = quantiles.draw_quantiles(p_def, INTERVAL), quantiles.draw_median(ex)
        else:
            (out["lo"][sl], out["hi"][sl]), med = np.quantile(p_def, INTERVAL, axis=1), np.median(ex, axis=1)
        out["p_folate"][sl] = p_fol.mean(axis=1)
        out["stores_ug"][sl] = np.exp(med)
        out["p_sub"][sl] = p_sub
    return out


def diagnose(table: pd.DataFrame | str | os.PathLike | None = None, *, posterior=None, draws: int | str | None = None,
             explain: bool = True, progress: bool | None = None, **labs):
    """Probability of true B12 deficiency from laboratory results.

    One patient: pass lab values as keywords, numbers in canonical units or strings
    with units, e.g. ``diagnose(b12="180 pg/mL", mma=0.42, folate=12, age=72, egfr=55)``;
    risk factors as yes/no keywords (``vegan``, ``metformin``, ``ppi``,
    ``pernicious_anaemia``, ``ileal_resection``, ``bariatric``). Returns a
    :class:`Diagnosis`.

    Many patients: pass a DataFrame with one row per patient, or the path of a CSV file
    (read by :func:`b12sim.tables.read`: rows indexed by their spreadsheet row number), with
    columns named as the keywords, in any case; units in ``"b12 (pg/mL)"`` headers, ``b12_unit``
    columns or the cells. Returns the input table with result columns appended; rows that
    cannot be scored keep their values and get an ``error`` message instead of results.

    ``posterior``: None for the shipped calibration, or a DataTree with a
    ``posterior`` group (e.g. ``CohortModel.posterior``). ``draws``: how many
    posterior draws to integrate over (default 400; ``"all"`` for every draw).
    ``explain``: compute each marker's contribution (32 sub-models; about 10x
    the work for large tables).
    """
    dr = _draws(posterior, draws)
    if isinstance(table, (str, os.PathLike)):
        table = tables.read(table, field="table", what="patient")
    if table is not None:
        if labs:
            raise InputError("arguments", sorted(labs), "either a table or keyword lab values, not both")
        return _diagnose_table(table, dr, explain=explain, progress=progress)
    patient = inputs.from_kwargs(labs)
    canon = pd.DataFrame([patient], columns=list(inputs.FIELDS))
    obs, a, r, risks = inputs.arrays(canon)
    p_def, p_fol, ex, p_sub = score_arrays(obs, a, r, risks, dr, explain=True)
    contrib = shapley(p_sub)[0]
    lo = _logit(p_sub[0])
    given = [m for m in inputs.MARKERS if not math.isnan(patient[m])]
    notes = []
    if math.isnan(patient["egfr"]):
        notes.append("eGFR not given: normal kidney function assumed (no renal adjustment of MMA and tHcy)")
    cb, cat = _cb12(canon)
    return Diagnosis(
        p_deficient=float(p_def[0].mean()),
        interval=tuple(float(q) for q in np.quantile(p_def[0], [0.025, 0.975])),
        mcse=float(mcse(p_def)[0]),
        p_prior=float(p_sub[0, -1]),
        p_folate_deficient=float(p_fol[0].mean()),
        contributions={m: float(contrib[inputs.MARKERS.index(m)]) for m in given},
        alone={m: float(lo[_single(inputs.MARKERS.index(m))] - lo[-1]) for m in given},
        stores_ug=float(np.exp(np.median(ex[0]))),
        cb12=None if math.isnan(cb[0]) else float(cb[0]), cb12_category=cat[0] or None, inputs=patient,
        notes=tuple(notes), draws=dr.n,
    )


def _single(k: int) -> int:
    """Row of :data:`MASKS` holding marker ``k`` alone."""
    return int(np.flatnonzero((MASKS.sum(axis=1) == 1) & MASKS[:, k])[0])


def _cb12(canon: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Fedosov's cB12 and its category per row of canonical values (NaN and "" without all four markers)."""
    full = canon[list(CB12_MARKERS)].notna().all(axis=1).to_numpy()
    v, cat = np.full(len(canon), np.nan), np.full(len(canon), "", dtype=object)
    if full.any():
        from b12sim.fedosov import cb12, cb12_category

        markers = (canon[m].to_numpy(float)[full] for m in CB12_MARKERS)
        v[full] = cb12(*markers, age=canon["age"].to_numpy(float)[full])
        cat[full] = cb12_category(v[full])
    return v, cat


def _diagnose_table(table, dr: Draws, *, explain: bool, progress: bool | None) -> pd.DataFrame:
    canon, errors, _unused = inputs.from_frame(table)
    ok = (errors == "").to_numpy()
    obs, a, r, risks = inputs.arrays(canon[ok])
    if progress is None:
        progress = ok.sum() > 5 * CHUNK
    sm = summarise(obs, a, r, risks, dr, explain=explain, progress=progress)
    out = table.copy()
    res = pd.DataFrame(index=table.index)
    res.loc[ok, "p_deficient"] = sm["p_deficient"]
    res.loc[ok, "p_deficient_lo"] = sm["lo"]
    res.loc[ok, "p_deficient_hi"] = sm["hi"]
    res.loc[ok, "p_deficient_mcse"] = sm["mcse"]
    res.loc[ok, "p_prior"] = sm["p_sub"][:, -1] if explain else np.nan
    res.loc[ok, "p_folate_deficient"] = sm["p_folate"]
    res.loc[ok, "stores_ug"] = sm["stores_ug"]
    if explain:
        contrib = shapley(sm["p_sub"])
        for k, m in enumerate(inputs.MARKERS):
            vals = np.where(np.isnan(obs[:, k]), np.nan, contrib[:, k])
            res.loc[ok, f"llr_{m}"] = vals
    res["cb12"], res["cb12_category"] = np.nan, ""
    res.loc[ok, "cb12"], res.loc[ok, "cb12_category"] = _cb12(canon[ok])
    res["egfr_assumed"] = canon["egfr"].isna() & ok
    res["error"] = errors
    clash = [c for c in res.columns if c in out.columns]
    if clash:
        raise InputError("columns", clash, "input columns that do not clash with result columns",
                         "rename them, e.g. to 'input_" + clash[0] + "'")
    return pd.concat([out, res], axis=1)
