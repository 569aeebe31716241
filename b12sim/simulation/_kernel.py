"""Numba kernel behind :func:`b12sim.simulation.engine.run` for large runs.

The same equations and the same step as the numpy engine (exact pools; the other
states' exponential predictor-corrector with the rates at the pools' substep
midpoint and at the predicted end), arranged for speed; the results differ from
the engine's by rounding only (the tests hold them to 1e-9). Every physiological
equation is the one of :mod:`b12sim.physiology`, compiled inline (``EQ``), and
every value is read by name: the draws' parameters from a record per draw
(:data:`PARAMS`, built with :func:`b12sim.physiology.backend.record`), each
(draw, person) cell's day-0 state and person from a record per cell (:data:`CELL`).

* the flattened cells advance in blocks of :data:`LANES`, one block per parallel
  task, each lane's states, constants and intermediate values in a column of a
  named field of one work record (:data:`WORK`), so that the loops over a block
  compile to SIMD instructions with the branch-free ``exp`` and ``log`` of
  :mod:`b12sim.physiology.fastmath`; each loop evaluates a few independent ones so
  that the processor overlaps lanes; a block copies its doses in and its outputs
  out a chunk of days at a time;
* whatever is fixed per lane (the pools' exact half-substep, the other states'
  decays and gains, the deficits of the replete person, the scale of red-cell
  production, the nerve chain's rates) is computed once, by the shared equations;
* the states whose rates depend on the pools only (marker delay) need no predictor;
  the nerve chain takes one step a day at the day's mean exposure (as the engine);
  the red-cell ageing chain's step is linear
  with constant coefficients, so each compartment's new value is a fixed
  combination of itself and the two before it, and the predicted Hb follows from
  the chain's sum;
* states that feed no requested output are not advanced (cell volumes without
  ``mcv``, the nerve chain without a nerve output), and dose channels
  never given are not read (without folic acid, its effect stays 0).

Kept in its own module so that importing the engine does not import numba.
"""

from __future__ import annotations

import numba
import numpy as np

from b12sim.physiology import backend, fastmath, neurology
from b12sim.physiology.fastmath import exp, log
from b12sim.physiology.haematology import N_AGE, N_DELAY
from b12sim.physiology.neurology import N_NERVE

EQ = backend.numba()
LANES = 32  # (draw, person) cells per block: a multiple of the SIMD width; the work record stays in L1
DAY_CHUNK = 32  # days of doses and outputs a block copies in and out at a time
OUTPUTS = ("stores_ug", "b12", "holotc", "mma", "hcy", "hb", "mcv", "reticulocytes",
           *neurology.OUTPUTS)  # in the order of _observe's codes
NERVE_CODE = OUTPUTS.index(neurology.OUTPUTS[0])  # the first of the nerve outputs
PARAMS = (  # fields of the per-draw record
    "loss_per_day", "biliary_reabsorbed", "biliary_ug_per_day", "store_median_ug", "recent_per_day", "spill_ug",
    "if_fraction", "if_max_ug", "passive_fraction", "spill_hydroxo_ug", "spill_cyano_ug", "folic_acid_halflife_days",
    "folic_acid_threshold_mg", "folic_acid_bypass",
    "x_k", "n_hinge", "mu_d", "mu_y", "ln_s_med", "ln_fol_hinge", "a_h", "c_f", "marrow_delay_days",
    "reticulocyte_days", "rbc_lifespan_days", "epo_exponent", "mcv_normal_fl", "mcv_per_deficit",
    "marker_halflife_days", "neuro_onset_days", "neuro_progress_days", "neuro_fixation_days",
    "neuro_recovery_halflife_days", "neuro_depth_power", "b0", "t0", "kappa_t", "serum_per_ug_recent", "m0", "bm_age",
    "bm_renal", "a_m", "h0", "bh_age", "bh_renal",
)
STATE = (("s", ()), ("r", ()), ("fa", ()), ("dl", ()), ("q", (N_DELAY,)), ("ret", ()), ("ret_vol", ()),
         ("age", (N_AGE,)), ("age_vol", (N_AGE,)), ("nerve", (N_NERVE,)))  # as engine.initial_state
