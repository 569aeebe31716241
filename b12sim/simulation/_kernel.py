"""Numba kernel behind :func:`b12sim.simulation.engine.run` for large runs.

The same equations and the same step as the numpy engine (exact pools; the other
states' exponential predictor-corrector with the rates at the pools' substep
midpoint and at the predicted end), arranged for speed; the results differ from
the engine's by rounding only (the tests hold them to 1e-9):

* the flattened (draw, person) cells advance in blocks of :data:`LANES`, one
  block per parallel task, each lane's values (states and constants) in a column
  of one work array, so that the loops over a block compile to SIMD instructions;
  ``exp`` and ``log`` are written out below (about 1 ulp, no library calls, no
  branches) so that they vectorise too, and each loop evaluates a few independent
  ones so that the processor overlaps lanes; a block copies its doses in and its
  outputs out a chunk of days at a time;
* decays and gains are computed once: every rate constant is fixed per draw or
  person, except the nerve-dysfunction one;
* the states whose rates depend on the pools only (marker delay, nerve exposure
  and dysfunction) need no predictor; the red-cell ageing chain's step is linear
  with constant coefficients, so each compartment's new value is a fixed
  combination of itself and the two before it, and the predicted Hb follows from
  the chain's sum;
* states that feed no requested output are not advanced (cell volumes without
  ``mcv``, nerve dysfunction without ``neuro_dysfunction``), and dose channels
  never given are not read.

Kept in its own module so that importing the engine does not import numba.
"""

from __future__ import annotations

import math

import numba
import numpy as np

# columns of the per-draw parameter table (see engine._kernel_inputs)
(KS, KL, LOSS, BILE, KFA, FATHR, XK, NH, DMED, DFMED, CFAH, BYPASS, GAMMA, LIFE, TR, TM, MCVN, MCVD,
 MH, DK, DREF, ONSET, REC, B0, W, T0, KT, M0, BMA, BMR, AM, H0, BHA, BHR, AH, CF, THETA, KW,
 IFF, IFMAX, PASS, RH, KH, RC, KC, SMED) = range(46)
N_AGE, N_DELAY = 12, 3
# state rows (the packing of engine._kernel_inputs); the work array adds the rows after them
I_S, I_R, I_FA, I_DL, I_Q, I_RET, I_RETV, I_AGE = 0, 1, 2, 3, 4, 7, 8, 9
I_AGEV = I_AGE + N_AGE
I_NX = I_AGEV + N_AGE
I_NN = I_NX + 1
N_STATE = I_NN + 1
# per lane (a draw and a person), set once: pool step, drivers, marrow and ageing steps, absorption, outputs
(C_ES, C_ER, C_CG, C_KFA, C_FATHR, C_NHXK, C_NH, C_INV_NH, C_DMED, C_BYPASS, C_DF, C_DK, C_INV_DREF, C_INV_ONSET,
 C_REC, C_DM, C_GM, C_DQ, C_GQ, C_BETA, C_LNP, C_GAMMA, C_MCVN, C_MCVD, C_DR, C_GR, C_KR, C_KA, C_DA, C_GA, C_C1,
 C_C2, C_C1R, C_C0R, C_IF, C_IFMAX, C_IFK, C_PASS, C_RH, C_KH, C_RC, C_KC, C_B12, C_W, C_T0, C_KT, C_INV_SMED, C_WT,
 C_MMA, C_AM, C_HCY, C_AH, C_HCYF, C_KW, C_THETA) = range(N_STATE, N_STATE + 55)
# per lane, per substep: the ageing chains' sums, then values handed from one loop to the next
(R_HBSUM, R_VOLSUM, R_Z1, R_Z2, R_U1, R_U2, R_FE1, R_FE2, R_LHB, R_THB, R_DMAR1, R_DMAR2, R_ON, R_KNN, R_Q2,
 R_TQ2, R_P1, R_P2, R_RET0, R_TRET, R_VOL0, R_TVOL) = range(C_THETA + 1, C_THETA + 23)
N_ROW = R_TVOL + 1
CODE_MCV, CODE_NN = 6, 8  # engine.OUTPUTS indices of the outputs that need states of their own

