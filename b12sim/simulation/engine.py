"""The vectorized simulator: people x draws advanced day by day.

Each day, the day's absorbed cobalamin enters the recent pool and the day is
split into ``substeps``: the two B12 pools take exact steps
(:func:`b12sim.physiology.kinetics.step`); every other state ``z`` has the form
``dz/dt = inflow - k z`` and takes an exponential predictor-corrector step
(inflow and ``k`` averaged between the substep's start and its predicted end, the
pools seen at its midpoint), second order and stable for any rate. :mod:`b12sim.simulation.reference`
integrates the same equations with ``scipy.integrate.solve_ivp``.

Arrays are (draws, people); parameters are (draws,) and broadcast.
"""

from __future__ import annotations

import math

import numpy as np

from b12sim.physiology import haematology as haem
from b12sim.physiology import kinetics as kin
from b12sim.physiology import markers as mk
from b12sim.physiology import neurology as neuro
from b12sim.simulation.parameters import kinetic_params

SUBSTEPS = 4
KERNEL_MIN = 5_000  # draws x people from which engine.run uses the numba kernel
OUTPUTS = {  # name -> unit
    "stores_ug": "ug", "b12": "pmol/L", "holotc": "pmol/L", "mma": "umol/L", "hcy": "umol/L",
    "hb": "g/L", "mcv": "fL", "reticulocytes": "%", "neuro_dysfunction": "fraction 0-1",
    "p_permanent": "probability",
}


def person_params(p: dict, people: dict) -> dict:
    """Draw parameters as (draws, 1) columns, with the sex-specific Hb anchors per person."""
    q = {k: np.asarray(v)[:, None] for k, v in p.items()}
    female = np.asarray(people["female"], bool)[None, :]
    q["hb_replete"] = np.where(female, q["hb_replete_female"], q["hb_replete_male"])
    return q


def drivers(s, r, fa, dfol, q, c: mk.Constants):
    """B12 deficit, folic-acid effect and marrow deficit for pools ``s``, ``r`` (ug) and folic acid ``fa`` (mg).

    The marrow deficit counts only what exceeds the deficits of a person at the
    population median stores and folate (whose marrow is replete by definition);
    the folate part is put in B12-deficit units by the ratio of the two effects on
    tHcy (``c_f / a_h``).
    """
    d = mk.deficit(np.log(s + r), q["x_k"], q["n_hinge"])
    fa_eff = fa / (fa + q["folic_acid_threshold_mg"])
    d_b = np.maximum(0.0, d - mk.deficit(c.ln_s_med, q["x_k"], q["n_hinge"]))
    d_f = np.maximum(0.0, dfol - mk.folate_deficit(q["mu_y"], c.ln_fol_hinge)) * q["c_f"] / q["a_h"]
    return d, fa_eff, haem.marrow_deficit(d_b, d_f, fa_eff, q["folic_acid_bypass"])


def anchor_hb(q: dict, dmar, hb0) -> None:
    """Make a given day-0 Hb (g/L) the untreated steady state, person by person (in place).

    The person's replete Hb becomes the one that, with the draw's marrow
    sensitivity and their deficit, gives the observed Hb (a shortfall beyond the
    B12/folate deficit counts as other causes). Where that would exceed the draw's
    replete Hb (the deficit would predict a worse anaemia than observed), the
    marrow sensitivity is lowered instead; an observed Hb above the draw's replete
    value becomes the person's replete value. So an untreated
    person starts level and only worsens as stores fall. NaN Hb keeps the draw's values.
    """
    given = ~np.isnan(hb0)
    if not given.any():
        return
    gamma, beta = q["epo_exponent"], q["marrow_sensitivity"] * np.ones_like(hb0)
    h = np.where(given, hb0, 100.0)
    need = h * np.exp(beta * dmar / (1.0 + gamma))
    cap = np.maximum(q["hb_replete"], h)
    beta_cap = np.maximum(0.0, (1.0 + gamma) * np.log(cap / h)) / np.maximum(dmar, 1e-9)
    q["marrow_sensitivity"] = np.where(given & (need > cap), np.minimum(beta, beta_cap), beta)
    q["hb_replete"] = np.where(given, np.minimum(need, cap), q["hb_replete"] * np.ones_like(hb0))


