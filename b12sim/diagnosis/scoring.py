"""Posterior probability of deficiency: exact where the model allows, by quadrature otherwise.

Without MMA and tHcy a patient's markers are Gaussian in the latent ln store ``x``
(serum B12, holoTC) or in the separate latent folate ``y`` (folate), and the prior of
``x`` is a two-component Gaussian mixture in every posterior draw, so the posterior is
a Gaussian mixture with conjugate components and everything is in closed form
(:func:`closed_form` says which patients). With MMA or tHcy the integral over ``x``
(and ``y`` for tHcy) is done on a grid aligned so that the deficiency boundary ``x_k``
is a node (step ``H_X`` ln-units; the indicator ``x < x_k`` gets half weight on that
node, an O(``H_X``^2) error: up to about 0.02 in P(deficient) for a single draw of a
patient with a narrow posterior, 0.003 averaged over draws), the latent folate on a grid
aligned on the folate deficiency cut (step ``H_Y``). No MCMC happens at scoring time.

* :func:`score_grid`: the quadrature in plain numpy, one patient at a time, for any
  patient; the small-batch path of :mod:`b12sim.diagnosis.core`, so that it agrees with
  :func:`posterior_grid`, on which :mod:`b12sim.decision` builds.
* :func:`score_closed`: the closed form in plain numpy, one patient at a time.
* :func:`score_reference`: :func:`score_closed` or :func:`score_grid`, as
  :func:`score_batch` routes the patient; the readable definition of
  :func:`score_batch` and the benchmark baseline.
* :func:`score_batch`: fused numba kernels, parallel over patients: the closed form
  for the patients it covers, the grid (exponentiating only the ``x`` nodes whose
  log-weight is within :data:`CUT` of the top one) for the rest.

All return, per patient, the per-draw P(deficient), P(folate deficient) and the
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
_ndtr = np.vectorize(lambda z: 0.5 * math.erfc(-z / math.sqrt(2.0)), otypes=[float])  # standard normal CDF
# erfcx(u) = e^(u^2) erfc(u) for u >= 0 as a polynomial in t = (u - 3) / (u + 3): the degree-18
# least-squares Chebyshev fit at 72 Chebyshev nodes of scipy.special.erfcx, in powers of t (coefficients
# below 0.33, so no cancellation); erfc = e^(-u^2) erfcx is then within 5e-15 of the exact value
_ERFCX_K = 3.0
_ERFCX = (0.17900115118139687, -0.3262335600431929, 0.24560380171091825, -0.15011593649147748,
          0.07166583724505053, -0.024392499480652714, 0.004269135721383078, 0.0007077477187193266,
          -0.0005970578957533735, 4.524984839958796e-05, 6.404102079091487e-05, -1.2847010704459758e-05,
          -7.941484124880191e-06, 2.100330652950712e-06, 1.197969547705436e-06, -2.7797269747988253e-07,
          -1.838021910251892e-07, 2.310096143843138e-08, 1.8332987868537498e-08)

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


def _folate_grid(c: mk.Constants, hy: float = H_Y):
    """Latent folate nodes ``hy`` ln-units apart, aligned on the deficiency cut:
    ``(y, indicator y < cut, folate deficit)``."""
    ly = np.arange(math.floor((Y_MIN - c.ln_fol_def) / hy), math.ceil((Y_MAX - c.ln_fol_def) / hy) + 1)
    y = c.ln_fol_def + hy * ly
    return y, np.where(ly < 0, 1.0, np.where(ly == 0, 0.5, 0.0)), mk.folate_deficit(y, c)


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
    tab = _draw_table(dr)
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
        p_def = (w * _ndtr((col(XK) - mean) / sd)).sum(axis=0)
        out_sub[s] = p_def.mean()
        if s == 0:
            my, sy = col(MUY), col(SY)
            if m[F]:
                prec_y = sy**-2 + col(SDF) ** -2
                my, sy = (my * sy**-2 + obs[F] * col(SDF) ** -2) / prec_y, prec_y**-0.5
            res = (p_def, _ndtr((dr.const.ln_fol_def - my) / sy), (w * mean).sum(axis=0))
    return (*res, out_sub)


def posterior_grid(obs, a, r, risks, dr: Draws):
    """The latent posterior of one patient on the quadrature grid, given all their markers.

    Arguments as for :func:`score_reference`. Returns ``x`` (D, G), ln stores (ug) of
    the nodes per draw; ``ind`` (1, G), the deficiency indicator of each node (1 below
    ``x_k``, 0.5 on it, 0 above; so ``(w * ind).sum(1)`` is the per-draw P(deficient));
    ``w`` (D, G), posterior weights summing to 1 in every draw.
    """
    return _reference(obs, a, r, risks, dr, np.ones((1, len(mk.MARKERS)), bool), H_X, H_Y)[2]


def _reference(obs, a, r, risks, dr: Draws, masks, hx, hy):
    """:func:`score_grid`'s results, plus the grid of :func:`posterior_grid` for mask row 0."""
    tab = _draw_table(dr)
    col = lambda k: tab[:, k][:, None]  # noqa: E731
    j = np.arange(math.floor((X_MIN - tab[:, XK].max()) / hx), math.ceil((X_MAX - tab[:, XK].min()) / hx) + 1)
    x = col(XK) + hx * j[None, :]  # (D, G)
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
    y, ind_y, fdy = _folate_grid(dr.const, hy)
    lwy0 = -0.5 * ((y[None, :] - col(MUY)) / col(SY)) ** 2  # (D, L)
    lwy1 = lwy0 - 0.5 * ((obs[F] - y[None, :]) / col(SDF)) ** 2 if has[F] else lwy0
    out_sub = np.empty(len(masks))
    res = grid = None
    for s, mask in enumerate(np.asarray(masks, bool)):
        m = mask & has
        lwy = lwy1 if m[F] else lwy0
        lwy = lwy - lwy.max(axis=1, keepdims=True)
        lwy = lwy - np.log(np.exp(lwy).sum(axis=1, keepdims=True))  # normalised log weights of the folate nodes
        wy = np.exp(lwy)
        tot = lp + ll[B] * m[B] + ll[T] * m[T] + ll[M] * m[M]
        if m[HCY]:
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
    """Score many patients with the fused kernels (the results of :func:`score_reference`).

    ``obs`` (N, 5), ``a`` (N,), ``r`` (N,), ``risks`` (N, 6), ``masks`` (S, 5).
    Returns ``(p_def (N, D), p_fol (N, D), ex (N, D), p_sub (N, S))``, rows in input order.
    """
    tab = _draw_table(dr)
    n, nd = obs.shape[0], dr.n
    out = (np.empty((n, nd)), np.empty((n, nd)), np.empty((n, nd)), np.zeros((n, len(masks))))
    f = lambda v, t=float: np.ascontiguousarray(v, t)  # noqa: E731
    obs, a, r, risks, masks = f(obs), f(a), f(r), f(risks), f(masks, np.bool_)
    closed = closed_form(obs)
    if closed.any():
        base, post = _closed_tables(tab, dr.const)
        _compiled_closed()(np.flatnonzero(closed), obs, a, risks, base, post, masks, dr.const.ln_s_med,
                           dr.const.ln_fol_def, *out)
    if not closed.all():
        _grid_batch(np.flatnonzero(~closed), obs, a, r, risks, tab, dr.const, masks, out)
    return out