LANES = 32  # (draw, person) cells per block: a multiple of the SIMD width; the work array stays in L1
DAY_CHUNK = 32  # days of doses and outputs a block copies in and out at a time
# fastmath without reassociation: the rounding steps in _exp_parts and _log1p must stay as written
JIT = dict(cache=True, fastmath={"nnan", "ninf", "nsz", "arcp", "contract", "afn"}, error_model="numpy")

_SHIFT = 6755399441055744.0  # 1.5 * 2**52: adding it rounds to an integer, kept in the low mantissa bits
_LOG2E = 1.4426950408889634
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
_EXPM1_TAYLOR = tuple(1.0 / math.factorial(k) for k in range(13, 0, -1))  # 1/13!, ..., 1/1!
# fdlibm's log: ln(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)), s = f / (2 + f)
_LG1, _LG2, _LG3, _LG4 = 6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01, \
    2.222219843214978396e-01
_LG5, _LG6, _LG7 = 1.818357216161805012e-01, 1.531383769920937332e-01, 1.479819860511658591e-01
_LOG_SHIFT = (0x3FF00000 - 0x3FE6A09E) << 32  # moves the mantissa range [1, 2) to [sqrt(1/2), sqrt(2))
_MANTISSA = (1 << 52) - 1
_LOG_BASE = 0x3FE6A09E << 32


@numba.njit(inline="always", **JIT)
def _bits(x):
    return np.float64(x).view(np.int64)


@numba.njit(inline="always", **JIT)
def _from_bits(i):
    return np.int64(i).view(np.float64)


@numba.njit(inline="always", **JIT)
def _exp_parts(x):
    """``(2**n, expm1(r))`` with ``exp(x) = 2**n (1 + expm1(r))``, ``|r| <= ln2/2``; x clamped to +-708."""
    x = min(max(x, -708.0), 708.0)
    y = x * _LOG2E + _SHIFT
    n = y - _SHIFT
    r = x - n * _LN2_HI - n * _LN2_LO
    p = 0.0
    for c in _EXPM1_TAYLOR:
        p = p * r + c
    return _from_bits((_bits(y) + 1023) << 52), p * r


@numba.njit(inline="always", **JIT)
def _exp(x):
    scale, em1 = _exp_parts(x)
    return scale * em1 + scale


@numba.njit(inline="always", **JIT)
def _expm1(x):
    scale, em1 = _exp_parts(x)
    return scale * em1 + (scale - 1.0)


@numba.njit(inline="always", **JIT)
def _log_reduce(x):
    """``(k, f)`` with ``x = 2**k (1 + f)``, ``sqrt(1/2) <= 1 + f < sqrt(2)``, for positive normal x."""
    u = _bits(x) + _LOG_SHIFT
    return float((u >> 52) - 1023), _from_bits((u & _MANTISSA) + _LOG_BASE) - 1.0


@numba.njit(inline="always", **JIT)
def _log_poly(k, f):
    """``ln(2**k (1 + f))``."""
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    r = z * (_LG1 + z * (_LG2 + z * (_LG3 + z * (_LG4 + z * (_LG5 + z * (_LG6 + z * _LG7))))))
    return s * (hfsq + r) + k * _LN2_LO - hfsq + f + k * _LN2_HI


@numba.njit(inline="always", **JIT)
def _log(x):
    k, f = _log_reduce(x)
    return _log_poly(k, f)


@numba.njit(inline="always", **JIT)
def _log1p(u):
    """``ln(1 + u)`` for ``0 <= u <= 1``: the rounding error of ``1 + u`` goes back into f (k is 0 or 1)."""
    w = 1.0 + u
    k, f = _log_reduce(w)
    return _log_poly(k, f + (u - (w - 1.0)) * (1.0 - 0.5 * k))


@numba.njit(inline="always", **JIT)
def _decay(k, h):
    """Decay ``exp(-k h)`` and gain ``(1 - exp(-k h)) / k`` (``h`` for k = 0) of an exponential step."""
    return math.exp(-k * h), (-math.expm1(-k * h) / k if k > 0 else h)