def initial_state(q, people, c: mk.Constants) -> dict:
    """Untreated steady state of each person at day 0 (see :func:`haem.steady_state`)."""
    x0 = np.asarray(people["x0"], float)
    s = np.exp(x0) * np.ones_like(q["x_k"])
    dfol = mk.folate_deficit(np.asarray(people["y0"], float), c.ln_fol_hinge) * np.ones_like(s)
    zero = np.zeros_like(s)
    d, _, dmar = drivers(s, zero, zero, dfol, q, c)
    hb0 = np.asarray(people["hb"], float) * np.ones_like(s)
    anchor_hb(q, dmar, hb0)
    hb0 = np.where(np.isnan(hb0), haem.steady_hb(dmar, q), hb0)
    mcv0 = np.asarray(people["mcv"], float) * np.ones_like(s)
    mcv0 = np.where(np.isnan(mcv0), haem.new_cell_mcv(dmar, q), mcv0)
    e0 = neuro.exposure_rate(d, q)
    nd = np.asarray(people["neuro_days"], float) * np.ones_like(s)
    st = {"s": s, "r": zero.copy(), "fa": zero.copy(), "dl": d,
          "neuro_x": e0 * nd, "neuro_n": -np.expm1(-e0 * nd / q["neuro_onset_days"])}
    st.update(haem.steady_state(dmar, hb0, mcv0, q))
    return st | {"dfol": dfol}


def observe(st, q, people, c: mk.Constants) -> dict:
    """Output variables (see :data:`OUTPUTS`) of a state."""
    s, r = st["s"], st["r"]
    total = s + r
    a, rr = np.asarray(people["a"], float), np.asarray(people["r"], float)
    rel = total / math.exp(c.ln_s_med)
    fa_eff = st["fa"] / (st["fa"] + q["folic_acid_threshold_mg"])
    hb, mcv, ret = haem.totals(st)
    return {
        "stores_ug": total,
        "b12": np.exp(q["b0"]) * rel + q["serum_per_ug_recent"] * r,
        "holotc": np.exp(q["t0"]) * rel ** q["kappa_t"] + q["serum_per_ug_recent"] * np.exp(q["t0"] - q["b0"]) * r,
        "mma": np.exp(q["m0"] + q["bm_age"] * a + q["bm_renal"] * rr + q["a_m"] * st["dl"]),
        "hcy": np.exp(q["h0"] + q["bh_age"] * a + q["bh_renal"] * rr + q["a_h"] * st["dl"]
                      + q["c_f"] * st["dfol"] * (1 - fa_eff)),
        "hb": hb, "mcv": mcv, "reticulocytes": ret,
        "neuro_dysfunction": st["neuro_n"], "p_permanent": neuro.p_permanent(st["neuro_x"], q),
    }


def rates(st, q, c: mk.Constants) -> dict:
    """``(inflow, k)`` of every state except the B12 pools and folic acid."""
    d, _, dmar = drivers(st["s"], st["r"], st["fa"], st["dfol"], q, c)
    out = haem.marrow_rates(st, dmar, q)
    out.update(neuro.nerve_rates(st, neuro.exposure_rate(d, q), q))
    out["dl"] = (d * math.log(2) / q["marker_halflife_days"], math.log(2) / q["marker_halflife_days"])
    return out


def _exp_step(z, inflow, k, h):
    k = np.asarray(k, float)
    decay = np.exp(-k * h)
    gain = np.where(k > 0, -np.expm1(-k * h) / np.where(k > 0, k, 1.0), h)
    return z * decay + inflow * gain


