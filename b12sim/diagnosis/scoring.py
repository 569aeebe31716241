"""Posterior probability of deficiency by quadrature over the latent state.

For each patient and each posterior draw the latent ln store ``x`` is integrated on
a grid aligned so that the deficiency boundary ``x_k`` is a node (step
``H_X`` ln-units), and the latent folate ``y`` on a grid aligned on the folate
deficiency cut (step ``H_Y``). No MCMC happens at scoring time.

Two implementations of the same integral live here:

* :func:`score_reference`: plain numpy, one patient at a time, vectorised over draws
  and nodes. It is the readable definition, the one-patient path and the
  benchmark baseline.
* :func:`score_batch`: a fused numba kernel, parallel over patients, restricting the
  ``x`` grid to where the serum B12 (or holoTC) likelihood is not negligible.

Both return, per patient, the per-draw P(deficient), P(folate deficient) and the
posterior mean of ``x``, and the draw-averaged P(deficient) for each requested
subset of markers (used for the explanation).
"""

from __future__ import annotations

import math

import numpy as np

from b12sim.diagnosis.draws import Draws
from b12sim.physiology import markers as mk

H_X = 0.1  # ln-units between latent store nodes
H_Y = 0.15  # ln-units between latent folate nodes
X_MIN, X_MAX = math.log(5.0), math.log(40_000.0)  # ug
Y_MIN, Y_MAX = math.log(0.5), math.log(300.0)  # nmol/L
WINDOW_SD = 10.0  # half-width of the B12-likelihood window, in SDs (mass beyond < 1e-9)

B, T, M, HCY, F = range(5)  # column order of markers.MARKERS


def _draw_table(dr: Draws) -> np.ndarray:
    """Per-draw constants in a fixed column order shared by both implementations."""
    p, c = dr.params, dr.const
    sd = dr.sds()
    cols = [
        p["x_k"], p["n_hinge"], p["sigma_x"], p["gamma_age"], p["mu_d"], p["sigma_d"], p["pi0"], p["pi_age"],
        p["b0"] - c.ln_s_med, p["t0"] - p["kappa_t"] * c.ln_s_med, p["kappa_t"],
        p["m0"], p["a_m"], p["bm_age"], p["bm_renal"],
        p["h0"], p["a_h"], p["bh_age"], p["bh_renal"], p["c_f"], p["mu_y"], p["sigma_y"],
        *(sd[:, k] for k in range(5)),
        *(p[f"delta_{k}"] for k in mk.RISKS_SHIFT),
        *(p[f"p_{k}"] for k in mk.RISKS_DEPLETING),
    ]
    return np.ascontiguousarray(np.stack(cols, axis=1))


(XK, NH, SX, GA, MUD, SD_, PI0, PIA, BOFF, TOFF, KT, M0, AM, BMA, BMR, H0, AH, BHA, BHR, CF, MUY, SY,
 SDB, SDT, SDM, SDH, SDF) = range(27)
DSHIFT = 27  # first of the 3 shift deltas, then the 3 depleting probabilities


def _folate_grid(c: mk.Constants):
    """Latent folate nodes aligned on the deficiency cut: ``(y, indicator y < cut, folate deficit)``."""
    ly = np.arange(math.floor((Y_MIN - c.ln_fol_def) / H_Y), math.ceil((Y_MAX - c.ln_fol_def) / H_Y) + 1)
    y = c.ln_fol_def + H_Y * ly
    return y, np.where(ly < 0, 1.0, np.where(ly == 0, 0.5, 0.0)), mk.folate_deficit(y, c)


def score_reference(obs, a, r, risks, dr: Draws, masks):
    """Score one patient with numpy.

    ``obs``: ln marker values (5,) in canonical units, NaN if missing; ``a``: centred
    age (decades); ``r``: renal term; ``risks``: (6,) 0/1 in :data:`markers.RISKS`
    order; ``masks``: (S, 5) bool, subsets of markers to condition on (row 0 = all).
    Returns ``(p_def (D,), p_fol (D,), ex (D,), p_sub (S,))``.
    """
    res, out_sub, _ = _reference(obs, a, r, risks, dr, masks)
    return (*res, out_sub)


def posterior_grid(obs, a, r, risks, dr: Draws):
    """The latent posterior of one patient on the quadrature grid, given all their markers.

    Arguments as for :func:`score_reference`. Returns ``x`` (D, G), ln stores (ug) of
    the nodes per draw; ``ind`` (1, G), the deficiency indicator of each node (1 below
    ``x_k``, 0.5 on it, 0 above; so ``(w * ind).sum(1)`` is the per-draw P(deficient));
    ``w`` (D, G), posterior weights summing to 1 in every draw.
    """
    return _reference(obs, a, r, risks, dr, np.ones((1, len(mk.MARKERS)), bool))[2]


