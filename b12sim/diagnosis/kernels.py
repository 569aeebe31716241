"""The fused numba kernels of :func:`b12sim.diagnosis.scoring.score_batch`, parallel over patients.

* :func:`closed_batch`: the closed form for patients without MMA and tHcy.
* :func:`grid_batch`: the quadrature for the others, evaluating only the nodes that can
  weigh within ``e^-CUT`` of the heaviest one (bounds in :func:`_kernel`); it agrees with
  :func:`b12sim.diagnosis.scoring.score_grid` to about 1e-9.

The kernels call the marker equations of :mod:`b12sim.physiology.markers`, compiled inline
(:data:`EQ`), and read each draw's parameters by name from the records of
:mod:`b12sim.diagnosis.tables`. numba is imported on first use (:func:`_jit`), so importing
this module does not import it; compiled kernels are cached on disk.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from b12sim.diagnosis.tables import B, F, HCY, M, T, below, folate_grid, update_record
from b12sim.physiology import backend, grids
from b12sim.physiology import markers as mk

EQ = None  # the equations compiled for numba (backend.numba()), bound by _jit on first use
CUT = 20.0  # nodes (store or folate) with log-weight below the top minus CUT are dropped (< e^-20 each)
FASTMATH = {"reassoc", "contract"}  # reassociation lets the kernel's sums vectorise
# erfcx(u) = e^(u^2) erfc(u) for u >= 0 as a polynomial in t = (u - 3) / (u + 3): the degree-18
# least-squares Chebyshev fit at 72 Chebyshev nodes of scipy.special.erfcx, in powers of t (coefficients
# below 0.33, so no cancellation); erfc = e^(-u^2) erfcx is then within 5e-15 of the exact value
_ERFCX_K = 3.0
_ERFCX = (0.17900115118139687, -0.3262335600431929, 0.24560380171091825, -0.15011593649147748,
          0.07166583724505053, -0.024392499480652714, 0.004269135721383078, 0.0007077477187193266,
          -0.0005970578957533735, 4.524984839958796e-05, 6.404102079091487e-05, -1.2847010704459758e-05,
          -7.941484124880191e-06, 2.100330652950712e-06, 1.197969547705436e-06, -2.7797269747988253e-07,
          -1.838021910251892e-07, 2.310096143843138e-08, 1.8332987868537498e-08)


def closed_batch(rows, obs, a, risks, tab, c: mk.Constants, masks, out):
    """Fill rows ``rows`` of the results ``out`` in closed form with the closed-form kernel
    (``tab``: :func:`~b12sim.diagnosis.tables.draw_record`)."""
    _compiled(_closed_kernel)(rows, obs, a, risks, tab, update_record(tab), masks, c.ln_s_med, c.ln_fol_def, *out)


def grid_batch(rows, obs, a, r, risks, tab, c: mk.Constants, masks, out):
    """Fill rows ``rows`` of the results ``out`` by quadrature with the grid kernel."""
    j0s, j1s = grids.aligned(tab["x_k"], grids.H_X, grids.X_MIN, grids.X_MAX)
    j = j0s[:, None] + np.arange(int((j1s - j0s).max()) + 1)[None, :]
    y, indy, fdy = folate_grid(c)
    f = np.ascontiguousarray
    _compiled(_kernel)(rows, obs, a, r, risks, tab, update_record(tab), masks, j0s, f(below(j)), f(y), f(fdy),
                       f(indy), c.ln_s_med, c.ln_fol_def, grids.H_X, CUT, *out)


@functools.cache
def _jit():
    """Import numba, bind :data:`EQ` and rebind the kernels' helpers to their compiled (inlined)
    versions; returns numba.

    Called on first use, so that importing this module does not import numba.
    """
    global numba, EQ, _exp_neg, _erfc, _hcy_block, _window
    import numba

    EQ = backend.numba()
    _exp_neg = numba.njit(inline="always", fastmath=FASTMATH)(_exp_neg)
    _erfc = numba.njit(inline="always", fastmath=FASTMATH)(_erfc)
    _hcy_block = numba.njit(fastmath=FASTMATH)(_hcy_block)
    _window = numba.njit(inline="always")(_window)
    return numba


@functools.cache
def _compiled(fn):
    """Kernel ``fn`` (:func:`_kernel`, :func:`_closed_kernel`), compiled on first use."""
    _jit()
    return backend.kernel(fn, parallel=True, fastmath=FASTMATH)


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


def _closed_kernel(rows, obs, a, risks, tab, upd, masks, ln_s_med, ln_fol_def, p_def, p_fol, ex, p_sub):
    """Body of :func:`closed_batch`, parallel over the patients ``rows``.

    Per draw the depleting component's posterior weight is ``1 / (1 + e^-lo)``, ``lo`` its prior
    log-odds plus the difference of the components' log evidence; P(deficient) is each
    component's posterior normal CDF at ``x_k``, mixed with those weights. The loops over draws
    are branch-free (:func:`_erfc`, :func:`_exp_neg`) and read the records' fields as contiguous
    columns, so that they vectorise.
    """
    nd, ns = tab.shape[0], masks.shape[0]
    col = np.ascontiguousarray
    x_k, mu_d, gamma_age, pi0, pi_age = col(tab.x_k), col(tab.mu_d), col(tab.gamma_age), col(tab.pi0), col(tab.pi_age)
    b_x0, t_x0 = col(tab.b_x0), col(tab.t_x0)
    d_vegan, d_metformin, d_ppi = col(tab.delta_vegan), col(tab.delta_metformin), col(tab.delta_ppi)
    p_pa, p_ir, p_bar = col(tab.p_pernicious_anaemia), col(tab.p_ileal_resection), col(tab.p_bariatric)
    mu_y, f_p, f_v, f_r, p_fol0 = col(tab.mu_y), col(tab.f_p), col(tab.f_v), col(tab.f_r), col(tab.p_fol0)
    u_wb, u_wt = col(upd.wb), col(upd.wt)
    u_prec, u_v_m, u_v_d, u_l_m, u_l_d = col(upd.prec), col(upd.v_m), col(upd.v_d), col(upd.l_m), col(upd.l_d)
    u_k_m, u_k_d, u_r_m, u_r_d = col(upd.k_m), col(upd.k_d), col(upd.r_m), col(upd.r_d)
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
            mu[d] = EQ.store_mean(a[i], risks[i, 0], risks[i, 1], risks[i, 2], ln_s_med, gamma_age[d], d_vegan[d],
                                  d_metformin[d], d_ppi[d])
            lo0[d] = EQ.depleting_base_logit(a[i], pi0[d], pi_age[d])
        if risks[i, 3] + risks[i, 4] + risks[i, 5] != 0.0:  # a named cause raises P(depleting)
            for d in range(nd):
                lo0[d] = EQ.depleting_logit(lo0[d], EQ.cause_free(risks[i, 3], risks[i, 4], risks[i, 5], p_pa[d],
                                                                  p_ir[d], p_bar[d]))
        scratch = np.empty((2, nd))  # per-draw results of the subsets other than row 0 (not returned)
        for k in range(4):
            if not (keys == k).any():
                continue
            wb, wt = u_wb[k], u_wt[k]  # 0 for a marker not in the set
            pk, ek = (p_def[i], ex[i]) if k == keys[0] else (scratch[0], scratch[1])
            prec, v_m, v_d, l_m, l_d = u_prec[k], u_v_m[k], u_v_d[k], u_l_m[k], u_l_d[k]
            k_m, k_d, r_m, r_d = u_k_m[k], u_k_d[k], u_r_m[k], u_r_d[k]
            acc = 0.0
            for d in range(nd):
                h = (ob - b_x0[d]) * wb[d] + (ot - t_x0[d]) * wt[d]
                mm = EQ.posterior_mean(mu[d], h, prec[d], v_m[d])
                md = EQ.posterior_mean(mu_d[d], h, prec[d], v_d[d])
                lo = (lo0[d] + EQ.log_evidence(mu_d[d], h, prec[d], l_d[d], k_d[d])
                      - EQ.log_evidence(mu[d], h, prec[d], l_m[d], k_m[d]))
                e = _exp_neg(-abs(lo))
                wd = 1.0 / (1.0 + e) if lo >= 0.0 else e / (1.0 + e)
                pd = 0.5 * ((1.0 - wd) * _erfc((mm - x_k[d]) * r_m[d]) + wd * _erfc((md - x_k[d]) * r_d[d]))
                acc += pd
                pk[d] = pd
                ek[d] = mm + wd * (md - mm)
            for s in range(ns):
                if keys[s] == k:
                    p_sub[i, s] = acc / nd
        if masks[0, F] and not math.isnan(o[F]):
            for d in range(nd):
                my = EQ.posterior_mean(mu_y[d], o[F] * f_p[d], f_p[d], f_v[d])
                p_fol[i, d] = 0.5 * _erfc((my - ln_fol_def) * f_r[d])
        else:
            p_fol[i] = p_fol0


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


def _hcy_block(lh, hf, ja, jb, la, lb, oh, ai, ri, t, dfx, lwy, fdy, indy, top, s0, sf):
    """The tHcy log-likelihood ``lh`` and the share ``hf`` of it from folate-deficient folate
    nodes, at the store nodes ``[ja, jb)``, summed over the folate nodes ``[la, lb)``.

    ``oh``: the ln tHcy result; ``ai``, ``ri``: centred age and renal term; ``t``: the draw's
    record; store node j has B12 deficit ``dfx[j]``, folate node l folate deficit ``fdy[l]``
    and normalised log-weight ``lwy[l]``. The inner loops run over store nodes, on views
    starting at 0 (no negative-index handling), so that they vectorise; ``top``, ``s0``,
    ``sf`` are scratch arrays.
    """
    n = jb - ja
    u, tp, z, zf = dfx[ja:jb], top[ja:jb], s0[ja:jb], sf[ja:jb]
    h0, bh_age, bh_renal, a_h, c_f, ish = t.h0, t.bh_age, t.bh_renal, t.a_h, t.c_f, t.h_isd
    for j in range(n):
        tp[j] = -np.inf
        z[j] = 0.0
        zf[j] = 0.0
    for l in range(la, lb):
        fl = fdy[l]
        w = lwy[l]
        for j in range(n):
            e = (oh - EQ.log_hcy(u[j], fl, ai, ri, h0, bh_age, bh_renal, a_h, c_f)) * ish
            tp[j] = max(tp[j], w - 0.5 * e * e)
    for l in range(la, lb):
        fl = fdy[l]
        w = lwy[l]
        f = indy[l]
        for j in range(n):
            e = (oh - EQ.log_hcy(u[j], fl, ai, ri, h0, bh_age, bh_renal, a_h, c_f)) * ish
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


def _kernel(rows, obs, a, r, risks, tab, upd, masks, j0s, indx_tab, y, fdy, indy, ln_s_med, ln_fol_def, hx, cut,
            p_def, p_fol, ex, p_sub):
    """Body of :func:`grid_batch`, parallel over the patients ``rows``.

    Per (patient, draw, subset of markers) each prior component times the B12 and holoTC
    likelihood is a normal in ``x`` (mean ``mc``, precision ``qc``, log height ``pk``: the
    conjugate update of the closed form, :func:`markers.posterior_mean`, :func:`markers.log_evidence`);
    the MMA and tHcy terms are at most 0 in log, so a component's nodes further than
    ``sqrt(2 (pk - lb + cut) / qc)`` from ``mc`` weigh less than ``e^-cut`` of the heaviest
    node, ``lb`` being a lower bound of that node's log-weight (the best of the nodes nearest
    each ``mc``). Only the nodes inside those windows are evaluated. The tHcy likelihood, a
    sum over latent-folate nodes, is computed only there (after trimming the windows' ends by
    the MMA term), over the folate nodes whose normal log-weight plus the store side's peak
    reaches ``lb - cut``. Without tHcy, P(folate deficient) is the normal CDF of the latent
    folate's conjugate posterior.
    """
    nd, ns, nl = tab.shape[0], masks.shape[0], y.shape[0]
    gmax = indx_tab.shape[1]
    hy = y[1] - y[0]
    rcut = math.sqrt(2.0 * cut)
    dfx_tab = np.empty((nd, gmax))  # B12 deficit at store node jj of draw d: x = x_k + hx * (j0s[d] + jj)
    for d in range(nd):
        t = tab[d]
        for jj in range(gmax):
            dfx_tab[d, jj] = EQ.deficit(t.x_k + hx * (j0s[d] + jj), t.x_k, t.n_hinge)
    for ii in numba.prange(rows.size):
        i = rows[ii]
        o = obs[i]
        hb, ht, hm, hh, hf = (not math.isnan(o[B]), not math.isnan(o[T]), not math.isnan(o[M]),
                              not math.isnan(o[HCY]), not math.isnan(o[F]))
        ob, ot, om, oh = o[B] if hb else 0.0, o[T] if ht else 0.0, o[M] if hm else 0.0, o[HCY] if hh else 0.0
        causes = risks[i, 3] + risks[i, 4] + risks[i, 5] != 0.0
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
            xk = t.x_k
            jlo = j0s[d]  # store node jj (a table column) is x = x_k + hx * (jlo + jj)
            mu = EQ.store_mean(a[i], risks[i, 0], risks[i, 1], risks[i, 2], ln_s_med, t.gamma_age, t.delta_vegan,
                               t.delta_metformin, t.delta_ppi)
            lo = EQ.depleting_base_logit(a[i], t.pi0, t.pi_age)
            if causes:
                lo = EQ.depleting_logit(lo, EQ.cause_free(risks[i, 3], risks[i, 4], risks[i, 5], t.p_pernicious_anaemia,
                                                          t.p_ileal_resection, t.p_bariatric))
            lwc0, lwc1 = EQ.component_log_weights(lo)
            kmi = 1.0 / EQ.total_sd(t.m_within, EQ.mma_between_sd(a[i], r[i], t.s_m, t.sm_age, t.sm_renal))  # MMA
            # latent folate: prior (0) and given the folate result (1), mean and SD
            my0, sy0 = t.mu_y, t.sigma_y
            my1, sy1 = (EQ.posterior_mean(my0, o[F] * t.f_p, t.f_p, t.f_v), t.f_sd) if hf else (my0, sy0)
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
                    _hcy_block(lh[q], hfr[q], 0, gmax, 0, nl, oh, a[i], r[i], t, dfx_tab[d], lwy[q], fdy, indy,
                               scratch[0], scratch[1], scratch[2])
            for s in range(ns):
                fb = 1.0 if masks[s, B] and hb else 0.0
                ft = 1.0 if masks[s, T] and ht else 0.0
                fm = 1.0 if masks[s, M] and hm else 0.0
                mh = masks[s, HCY] and hh
                q = 1 if hf and masks[s, F] else 0
                u = upd[(1 if fb else 0) + (2 if ft else 0), d]
                h = (ob - t.b_x0) * u.wb + (ot - t.t_x0) * u.wt  # weights 0 for a marker not in the set
                lb_ = -np.inf
                for c in range(2):
                    m0, var, l0, k0, lq, lwc, qc[c] = ((mu, u.v_m, u.l_m, u.k_m, u.lq_m, lwc0, u.q_m) if c == 0 else
                                                       (t.mu_d, u.v_d, u.l_d, u.k_d, u.lq_d, lwc1, u.q_d))
                    mc[c] = EQ.posterior_mean(m0, h, u.prec, var)
                    pk[c] = lwc + EQ.log_evidence(m0, h, u.prec, l0, k0) + lq
                    jj = min(max(int(round((mc[c] - xk) / hx)) - jlo, 0), gmax - 1)
                    e = (xk + hx * (jlo + jj) - mc[c])
                    v = pk[c] - 0.5 * qc[c] * e * e
                    v += fm * EQ.mma_log_lik(om, EQ.log_mma(dfx_tab[d, jj], a[i], r[i], t.m0, t.bm_age, t.bm_renal,
                                                            t.a_m), kmi)
                    if mh:
                        if ns == 1:  # a lower bound of it: folate nodes within rcut SDs of their mean
                            la, lb = _window(ym[q], ys[q] * rcut, y[0], hy, nl)
                            _hcy_block(lh[q], hfr[q], jj, jj + 1, la, lb, oh, a[i], r[i], t, dfx_tab[d], lwy[q], fdy,
                                       indy, scratch[0], scratch[1], scratch[2])
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
                                f = EQ.mma_log_lik(om, EQ.log_mma(dfx_tab[d, jj], a[i], r[i], t.m0, t.bm_age,
                                                                  t.bm_renal, t.a_m), kmi)
                                if pk[c] - 0.5 * qc[c] * e * e + f >= lb_ - cut:
                                    break
                                wr[c, end] += 1 - 2 * end
                        if wr[c, 1] > wr[c, 0]:
                            ua, ub = min(ua, wr[c, 0]), max(ub, wr[c, 1])
                if mh:
                    if ns == 1:  # folate nodes that can weigh within cut of the top: their normal's log-weight
                        # plus the store side's peak (the tHcy and MMA terms are at most 0) must reach lb_ - cut
                        gap = ytop[q] + max(pk[0], pk[1]) - lb_ + cut
                        la, lb = _window(ym[q], ys[q] * math.sqrt(2.0 * max(gap, 0.0)), y[0], hy, nl)
                        _hcy_block(lh[q], hfr[q], ua, ub, la, lb, oh, a[i], r[i], t, dfx_tab[d], lwy[q], fdy, indy,
                                   scratch[0], scratch[1], scratch[2])
                # node loops on views starting at 0 (no negative-index handling), so that they vectorise
                n = ub - ua
                dv, sv, wv, iv, hv = dfx_tab[d, ua:ub], sh[ua:ub], wb[ua:ub], indx_tab[d, ua:ub], hfr[q, ua:ub]
                lv = lh[q, ua:ub]
                fh = 1.0 if mh else 0.0
                ai, ri, m0_, bma, bmr, am = a[i], r[i], t.m0, t.bm_age, t.bm_renal, t.a_m
                for k in range(n):
                    sv[k] = fh * lv[k] + fm * EQ.mma_log_lik(om, EQ.log_mma(dv[k], ai, ri, m0_, bma, bmr, am), kmi)
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
                        p_fol[i, d] = 0.5 * _erfc((my1 - ln_fol_def) * t.f_r)
                    else:
                        p_fol[i, d] = t.p_fol0