def absorbed(doses_t, if_intact, kp) -> np.ndarray:
    """Cobalamin (ug) entering the recent pool from one day's doses (arrays (people,))."""
    return (kin.oral_absorbed(doses_t["oral_ug"], if_intact, kp)
            + kin.im_retained(doses_t["im_hydroxo_ug"], "hydroxocobalamin", kp)
            + kin.im_retained(doses_t["im_cyano_ug"], "cyanocobalamin", kp))


def _kernel_inputs(p: dict, people: dict, q: dict, st: dict, kp, c: mk.Constants):
    """Parameter table (draws, columns), packed state (states, draws, people) for :mod:`_kernel`."""
    from b12sim.simulation import _kernel as K

    n = len(p["x_k"])
    tab = np.empty((n, 46))
    theta, kw = neuro.weibull(p["neuro_permanent_p_3mo"], p["neuro_permanent_p_12mo"])
    rh, kh = kp.im_retention["hydroxocobalamin"]
    rc, kc = kp.im_retention["cyanocobalamin"]
    cols = {
        K.KS: kp.recent_to_stores_per_day[:, 0], K.KL: kp.recent_lost_per_day[:, 0],
        K.LOSS: p["loss_per_day"], K.BILE: p["biliary_reabsorbed"] * p["biliary_ug_per_day"] / kp.store_median_ug,
        K.KFA: math.log(2) / p["folic_acid_halflife_days"], K.FATHR: p["folic_acid_threshold_mg"],
        K.XK: p["x_k"], K.NH: p["n_hinge"], K.DMED: mk.deficit(c.ln_s_med, p["x_k"], p["n_hinge"]),
        K.DFMED: mk.folate_deficit(p["mu_y"], c.ln_fol_hinge), K.CFAH: p["c_f"] / p["a_h"], K.BYPASS: p["folic_acid_bypass"],
        K.GAMMA: p["epo_exponent"], K.LIFE: p["rbc_lifespan_days"], K.TR: p["reticulocyte_days"],
        K.TM: p["marrow_delay_days"], K.MCVN: p["mcv_normal_fl"], K.MCVD: p["mcv_per_deficit"],
        K.MH: p["marker_halflife_days"], K.DK: np.log(2.0) / p["n_hinge"], K.DREF: mk.deficit(p["mu_d"], p["x_k"], p["n_hinge"]),
        K.ONSET: p["neuro_onset_days"], K.REC: p["neuro_recovery_halflife_days"], K.B0: p["b0"],
        K.W: p["serum_per_ug_recent"], K.T0: p["t0"], K.KT: p["kappa_t"], K.M0: p["m0"], K.BMA: p["bm_age"],
        K.BMR: p["bm_renal"], K.AM: p["a_m"], K.H0: p["h0"], K.BHA: p["bh_age"], K.BHR: p["bh_renal"],
        K.AH: p["a_h"], K.CF: p["c_f"], K.THETA: theta, K.KW: kw, K.IFF: p["if_fraction"],
        K.IFMAX: p["if_max_ug"], K.PASS: p["passive_fraction"], K.RH: rh, K.KH: kh, K.RC: rc, K.KC: kc,
        K.SMED: kp.store_median_ug,
    }
    for j, v in cols.items():
        tab[:, j] = v
    shape = st["s"].shape
    parts = [st["s"], st["r"], st["fa"], st["dl"], *st["q"], st["ret"], st["ret_vol"], *st["age"],
             *st["age_vol"], st["neuro_x"], st["neuro_n"]]
    z0 = np.stack([np.broadcast_to(v, shape) for v in parts])
    beta = np.ascontiguousarray(np.broadcast_to(q["marrow_sensitivity"], shape), dtype=float)
    hbrep = np.ascontiguousarray(np.broadcast_to(q["hb_replete"], shape), dtype=float)
    return tab, z0, beta, hbrep, np.ascontiguousarray(st["dfol"], dtype=float)


