"""Posterior probability of deficiency by quadrature over the latent state.

For each patient and each posterior draw the latent ln store ``x`` is integrated on
a grid aligned so that the deficiency boundary ``x_k`` is a node (step
``H_X`` ln-units), and the latent folate ``y`` on a grid aligned on the folate
deficiency cut (step ``H_Y``). No MCMC happens at scoring time.

Two implementations of the same integral live here:

* :func:`score_reference`: plain numpy, one patient at a time, vectorised over draws
  and nodes. It is the readable definition, the one-patient path and the
  benchmark baseline.
* :func:`score_batch`: a fused numba kernel, parallel over patients, exponentiating
  only the ``x`` nodes whose log-weight is within :data:`CUT` of the top one.

Both return, per patient, the per-draw P(deficient), P(folate deficient) and the
posterior mean of ``x``, and the draw-averaged P(deficient) for each requested
subset of markers (used for the explanation).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from b12sim.diagnosis.draws import Draws
from b12sim.physiology import markers as mk

H_X = 0.1  # ln-units between latent store nodes
H_Y = 0.15  # ln-units between latent folate nodes
X_MIN, X_MAX = math.log(5.0), math.log(40_000.0)  # ug
Y_MIN, Y_MAX = math.log(0.5), math.log(300.0)  # nmol/L
CUT = 30.0  # nodes (store or folate) with log-weight below the top minus CUT are dropped (< e^-30 each)
FASTMATH = {"reassoc", "contract"}  # reassociation lets the kernel's sums vectorise
_INV_FACT = tuple(1.0 / math.factorial(k) for k in range(13))

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
    tab = _draw_table(dr)
    c = dr.const
    xk = tab[:, XK]
    j0s = np.floor((X_MIN - xk) / H_X).astype(np.int64)
    gmax = int((np.ceil((X_MAX - xk) / H_X).astype(np.int64) - j0s).max()) + 1
    x = xk[:, None] + H_X * (j0s[:, None] + np.arange(gmax)[None, :])
    nh = tab[:, NH][:, None]
    dfx_tab = np.logaddexp(0.0, nh * (xk[:, None] - x)) / nh
    ldep_tab = -0.5 * ((x - tab[:, MUD][:, None]) / tab[:, SD_][:, None]) ** 2 - np.log(tab[:, SD_][:, None])
    # folate prior of each draw: normalised log-weights of the folate nodes, P(folate deficient)
    y, indy, fdy = _folate_grid(c)
    lwy0 = -0.5 * ((y[None, :] - tab[:, MUY][:, None]) / tab[:, SY][:, None]) ** 2
    lwy0 -= np.log(np.exp(lwy0).sum(axis=1, keepdims=True))
    pfol0 = np.exp(lwy0) @ indy
    f = lambda v, t=float: np.ascontiguousarray(v, t)  # noqa: E731
    return _compiled()(f(obs), f(a), f(r), f(risks), f(tab), f(masks, np.bool_), j0s, f(dfx_tab), f(ldep_tab),
                       f(lwy0), pfol0, f(y), f(fdy), f(indy), c.ln_s_med, H_X, CUT)


@functools.cache
def _compiled():
    """:func:`_kernel` compiled on first use, so that importing this module does not import numba.

    Its helpers are rebound to their compiled (inlined) versions, which the kernel calls.
    """
    global numba, _exp_neg, _hcy_nodes
    import numba

    _exp_neg = numba.njit(inline="always", fastmath=FASTMATH)(_exp_neg)
    _hcy_nodes = numba.njit(fastmath=FASTMATH)(_hcy_nodes)
    return numba.njit(cache=True, parallel=True, fastmath=FASTMATH)(_kernel)


def _exp_neg(z):
    """``e^z`` for ``z <= 0``, floored at ``e^-60`` (negligible next to a weight of 1).

    A Taylor polynomial at ``z/128`` squared seven times: relative error ~1e-12, and
    unlike ``math.exp`` it vectorises.
    """
    t = max(z, -60.0) * (1.0 / 128.0)
    p = 1.0 / 479001600.0
    for k in range(11, -1, -1):
        p = p * t + _INV_FACT[k]
    for _ in range(7):
        p *= p
    return p


def _hcy_nodes(lh, hf, ja, jb, known, eh, ah, dfx, lw, cf, fdy, indy, ish):
    """tHcy log-likelihood ``lh`` of store nodes ``[ja, jb)`` not yet ``known`` (updated), and the
    share ``hf`` of it from folate-deficient folate nodes.

    Node j has tHcy residual ``u = eh - ah * dfx[j]`` before the folate term; the sum is
    over all folate nodes, with normalised log-weights ``lw``.
    """
    for j in range(ja, jb):
        if known[0] <= j < known[1]:
            continue
        u = eh - ah * dfx[j]
        top = -np.inf
        for l in range(lw.size):
            e = (u - cf * fdy[l]) * ish
            top = max(top, lw[l] - 0.5 * e * e)
        s0 = 0.0
        sf = 0.0
        for l in range(lw.size):
            e = (u - cf * fdy[l]) * ish
            k = _exp_neg(lw[l] - 0.5 * e * e - top)
            s0 += k
            sf += k * indy[l]
        lh[j] = top + math.log(s0)
        hf[j] = sf / s0
    if known[1] == known[0]:
        known[0], known[1] = ja, jb
    else:
        known[0], known[1] = min(known[0], ja), max(known[1], jb)


def _kernel(obs, a, r, risks, tab, masks, j0s, dfx_tab, ldep_tab, lwy0_tab, pfol0, y, fdy, indy,
            ln_s_med, hx, cut):
    """Body of :func:`score_batch`, parallel over patients.

    Per (patient, draw) the log-weights of the store nodes are built from per-draw tables
    and a few patient scalars; only nodes within ``cut`` of the top log-weight are
    exponentiated, with :func:`_exp_neg` (vectorisable); the tHcy likelihood (a sum over
    the latent-folate nodes) only on those nodes.
    """
    n, nd, ns, nl = obs.shape[0], tab.shape[0], masks.shape[0], y.shape[0]
    gmax = dfx_tab.shape[1]
    p_def = np.empty((n, nd))
    p_fol = np.empty((n, nd))
    ex = np.empty((n, nd))
    p_sub = np.zeros((n, ns))
    for i in numba.prange(n):
        o = obs[i]
        hb, ht, hm, hh, hf = (not math.isnan(o[0]), not math.isnan(o[1]), not math.isnan(o[2]),
                              not math.isnan(o[3]), not math.isnan(o[4]))
        ll = np.zeros((3, gmax))  # B12, holoTC, MMA log-likelihoods per node (0 if missing)
        pm = np.empty(gmax)  # log prior density of the main and the depleting component
        pd = np.empty(gmax)
        ub = np.empty(gmax)  # log-weight without the tHcy term (an upper bound: that term is <= 0)
        lh = np.zeros((2, gmax))  # tHcy log-likelihood without / with the folate result
        hfr = np.zeros((2, gmax))  # share of it from folate-deficient nodes
        known = np.zeros((2, 2), np.int64)  # nodes [known[q, 0], known[q, 1]) of lh[q] are filled
        lwy1 = np.empty(nl)
        for d in range(nd):
            t = tab[d]
            xk = t[XK]
            mu = ln_s_med + t[GA] * a[i]
            keep = 1.0
            for k in range(3):
                mu += t[DSHIFT + k] * risks[i, k]
                keep *= 1.0 - t[DSHIFT + 3 + k] * risks[i, 3 + k]
            pi = 1.0 - (1.0 - 1.0 / (1.0 + math.exp(-(t[PI0] + t[PIA] * a[i])))) * keep
            lpm = math.log1p(-pi) - math.log(t[SX]) if pi < 1.0 else -np.inf
            lpd = math.log(pi) if pi > 0.0 else -np.inf
            jlo = j0s[d]  # store node jj (a table column) is x = x_k + hx * (jlo + jj)
            # log-likelihood pieces per node; a missing marker has zero coefficients
            kb = 1.0 / t[SDB] if hb else 0.0
            eb = o[0] - t[BOFF] if hb else 0.0
            kt = 1.0 / t[SDT] if ht else 0.0
            et = o[1] - t[TOFF] if ht else 0.0
            km = 1.0 / t[SDM] if hm else 0.0
            em = o[2] - t[M0] - t[BMA] * a[i] - t[BMR] * r[i] if hm else 0.0
            isx = 1.0 / t[SX]
            for jj in range(gmax):
                x = xk + hx * (jlo + jj)
                e = (eb - x) * kb
                ll[0, jj] = -0.5 * e * e
                e = (et - t[KT] * x) * kt
                ll[1, jj] = -0.5 * e * e
                e = (em - t[AM] * dfx_tab[d, jj]) * km
                ll[2, jj] = -0.5 * e * e
                e = (x - mu) * isx
                pm[jj] = lpm - 0.5 * e * e
                pd[jj] = lpd + ldep_tab[d, jj]
            # latent folate given the folate result (a normal in y): normalised log-weights
            pfol1 = 0.0
            if hf:
                prec = 1.0 / t[SY] ** 2 + 1.0 / t[SDF] ** 2
                my = (t[MUY] / t[SY] ** 2 + o[4] / t[SDF] ** 2) / prec
                isy = math.sqrt(prec)
                top = -np.inf
                for l in range(nl):
                    e = (y[l] - my) * isy
                    lwy1[l] = -0.5 * e * e
                    top = max(top, lwy1[l])
                s1 = 0.0
                for l in range(nl):
                    s1 += _exp_neg(lwy1[l] - top)
                top += math.log(s1)
                for l in range(nl):
                    lwy1[l] -= top
                    pfol1 += _exp_neg(lwy1[l]) * indy[l]
            eh = o[3] - t[H0] - t[BHA] * a[i] - t[BHR] * r[i]
            ish = 1.0 / t[SDH]  # eh: the tHcy residual at zero deficits
            known[:] = 0
            for s in range(ns):
                fb = 1.0 if masks[s, 0] else 0.0
                ft = 1.0 if masks[s, 1] else 0.0
                fm = 1.0 if masks[s, 2] else 0.0
                mh = masks[s, 3] and hh
                q = 1 if hf and masks[s, 4] else 0  # tHcy row: with the folate result or its prior
                lw = lwy1 if q else lwy0_tab[d]
                jstar = 0
                for jj in range(gmax):
                    ub[jj] = fb * ll[0, jj] + ft * ll[1, jj] + fm * ll[2, jj] + max(pm[jj], pd[jj])
                    if ub[jj] > ub[jstar]:
                        jstar = jj
                lower = ub[jstar]  # a lower bound of the top log-weight
                if mh:  # its tHcy term at jstar (explain: every node, once per draw and row)
                    ja, jb = (0, gmax) if ns > 1 else (jstar, jstar + 1)
                    _hcy_nodes(lh[q], hfr[q], ja, jb, known[q], eh, t[AH], dfx_tab[d], lw, t[CF],
                               fdy, indy, ish)
                    lower += lh[q, jstar]
                wa = 0
                while ub[wa] < lower - cut:
                    wa += 1
                wb = gmax
                while ub[wb - 1] < lower - cut:
                    wb -= 1
                if mh:
                    _hcy_nodes(lh[q], hfr[q], wa, wb, known[q], eh, t[AH], dfx_tab[d], lw, t[CF],
                               fdy, indy, ish)
                fh = 1.0 if mh else 0.0
                top = -np.inf
                for jj in range(wa, wb):
                    top = max(top, ub[jj] + fh * lh[q, jj])
                z = 0.0
                zd = 0.0
                zx = 0.0
                zf = 0.0
                for jj in range(wa, wb):
                    j = jlo + jj
                    v = fb * ll[0, jj] + ft * ll[1, jj] + fm * ll[2, jj] + fh * lh[q, jj] - top
                    w = _exp_neg(v + pm[jj]) + _exp_neg(v + pd[jj])
                    z += w
                    zd += w * (1.0 if j < 0 else (0.5 if j == 0 else 0.0))
                    zx += w * (xk + hx * j)
                    zf += w * hfr[q, jj]
                pdef = zd / z
                p_sub[i, s] += pdef / nd
                if s == 0:
                    p_def[i, d] = pdef
                    ex[i, d] = zx / z
                    p_fol[i, d] = zf / z if mh else (pfol1 if q else pfol0[d])
    return p_def, p_fol, ex, p_sub
