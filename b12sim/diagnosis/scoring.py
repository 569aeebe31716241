"""Posterior probability of deficiency: exact where the model allows, by quadrature otherwise.

Without MMA and tHcy a patient's markers are Gaussian in the latent ln store ``x``
(serum B12, holoTC) or in the separate latent folate ``y`` (folate), and the prior of
``x`` is a two-component Gaussian mixture in every posterior draw, so the posterior is
a Gaussian mixture with conjugate components and everything is in closed form
(:func:`closed_form` says which patients). With MMA or tHcy the integral over ``x``
(and ``y`` for tHcy) is done on a grid aligned so that the deficiency boundary ``x_k``
is a node (step ``H_X`` ln-units), with the end correction of :func:`below` for the
indicator ``x < x_k``: an O(``H_X``^4) error, measured at up to 0.007 in P(deficient) for a
single draw of a patient with a narrow posterior and 2e-4 averaged over draws. The latent
folate is on a grid aligned on the folate deficiency cut (step ``H_Y``, same rule);
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

All return, per patient, the per-draw P(deficient), P(folate deficient) and the
posterior mean of ``x``, and the draw-averaged P(deficient) for each requested
subset of markers (used for the explanation).
"""

from __future__ import annotations

import math

import numpy as np

from b12sim.diagnosis import kernels
from b12sim.diagnosis.draws import Draws
from b12sim.diagnosis.tables import (
    AM, B, BHA, BHR, BMA, BMR, BOFF, CF, F, H0, H_X, H_Y, HCY, KT, M, M0, MUD, MUY, NH, SD_, SDB, SDF, SDH, SDM,
    SDT, SX, SY, T, TOFF, X_MAX, X_MIN, XK, AH, below, draw_table, folate_grid, ndtr,
)
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


def score_grid(obs, a, r, risks, dr: Draws, masks, hx: float = H_X, hy: float = H_Y):
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
    tab = draw_table(dr)
    col = lambda k: tab[:, k]  # noqa: E731
    rd = dict(zip(mk.RISKS, risks))
    pi = mk.depleting_prob(a, rd, dr.params)
    comps = ((np.log1p(-pi), mk.main_mean(a, rd, dr.params, dr.const), col(SX)),  # log weight, mean, SD
             (np.log(pi), col(MUD), col(SD_)))
    has = ~np.isnan(obs)
    out_sub = np.empty(len(masks))
    for s, mask in enumerate(np.asarray(masks, bool)):
        m = mask & has
        prec_obs = np.zeros(dr.n)  # precision (ln-units^-2) of what the results say about x
        info = np.zeros(dr.n)  # ... times the value they say
        if m[B]:
            prec_obs += col(SDB) ** -2
            info += (obs[B] - col(BOFF)) * col(SDB) ** -2
        if m[T]:
            prec_obs += (col(KT) / col(SDT)) ** 2
            info += col(KT) * (obs[T] - col(TOFF)) * col(SDT) ** -2
        lev, mean, sd = [], [], []
        for lw, m0, s0 in comps:
            prec = s0**-2 + prec_obs
            mc = (m0 * s0**-2 + info) / prec
            # log prior weight + log marginal likelihood of the results, less a term shared by the components
            lev.append(lw - 0.5 * np.log(prec * s0**2) + 0.5 * (mc**2 * prec - m0**2 * s0**-2))
            mean.append(mc)
            sd.append(prec**-0.5)
        lev, mean, sd = np.array(lev), np.array(mean), np.array(sd)
        w = np.exp(lev - lev.max(axis=0))
        w /= w.sum(axis=0)
        p_def = (w * ndtr((col(XK) - mean) / sd)).sum(axis=0)
        out_sub[s] = p_def.mean()
        if s == 0:
            my, sy = _folate_posterior(obs[F] if m[F] else np.nan, tab)
            res = (p_def, ndtr((dr.const.ln_fol_def - my[1]) / sy[1]), (w * mean).sum(axis=0))
    return (*res, out_sub)


def posterior_grid(obs, a, r, risks, dr: Draws):
    """The latent posterior of one patient on the quadrature grid, given all their markers.

    Arguments as for :func:`score_reference`. Returns ``x`` (D, G), ln stores (ug) of
    the nodes per draw; ``ind`` (1, G), the quadrature weights of the deficiency indicator
    (:func:`below`: 1 well below ``x_k``, 0 well above, ``1 + 1/24``, ``1/2``, ``-1/24`` on the
    three nodes around it; so ``(w * ind).sum(1)`` is the per-draw P(deficient) before clipping);
    ``w`` (D, G), posterior weights summing to 1 in every draw.
    """
    return _reference(obs, a, r, risks, dr, np.ones((1, len(mk.MARKERS)), bool), H_X, H_Y)[2]


