"""Posterior probability of deficiency: exact where the model allows, by quadrature otherwise.

Without MMA and tHcy a patient's markers are Gaussian in the latent ln store ``x``
(serum B12, holoTC) or in the separate latent folate ``y`` (folate), and the prior of
``x`` is a two-component Gaussian mixture in every posterior draw, so the posterior is
a Gaussian mixture with conjugate components and everything is in closed form
(:func:`closed_form` says which patients). With MMA or tHcy the integral over ``x``
(and ``y`` for tHcy) is done on a grid aligned so that the deficiency boundary ``x_k``
is a node (step ``grids.H_X`` ln-units), with the end correction of :func:`below` for the
indicator ``x < x_k``: an O(``H_X``^4) error, measured at up to 0.007 in P(deficient) for a
single draw of a patient with a narrow posterior and 2e-4 averaged over draws. The latent
folate is on a grid aligned on the folate deficiency cut (step ``grids.H_Y``, same rule);
without tHcy, P(folate deficient) is exact. No MCMC happens at scoring time.

* :func:`score_grid`: the quadrature in plain numpy, one patient at a time, for any
  patient; the small-batch path of :mod:`b12sim.diagnosis.core`, so that it agrees with
  :func:`posterior_grid`, on which :mod:`b12sim.decision` builds.
* :func:`score_closed`: the closed form in plain numpy, one patient at a time.
* :func:`score_reference`: :func:`score_closed` or :func:`score_grid`, as
  :func:`score_batch` routes the patient; the readable definition of
  :func:`score_batch` and the benchmark baseline.
* :func:`score_batch`: the fused numba kernels of :mod:`b12sim.diagnosis.kernels`,
  parallel over patients: the closed form for the patients it covers, the grid for the
  rest; it agrees with :func:`score_grid` to about 1e-9.

The model is that of :mod:`b12sim.physiology.markers`: :func:`score_grid` evaluates its prior
and observation equations on the nodes, :func:`score_closed` (as the kernels) its conjugate
update of the prior by B12 and holoTC.

All return, per patient, the per-draw P(deficient), P(folate deficient) and the
posterior mean of ``x``, and the draw-averaged P(deficient) for each requested
subset of markers (used for the explanation).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from b12sim.diagnosis import kernels
from b12sim.diagnosis.draws import Draws
from b12sim.diagnosis.tables import B, F, HCY, M, T, below, draw_record, folate_grid, ndtr, update
from b12sim.physiology import grids
from b12sim.physiology import markers as mk


def closed_form(obs) -> np.ndarray:
    """Whether each patient (``obs`` (..., 5), NaN if missing) is scored in closed form: no MMA, no tHcy."""
    return np.isnan(obs[..., M]) & np.isnan(obs[..., HCY])


def score_reference(obs, a, r, risks, dr: Draws, masks):
    """Score one patient with numpy: :func:`score_closed` or :func:`score_grid` as :func:`closed_form` says.

    ``obs``: ln marker values (5,) in canonical units, NaN if missing; ``a``: centred
    age (decades); ``r``: renal term; ``risks``: (6,) 0/1 in :data:`markers.RISKS`
    order; ``masks``: (S, 5) bool, subsets of markers to condition on (row 0 = all).
    Returns ``(p_def (D,), p_fol (D,), ex (D,), p_sub (S,))``; ``ex`` in ln ug.
    """
    score = score_closed if closed_form(obs) else score_grid
    return score(obs, a, r, risks, dr, masks)


def score_grid(obs, a, r, risks, dr: Draws, masks, hx: float = grids.H_X, hy: float = grids.H_Y):
    """Score one patient (any markers) by quadrature with numpy, store nodes ``hx`` and folate
    nodes ``hy`` ln-units apart. Arguments and results as for :func:`score_reference`."""
    res, out_sub, _ = _reference(obs, a, r, risks, dr, masks, hx, hy)
    return (*res, out_sub)


def score_closed(obs, a, r, risks, dr: Draws, masks):
    """Score one patient without MMA and tHcy exactly, with numpy.

    Arguments and results as for :func:`score_reference`. Per draw each prior component
    of ``x`` is updated by the B12 and holoTC results (conjugate normal) and reweighted
    by its marginal likelihood of them; ``y`` is updated by the folate result.
    """
    if not closed_form(obs):
        raise ValueError("score_closed: the patient has MMA or tHcy; use score_grid")
    tab = draw_record(dr)
    updates = functools.cache(functools.partial(update, tab))  # by set of store markers
    rd = dict(zip(mk.RISKS, risks))
    prior = ((mk.main_mean(a, rd, dr.params, dr.const), "m"), (tab["mu_d"], "d"))  # component means, field suffix
    lo0 = mk.depleting_log_odds(a, rd, dr.params)
    has = ~np.isnan(obs)
    out_sub = np.empty(len(masks))
    for s, mask in enumerate(np.asarray(masks, bool)):
        m = mask & has
        u = updates(int(m[B]) + 2 * int(m[T]))
        # what the B12 and holoTC results say about x: sum of slope (value - intercept) / SD^2 (mk.posterior_mean)
        h = sum(((obs[k] - tab[f"{f}_x0"]) * u[f"w{f}"] for k, f in ((B, "b"), (T, "t")) if m[k]), np.zeros(dr.n))
        mean = [mk.posterior_mean(m0, h, u["prec"], u[f"v_{c}"]) for m0, c in prior]
        ev = [mk.log_evidence(m0, h, u["prec"], u[f"l_{c}"], u[f"k_{c}"]) for m0, c in prior]
        wd = np.exp(mk.component_log_weights(lo0 + ev[1] - ev[0])[1])  # posterior weight of the depleting one
        p_def = (1.0 - wd) * ndtr((tab["x_k"] - mean[0]) * np.sqrt(u["q_m"])) \
            + wd * ndtr((tab["x_k"] - mean[1]) * np.sqrt(u["q_d"]))
        out_sub[s] = p_def.mean()
        if s == 0:
            my, sy = _folate_posterior(obs[F], tab)
            p_fol = ndtr((dr.const.ln_fol_def - my[1]) / sy[1]) if m[F] else tab["p_fol0"]
            res = (p_def, p_fol, mean[0] + wd * (mean[1] - mean[0]))
    return (*res, out_sub)


def posterior_grid(obs, a, r, risks, dr: Draws):
    """The latent posterior of one patient on the quadrature grid, given all their markers.

    Arguments as for :func:`score_reference`. Returns ``x`` (D, G), ln stores (ug) of
    the nodes per draw; ``ind`` (1, G), the quadrature weights of the deficiency indicator
    (:func:`below`: 1 well below ``x_k``, 0 well above, ``1 + 1/24``, ``1/2``, ``-1/24`` on the
    three nodes around it; so ``(w * ind).sum(1)`` is the per-draw P(deficient) before clipping);
    ``w`` (D, G), posterior weights summing to 1 in every draw.
    """
    return _reference(obs, a, r, risks, dr, np.ones((1, len(mk.MARKERS)), bool), grids.H_X, grids.H_Y)[2]


def _reference(obs, a, r, risks, dr: Draws, masks, hx, hy):
    """:func:`score_grid`'s results, plus the grid of :func:`posterior_grid` for mask row 0."""
    tab = draw_record(dr)
    p, c = dr.params, dr.const
    col = lambda k: p[k][:, None]  # noqa: E731
    j0, j1 = grids.aligned(p["x_k"], hx, grids.X_MIN, grids.X_MAX)
    j = np.arange(j0.min(), j1.max() + 1)
    x = col("x_k") + hx * j[None, :]  # (D, G)
    ind_x = below(j)[None, :]
    rd = dict(zip(mk.RISKS, risks))
    lp = mk.store_log_prior(x, mk.depleting_log_odds(a, rd, p)[:, None], mk.main_mean(a, rd, p, c)[:, None],
                            col("sigma_x"), col("mu_d"), col("sigma_d"))
    dfx = mk.deficit(x, col("x_k"), col("n_hinge"))
    sd = {m: v[:, None] for m, v in mk.log_sds(p, c, a, r).items()}
    ll = np.zeros((4,) + x.shape)
    has = ~np.isnan(obs)
    if has[B]:
        ll[B] = -0.5 * ((obs[B] - mk.log_b12(x, col("b0"), c.ln_s_med)) / sd["b12"]) ** 2
    if has[T]:
        ll[T] = -0.5 * ((obs[T] - mk.log_holotc(x, col("t0"), col("kappa_t"), c.ln_s_med)) / sd["holotc"]) ** 2
    if has[B] and has[T]:  # both: their residuals are correlated (markers.b12_holotc_cov)
        eb = obs[B] - mk.log_b12(x, col("b0"), c.ln_s_med)
        et = obs[T] - mk.log_holotc(x, col("t0"), col("kappa_t"), c.ln_s_med)
        vb, vt, cv = sd["b12"] ** 2, sd["holotc"] ** 2, mk.b12_holotc_residual_cov(p)[:, None]
        ll_bt = -0.5 * (eb * eb * vt - 2.0 * cv * eb * et + et * et * vb) / (vb * vt - cv * cv)
    if has[M]:
        ll[M] = mk.mma_log_lik(obs[M], mk.log_mma(dfx, a, r, col("m0"), col("bm_age"), col("bm_renal"), col("a_m")),
                               1.0 / sd["mma"])
    y, ind_y, fdy = folate_grid(c, hy)
    my, sy = _folate_posterior(obs[F] if has[F] else np.nan, tab)
    out_sub = np.empty(len(masks))
    res = grid = None
    for s, mask in enumerate(np.asarray(masks, bool)):
        m = mask & has
        k = int(m[F])  # latent folate given the folate result (1) or its prior (0)
        tot = lp + (ll_bt if m[B] and m[T] else ll[B] * m[B] + ll[T] * m[T]) + ll[M] * m[M]
        if m[HCY]:
            lwy = -0.5 * ((y[None, :] - my[k][:, None]) / sy[k][:, None]) ** 2
            lwy = lwy - np.log(np.exp(lwy).sum(axis=1, keepdims=True))  # normalised log weights of the folate nodes
            c3 = lambda k: p[k][:, None, None]  # noqa: E731
            mean_h = mk.log_hcy(dfx[:, :, None], fdy[None, None, :], a, r, c3("h0"), c3("bh_age"), c3("bh_renal"),
                                c3("a_h"), c3("c_f"))
            lh = -0.5 * ((obs[HCY] - mean_h) / sd["hcy"][:, :, None]) ** 2 + lwy[:, None, :]  # (D, G, L)
            lhm = lh.max(axis=(1, 2), keepdims=True)
            eh = np.exp(lh - lhm)
            h_x = eh.sum(axis=2)
            hf_x = (eh * ind_y[None, None, :]).sum(axis=2)
            tot = tot + np.log(np.maximum(h_x, 1e-300))
        w = np.exp(tot - tot.max(axis=1, keepdims=True))
        z = w.sum(axis=1)
        p_def = np.clip((w * ind_x).sum(axis=1) / z, 0.0, 1.0)
        out_sub[s] = p_def.mean()
        if s == 0:
            if m[HCY]:
                p_fol = np.clip((w * hf_x / np.maximum(h_x, 1e-300)).sum(axis=1) / z, 0.0, 1.0)
            else:
                p_fol = ndtr((c.ln_fol_def - my[k]) / sy[k]) if k else tab["p_fol0"]
            res = (p_def, p_fol, (w * x).sum(axis=1) / z)
            grid = (x, ind_x, w / z[:, None])
    return res, out_sub, grid


