"""Numba kernel behind :func:`b12sim.diagnosis.scoring.score_batch`.

Kept in its own module so that importing the scorer does not import numba; the
column constants mirror :mod:`b12sim.diagnosis.scoring`. Per-draw quantities that do
not depend on the patient (the deficit and the depleting-component density on the
aligned store grid, the prior folate weights) come in precomputed.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from b12sim.diagnosis.scoring import (
    AH, AM, BHA, BHR, BMA, BMR, BOFF, CF, DSHIFT, GA, H0, KT, M0, MUY, PI0, PIA, SDB, SDF, SDH, SDM,
    SDT, SX, SY, TOFF, XK,
)

SPAN_SD = 10.0  # folate weights beyond this many SDs of their mean are dropped (< e^-50)


@numba.njit(cache=True, parallel=True)
def kernel(obs, a, r, risks, tab, masks, j0s, dfx_tab, ldep_tab, wy0_tab, y, fdy, indy, ln_s_med, hx, hy,
           ln_fd, wsd):
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
        need0 = hh and (ns > 1 or not hf)  # tHcy integral under the folate prior alone
        llx = np.empty((4, gmax))  # B12, holoTC, MMA, tHcy-with-folate log-likelihoods
        lh0 = np.empty(gmax)
        hf1 = np.empty(gmax)
        lmain = np.empty(gmax)
        vsum = np.empty(gmax)  # log-likelihood of the current sub-model per store node
        wy1 = np.empty(nl)
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
            # store grid: x_j = x_k + hx*j for j in [jlo, jhi]; table column c = j - j0s[d]
            jlo = j0s[d]
            jhi = j0s[d] + gmax - 1
            if ns == 1 and hb:
                cb = o[0] - t[BOFF]
                jlo = max(jlo, math.floor((cb - wsd * t[SDB] - xk) / hx))
                jhi = min(jhi, math.ceil((cb + wsd * t[SDB] - xk) / hx))
            elif ns == 1 and ht:
                ct = (o[1] - t[TOFF]) / t[KT]
                jlo = max(jlo, math.floor((ct - wsd * t[SDT] / t[KT] - xk) / hx))
                jhi = min(jhi, math.ceil((ct + wsd * t[SDT] / t[KT] - xk) / hx))
            g = max(jhi - jlo + 1, 1)
            c0 = jlo - j0s[d]
            # folate weights given the folate result (a normal in y), on the aligned y grid
            l1a, l1b = 0, nl
            if hf:
                prec = 1.0 / t[SY] ** 2 + 1.0 / t[SDF] ** 2
                my = (t[MUY] / t[SY] ** 2 + o[4] / t[SDF] ** 2) / prec
                sy = 1.0 / math.sqrt(prec)
                l1a = max(0, math.floor((my - SPAN_SD * sy - y[0]) / hy))
                l1b = min(nl, math.ceil((my + SPAN_SD * sy - y[0]) / hy) + 1)
                s1 = 0.0
                for l in range(l1a, l1b):
                    e = (y[l] - my) / sy
                    wy1[l] = math.exp(-0.5 * e * e)
                    s1 += wy1[l]
                for l in range(l1a, l1b):
                    wy1[l] /= s1
            w0 = wy0_tab[d]
            for jj in range(g):
                c = c0 + jj
                x = xk + hx * (jlo + jj)
                zm = (x - mu) / t[SX]
                lmain[jj] = lpm - 0.5 * zm * zm
                dfx = dfx_tab[d, c]
                if hb:
                    e = (o[0] - t[BOFF] - x) / t[SDB]
                    llx[0, jj] = -0.5 * e * e
                if ht:
                    e = (o[1] - t[TOFF] - t[KT] * x) / t[SDT]
                    llx[1, jj] = -0.5 * e * e
                if hm:
                    e = (o[2] - t[M0] - t[BMA] * a[i] - t[BMR] * r[i] - t[AM] * dfx) / t[SDM]
                    llx[2, jj] = -0.5 * e * e
                if hh:
                    base_h = o[3] - t[H0] - t[BHA] * a[i] - t[BHR] * r[i] - t[AH] * dfx
                    if hf:
                        acc1 = 0.0
                        accf = 0.0
                        for l in range(l1a, l1b):
                            e = (base_h - t[CF] * fdy[l]) / t[SDH]
                            k = wy1[l] * math.exp(-0.5 * e * e)
                            acc1 += k
                            accf += k * indy[l]
                        llx[3, jj] = math.log(max(acc1, 1e-300))
                        hf1[jj] = accf / max(acc1, 1e-300)
                    if need0:
                        acc0 = 0.0
                        accf = 0.0
                        for l in range(nl):
                            if w0[l] > 0.0:
                                e = (base_h - t[CF] * fdy[l]) / t[SDH]
                                k = w0[l] * math.exp(-0.5 * e * e)
                                acc0 += k
                                accf += k * indy[l]
                        lh0[jj] = math.log(max(acc0, 1e-300))
                        if not hf:
                            llx[3, jj] = lh0[jj]
                            hf1[jj] = accf / max(acc0, 1e-300)
            for s in range(ns):
                mb = masks[s, 0] and hb
                mt = masks[s, 1] and ht
                mm = masks[s, 2] and hm
                mh = masks[s, 3] and hh
                use1 = masks[s, 4] or not hf  # tHcy term with the folate result
                top = -np.inf
                for jj in range(g):
                    v = 0.0
                    if mb:
                        v += llx[0, jj]
                    if mt:
                        v += llx[1, jj]
                    if mm:
                        v += llx[2, jj]
                    if mh:
                        v += llx[3, jj] if use1 else lh0[jj]
                    vsum[jj] = v
                    top = max(top, v + max(lmain[jj], lpd + ldep_tab[d, c0 + jj]))
                z = 0.0
                zd = 0.0
                zx = 0.0
                zf = 0.0
                for jj in range(g):
                    j = jlo + jj
                    v = vsum[jj]
                    w = math.exp(v + lmain[jj] - top) + math.exp(v + lpd + ldep_tab[d, c0 + jj] - top)
                    z += w
                    if j < 0:
                        zd += w
                    elif j == 0:
                        zd += 0.5 * w
                    if s == 0:
                        zx += w * (xk + hx * j)
                        if mh:
                            zf += w * hf1[jj]
                pd = zd / z
                p_sub[i, s] += pd / nd
                if s == 0:
                    p_def[i, d] = pd
                    ex[i, d] = zx / z
                    if mh:
                        p_fol[i, d] = zf / z
                    else:
                        acc = 0.0
                        if hf:
                            for l in range(l1a, l1b):
                                acc += wy1[l] * indy[l]
                        else:
                            for l in range(nl):
                                acc += w0[l] * indy[l]
                        p_fol[i, d] = acc
    return p_def, p_fol, ex, p_sub
