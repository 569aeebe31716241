"""Numba kernel behind :func:`b12sim.diagnosis.scoring.score_batch`.

Kept in its own module so that importing the scorer does not import numba; the
column constants mirror :mod:`b12sim.diagnosis.scoring`.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from b12sim.diagnosis.scoring import (
    AH, AM, BHA, BHR, BMA, BMR, BOFF, CF, DSHIFT, GA, H0, KT, M0, MUD, MUY, NH, PI0, PIA, SD_, SDB,
    SDF, SDH, SDM, SDT, SX, SY, TOFF, XK,
)


@numba.njit(cache=True, parallel=True, fastmath=False)
def kernel(obs, a, r, risks, tab, masks, ln_s_med, ln_fd, ln_fh, hx, hy, xmin, xmax, ymin, ymax, wsd):
    n, nd, ns = obs.shape[0], tab.shape[0], masks.shape[0]
    p_def = np.empty((n, nd))
    p_fol = np.empty((n, nd))
    ex = np.empty((n, nd))
    p_sub = np.zeros((n, ns))
    ly0 = math.floor((ymin - ln_fd) / hy)
    ly1 = math.ceil((ymax - ln_fd) / hy)
    nl = ly1 - ly0 + 1
    for i in numba.prange(n):
        o = obs[i]
        hb, ht, hm, hh, hf = (not math.isnan(o[0]), not math.isnan(o[1]), not math.isnan(o[2]),
                              not math.isnan(o[3]), not math.isnan(o[4]))
        y = np.empty(nl)
        fdy = np.empty(nl)
        indy = np.empty(nl)
        for l in range(nl):
            y[l] = ln_fd + hy * (ly0 + l)
            fdy[l] = math.log1p(math.exp(ln_fh - y[l])) if ln_fh - y[l] < 30 else ln_fh - y[l]
            indy[l] = 1.0 if ly0 + l < 0 else (0.5 if ly0 + l == 0 else 0.0)
        wy0 = np.empty(nl)
        wy1 = np.empty(nl)
        for d in range(nd):
            t = tab[d]
            xk = t[XK]
            # main-component mean and depleting probability
            mu = ln_s_med + t[GA] * a[i]
            keep = 1.0
            for k in range(3):
                mu += t[DSHIFT + k] * risks[i, k]
                keep *= 1.0 - t[DSHIFT + 3 + k] * risks[i, 3 + k]
            base = 1.0 / (1.0 + math.exp(-(t[PI0] + t[PIA] * a[i])))
            pi = 1.0 - (1.0 - base) * keep
            lpm = math.log1p(-pi) - math.log(t[SX]) if pi < 1.0 else -np.inf
            lpd = math.log(pi) - math.log(t[SD_]) if pi > 0.0 else -np.inf
            # x window
            lo, hi = xmin, xmax
            if hb:
                cb = o[0] - t[BOFF]
                lo, hi = max(lo, cb - wsd * t[SDB]), min(hi, cb + wsd * t[SDB])
            elif ht:
                ct = (o[1] - t[TOFF]) / t[KT]
                lo, hi = max(lo, ct - wsd * t[SDT] / t[KT]), min(hi, ct + wsd * t[SDT] / t[KT])
            j0 = math.floor((lo - xk) / hx)
            j1 = math.ceil((hi - xk) / hx)
            g = j1 - j0 + 1
            # folate weights: prior, and prior x folate likelihood
            m0 = -np.inf
            m1 = -np.inf
            for l in range(nl):
                v0 = -0.5 * ((y[l] - t[MUY]) / t[SY]) ** 2
                v1 = v0 - 0.5 * ((o[4] - y[l]) / t[SDF]) ** 2 if hf else v0
                wy0[l] = v0
                wy1[l] = v1
                m0 = max(m0, v0)
                m1 = max(m1, v1)
            s0 = 0.0
            s1 = 0.0
            for l in range(nl):
                wy0[l] = math.exp(wy0[l] - m0)
                wy1[l] = math.exp(wy1[l] - m1)
                s0 += wy0[l]
                s1 += wy1[l]
            for l in range(nl):
                wy0[l] /= s0
                wy1[l] /= s1
            llb = np.zeros(g)
            llt = np.zeros(g)
            llm = np.zeros(g)
            lh0 = np.zeros(g)
            lh1 = np.zeros(g)
            hf1 = np.zeros(g)
            lpx = np.empty(g)
            for jj in range(g):
                j = j0 + jj
                x = xk + hx * j
                zm = (x - mu) / t[SX]
                zd = (x - t[MUD]) / t[SD_]
                u, v = lpm - 0.5 * zm * zm, lpd - 0.5 * zd * zd
                lpx[jj] = max(u, v) + math.log1p(math.exp(-abs(u - v)))
                z = t[NH] * (-hx * j)
                dfx = (z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))) / t[NH]
                if hb:
                    e = (o[0] - t[BOFF] - x) / t[SDB]
                    llb[jj] = -0.5 * e * e
                if ht:
                    e = (o[1] - t[TOFF] - t[KT] * x) / t[SDT]
                    llt[jj] = -0.5 * e * e
                if hm:
                    e = (o[2] - t[M0] - t[BMA] * a[i] - t[BMR] * r[i] - t[AM] * dfx) / t[SDM]
                    llm[jj] = -0.5 * e * e
                if hh:
                    base_h = o[3] - t[H0] - t[BHA] * a[i] - t[BHR] * r[i] - t[AH] * dfx
                    acc0 = 0.0
                    acc1 = 0.0
                    accf = 0.0
                    for l in range(nl):
                        if wy0[l] < 1e-12 and wy1[l] < 1e-12:
                            continue
                        e = (base_h - t[CF] * fdy[l]) / t[SDH]
                        k = math.exp(-0.5 * e * e)
                        acc0 += wy0[l] * k
                        acc1 += wy1[l] * k
                        accf += wy1[l] * k * indy[l]
                    lh0[jj] = math.log(max(acc0, 1e-300))
                    lh1[jj] = math.log(max(acc1, 1e-300))
                    hf1[jj] = accf / max(acc1, 1e-300)
            for s in range(ns):
                mb = masks[s, 0] and hb
                mt = masks[s, 1] and ht
                mm = masks[s, 2] and hm
                mh = masks[s, 3] and hh
                mf = masks[s, 4] and hf
                top = -np.inf
                for jj in range(g):
                    v = lpx[jj]
                    if mb:
                        v += llb[jj]
                    if mt:
                        v += llt[jj]
                    if mm:
                        v += llm[jj]
                    if mh:
                        v += lh1[jj] if mf else lh0[jj]
                    top = max(top, v)
                z = 0.0
                zd = 0.0
                zx = 0.0
                zf = 0.0
                for jj in range(g):
                    j = j0 + jj
                    v = lpx[jj]
                    if mb:
                        v += llb[jj]
                    if mt:
                        v += llt[jj]
                    if mm:
                        v += llm[jj]
                    if mh:
                        v += lh1[jj] if mf else lh0[jj]
                    w = math.exp(v - top)
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
                        wsrc = wy1 if mf else wy0
                        acc = 0.0
                        for l in range(nl):
                            acc += wsrc[l] * indy[l]
                        p_fol[i, d] = acc
    return p_def, p_fol, ex, p_sub