# rows of the per-draw table of the closed form (each row a (D,) array)
(CXK, CGA, CMUD, CDV, CDM, CDP, CPI0, CPIA, CPP, CPI, CPB, CBOFF, CIVB, CTOFF, CKTV,
 CYM, CYW, CYR, CPF0) = range(19)
# rows of its per-draw table for each set of store markers (bit 0: B12, bit 1: holoTC); V, L, A, R of
# the main (M) and the depleting (D) component as in _closed_tables
KP, KVM, KLM, KAM, KRM, KVD, KLD, KAD, KRD = range(9)


def _closed_tables(tab: np.ndarray, c: mk.Constants):
    """Per-draw constants of the closed form: ``base`` (19, D) and ``post`` (4, 9, D).

    ``post[k]`` for the store markers in ``k``: ``P``, the precision (ln-units^-2) they give
    about ``x``; then per component with prior SD ``s0``: ``V = s0^2 / (1 + s0^2 P)``, the
    posterior variance; ``L = -ln(1 + s0^2 P) / 2`` and ``A = 1 / (2 P (1 + s0^2 P))`` (0 if
    ``P = 0``), so that its log evidence is ``L - A g^2`` with ``g = h - P m0`` (``h``: the
    results' precision-weighted information, ``m0``: the prior mean); ``R = 1 / sqrt(2 V)``.
    """
    col = lambda k: tab[:, k]  # noqa: E731
    prec_y = col(SY) ** -2 + col(SDF) ** -2
    base = np.stack([
        col(XK), col(GA), col(MUD), *(col(DSHIFT + k) for k in range(3)), col(PI0), col(PIA),
        *(col(DSHIFT + 3 + k) for k in range(3)), col(BOFF), col(SDB) ** -2, col(TOFF), col(KT) / col(SDT) ** 2,
        col(MUY) * col(SY) ** -2 / prec_y, col(SDF) ** -2 / prec_y, np.sqrt(prec_y / 2),
        _ndtr((c.ln_fol_def - col(MUY)) / col(SY)),
    ])
    post = np.empty((4, 9, tab.shape[0]))
    for k in range(4):
        p = (k & 1) * col(SDB) ** -2 + (k >> 1) * (col(KT) / col(SDT)) ** 2
        post[k, KP] = p
        for row, s0 in ((KVM, col(SX)), (KVD, col(SD_))):
            q = 1.0 + s0**2 * p
            post[k, row] = s0**2 / q
            post[k, row + 1] = -0.5 * np.log(q)
            post[k, row + 2] = 0.5 / (p * q) if k else 0.0
            post[k, row + 3] = np.sqrt(q / (2.0 * s0**2))
    return np.ascontiguousarray(base), post


