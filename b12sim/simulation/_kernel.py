"""Numba kernel behind :func:`b12sim.simulation.engine.run` for large runs.

The same equations and the same step as the numpy engine (exact pools at the
substep midpoint, exponential predictor-corrector for the other states), written
as scalar code per (draw, person) so that a cohort runs in parallel without
temporary arrays. Kept in its own module so that importing the engine does not
import numba; the tests hold it to the numpy engine at 1e-9.
"""

from __future__ import annotations

import math

import numba
import numpy as np

# columns of the per-draw parameter table (see engine._kernel_table)
(KS, KL, LOSS, BILE, KFA, FATHR, XK, NH, DMED, DFMED, CFAH, BYPASS, GAMMA, LIFE, TR, TM, MCVN, MCVD,
 MH, DK, DREF, ONSET, REC, B0, W, T0, KT, M0, BMA, BMR, AM, H0, BHA, BHR, AH, CF, THETA, KW,
 IFF, IFMAX, PASS, RH, KH, RC, KC, SMED) = range(46)
N_AGE, N_DELAY = 12, 3
I_S, I_R, I_FA, I_DL, I_Q, I_RET, I_RETV, I_AGE = 0, 1, 2, 3, 4, 7, 8, 9
I_AGEV = I_AGE + N_AGE
I_NX = I_AGEV + N_AGE
I_NN = I_NX + 1
N_STATE = I_NN + 1


@numba.njit(cache=True, inline="always", fastmath=True, error_model="numpy")
def _softplus(z):
    return z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))


@numba.njit(cache=True, fastmath=True, error_model="numpy")
def _rates(z, t, beta, hbrep, dfol, inflow, k):
    x = math.log(z[I_S] + z[I_R])
    d = _softplus(t[NH] * (t[XK] - x)) / t[NH]
    fa = z[I_FA] / (z[I_FA] + t[FATHR])
    d_b = max(0.0, d - t[DMED])
    d_f = max(0.0, dfol - t[DFMED]) * t[CFAH]
    dmar = d_b * (1.0 - t[BYPASS] * fa) + d_f * (1.0 - fa)
    kq = N_DELAY / t[TM]
    inflow[I_Q] = dmar * kq
    for j in range(1, N_DELAY):
        inflow[I_Q + j] = z[I_Q + j - 1] * kq
    for j in range(N_DELAY):
        k[I_Q + j] = kq
    hb = z[I_RET]
    for j in range(N_AGE):
        hb += z[I_AGE + j]
    q = z[I_Q + N_DELAY - 1]
    prod = math.exp(-beta * q) * hbrep / (t[LIFE] + t[TR]) * (hbrep / hb) ** t[GAMMA]
    kr = 1.0 / t[TR]
    ka = N_AGE / t[LIFE]
    inflow[I_RET] = prod
    inflow[I_RETV] = prod * t[MCVN] * math.exp(t[MCVD] * q)
    k[I_RET] = kr
    k[I_RETV] = kr
    inflow[I_AGE] = z[I_RET] * kr
    inflow[I_AGEV] = z[I_RETV] * kr
    for j in range(1, N_AGE):
        inflow[I_AGE + j] = z[I_AGE + j - 1] * ka
        inflow[I_AGEV + j] = z[I_AGEV + j - 1] * ka
    for j in range(N_AGE):
        k[I_AGE + j] = ka
        k[I_AGEV + j] = ka
    e = max(0.0, d - t[DK]) / max(t[DREF] - t[DK], 1e-3)
    inflow[I_NX] = e
    k[I_NX] = 0.0
    on = e / t[ONSET]
    inflow[I_NN] = on
    k[I_NN] = on + (1.0 - min(e, 1.0)) * math.log(2.0) / t[REC]
    km = math.log(2.0) / t[MH]
    inflow[I_DL] = d * km
    k[I_DL] = km


@numba.njit(cache=True, inline="always", fastmath=True, error_model="numpy")
def _exp_step(z, inflow, k, h):
    if k > 0:
        e = math.exp(-k * h)
        return z * e + inflow * (1.0 - e) / k
    return z + inflow * h


@numba.njit(cache=True, inline="always", fastmath=True, error_model="numpy")
def _pools(s, r, a, ks, kl, lam, dt):
    k = ks + kl
    r0 = r + a
    er, es = math.exp(-k * dt), math.exp(-lam * dt)
    gain = ks * r0 * ((es - er) / (k - lam) if abs(k - lam) > 1e-12 else dt * er)
    return s * es + gain, r0 * er


