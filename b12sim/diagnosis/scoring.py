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
* :func:`score_batch`: fused numba kernels, parallel over patients: the closed form
  for the patients it covers, the grid for the rest, evaluating only the nodes that can
  weigh within ``e^-CUT`` of the heaviest one (bounds in :func:`_kernel`); it agrees
  with :func:`score_grid` to about 1e-9.

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
CUT = 20.0  # nodes (store or folate) with log-weight below the top minus CUT are dropped (< e^-20 each)
FASTMATH = {"reassoc", "contract"}  # reassociation lets the kernel's sums vectorise
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


def below(j):
    """Quadrature weights of the indicator ``node < cut`` for nodes ``j`` steps from the cut.

    The trapezoid rule (1 below, 1/2 on the cut) has an error ``h^2 g'(cut) / 12``; the
    end correction of Gregory's rule estimates ``g'`` by the central difference of the
    two neighbours (weights ``1 + 1/24`` one step below, ``-1/24`` one step above), which
    leaves an O(``h^4``) error. Weights sum to the trapezoid's, so probabilities from
    them can stray below 0 or above 1 by that error and are clipped.
    """
    j = np.asarray(j)
    return np.select([j < -1, j == -1, j == 0, j == 1], [1.0, 1.0 + 1.0 / 24.0, 0.5, -1.0 / 24.0], 0.0)


def _folate_grid(c: mk.Constants, hy: float = H_Y):
    """Latent folate nodes ``hy`` ln-units apart, aligned on the deficiency cut:
    ``(y, weights of y < cut (:func:`below`), folate deficit)``."""
    ly = np.arange(math.floor((Y_MIN - c.ln_fol_def) / hy), math.ceil((Y_MAX - c.ln_fol_def) / hy) + 1)
    y = c.ln_fol_def + hy * ly
    return y, below(ly), mk.folate_deficit(y, c)


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
            my, sy = _folate_posterior(obs[F] if m[F] else np.nan, tab)
            res = (p_def, _ndtr((dr.const.ln_fol_def - my[1]) / sy[1]), (w * mean).sum(axis=0))
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
    tab = _draw_table(dr)
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
    y, ind_y, fdy = _folate_grid(dr.const, hy)
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
                p_fol = _ndtr((dr.const.ln_fol_def - my[k]) / sy[k])
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


# columns of the grid kernel's per-draw table of derived constants (see _grid_table)
G_LSX, G_LSD, G_ISX2, G_ISD2, G_IB, G_IT, G_IKT, G_KM, G_ISH, G_YA, G_YW, G_SY1 = range(12)


def _grid_table(tab: np.ndarray) -> np.ndarray:
    """Per-draw constants of the grid kernel, derived once from the draw table (D, 12).

    ln of the components' prior SDs, their precisions, the precisions of B12 and of holoTC
    about ``x``, ``1/kappa_t``, ``1/SD`` of MMA and tHcy, and the latent folate's conjugate
    update by a folate result ``f``: mean ``YA + YW f``, SD ``SY1``.
    """
    col = lambda k: tab[:, k]  # noqa: E731
    prec_y = col(SY) ** -2 + col(SDF) ** -2
    return np.ascontiguousarray(np.stack([
        np.log(col(SX)), np.log(col(SD_)), col(SX) ** -2, col(SD_) ** -2, col(SDB) ** -2, (col(KT) / col(SDT)) ** 2,
        1.0 / col(KT), 1.0 / col(SDM), 1.0 / col(SDH), col(MUY) * col(SY) ** -2 / prec_y, col(SDF) ** -2 / prec_y,
        prec_y**-0.5,
    ], axis=1))