CELL = np.dtype([(k, "f8", shape) for k, shape in STATE]
                + [(k, "f8") for k in ("dfol", "marrow_sensitivity", "hb_replete", "if_intact", "food", "usual", "a",
                                       "renal", "nerve_s", "marrow_s")])
LANE = (  # per lane, besides its states
    # fixed: the pools' and folic acid's half-substep; anchors of the deficits; nerve rates
    "e_s", "e_r", "gain", "fa_left", "folic_acid_threshold_mg", "x_k", "n_hinge", "d_replete", "dfol",
    "d_folate_marrow", "folic_acid_bypass", "a_h", "c_f", "d_k", "per_deficit", "depth_power", "nerve_s", "marrow_s",
    "onset_rate", "progress_rate", "fixation_rate", "recovery_rate",
    # fixed: decays and gains of the substep (marker delay, marrow stages, reticulocytes, ageing chain); red cells
    "decay_dl", "gain_dl", "decay_q", "gain_q", "decay_ret", "gain_ret", "k_ret", "k_age", "decay_age", "gain_age",
    "c1", "c2", "c1_ret", "c0_ret", "marrow_sensitivity", "ln_scale", "epo_exponent", "mcv_normal_fl",
    "mcv_per_deficit",
    # fixed: absorption and outputs
    "if_intact", "if_fraction", "if_max_ug", "passive_fraction", "spill_ug", "food", "usual", "spill_hydroxo_ug",
    "spill_cyano_ug", "b0", "serum_per_ug_recent", "t0", "kappa_t", "ln_s_med", "a", "renal",
    "m0", "bm_age", "bm_renal", "a_m", "h0", "bh_age", "bh_renal",
    # per substep: the ageing chains' sums, then values handed from one loop to the next
    "hb_sum", "vol_sum", "x1", "x2", "fe1", "fe2", "ln_hb", "trial_hb", "d1", "d2", "dmar1", "dmar2", "e_day",
    "q_last", "trial_q_last", "p1", "p2", "ret0", "trial_ret", "vol0", "trial_vol",
)
WORK = np.dtype([(k, "f8", (*shape, LANES)) for k, shape in STATE] + [(k, "f8", (LANES,)) for k in LANE])
_OPTS = {k: v for k, v in fastmath.JIT.items() if k != "cache"}


def _jit(**options):
    """Compiled with :func:`backend.kernel` (cached, keyed on the equations) and fastmath's options."""
    return lambda fn: backend.kernel(fn, **_OPTS, **options)