def _folate_posterior(ly: float, tab: np.ndarray):
    """Mean and SD (ln nmol/L) of the latent folate per draw, as ``((prior), (given ly))`` pairs;
    ``ly``: the ln folate result, NaN if missing (then both are the prior)."""
    my, sy = tab["mu_y"], tab["sigma_y"]
    if math.isnan(ly):
        return (my, my), (sy, sy)
    return (my, mk.posterior_mean(my, ly * tab["f_p"], tab["f_p"], tab["f_v"])), (sy, tab["f_sd"])


def score_batch(obs, a, r, risks, dr: Draws, masks):
    """Score many patients with the fused kernels (the results of :func:`score_reference`).

    ``obs`` (N, 5), ``a`` (N,), ``r`` (N,), ``risks`` (N, 6), ``masks`` (S, 5).
    Returns ``(p_def (N, D), p_fol (N, D), ex (N, D), p_sub (N, S))``, rows in input order.
    """
    tab = draw_record(dr)
    n, nd = obs.shape[0], dr.n
    out = (np.empty((n, nd)), np.empty((n, nd)), np.empty((n, nd)), np.zeros((n, len(masks))))
    f = lambda v, t=float: np.ascontiguousarray(v, t)  # noqa: E731
    obs, a, r, risks, masks = f(obs), f(a), f(r), f(risks), f(masks, np.bool_)
    closed = closed_form(obs)
    if closed.any():
        kernels.closed_batch(np.flatnonzero(closed), obs, a, risks, tab, dr.const, masks, out)
    if not closed.all():
        kernels.grid_batch(np.flatnonzero(~closed), obs, a, r, risks, tab, dr.const, masks, out)
    return out