def run(p: dict, people: dict, doses: dict, days: int, *, substeps: int = SUBSTEPS,
        outputs=tuple(OUTPUTS), progress=None, kernel: bool | None = None) -> dict[str, np.ndarray]:
    """Simulate ``days`` days; returns output -> array (draws, people, days), end-of-day values.

    ``p``: parameter draws (:func:`parameters.draw`); ``people``: arrays (people,) or
    (draws, people) for ``x0`` (ln total stores, ug), ``y0`` (ln folate, nmol/L),
    ``if_intact``, ``hb``/``mcv`` (NaN: steady state),
    ``neuro_days``, ``female``, centred age ``a`` and renal term ``r``; ``doses``: channel -> (people, days) received doses.
    ``kernel``: use the numba kernel (default: when draws x people reaches
    :data:`KERNEL_MIN`; it compiles once, about 10 s, and is cached on disk).
    """
    c = mk.Constants.load()
    q = person_params(p, people)
    kp = kinetic_params(p)
    ifi = np.asarray(people["if_intact"], float)[None, :]
    lam = kin.loss_rate(ifi, kp)
    kfa = math.log(2) / q["folic_acid_halflife_days"]
    st = initial_state(q, people, c)
    n_draw, n_people = st["s"].shape
    if kernel or (kernel is None and n_draw * n_people >= KERNEL_MIN):
        from b12sim.simulation import _kernel

        tab, z0, beta, hbrep, dfol = _kernel_inputs(p, people, q, st, kp, c)
        codes = np.array([list(OUTPUTS).index(k) for k in outputs], dtype=np.int64)
        dose = [np.broadcast_to(np.asarray(doses[ch], float)[..., :days], (n_people, days))
                for ch in ("oral_ug", "im_hydroxo_ug", "im_cyano_ug", "folic_acid_mg")]
        arr = np.empty((len(outputs), n_draw, n_people, days))
        _kernel.run(z0, tab, beta, hbrep, dfol, np.broadcast_to(ifi[0], (n_people,)).astype(float),
                    np.broadcast_to(np.asarray(people["a"], float), (n_people,)).astype(float),
                    np.broadcast_to(np.asarray(people["r"], float), (n_people,)).astype(float),
                    *dose, substeps, codes, arr)
        return dict(zip(outputs, arr))
    out = {k: np.empty((n_draw, n_people, days)) for k in outputs}
    h = 1.0 / substeps
    steps = range(days) if progress is None else progress(range(days))
    for t in steps:
        a = absorbed({ch: v[:, t] for ch, v in doses.items()}, ifi, kp)
        st["fa"] = st["fa"] + doses["folic_acid_mg"][:, t]
        for k in range(substeps):
            # the pools and folic acid are exact; the other states see them at the substep midpoint
            st["s"], st["r"] = kin.step(st["s"], st["r"], a if k == 0 else 0.0, lam, kp, h / 2)
            st["fa"] = st["fa"] * np.exp(-kfa * h / 2)
            rt = rates(st, q, c)
            st["s"], st["r"] = kin.step(st["s"], st["r"], 0.0, lam, kp, h / 2)
            st["fa"] = st["fa"] * np.exp(-kfa * h / 2)
            # predictor, then a corrector with the inflows averaged over the substep
            trial = dict(st)
            for name, (inflow, rate) in rt.items():
                trial[name] = _exp_step(st[name], inflow, rate, h)
            rt2 = rates(trial, q, c)
            for name, (inflow, rate) in rt.items():
                st[name] = _exp_step(st[name], 0.5 * (inflow + rt2[name][0]), 0.5 * (rate + rt2[name][1]), h)
        obs = observe(st, q, people, c)
        for name in outputs:
            out[name][:, :, t] = obs[name]
    return out