def _grid_batch(rows, obs, a, r, risks, tab, c: mk.Constants, masks, out):
    """Fill rows ``rows`` of the results ``out`` by quadrature with the grid kernel."""
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
    f = np.ascontiguousarray
    _compiled()(rows, obs, a, r, risks, tab, masks, j0s, f(dfx_tab), f(ldep_tab), f(lwy0), pfol0, f(y), f(fdy),
                f(indy), c.ln_s_med, H_X, CUT, *out)


@functools.cache
def _jit():
    """Import numba and rebind the kernels' helpers to their compiled (inlined) versions; returns numba.

    Called on first use, so that importing this module does not import numba.
    """
    global numba, _exp_neg, _erfc, _hcy_nodes
    import numba

    _exp_neg = numba.njit(inline="always", fastmath=FASTMATH)(_exp_neg)
    _erfc = numba.njit(inline="always", fastmath=FASTMATH)(_erfc)
    _hcy_nodes = numba.njit(fastmath=FASTMATH)(_hcy_nodes)
    return numba


@functools.cache
def _compiled():
    """:func:`_kernel`, compiled on first use."""
    return _jit().njit(cache=True, parallel=True, fastmath=FASTMATH)(_kernel)


@functools.cache
def _compiled_closed():
    """:func:`_closed_kernel`, compiled on first use."""
    return _jit().njit(cache=True, parallel=True, fastmath=FASTMATH)(_closed_kernel)


def _erfc(t):
    """``erfc(t)`` to about 1e-14 absolute (below ``e^-60`` it is that floor), branch-free so that it
    vectorises; the polynomial by Estrin's scheme (short dependency chains)."""
    u = abs(t)
    z = (u - _ERFCX_K) / (u + _ERFCX_K)
    z2 = z * z
    z4 = z2 * z2
    z8 = z4 * z4
    c = _ERFCX
    p = ((((c[0] + c[1] * z) + (c[2] + c[3] * z) * z2) + ((c[4] + c[5] * z) + (c[6] + c[7] * z) * z2) * z4)
         + (((c[8] + c[9] * z) + (c[10] + c[11] * z) * z2) + ((c[12] + c[13] * z) + (c[14] + c[15] * z) * z2) * z4) * z8
         + ((c[16] + c[17] * z) + c[18] * z2) * (z8 * z8))
    e = _exp_neg(-u * u) * p
    return e if t >= 0.0 else 2.0 - e