def _reference(obs, a, r, risks, dr: Draws, masks):
    """:func:`score_reference`'s results, plus the grid of :func:`posterior_grid` for mask row 0."""
    tab = _draw_table(dr)
    col = lambda k: tab[:, k][:, None]  # noqa: E731
    j = np.arange(math.floor((X_MIN - tab[:, XK].max()) / H_X), math.ceil((X_MAX - tab[:, XK].min()) / H_X) + 1)
    x = col(XK) + H_X * j[None, :]  # (D, G)
    ind_x = np.where(j < 0, 1.0, np.where(j == 0, 0.5, 0.0))[None, :]
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
    y, ind_y, fdy = _folate_grid(dr.const)
    lwy0 = -0.5 * ((y[None, :] - col(MUY)) / col(SY)) ** 2  # (D, L)
    lwy1 = lwy0 - 0.5 * ((obs[F] - y[None, :]) / col(SDF)) ** 2 if has[F] else lwy0
    out_sub = np.empty(len(masks))
    res = grid = None
    for s, mask in enumerate(np.asarray(masks, bool)):
        m = mask & has
        lwy = lwy1 if m[F] else lwy0
        wy = np.exp(lwy - lwy.max(axis=1, keepdims=True))
        wy /= wy.sum(axis=1, keepdims=True)
        tot = lp + ll[B] * m[B] + ll[T] * m[T] + ll[M] * m[M]
        if m[HCY]:
            res_h = (obs[HCY] - col(H0) - col(BHA) * a - col(BHR) * r)[:, :, None] \
                - col(AH)[:, :, None] * dfx[:, :, None] - col(CF)[:, :, None] * fdy[None, None, :]
            lh = -0.5 * (res_h / col(SDH)[:, :, None]) ** 2 + np.log(wy)[:, None, :]  # (D, G, L)
            lhm = lh.max(axis=(1, 2), keepdims=True)
            eh = np.exp(lh - lhm)
            h_x = eh.sum(axis=2)
            hf_x = (eh * ind_y[None, None, :]).sum(axis=2)
            tot = tot + np.log(np.maximum(h_x, 1e-300))
        w = np.exp(tot - tot.max(axis=1, keepdims=True))
        z = w.sum(axis=1)
        p_def = (w * ind_x).sum(axis=1) / z
        out_sub[s] = p_def.mean()
        if s == 0:
            if m[HCY]:
                p_fol = (w * hf_x / np.maximum(h_x, 1e-300)).sum(axis=1) / z
            else:
                p_fol = (wy * ind_y[None, :]).sum(axis=1)
            res = (p_def, p_fol, (w * x).sum(axis=1) / z)
            grid = (x, ind_x, w / z[:, None])
    return res, out_sub, grid


def score_batch(obs, a, r, risks, dr: Draws, masks):
    """Score many patients with the fused kernel (same integral as :func:`score_reference`).

    ``obs`` (N, 5), ``a`` (N,), ``r`` (N,), ``risks`` (N, 6), ``masks`` (S, 5).
    Returns ``(p_def (N, D), p_fol (N, D), ex (N, D), p_sub (N, S))``.
    """
    from b12sim.diagnosis._kernel import SPAN_SD, kernel

    tab = _draw_table(dr)
    c = dr.const
    xk = tab[:, XK]
    j0s = np.floor((X_MIN - xk) / H_X).astype(np.int64)
    gmax = int((np.ceil((X_MAX - xk) / H_X).astype(np.int64) - j0s).max()) + 1
    x = xk[:, None] + H_X * (j0s[:, None] + np.arange(gmax)[None, :])
    nh = tab[:, NH][:, None]
    dfx_tab = np.logaddexp(0.0, nh * (xk[:, None] - x)) / nh
    ldep_tab = -0.5 * ((x - tab[:, MUD][:, None]) / tab[:, SD_][:, None]) ** 2 - np.log(tab[:, SD_][:, None])
    y, indy, fdy = _folate_grid(c)
    z = (y[None, :] - tab[:, MUY][:, None]) / tab[:, SY][:, None]
    wy0 = np.where(np.abs(z) <= SPAN_SD, np.exp(-0.5 * z**2), 0.0)
    wy0 /= wy0.sum(axis=1, keepdims=True)
    f = lambda v, t=float: np.ascontiguousarray(v, t)  # noqa: E731
    return kernel(f(obs), f(a), f(r), f(risks), f(tab), f(masks, np.bool_), j0s, f(dfx_tab), f(ldep_tab),
                  f(wy0), f(y), f(fdy), f(indy), c.ln_s_med, H_X, H_Y, c.ln_fol_def, WINDOW_SD)