def _reference(obs, a, r, risks, dr: Draws, masks, hx, hy):
    """:func:`score_grid`'s results, plus the grid of :func:`posterior_grid` for mask row 0."""
    tab = draw_table(dr)
    col = lambda k: tab[:, k][:, None]  # noqa: E731
    j = np.arange(math.floor((X_MIN - tab[:, XK].max()) / hx), math.ceil((X_MAX - tab[:, XK].min()) / hx) + 1)
    x = col(XK) + hx * j[None, :]  # (D, G)
    ind_x = below(j)[None, :]
    rd = dict(zip(mk.RISKS, risks))
    mu = mk.main_mean(a, rd, dr.params, dr.const)
    pi = mk.depleting_prob(a, rd, dr.params)
    lp = np.logaddexp(np.log1p(-pi)[:, None] - 0.5 * ((x - mu[:, None]) / col(SX)) ** 2 - np.log(col(SX)),
                      np.log(pi)[:, None] - 0.5 * ((x - col(MUD)) / col(SD_)) ** 2 - np.log(col(SD_)))
    dfx = np.logaddexp(0.0, col(NH) * (col(XK) - x)) / col(NH)
    ll = np.zeros((4,) + x.shape)
    has = ~np.isnan(obs)
    if has[B]:
        ll[B] = -0.5 * ((obs[B] - col(BOFF) - x) / col(SDB)) ** 2
    if has[T]:
        ll[T] = -0.5 * ((obs[T] - col(TOFF) - col(KT) * x) / col(SDT)) ** 2
    if has[M]:
        ll[M] = -0.5 * ((obs[M] - col(M0) - col(BMA) * a - col(BMR) * r - col(AM) * dfx) / col(SDM)) ** 2
    y, ind_y, fdy = folate_grid(dr.const, hy)
    my, sy = _folate_posterior(obs[F] if has[F] else np.nan, tab)
    out_sub = np.empty(len(masks))
    res = grid = None
    for s, mask in enumerate(np.asarray(masks, bool)):
        m = mask & has
        k = int(m[F])  # latent folate given the folate result (1) or its prior (0)
        tot = lp + ll[B] * m[B] + ll[T] * m[T] + ll[M] * m[M]
        if m[HCY]:
            lwy = -0.5 * ((y[None, :] - my[k][:, None]) / sy[k][:, None]) ** 2
            lwy = lwy - np.log(np.exp(lwy).sum(axis=1, keepdims=True))  # normalised log weights of the folate nodes
            res_h = (obs[HCY] - col(H0) - col(BHA) * a - col(BHR) * r)[:, :, None] \
                - col(AH)[:, :, None] * dfx[:, :, None] - col(CF)[:, :, None] * fdy[None, None, :]
            lh = -0.5 * (res_h / col(SDH)[:, :, None]) ** 2 + lwy[:, None, :]  # (D, G, L)
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
                p_fol = ndtr((dr.const.ln_fol_def - my[k]) / sy[k])
            res = (p_def, p_fol, (w * x).sum(axis=1) / z)
            grid = (x, ind_x, w / z[:, None])
    return res, out_sub, grid


def _folate_posterior(ly: float, tab: np.ndarray):
    """Mean and SD (ln nmol/L) of the latent folate per draw, as ``((prior), (given ly))`` pairs;
    ``ly``: the ln folate result, NaN if missing (then both are the prior)."""
    my, sy = tab[:, MUY], tab[:, SY]
    if math.isnan(ly):
        return (my, my), (sy, sy)
    prec = sy**-2 + tab[:, SDF] ** -2
    return (my, (my * sy**-2 + ly * tab[:, SDF] ** -2) / prec), (sy, prec**-0.5)


def score_batch(obs, a, r, risks, dr: Draws, masks):
    """Score many patients with the fused kernels (the results of :func:`score_reference`).

    ``obs`` (N, 5), ``a`` (N,), ``r`` (N,), ``risks`` (N, 6), ``masks`` (S, 5).
    Returns ``(p_def (N, D), p_fol (N, D), ex (N, D), p_sub (N, S))``, rows in input order.
    """
    tab = draw_table(dr)
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