def _closed_kernel(rows, obs, a, risks, base, post, masks, ln_s_med, ln_fol_def, p_def, p_fol, ex, p_sub):
    """Body of the closed form in :func:`score_batch`, parallel over the patients ``rows``.

    Per draw the depleting component's posterior weight is ``1 / (1 + e^-lo)``, ``lo`` its prior
    log-odds plus the difference of the components' log evidence; P(deficient) is each
    component's posterior normal CDF at ``x_k``, mixed with those weights. The loops over draws
    are branch-free (:func:`_erfc`, :func:`_exp_neg`) so that they vectorise.
    """
    nd, ns = base.shape[1], masks.shape[0]
    for ii in numba.prange(rows.size):
        i = rows[ii]
        o = obs[i]
        hb, ht = not math.isnan(o[B]), not math.isnan(o[T])
        ob = o[B] if hb else 0.0
        ot = o[T] if ht else 0.0
        keys = np.empty(ns, np.int64)  # store markers of each subset: bit 0 B12, bit 1 holoTC
        for s in range(ns):
            keys[s] = (1 if masks[s, B] and hb else 0) + (2 if masks[s, T] and ht else 0)
        mu = np.empty(nd)  # main component's prior mean (ln ug)
        lo0 = np.empty(nd)  # depleting component's prior log-odds
        for d in range(nd):
            mu[d] = (ln_s_med + base[CGA, d] * a[i] + base[CDV, d] * risks[i, 0] + base[CDM, d] * risks[i, 1]
                     + base[CDP, d] * risks[i, 2])
            lo0[d] = base[CPI0, d] + base[CPIA, d] * a[i]
        if risks[i, 3] + risks[i, 4] + risks[i, 5] != 0.0:  # a named cause raises P(depleting)
            for d in range(nd):
                keep = ((1.0 - base[CPP, d] * risks[i, 3]) * (1.0 - base[CPI, d] * risks[i, 4])
                        * (1.0 - base[CPB, d] * risks[i, 5]))
                lo0[d] = math.log(math.exp(lo0[d]) + 1.0 - keep) - math.log(keep)
        scratch = np.empty((2, nd))  # per-draw results of the subsets other than row 0 (not returned)
        for k in range(4):
            if not (keys == k).any():
                continue
            q = post[k]
            fb = 1.0 if k & 1 else 0.0
            ft = 1.0 if k & 2 else 0.0
            pk, ek = (p_def[i], ex[i]) if k == keys[0] else (scratch[0], scratch[1])
            acc = 0.0
            for d in range(nd):
                h = fb * (ob - base[CBOFF, d]) * base[CIVB, d] + ft * (ot - base[CTOFF, d]) * base[CKTV, d]
                gm = h - q[KP, d] * mu[d]
                gd = h - q[KP, d] * base[CMUD, d]
                mm = mu[d] + gm * q[KVM, d]
                md = base[CMUD, d] + gd * q[KVD, d]
                lo = lo0[d] + q[KLD, d] - q[KAD, d] * gd * gd - q[KLM, d] + q[KAM, d] * gm * gm
                e = _exp_neg(-abs(lo))
                wd = 1.0 / (1.0 + e) if lo >= 0.0 else e / (1.0 + e)
                xk = base[CXK, d]
                pd = 0.5 * ((1.0 - wd) * _erfc((mm - xk) * q[KRM, d]) + wd * _erfc((md - xk) * q[KRD, d]))
                acc += pd
                pk[d] = pd
                ek[d] = mm + wd * (md - mm)
            for s in range(ns):
                if keys[s] == k:
                    p_sub[i, s] = acc / nd
        if masks[0, F] and not math.isnan(o[F]):
            for d in range(nd):
                p_fol[i, d] = 0.5 * _erfc((base[CYM, d] + base[CYW, d] * o[F] - ln_fol_def) * base[CYR, d])
        else:
            p_fol[i] = base[CPF0]


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


def _kernel(rows, obs, a, r, risks, tab, masks, j0s, dfx_tab, ldep_tab, lwy0_tab, pfol0, y, fdy, indy,
            ln_s_med, hx, cut, p_def, p_fol, ex, p_sub):
    """Body of the quadrature in :func:`score_batch`, parallel over the patients ``rows``.

    Per (patient, draw) the log-weights of the store nodes are built from per-draw tables
    and a few patient scalars; only nodes within ``cut`` of the top log-weight are
    exponentiated, with :func:`_exp_neg` (vectorisable); the tHcy likelihood (a sum over
    the latent-folate nodes) only on those nodes.
    """
    nd, ns, nl = tab.shape[0], masks.shape[0], y.shape[0]
    gmax = dfx_tab.shape[1]
    for ii in numba.prange(rows.size):
        i = rows[ii]
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