@_jit(parallel=True)
def run(prm, cells, oral_ug, hydroxo_ug, cyano_ug, folic_mg, given, substeps, codes, volumes, nerves, out, first,
        last):
    """Advance blocks ``first .. last - 1`` of the (draw, person) cells of ``cells`` (draws, people) under the
    draws' parameters ``prm``; ``out`` (outputs, draws, people, days) is filled in place with the outputs ``codes``
    (see :data:`OUTPUTS`). ``given`` (4,): whether each dose channel holds any dose (channels never given are
    not read)."""
    nd, n = cells.shape
    end = min(last * LANES, nd * n)
    # one write per 4 KiB makes a fresh ``out`` resident in order, much faster than in the blocks' scattered order
    for cell in numba.prange(first * LANES, end):
        for o in range(out.shape[0]):
            for d in range(0, out.shape[3], 512):
                out[o, cell // n, cell % n, d] = 0.0
    for block in numba.prange(first, last):
        _block(prm, cells, oral_ug, hydroxo_ug, cyano_ug, folic_mg, given, substeps, codes, volumes, nerves, out,
               block * LANES)


@_jit()
def _block(prm, cells, oral_ug, hydroxo_ug, cyano_ug, folic_mg, given, substeps, codes, volumes, nerves, out, first):
    """Cells ``first .. first + LANES`` of the flattened (draw, person) grid (spare lanes repeat the last cell)."""
    nd, n = cells.shape
    days = out.shape[3]
    idx = np.minimum(np.arange(first, first + LANES), nd * n - 1)
    m = min(LANES, nd * n - first)
    h = 1.0 / substeps
    work = np.empty(1, WORK)  # passed as the array: a record taken from it does not keep it alive
    w = work[0]
    for l in range(LANES):
        _lane(work, l, prm[idx[l] // n], cells[idx[l] // n, idx[l] % n], h)
    doses = np.empty((4, DAY_CHUNK, LANES))  # channels never given are not read
    res = np.empty((codes.size, DAY_CHUNK, LANES))
    for d0 in range(0, days, DAY_CHUNK):
        nday = min(DAY_CHUNK, days - d0)
        if given[0]:
            _copy_in(oral_ug, doses[0], idx, n, d0, nday)
        if given[1]:
            _copy_in(hydroxo_ug, doses[1], idx, n, d0, nday)
        if given[2]:
            _copy_in(cyano_ug, doses[2], idx, n, d0, nday)
        if given[3]:
            _copy_in(folic_mg, doses[3], idx, n, d0, nday)
        for k in range(nday):
            # the day's kept cobalamin (food, doses) enters the recent pool, folic acid the body
            for l in range(LANES):
                w.r[l] += w.food[l]
            if given[0]:
                for l in range(LANES):
                    w.r[l] += EQ.retained(EQ.oral_absorbed(doses[0, k, l], w.if_intact[l], w.if_fraction[l],
                                                           w.if_max_ug[l], w.passive_fraction[l]), w.spill_ug[l])
            if given[1]:
                for l in range(LANES):
                    w.r[l] += EQ.retained(doses[1, k, l], w.spill_hydroxo_ug[l])
            if given[2]:
                for l in range(LANES):
                    w.r[l] += EQ.retained(doses[2, k, l], w.spill_cyano_ug[l])
            if given[3]:
                for l in range(LANES):
                    w.fa[l] += doses[3, k, l]
            for _ in range(substeps):
                _substep(work, h, given[3], volumes, nerves)
            if nerves:
                _nerve_day(work)
            for o in range(codes.size):
                _observe(work, codes[o], res[o, k])
        for o in range(codes.size):
            for l in range(m):
                for k in range(nday):
                    out[o, idx[l] // n, idx[l] % n, d0 + k] = res[o, k, l]


@_jit()
def _lane(work, l, p, c, h):
    """Lane ``l`` of ``work``: the state of cell ``c`` and the constants of its draw ``p`` and person."""
    w = work[0]
    w.s[l], w.r[l], w.fa[l], w.dl[l] = c.s, c.r, c.fa, c.dl
    w.ret[l], w.ret_vol[l] = c.ret, c.ret_vol
    for j in range(N_DELAY):
        w.q[j, l] = c.q[j]
    for j in range(N_NERVE):
        w.nerve[j, l] = c.nerve[j]
    hb_sum, vol_sum = 0.0, 0.0
    for j in range(N_AGE):
        w.age[j, l], w.age_vol[j, l] = c.age[j], c.age_vol[j]
        hb_sum += c.age[j]
        vol_sum += c.age_vol[j]
    w.hb_sum[l], w.vol_sum[l] = hb_sum, vol_sum
    # the pools and folic acid over half a substep
    lam = EQ.loss_rate(c.if_intact, p.loss_per_day, p.biliary_reabsorbed, p.biliary_ug_per_day, p.store_median_ug)
    w.e_s[l], w.e_r[l], w.gain[l] = EQ.pool_update(lam, p.recent_per_day, h / 2)
    w.fa_left[l] = EQ.folic_acid_left(p.folic_acid_halflife_days, h / 2)
    w.fe1[l] = w.fe2[l] = EQ.folic_acid_effect(c.fa, p.folic_acid_threshold_mg)  # kept if none is given
    w.folic_acid_threshold_mg[l], w.folic_acid_bypass[l] = p.folic_acid_threshold_mg, p.folic_acid_bypass
    # deficits
    w.x_k[l], w.n_hinge[l], w.a_h[l], w.c_f[l], w.dfol[l] = p.x_k, p.n_hinge, p.a_h, p.c_f, c.dfol
    w.d_replete[l] = EQ.deficit(p.ln_s_med, p.x_k, p.n_hinge)
    w.d_folate_marrow[l] = EQ.folate_marrow_deficit(c.dfol, EQ.folate_deficit(p.mu_y, p.ln_fol_hinge), p.a_h, p.c_f)
    w.d_k[l], w.per_deficit[l] = EQ.exposure_anchors(p.x_k, p.n_hinge, p.mu_d)
    w.depth_power[l], w.nerve_s[l], w.marrow_s[l] = p.neuro_depth_power, c.nerve_s, c.marrow_s
    w.e_day[l] = 0.0
    w.onset_rate[l], w.progress_rate[l], w.fixation_rate[l], w.recovery_rate[l] = EQ.nerve_constants(
        p.neuro_onset_days, p.neuro_progress_days, p.neuro_fixation_days, p.neuro_recovery_halflife_days)
    # decays and gains of the exponential steps
    km = EQ.halflife_rate(p.marker_halflife_days)  # MMA and tHcy follow the deficit with this lag
    kq, kr, ka = EQ.stage_rates(p.marrow_delay_days, p.reticulocyte_days, p.rbc_lifespan_days)
    dm, gm = EQ.first_order_step(km, h)
    dq, gq = EQ.first_order_step(kq, h)
    dr, gr = EQ.first_order_step(kr, h)
    da, ga = EQ.first_order_step(ka, h)
    w.decay_dl[l], w.gain_dl[l], w.decay_q[l], w.gain_q[l] = dm, gm * km, dq, gq * kq
    w.decay_ret[l], w.gain_ret[l], w.k_ret[l], w.k_age[l], w.decay_age[l], w.gain_age[l] = dr, gr, kr, ka, da, ga
    # ageing chain: new z_j = da z_j + c1 z_{j-1} + c2 z_{j-2}; the first two take the reticulocytes' part
    w.c1[l], w.c2[l] = 0.5 * ga * ka * (1.0 + da), 0.5 * (ga * ka) ** 2
    w.c1_ret[l], w.c0_ret[l] = 0.5 * ga * ga * ka * kr, 0.5 * ga * kr
    w.marrow_sensitivity[l], w.epo_exponent[l] = c.marrow_sensitivity, p.epo_exponent
    w.ln_scale[l] = EQ.production_scale(c.hb_replete, p.rbc_lifespan_days, p.reticulocyte_days, p.epo_exponent)
    w.mcv_normal_fl[l], w.mcv_per_deficit[l] = p.mcv_normal_fl, p.mcv_per_deficit
    # absorption
    w.if_intact[l], w.if_fraction[l], w.if_max_ug[l] = c.if_intact, p.if_fraction, p.if_max_ug
    w.passive_fraction[l], w.spill_ug[l], w.food[l], w.usual[l] = p.passive_fraction, p.spill_ug, c.food, c.usual
    w.spill_hydroxo_ug[l], w.spill_cyano_ug[l] = p.spill_hydroxo_ug, p.spill_cyano_ug
    # outputs
    w.b0[l], w.serum_per_ug_recent[l], w.t0[l], w.kappa_t[l] = p.b0, p.serum_per_ug_recent, p.t0, p.kappa_t
    w.ln_s_med[l], w.a[l], w.renal[l] = p.ln_s_med, c.a, c.renal
    w.m0[l], w.bm_age[l], w.bm_renal[l], w.a_m[l] = p.m0, p.bm_age, p.bm_renal, p.a_m
    w.h0[l], w.bh_age[l], w.bh_renal[l] = p.h0, p.bh_age, p.bh_renal


@numba.njit(inline="always", **fastmath.JIT)
def _copy_in(src, dst, idx, n, d0, nday):
    """Days ``d0 ..`` of ``src`` (people, days) for the lanes' people into ``dst`` (days, lanes)."""
    for l in range(LANES):
        i = idx[l] % n
        for k in range(nday):
            dst[k, l] = src[i, d0 + k]


@_jit()
def _substep(work, h, folic, volumes, nerves):
    """One substep of every lane; each loop leaves its results in the work record for the next."""
    w = work[0]
    for l in range(LANES):  # pools at the midpoint (predictor) and end (corrector); ln Hb
        e_s, e_r, g = w.e_s[l], w.e_r[l], w.gain[l]
        s, r = w.s[l], w.r[l]
        s, r = s * e_s + g * r, r * e_r
        w.x1[l] = log(s + r)
        s, r = s * e_s + g * r, r * e_r
        w.x2[l] = log(s + r)
        w.s[l], w.r[l] = s, r
        w.ln_hb[l] = log(w.ret[l] + w.hb_sum[l])
    if folic:  # folic acid at the midpoint and end (without any, none in the body and no effect)
        for l in range(LANES):
            left, thr = w.fa_left[l], w.folic_acid_threshold_mg[l]
            fa = w.fa[l] * left
            w.fe1[l] = EQ.folic_acid_effect(fa, thr)
            fa = fa * left
            w.fe2[l], w.fa[l] = EQ.folic_acid_effect(fa, thr), fa
    for l in range(LANES):  # B12 deficits; production at the start; predicted reticulocytes and Hb
        w.d1[l], w.d2[l] = EQ.deficit(w.x1[l], w.x_k[l], w.n_hinge[l]), EQ.deficit(w.x2[l], w.x_k[l], w.n_hinge[l])
        ret, hb_sum = w.ret[l], w.hb_sum[l]
        p1 = EQ.production(w.q[N_DELAY - 1, l], w.ln_hb[l], w.ln_scale[l], w.marrow_sensitivity[l],
                           w.epo_exponent[l])
        trial_ret = ret * w.decay_ret[l] + p1 * w.gain_ret[l]
        w.p1[l], w.ret0[l], w.trial_ret[l] = p1, ret, trial_ret
        removed = w.k_ret[l] * ret + w.k_age[l] * (hb_sum - w.age[N_AGE - 1, l])
        w.trial_hb[l] = trial_ret + w.decay_age[l] * hb_sum + w.gain_age[l] * removed
    for l in range(LANES):  # marrow deficits; marker delay; ln of the predicted Hb
        d_rep, d_fol, bypass = w.d_replete[l], w.d_folate_marrow[l], w.folic_acid_bypass[l]
        d1, d2 = w.d1[l], w.d2[l]
        w.dmar1[l] = EQ.marrow_deficit(d1, d_rep, d_fol, w.fe1[l], bypass, w.marrow_s[l])
        w.dmar2[l] = EQ.marrow_deficit(d2, d_rep, d_fol, w.fe2[l], bypass, w.marrow_s[l])
        w.dl[l] = w.dl[l] * w.decay_dl[l] + 0.5 * (d1 + d2) * w.gain_dl[l]
        w.ln_hb[l] = log(w.trial_hb[l])
    for l in range(LANES):  # marrow delay chain, production at the predicted end, reticulocytes
        dq, gq = w.decay_q[l], w.gain_q[l]
        q0, q1, q2 = w.q[0, l], w.q[1, l], w.q[2, l]
        tq0, tq1, tq2 = q0 * dq + w.dmar1[l] * gq, q1 * dq + q0 * gq, q2 * dq + q1 * gq
        p2 = EQ.production(tq2, w.ln_hb[l], w.ln_scale[l], w.marrow_sensitivity[l], w.epo_exponent[l])
        w.q[0, l] = q0 * dq + 0.5 * (w.dmar1[l] + w.dmar2[l]) * gq
        w.q[1, l] = q1 * dq + 0.5 * (q0 + tq0) * gq
        w.q[2, l] = q2 * dq + 0.5 * (q1 + tq1) * gq
        w.ret[l] = w.ret0[l] * w.decay_ret[l] + 0.5 * (w.p1[l] + p2) * w.gain_ret[l]
        w.p2[l], w.q_last[l], w.trial_q_last[l] = p2, q2, tq2
    _ageing(w, w.age, w.ret0, w.trial_ret, w.hb_sum)
    if volumes:
        for l in range(LANES):  # volume of the new cells
            mcv_n, mcv_d, dr, gr = w.mcv_normal_fl[l], w.mcv_per_deficit[l], w.decay_ret[l], w.gain_ret[l]
            v1 = w.p1[l] * EQ.new_cell_mcv(w.q_last[l], mcv_n, mcv_d)
            v2 = w.p2[l] * EQ.new_cell_mcv(w.trial_q_last[l], mcv_n, mcv_d)
            vol = w.ret_vol[l]
            w.vol0[l], w.trial_vol[l] = vol, vol * dr + v1 * gr
            w.ret_vol[l] = vol * dr + 0.5 * (v1 + v2) * gr
        _ageing(w, w.age_vol, w.vol0, w.trial_vol, w.vol_sum)
    if nerves:  # the day's mean exposure, by the midpoint rule over the substeps
        for l in range(LANES):
            w.e_day[l] += h * EQ.exposure_rate(w.d1[l], w.d_k[l], w.per_deficit[l], w.depth_power[l])


@_jit()
def _nerve_day(work):
    """One day's exponential predictor-corrector step of every lane's nerve chain at the day's mean exposure
    ``e_day`` (reset to 0), rescaled to total 1, as the engine's :func:`~b12sim.simulation.engine.nerve_day`."""
    w = work[0]
    z = w.nerve
    for l in range(LANES):
        if w.e_day[l] == 0.0 and z[0, l] == 1.0:  # no exposure and no involvement: the step changes nothing
            continue
        s, on, pr, fx, rc = w.nerve_s[l], w.onset_rate[l], w.progress_rate[l], w.fixation_rate[l], w.recovery_rate[l]
        o, g, f, r = EQ.nerve_hazards(w.e_day[l], s, on, pr, fx, rc)
        w.e_day[l] = 0.0
        p0, p1, p2, p3, p4, p5, p6, p7, p8 = (z[0, l], z[1, l], z[2, l], z[3, l], z[4, l], z[5, l], z[6, l], z[7, l],
                                              z[8, l])
        in1, k = EQ.nerve_flows(p0, p1, p2, p3, p4, p5, p6, p7, p8, o, g, f, r)
        t0, t1, t2 = _exp_step(p0, in1[0], k[0], 1.0), _exp_step(p1, in1[1], k[1], 1.0), _exp_step(p2, in1[2], k[2], 1)
        t3, t4, t5 = _exp_step(p3, in1[3], k[3], 1.0), _exp_step(p4, in1[4], k[4], 1.0), _exp_step(p5, in1[5], k[5], 1)
        t6, t7, t8 = _exp_step(p6, in1[6], k[6], 1.0), _exp_step(p7, in1[7], k[7], 1.0), _exp_step(p8, in1[8], k[8], 1)
        in2, _ = EQ.nerve_flows(t0, t1, t2, t3, t4, t5, t6, t7, t8, o, g, f, r)
        total = 0.0
        for j in range(N_NERVE):
            z[j, l] = _exp_step(z[j, l], 0.5 * (in1[j] + in2[j]), k[j], 1.0)
            total += z[j, l]
        for j in range(N_NERVE):
            z[j, l] /= total


@numba.njit(inline="always", **fastmath.JIT)
def _exp_step(z, inflow, k, h):
    """``z`` after ``h`` days of ``dz/dt = inflow - k z`` (constant inflow and ``k``)."""
    decay, gain = EQ.first_order_step(k, h)
    return z * decay + inflow * gain


@numba.njit(inline="always", **fastmath.JIT)
def _ageing(w, z, src, trial, total):
    """Step of the ageing chain ``z`` (compartments, lanes) fed by ``src`` (predicted ``trial``); sum into ``total``."""
    for l in range(LANES):
        da, c1, c2 = w.decay_age[l], w.c1[l], w.c2[l]
        z2, z1 = z[0, l], z[1, l]  # the old values of the two compartments before the next
        a0 = da * z2 + w.c0_ret[l] * (src[l] + trial[l])
        a1 = da * z1 + c1 * z2 + w.c1_ret[l] * src[l]
        z[0, l], z[1, l] = a0, a1
        tot = a0 + a1
        for j in range(2, N_AGE):
            old = z[j, l]
            a = da * old + c1 * z1 + c2 * z2
            z[j, l] = a
            tot += a
            z2, z1 = z1, old
        total[l] = tot


@_jit()
def _observe(work, code, v):
    """Output ``code`` (its index in :data:`OUTPUTS`) of every lane into ``v``."""
    w = work[0]
    # x2: ln of the body total at the end of the last substep, the day's end
    if code == 0:  # stores_ug
        for l in range(LANES):
            v[l] = w.s[l] + w.r[l]
    elif code == 1:  # b12
        for l in range(LANES):
            v[l] = EQ.b12_with_recent(w.x2[l], w.r[l] - w.usual[l], w.b0[l], w.serum_per_ug_recent[l], w.ln_s_med[l])
    elif code == 2:  # holotc
        for l in range(LANES):
            v[l] = EQ.holotc_with_recent(w.x2[l], w.r[l] - w.usual[l], w.t0[l], w.kappa_t[l], w.b0[l],
                                         w.serum_per_ug_recent[l], w.ln_s_med[l])
    elif code == 3:  # mma
        for l in range(LANES):
            v[l] = exp(EQ.log_mma(w.dl[l], w.a[l], w.renal[l], w.m0[l], w.bm_age[l], w.bm_renal[l], w.a_m[l]))
    elif code == 4:  # hcy
        for l in range(LANES):
            dfol = w.dfol[l] * (1.0 - EQ.folic_acid_effect(w.fa[l], w.folic_acid_threshold_mg[l]))
            v[l] = exp(EQ.log_hcy(w.dl[l], dfol, w.a[l], w.renal[l], w.h0[l], w.bh_age[l], w.bh_renal[l], w.a_h[l],
                                  w.c_f[l]))
    elif code == 5:  # hb
        for l in range(LANES):
            v[l] = w.ret[l] + w.hb_sum[l]
    elif code == 6:  # mcv
        for l in range(LANES):
            v[l] = (w.ret_vol[l] + w.vol_sum[l]) / (w.ret[l] + w.hb_sum[l])
    elif code == 7:  # reticulocytes
        for l in range(LANES):
            v[l] = 100.0 * w.ret[l] / (w.ret[l] + w.hb_sum[l])
    else:  # the nerve outputs, from NERVE_CODE in the order of nerve_outputs
        z = w.nerve
        for l in range(LANES):
            v[l] = EQ.nerve_outputs(z[0, l], z[1, l], z[2, l], z[3, l], z[4, l], z[5, l], z[6, l], z[7, l],
                                    z[8, l])[code - NERVE_CODE]