@numba.njit(parallel=True, **JIT)
def run(z0, tab, beta, hbrep, dfol, ifi, age_c, renal, oral_ug, hydroxo_ug, cyano_ug, folic_mg, substeps, codes, out):
    """Advance every (draw, person); ``out`` (outputs, draws, people, days) is filled in place."""
    nd, n = beta.shape
    given = np.array([_nonzero(oral_ug), _nonzero(hydroxo_ug), _nonzero(cyano_ug), _nonzero(folic_mg)])
    # one write per 4 KiB makes a fresh ``out`` resident in order, much faster than in the blocks' scattered order
    for cell in numba.prange(nd * n):
        for o in range(out.shape[0]):
            for d in range(0, out.shape[3], 512):
                out[o, cell // n, cell % n, d] = 0.0
    for block in numba.prange((nd * n + LANES - 1) // LANES):
        _block(z0, tab, beta, hbrep, dfol, ifi, age_c, renal, oral_ug, hydroxo_ug, cyano_ug, folic_mg, given,
               substeps, codes, out, block * LANES)


@numba.njit(**JIT)
def _nonzero(a):
    """Whether any dose in ``a`` (people, days) is given."""
    for i in range(a.shape[0]):
        for d in range(a.shape[1]):
            if a[i, d] != 0:
                return True
    return False


@numba.njit(**JIT)
def _block(z0, tab, beta, hbrep, dfol, ifi, age_c, renal, oral_ug, hydroxo_ug, cyano_ug, folic_mg, given, substeps,
           codes, out, first):
    """Cells ``first .. first + LANES`` of the flattened (draw, person) grid (spare lanes repeat the last cell)."""
    nd, n = beta.shape
    days = out.shape[3]
    cells = np.minimum(np.arange(first, first + LANES), nd * n - 1)
    m = min(LANES, nd * n - first)
    h = 1.0 / substeps
    w = np.empty((N_ROW, LANES))
    for l in range(LANES):
        di, i = cells[l] // n, cells[l] % n
        for j in range(N_STATE):
            w[j, l] = z0[j, di, i]
        _lane_constants(w[:, l], tab[di], beta[di, i], hbrep[di, i], dfol[di, i], ifi[i], age_c[i], renal[i], h)
    volumes, nerves = (codes == CODE_MCV).any(), (codes == CODE_NN).any()
    doses = np.zeros((4, DAY_CHUNK, LANES))  # channels never given stay zero
    res = np.empty((codes.size, DAY_CHUNK, LANES))
    for d0 in range(0, days, DAY_CHUNK):
        nday = min(DAY_CHUNK, days - d0)
        if given[0]:
            _copy_in(oral_ug, doses[0], cells, n, d0, nday)
        if given[1]:
            _copy_in(hydroxo_ug, doses[1], cells, n, d0, nday)
        if given[2]:
            _copy_in(cyano_ug, doses[2], cells, n, d0, nday)
        if given[3]:
            _copy_in(folic_mg, doses[3], cells, n, d0, nday)
        for k in range(nday):
            for l in range(LANES):  # the day's absorbed cobalamin enters the recent pool
                oral, hyd, cya = doses[0, k, l], doses[1, k, l], doses[2, k, l]
                w[I_R, l] += (w[C_IF, l] * w[C_IFMAX, l] * oral / (oral + w[C_IFK, l]) + w[C_PASS, l] * oral
                              + w[C_RH, l] * hyd / (hyd + w[C_KH, l]) + w[C_RC, l] * cya / (cya + w[C_KC, l]))
                w[I_FA, l] += doses[3, k, l]
            for _ in range(substeps):
                _substep(w, h, volumes, nerves)
            for o in range(codes.size):
                _observe(w, codes[o], res[o, k])
        for o in range(codes.size):
            for l in range(m):
                di, i = cells[l] // n, cells[l] % n
                for k in range(nday):
                    out[o, di, i, d0 + k] = res[o, k, l]


@numba.njit(**JIT)
def _lane_constants(c, t, beta, hbrep, dfol, ifi, age_c, renal, h):
    """Fill the constant rows ``c`` of one lane from its draw's table row ``t`` and its person's values."""
    kp = t[KS] + t[KL]
    lam = t[LOSS] + (1.0 - ifi) * t[BILE]
    es, er = math.exp(-lam * h / 2), math.exp(-kp * h / 2)
    c[C_ES], c[C_ER] = es, er
    c[C_CG] = t[KS] * ((es - er) / (kp - lam) if abs(kp - lam) > 1e-12 else h / 2 * er)
    c[C_KFA], c[C_FATHR] = math.exp(-t[KFA] * h / 2), t[FATHR]
    c[C_NHXK], c[C_NH], c[C_INV_NH], c[C_DMED], c[C_BYPASS] = t[NH] * t[XK], t[NH], 1.0 / t[NH], t[DMED], t[BYPASS]
    c[C_DF] = max(0.0, dfol - t[DFMED]) * t[CFAH]
    c[C_DK], c[C_INV_DREF] = t[DK], 1.0 / max(t[DREF] - t[DK], 1e-3)
    c[C_INV_ONSET], c[C_REC] = 1.0 / t[ONSET], math.log(2.0) / t[REC]
    km, kq, kr, ka = math.log(2.0) / t[MH], N_DELAY / t[TM], 1.0 / t[TR], N_AGE / t[LIFE]
    dm, gm = _decay(km, h)
    dq, gq = _decay(kq, h)
    dr, gr = _decay(kr, h)
    da, ga = _decay(ka, h)
    c[C_DM], c[C_GM], c[C_DQ], c[C_GQ] = dm, gm * km, dq, gq * kq
    c[C_BETA], c[C_GAMMA], c[C_MCVN], c[C_MCVD] = beta, t[GAMMA], t[MCVN], t[MCVD]
    # production is exp(lnp - beta q - gamma ln Hb)
    c[C_LNP] = (1.0 + t[GAMMA]) * math.log(hbrep) - math.log(t[LIFE] + t[TR])
    c[C_DR], c[C_GR], c[C_KR], c[C_KA], c[C_DA], c[C_GA] = dr, gr, kr, ka, da, ga
    # ageing chain: new z_j = da z_j + c1 z_{j-1} + c2 z_{j-2}; the first two take the reticulocytes' part
    c[C_C1], c[C_C2] = 0.5 * ga * ka * (1.0 + da), 0.5 * (ga * ka) ** 2
    c[C_C1R], c[C_C0R] = 0.5 * ga * ga * ka * kr, 0.5 * ga * kr
    c[C_IF], c[C_IFMAX], c[C_IFK], c[C_PASS] = ifi, t[IFMAX], t[IFMAX] / t[IFF], t[PASS]
    c[C_RH], c[C_KH], c[C_RC], c[C_KC] = t[RH], t[KH], t[RC], t[KC]
    c[C_B12], c[C_W], c[C_T0], c[C_KT] = math.exp(t[B0]) / t[SMED], t[W], t[T0], t[KT]
    c[C_INV_SMED], c[C_WT] = 1.0 / t[SMED], t[W] * math.exp(t[T0] - t[B0])
    c[C_MMA], c[C_AM] = t[M0] + t[BMA] * age_c + t[BMR] * renal, t[AM]
    c[C_HCY], c[C_AH], c[C_HCYF] = t[H0] + t[BHA] * age_c + t[BHR] * renal, t[AH], t[CF] * dfol
    c[C_KW], c[C_THETA] = t[KW], t[THETA]
    hbsum, volsum = 0.0, 0.0
    for j in range(N_AGE):
        hbsum += c[I_AGE + j]
        volsum += c[I_AGEV + j]
    c[R_HBSUM], c[R_VOLSUM] = hbsum, volsum


@numba.njit(inline="always", **JIT)
def _copy_in(src, dst, cells, n, d0, nday):
    """Days ``d0 ..`` of ``src`` (people, days) for the lanes' people into ``dst`` (days, lanes)."""
    for l in range(LANES):
        i = cells[l] % n
        for k in range(nday):
            dst[k, l] = src[i, d0 + k]


@numba.njit(inline="always", **JIT)
def _substep(w, h, volumes, nerves):
    """One substep of every lane; each loop leaves its results in the work rows for the next."""
    for l in range(LANES):  # pools and folic acid at the midpoint (predictor) and end (corrector); ln Hb
        es, er, cg, kfa, thr = w[C_ES, l], w[C_ER, l], w[C_CG, l], w[C_KFA, l], w[C_FATHR, l]
        s, r, fa = w[I_S, l], w[I_R, l], w[I_FA, l]
        s, r, fa = s * es + cg * r, r * er, fa * kfa
        w[R_Z1, l], w[R_FE1, l] = w[C_NHXK, l] - w[C_NH, l] * _log(s + r), fa / (fa + thr)
        s, r, fa = s * es + cg * r, r * er, fa * kfa
        w[R_Z2, l], w[R_FE2, l] = w[C_NHXK, l] - w[C_NH, l] * _log(s + r), fa / (fa + thr)
        w[I_S, l], w[I_R, l], w[I_FA, l] = s, r, fa
        w[R_LHB, l] = _log(w[I_RET, l] + w[R_HBSUM, l])
    for l in range(LANES):  # production at the start; predicted reticulocytes and Hb
        w[R_U1, l], w[R_U2, l] = _exp(-abs(w[R_Z1, l])), _exp(-abs(w[R_Z2, l]))
        ret, hbsum = w[I_RET, l], w[R_HBSUM, l]
        p1 = _exp(w[C_LNP, l] - w[C_BETA, l] * w[I_Q + 2, l] - w[C_GAMMA, l] * w[R_LHB, l])
        tret = ret * w[C_DR, l] + p1 * w[C_GR, l]
        w[R_P1, l], w[R_RET0, l], w[R_TRET, l] = p1, ret, tret
        removed = w[C_KR, l] * ret + w[C_KA, l] * (hbsum - w[I_AGE + N_AGE - 1, l])
        w[R_THB, l] = tret + w[C_DA, l] * hbsum + w[C_GA, l] * removed
    for l in range(LANES):  # deficits; marker delay and nerve exposure; ln of the predicted Hb
        cst = w[C_INV_NH, l], w[C_DMED, l], w[C_BYPASS, l], w[C_DF, l], w[C_DK, l], w[C_INV_DREF, l]
        d1, dmar1, e1 = _drivers(w[R_Z1, l], w[R_U1, l], w[R_FE1, l], cst)
        d2, dmar2, e2 = _drivers(w[R_Z2, l], w[R_U2, l], w[R_FE2, l], cst)
        w[R_DMAR1, l], w[R_DMAR2, l] = dmar1, dmar2
        w[I_DL, l] = w[I_DL, l] * w[C_DM, l] + 0.5 * (d1 + d2) * w[C_GM, l]
        w[I_NX, l] += 0.5 * (e1 + e2) * h
        on = 0.5 * (e1 + e2) * w[C_INV_ONSET, l]
        w[R_ON, l], w[R_KNN, l] = on, on + (1.0 - 0.5 * (min(e1, 1.0) + min(e2, 1.0))) * w[C_REC, l]
        w[R_LHB, l] = _log(w[R_THB, l])
    for l in range(LANES):  # marrow delay chain, production at the predicted end, reticulocytes
        dq, gq = w[C_DQ, l], w[C_GQ, l]
        q0, q1, q2 = w[I_Q, l], w[I_Q + 1, l], w[I_Q + 2, l]
        tq0, tq1, tq2 = q0 * dq + w[R_DMAR1, l] * gq, q1 * dq + q0 * gq, q2 * dq + q1 * gq
        p2 = _exp(w[C_LNP, l] - w[C_BETA, l] * tq2 - w[C_GAMMA, l] * w[R_LHB, l])
        w[I_Q, l] = q0 * dq + 0.5 * (w[R_DMAR1, l] + w[R_DMAR2, l]) * gq
        w[I_Q + 1, l] = q1 * dq + 0.5 * (q0 + tq0) * gq
        w[I_Q + 2, l] = q2 * dq + 0.5 * (q1 + tq1) * gq
        w[I_RET, l] = w[R_RET0, l] * w[C_DR, l] + 0.5 * (w[R_P1, l] + p2) * w[C_GR, l]
        w[R_P2, l], w[R_Q2, l], w[R_TQ2, l] = p2, q2, tq2
    _ageing(w, I_AGE, R_RET0, R_TRET, R_HBSUM)
    if volumes:
        for l in range(LANES):  # volume of the new cells
            mcvn, mcvd, dr, gr = w[C_MCVN, l], w[C_MCVD, l], w[C_DR, l], w[C_GR, l]
            v1 = w[R_P1, l] * mcvn * _exp(mcvd * w[R_Q2, l])
            v2 = w[R_P2, l] * mcvn * _exp(mcvd * w[R_TQ2, l])
            vol = w[I_RETV, l]
            w[R_VOL0, l], w[R_TVOL, l] = vol, vol * dr + v1 * gr
            w[I_RETV, l] = vol * dr + 0.5 * (v1 + v2) * gr
        _ageing(w, I_AGEV, R_VOL0, R_TVOL, R_VOLSUM)
    if nerves:
        for l in range(LANES):
            k = w[R_KNN, l]
            w[I_NN, l] = w[I_NN, l] * _exp(-k * h) - w[R_ON, l] * _expm1(-k * h) / k


@numba.njit(inline="always", **JIT)
def _drivers(z, u, fa_eff, cst):
    """B12 deficit, marrow deficit and nerve exposure rate from ``z = n (x_k - ln S)``, ``u = exp(-|z|)`` and
    the folic-acid effect; ``cst``: the lane's 1/n, median deficit, bypass, folate deficit, D_k, 1/(D_ref - D_k)."""
    inv_nh, dmed, bypass, d_f, dk, inv_dref = cst
    d = (max(z, 0.0) + _log1p(u)) * inv_nh
    dmar = max(0.0, d - dmed) * (1.0 - bypass * fa_eff) + d_f * (1.0 - fa_eff)
    return d, dmar, max(0.0, d - dk) * inv_dref


@numba.njit(inline="always", **JIT)
def _ageing(w, first, r_in, r_trial, r_sum):
    """Step of the ageing chain in rows ``first ..`` fed by row ``r_in`` (predicted: ``r_trial``); sum in ``r_sum``."""
    for l in range(LANES):
        da, c1, c2 = w[C_DA, l], w[C_C1, l], w[C_C2, l]
        src, trial = w[r_in, l], w[r_trial, l]
        z2, z1 = w[first, l], w[first + 1, l]  # the old values of the two compartments before the next
        a0 = da * z2 + w[C_C0R, l] * (src + trial)
        a1 = da * z1 + c1 * z2 + w[C_C1R, l] * src
        w[first, l], w[first + 1, l] = a0, a1
        total = a0 + a1
        for j in range(first + 2, first + N_AGE):
            z0 = w[j, l]
            a = da * z0 + c1 * z1 + c2 * z2
            w[j, l] = a
            total += a
            z2, z1 = z1, z0
        w[r_sum, l] = total


@numba.njit(**JIT)
def _observe(w, code, v):
    """Output ``code`` (its index in engine.OUTPUTS) of every lane into ``v``."""
    if code == 0:
        for l in range(LANES):
            v[l] = w[I_S, l] + w[I_R, l]
    elif code == 1:
        for l in range(LANES):
            v[l] = w[C_B12, l] * (w[I_S, l] + w[I_R, l]) + w[C_W, l] * w[I_R, l]
    elif code == 2:
        for l in range(LANES):
            rel = (w[I_S, l] + w[I_R, l]) * w[C_INV_SMED, l]
            v[l] = _exp(w[C_T0, l] + w[C_KT, l] * _log(rel)) + w[C_WT, l] * w[I_R, l]
    elif code == 3:
        for l in range(LANES):
            v[l] = _exp(w[C_MMA, l] + w[C_AM, l] * w[I_DL, l])
    elif code == 4:
        for l in range(LANES):
            fa = w[I_FA, l]
            fa_eff = fa / (fa + w[C_FATHR, l])
            v[l] = _exp(w[C_HCY, l] + w[C_AH, l] * w[I_DL, l] + w[C_HCYF, l] * (1.0 - fa_eff))
    elif code == 5:
        for l in range(LANES):
            v[l] = w[I_RET, l] + w[R_HBSUM, l]
    elif code == CODE_MCV:
        for l in range(LANES):
            v[l] = (w[I_RETV, l] + w[R_VOLSUM, l]) / (w[I_RET, l] + w[R_HBSUM, l])
    elif code == 7:
        for l in range(LANES):
            v[l] = 100.0 * w[I_RET, l] / (w[I_RET, l] + w[R_HBSUM, l])
    elif code == CODE_NN:
        for l in range(LANES):
            v[l] = w[I_NN, l]
    else:
        for l in range(LANES):
            x, theta = w[I_NX, l], w[C_THETA, l]
            # no exposure gives 0; its stand-in x = theta keeps those lanes' arithmetic clear of subnormals
            p = -_expm1(-_exp(w[C_KW, l] * _log((x if x > 0 else theta) / theta)))
            v[l] = p if x > 0 else 0.0