@numba.njit(cache=True, parallel=True, fastmath=True, error_model="numpy")
def run(z0, tab, beta, hbrep, dfol, ifi, age_c, renal, oral_ug, hydroxo_ug, cyano_ug, folic_mg, substeps, codes, out):
    """Advance every (draw, person); ``out`` (outputs, draws, people, days) is filled in place."""
    nd, n = beta.shape
    days = out.shape[3]
    h = 1.0 / substeps
    for flat in numba.prange(nd * n):
        di, i = flat // n, flat % n
        t = tab[di]
        z = z0[:, di, i].copy()
        old = np.empty(N_STATE)
        trial = np.empty(N_STATE)
        in1, k1 = np.zeros(N_STATE), np.zeros(N_STATE)
        in2, k2 = np.zeros(N_STATE), np.zeros(N_STATE)
        b, hr, df, fi = beta[di, i], hbrep[di, i], dfol[di, i], ifi[i]
        lam = t[LOSS] + (1.0 - fi) * t[BILE]
        efa = math.exp(-t[KFA] * h / 2)
        # every rate but the nerve-dysfunction one is constant: decay and gain once
        _rates(z, t, b, hr, df, in1, k1)
        dec, gn = np.empty(N_STATE), np.empty(N_STATE)
        for j in range(I_DL, N_STATE):
            dec[j] = math.exp(-k1[j] * h)
            gn[j] = (1.0 - dec[j]) / k1[j] if k1[j] > 0 else h
        for day in range(days):
            oral, hyd, cya = oral_ug[i, day], hydroxo_ug[i, day], cyano_ug[i, day]
            a = (fi * t[IFMAX] * oral / (oral + t[IFMAX] / t[IFF]) + t[PASS] * oral
                 + t[RH] * hyd / (hyd + t[KH]) + t[RC] * cya / (cya + t[KC]))
            z[I_FA] += folic_mg[i, day]
            for sub in range(substeps):
                z[I_S], z[I_R] = _pools(z[I_S], z[I_R], a if sub == 0 else 0.0, t[KS], t[KL], lam, h / 2)
                z[I_FA] *= efa
                _rates(z, t, b, hr, df, in1, k1)
                z[I_S], z[I_R] = _pools(z[I_S], z[I_R], 0.0, t[KS], t[KL], lam, h / 2)
                z[I_FA] *= efa
                for j in range(N_STATE):
                    old[j] = z[j]
                    trial[j] = z[j]
                for j in range(I_DL, I_NN):
                    trial[j] = z[j] * dec[j] + in1[j] * gn[j]
                trial[I_NN] = _exp_step(z[I_NN], in1[I_NN], k1[I_NN], h)
                _rates(trial, t, b, hr, df, in2, k2)
                for j in range(I_DL, I_NN):
                    z[j] = old[j] * dec[j] + 0.5 * (in1[j] + in2[j]) * gn[j]
                z[I_NN] = _exp_step(old[I_NN], 0.5 * (in1[I_NN] + in2[I_NN]), 0.5 * (k1[I_NN] + k2[I_NN]), h)
            tot = z[I_S] + z[I_R]
            hb = z[I_RET]
            vol = z[I_RETV]
            for j in range(N_AGE):
                hb += z[I_AGE + j]
                vol += z[I_AGEV + j]
            for o in range(codes.size):
                c = codes[o]
                if c == 0:
                    v = tot
                elif c == 1:
                    v = math.exp(t[B0]) * tot / t[SMED] + t[W] * z[I_R]
                elif c == 2:
                    v = math.exp(t[T0]) * (tot / t[SMED]) ** t[KT] + t[W] * math.exp(t[T0] - t[B0]) * z[I_R]
                elif c == 3:
                    v = math.exp(t[M0] + t[BMA] * age_c[i] + t[BMR] * renal[i] + t[AM] * z[I_DL])
                elif c == 4:
                    fa = z[I_FA] / (z[I_FA] + t[FATHR])
                    v = math.exp(t[H0] + t[BHA] * age_c[i] + t[BHR] * renal[i] + t[AH] * z[I_DL]
                                 + t[CF] * df * (1.0 - fa))
                elif c == 5:
                    v = hb
                elif c == 6:
                    v = vol / hb
                elif c == 7:
                    v = 100.0 * z[I_RET] / hb
                elif c == 8:
                    v = z[I_NN]
                else:
                    v = -math.expm1(-(max(z[I_NX], 0.0) / t[THETA]) ** t[KW])
                out[o, di, i, day] = v