def _grid_batch(rows, obs, a, r, risks, tab, c: mk.Constants, masks, out):
    """Fill rows ``rows`` of the results ``out`` by quadrature with the grid kernel."""
    xk = tab[:, XK]
    j0s = np.floor((X_MIN - xk) / H_X).astype(np.int64)
    gmax = int((np.ceil((X_MAX - xk) / H_X).astype(np.int64) - j0s).max()) + 1
    j = j0s[:, None] + np.arange(gmax)[None, :]
    nh = tab[:, NH][:, None]
    dfx_tab = np.logaddexp(0.0, -nh * H_X * j) / nh  # deficit D at x = x_k + H_X j
    y, indy, fdy = _folate_grid(c)
    pfol0 = _ndtr((c.ln_fol_def - tab[:, MUY]) / tab[:, SY])
    f = np.ascontiguousarray
    _compiled()(rows, obs, a, r, risks, tab, _grid_table(tab), masks, j0s, f(dfx_tab), f(below(j)), pfol0, f(y), f(fdy), f(indy),
                c.ln_s_med, c.ln_fol_def, H_X, CUT, *out)


@functools.cache
def _jit():
    """Import numba and rebind the kernels' helpers to their compiled (inlined) versions; returns numba.

    Called on first use, so that importing this module does not import numba.
    """
    global numba, _exp_neg, _erfc, _hcy_block, _window
    import numba

    _exp_neg = numba.njit(inline="always", fastmath=FASTMATH)(_exp_neg)
    _erfc = numba.njit(inline="always", fastmath=FASTMATH)(_erfc)
    _hcy_block = numba.njit(fastmath=FASTMATH)(_hcy_block)
    _window = numba.njit(inline="always")(_window)
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

    A degree-12 Taylor polynomial at ``z/128`` (Horner, written out), squared seven times:
    relative error ~1e-12. Straight-line code with a select for the floor, so that
    loops calling it vectorise (``math.exp`` does not).
    """
    t = (z if z > -60.0 else -60.0) * (1.0 / 128.0)
    p = (((((((((((t * (1.0 / 479001600.0) + 1.0 / 39916800.0) * t + 1.0 / 3628800.0) * t + 1.0 / 362880.0) * t
                 + 1.0 / 40320.0) * t + 1.0 / 5040.0) * t + 1.0 / 720.0) * t + 1.0 / 120.0) * t + 1.0 / 24.0) * t
             + 1.0 / 6.0) * t + 0.5) * t + 1.0) * t + 1.0
    p *= p
    p *= p
    p *= p
    p *= p
    p *= p
    p *= p
    p *= p
    return p


def _hcy_block(lh, hf, ja, jb, la, lb, eh, ah, dfx, lwy, cf, fdy, indy, ish, top, s0, sf):
    """The tHcy log-likelihood ``lh`` and the share ``hf`` of it from folate-deficient folate
    nodes, at the store nodes ``[ja, jb)``, summed over the folate nodes ``[la, lb)``.

    Store node j has tHcy residual ``u = eh - ah * dfx[j]`` before the folate term ``cf *
    fdy[l]``; ``lwy``: normalised log-weights of the folate nodes. The inner loops run over
    store nodes, on views starting at 0 (no negative-index handling), so that they
    vectorise; ``top``, ``s0``, ``sf`` are scratch arrays.
    """
    n = jb - ja
    u, tp, z, zf = dfx[ja:jb], top[ja:jb], s0[ja:jb], sf[ja:jb]
    for j in range(n):
        tp[j] = -np.inf
        z[j] = 0.0
        zf[j] = 0.0
    for l in range(la, lb):
        c = eh - cf * fdy[l]
        w = lwy[l]
        for j in range(n):
            e = (c - ah * u[j]) * ish
            tp[j] = max(tp[j], w - 0.5 * e * e)
    for l in range(la, lb):
        c = eh - cf * fdy[l]
        w = lwy[l]
        f = indy[l]
        for j in range(n):
            e = (c - ah * u[j]) * ish
            k = _exp_neg(w - 0.5 * e * e - tp[j])
            z[j] += k
            zf[j] += k * f
    for j in range(n):
        lh[ja + j] = tp[j] + math.log(z[j])
        hf[ja + j] = zf[j] / z[j]


def _window(centre, half, x0, h, n):
    """Nodes ``[a, b)`` of the grid ``x0 + h * k`` (``k < n``) within ``half`` of ``centre``; at
    least the node nearest it."""
    a = min(max(int(math.ceil((centre - half - x0) / h)), 0), n - 1)
    b = max(min(int(math.floor((centre + half - x0) / h)) + 1, n), a + 1)
    return a, b


def _kernel(rows, obs, a, r, risks, tab, gtab, masks, j0s, dfx_tab, indx_tab, pfol0, y, fdy, indy, ln_s_med, ln_fol_def,
            hx, cut, p_def, p_fol, ex, p_sub):
    """Body of the quadrature in :func:`score_batch`, parallel over the patients ``rows``.

    Per (patient, draw, subset of markers) each prior component times the B12 and holoTC
    likelihood is a normal in ``x`` (mean ``mc``, precision ``qc``, log height ``pk``: the
    conjugate update of :func:`score_closed`); the MMA and tHcy terms are at most 0 in log, so
    a component's nodes further than ``sqrt(2 (pk - lb + cut) / qc)`` from ``mc`` weigh less
    than ``e^-cut`` of the heaviest node, ``lb`` being a lower bound of that node's log-weight
    (the best of the nodes nearest each ``mc``). Only the nodes inside those windows are
    evaluated. The tHcy likelihood, a sum over latent-folate nodes, is computed only there
    (after trimming the windows' ends by the MMA term), over the folate nodes whose normal
    log-weight plus the store side's peak reaches ``lb - cut``. Without tHcy, P(folate
    deficient) is the normal CDF of the latent folate's conjugate posterior.
    """
    nd, ns, nl = tab.shape[0], masks.shape[0], y.shape[0]
    gmax = dfx_tab.shape[1]
    hy = y[1] - y[0]
    rcut = math.sqrt(2.0 * cut)
    for ii in numba.prange(rows.size):
        i = rows[ii]
        o = obs[i]
        hb, ht, hm, hh, hf = (not math.isnan(o[B]), not math.isnan(o[T]), not math.isnan(o[M]),
                              not math.isnan(o[HCY]), not math.isnan(o[F]))
        sh = np.empty(gmax)  # MMA and tHcy log-factors per store node
        vb = np.empty((2, gmax))  # log-weight per component and node (from the union window's first node)
        wb = np.empty(gmax)  # weight per node (both components)
        lh = np.zeros((2, gmax))  # tHcy log-likelihood with the folate prior (0) or its posterior (1)
        hfr = np.zeros((2, gmax))  # share of it from folate-deficient folate nodes (read, times 0, without tHcy)
        scratch = np.empty((3, gmax))  # work arrays of _hcy_block
        lwy = np.empty((2, nl))  # normalised log-weights of the folate nodes, prior (0) or given the result (1)
        ytop = np.empty(2)  # their upper bound (at the mean)
        ym = np.empty(2)  # latent folate mean and SD
        ys = np.empty(2)
        mc = np.empty(2)
        qc = np.empty(2)
        pk = np.empty(2)
        wr = np.zeros((2, 2), np.int64)  # node window of each component
        for d in range(nd):
            t = tab[d]
            xk = t[XK]
            jlo = j0s[d]  # store node jj (a table column) is x = x_k + hx * (jlo + jj)
            mu = ln_s_med + t[GA] * a[i]
            keep = 1.0
            for k in range(3):
                mu += t[DSHIFT + k] * risks[i, k]
                keep *= 1.0 - t[DSHIFT + 3 + k] * risks[i, 3 + k]
            g = gtab[d]
            zp = t[PI0] + t[PIA] * a[i]  # background log-odds of the depleting component
            if keep == 1.0:  # ln(1 - pi) and ln(pi) through one softplus
                sp = math.log1p(math.exp(-abs(zp))) + max(zp, 0.0)
                lwc0, lwc1 = -sp - g[G_LSX], zp - sp - g[G_LSD]
            else:
                pi = 1.0 - (1.0 - 1.0 / (1.0 + math.exp(-zp))) * keep
                lwc0 = math.log1p(-pi) - g[G_LSX] if pi < 1.0 else -np.inf
                lwc1 = math.log(pi) - g[G_LSD] if pi > 0.0 else -np.inf
            ib, it, km, ish = g[G_IB], g[G_IT], g[G_KM], g[G_ISH]
            eb = o[B] - t[BOFF] if hb else 0.0
            et = (o[T] - t[TOFF]) * g[G_IKT] if ht else 0.0  # the x holoTC points at
            em = o[M] - t[M0] - t[BMA] * a[i] - t[BMR] * r[i] if hm else 0.0
            # latent folate: prior (0) and given the folate result (1), mean and SD
            my0, sy0 = t[MUY], t[SY]
            my1, sy1 = (g[G_YA] + g[G_YW] * o[F], g[G_SY1]) if hf else (my0, sy0)
            eh = o[HCY] - t[H0] - t[BHA] * a[i] - t[BHR] * r[i] if hh else 0.0
            if hh:  # normalised log-weights of all folate nodes (the normaliser from those within rcut SDs)
                for q in range(2 if hf else 1):
                    myq, syq = (my1, sy1) if q else (my0, sy0)
                    la, lb = _window(myq, rcut * syq, y[0], hy, nl)
                    for l in range(nl):
                        e = (y[l] - myq) / syq
                        lwy[q, l] = -0.5 * e * e
                    s1 = 0.0
                    lv = lwy[q, la:lb]
                    for l in range(lb - la):
                        s1 += _exp_neg(lv[l])
                    ytop[q] = -math.log(s1)
                    for l in range(nl):
                        lwy[q, l] += ytop[q]
                    ym[q], ys[q] = myq, syq
            if hh and ns > 1:  # explain: the tHcy term on every node, once per draw (shared by the subsets)
                for q in range(2 if hf else 1):
                    _hcy_block(lh[q], hfr[q], 0, gmax, 0, nl, eh, t[AH], dfx_tab[d], lwy[q], t[CF], fdy, indy, ish,
                               scratch[0], scratch[1], scratch[2])
            for s in range(ns):
                fb = 1.0 if masks[s, B] and hb else 0.0
                ft = 1.0 if masks[s, T] and ht else 0.0
                fm = 1.0 if masks[s, M] and hm else 0.0
                mh = masks[s, HCY] and hh
                q = 1 if hf and masks[s, F] else 0
                prec = fb * ib + ft * it
                info = fb * ib * eb + ft * it * et
                lb_ = -np.inf
                for c in range(2):
                    m0, is2, lwc = (mu, g[G_ISX2], lwc0) if c == 0 else (t[MUD], g[G_ISD2], lwc1)
                    qc[c] = is2 + prec
                    mc[c] = (m0 * is2 + info) / qc[c]
                    pk[c] = lwc + 0.5 * (mc[c] * mc[c] * qc[c] - m0 * m0 * is2)
                    if pk[c] == -np.inf:
                        continue
                    jj = min(max(int(round((mc[c] - xk) / hx)) - jlo, 0), gmax - 1)
                    e = (xk + hx * (jlo + jj) - mc[c])
                    v = pk[c] - 0.5 * qc[c] * e * e
                    e = (em - t[AM] * dfx_tab[d, jj]) * km
                    v -= 0.5 * fm * e * e
                    if mh:
                        if ns == 1:  # a lower bound of it: folate nodes within rcut SDs of their mean
                            la, lb = _window(ym[q], ys[q] * rcut, y[0], hy, nl)
                            _hcy_block(lh[q], hfr[q], jj, jj + 1, la, lb, eh, t[AH], dfx_tab[d], lwy[q], t[CF], fdy,
                                       indy, ish, scratch[0], scratch[1], scratch[2])
                        v += lh[q, jj]
                    lb_ = max(lb_, v)
                ua, ub = gmax, 0
                for c in range(2):
                    slack = pk[c] - lb_ + cut
                    if slack <= 0.0:
                        wr[c, 0], wr[c, 1] = 0, 0
                        continue
                    hw = math.sqrt(2.0 * slack / qc[c])
                    wr[c, 0] = min(max(int(math.ceil((mc[c] - hw - xk) / hx)) - jlo, 0), gmax)
                    wr[c, 1] = max(min(int(math.floor((mc[c] + hw - xk) / hx)) - jlo + 1, gmax), wr[c, 0])
                    if wr[c, 1] > wr[c, 0]:
                        ua, ub = min(ua, wr[c, 0]), max(ub, wr[c, 1])
                if mh and ns == 1 and fm > 0.0:  # before the costly tHcy term, trim the windows' ends by the
                    # MMA term as well (the best node, which set lb_, stays)
                    ua, ub = gmax, 0
                    for c in range(2):
                        for end in range(2):
                            while wr[c, 1] > wr[c, 0]:
                                jj = wr[c, 0] if end == 0 else wr[c, 1] - 1
                                e = xk + hx * (jlo + jj) - mc[c]
                                f = (em - t[AM] * dfx_tab[d, jj]) * km
                                if pk[c] - 0.5 * qc[c] * e * e - 0.5 * f * f >= lb_ - cut:
                                    break
                                wr[c, end] += 1 - 2 * end
                        if wr[c, 1] > wr[c, 0]:
                            ua, ub = min(ua, wr[c, 0]), max(ub, wr[c, 1])
                if mh:
                    if ns == 1:  # folate nodes that can weigh within cut of the top: their normal's log-weight
                        # plus the store side's peak (the tHcy and MMA terms are at most 0) must reach lb_ - cut
                        gap = ytop[q] + max(pk[0], pk[1]) - lb_ + cut
                        la, lb = _window(ym[q], ys[q] * math.sqrt(2.0 * max(gap, 0.0)), y[0], hy, nl)
                        _hcy_block(lh[q], hfr[q], ua, ub, la, lb, eh, t[AH], dfx_tab[d], lwy[q], t[CF], fdy, indy,
                                   ish, scratch[0], scratch[1], scratch[2])
                # node loops on views starting at 0 (no negative-index handling), so that they vectorise
                n = ub - ua
                dv, sv, wv, iv, hv = dfx_tab[d, ua:ub], sh[ua:ub], wb[ua:ub], indx_tab[d, ua:ub], hfr[q, ua:ub]
                lv = lh[q, ua:ub]
                fh = 1.0 if mh else 0.0
                for k in range(n):
                    e = (em - t[AM] * dv[k]) * km
                    sv[k] = fh * lv[k] - 0.5 * fm * e * e
                    wv[k] = 0.0
                top = -np.inf
                for c in range(2):
                    o0, nc = wr[c, 0] - ua, wr[c, 1] - wr[c, 0]
                    x0 = xk + hx * (jlo + wr[c, 0]) - mc[c]
                    vc, sc = vb[c, o0:o0 + nc], sv[o0:o0 + nc]
                    for k in range(nc):
                        e = x0 + hx * k
                        v = pk[c] - 0.5 * qc[c] * e * e + sc[k]
                        vc[k] = v
                        top = max(top, v)
                for c in range(2):
                    o0, nc = wr[c, 0] - ua, wr[c, 1] - wr[c, 0]
                    vc, wc = vb[c, o0:o0 + nc], wv[o0:o0 + nc]
                    for k in range(nc):
                        wc[k] += _exp_neg(vc[k] - top)
                z = 0.0
                zd = 0.0
                zx = 0.0
                zf = 0.0
                x0 = xk + hx * (jlo + ua)
                for k in range(n):
                    w = wv[k]
                    z += w
                    zd += w * iv[k]
                    zx += w * (x0 + hx * k)
                    zf += w * fh * hv[k]
                pdef = min(max(zd / z, 0.0), 1.0)
                p_sub[i, s] += pdef / nd
                if s == 0:
                    p_def[i, d] = pdef
                    ex[i, d] = zx / z
                    if mh:
                        p_fol[i, d] = min(max(zf / z, 0.0), 1.0)
                    elif q:
                        p_fol[i, d] = 0.5 * _erfc((my1 - ln_fol_def) / (sy1 * math.sqrt(2.0)))
                    else:
                        p_fol[i, d] = pfol0[d]
