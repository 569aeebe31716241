"""The vectorized simulator: people x draws advanced day by day.

Each day, the day's kept cobalamin (food and doses) enters the recent pool and the day is
split into ``substeps``: the two B12 pools take exact steps
(:func:`b12sim.physiology.kinetics.pool_update`); every other state ``z`` has the form
``dz/dt = inflow - k z`` and takes an exponential predictor-corrector step
(inflow and ``k`` averaged between the substep's start and its predicted end, the
pools seen at its midpoint), second order and stable for any rate. The nerve chain, whose
rates are months, takes one such step a day at the day's mean exposure (midpoint rule over
the substeps). :mod:`b12sim.simulation.reference`
integrates the same equations with ``scipy.integrate.solve_ivp``.

Arrays are (draws, people); parameters are (draws,) and broadcast.
"""

from __future__ import annotations

import sys

import numpy as np

from b12sim import evidence
from b12sim.physiology import backend
from b12sim.physiology import haematology as haem
from b12sim.physiology import kinetics as kin
from b12sim.physiology import markers as mk
from b12sim.physiology import neurology as neuro

SUBSTEPS = 4
KERNEL_MIN = 5_000  # draws x people from which engine.run uses the numba kernel
KERNEL_CALL_CELL_DAYS = 1_000_000  # (draw, person, day) cells per kernel call: well under a second
ANCHOR_SPREAD = 3.0  # log-SDs of marrow susceptibility a measured anaemia may imply (beyond: other causes)
OUTPUTS = {  # name -> unit
    "stores_ug": "ug", "b12": "pmol/L", "holotc": "pmol/L", "mma": "umol/L", "hcy": "umol/L",
    "hb": "g/L", "mcv": "fL", "reticulocytes": "%", "nerve_mild": "probability", "nerve_moderate": "probability",
    "nerve_severe": "probability", "nerve_severity": "fraction 0-1", "p_permanent": "probability",
    "p_residual_severe": "probability",
}


def person_params(p: dict, people: dict) -> dict:
    """Draw parameters as (draws, 1) columns, with the sex-specific Hb anchors per person."""
    q = {k: np.asarray(v)[:, None] for k, v in p.items()}
    female = np.asarray(people["female"], bool)[None, :]
    q["hb_replete"] = np.where(female, q["hb_replete_female"], q["hb_replete_male"])
    return q


def drivers(s, r, fa, dfol, marrow_s, q, c: mk.Constants):
    """B12 deficit and marrow deficit (:func:`haem.marrow_deficit`) for pools ``s``, ``r`` (ug), folic acid
    ``fa`` (mg), folate deficit ``dfol`` and marrow susceptibility ``marrow_s``."""
    d = mk.deficit(np.log(s + r), q["x_k"], q["n_hinge"])
    d_fol = haem.folate_marrow_deficit(dfol, mk.folate_deficit(q["mu_y"], c.ln_fol_hinge), q["a_h"], q["c_f"])
    dmar = haem.marrow_deficit(d, mk.deficit(c.ln_s_med, q["x_k"], q["n_hinge"]), d_fol,
                               haem.folic_acid_effect(fa, q["folic_acid_threshold_mg"]), q["folic_acid_bypass"],
                               marrow_s)
    return d, dmar


def anchor_hb(q: dict, d1, hb0, marrow_s) -> np.ndarray:
    """Make a given day-0 Hb (g/L) the untreated steady state, person by person: returns their marrow
    susceptibility and sets their replete Hb ``q["hb_replete"]`` (in place).

    ``d1``: the marrow deficit at susceptibility 1. Given Hb, the susceptibility is the one that
    gives it with the draw's replete Hb and marrow sensitivity (the model's exact conditional), but
    at most :data:`ANCHOR_SPREAD` log-SDs above the median (or the drawn value, if higher): an anaemia
    deeper than that counts as other causes, which lower the person's replete Hb and do not correct.
    An observed Hb at or above the draw's replete value becomes the person's replete value, with a
    marrow that the deficit does not reach. So an untreated person starts level and only worsens as
    stores fall. NaN Hb keeps the drawn susceptibility and the draw's replete Hb.
    """
    hb_rep = q["hb_replete"] * np.ones_like(hb0)
    given = ~np.isnan(hb0)
    if not given.any():
        q["hb_replete"] = hb_rep
        return marrow_s
    beta, gamma = q["marrow_sensitivity"], q["epo_exponent"]
    h = np.where(given, hb0, hb_rep)
    cap = np.maximum(hb_rep, h)
    top = np.maximum(marrow_s, np.exp(ANCHOR_SPREAD * q["marrow_susceptibility_sd"]))
    m = np.minimum(haem.deficit_at_hb(h, beta, cap, gamma) / np.maximum(d1, 1e-12), top)
    m = np.where(given & (d1 > 0), m, marrow_s)
    q["hb_replete"] = np.where(given, h * np.exp(beta * m * d1 / (1.0 + gamma)), hb_rep)
    return m


def food(q, people, total) -> tuple[np.ndarray, np.ndarray]:
    """``(kept, usual)``: cobalamin kept from food (ug/day) and the recent pool it keeps (ug) of each
    cell with body total ``total`` (ug) at day 0. A NaN intake means the person eats what holds
    their day-0 stores steady (:func:`kin.steady_pools`); a given intake (ug/day) is absorbed by
    their intrinsic factor and food release (:func:`kin.food_kept`)."""
    ifi = np.asarray(people["if_intact"], float)
    s_per, r_per = kin.steady_pools(pool_loss(ifi, q), q["recent_per_day"])
    intake = np.asarray(people["intake_ug"], float)
    given = kin.food_kept(np.nan_to_num(intake), q["meals_per_day"], np.asarray(people["release"], float), ifi,
                          q["if_fraction"], q["if_max_ug"], q["passive_fraction"], q["spill_ug"])
    kept = np.where(np.isnan(intake), total / (s_per + r_per), given)
    return kept, np.minimum(kept * r_per, 0.5 * total)


def initial_state(q, people, c: mk.Constants) -> dict:
    """State of each person at day 0: the pools split by their food intake (:func:`food`), the blood
    and nerves at the untreated steady state of the day-0 stores (see :func:`haem.steady_state`)."""
    total = np.exp(np.asarray(people["x0"], float)) * np.ones_like(q["x_k"])
    kept, usual = food(q, people, total)
    r = usual.copy()
    s = total - r
    dfol = mk.folate_deficit(np.asarray(people["y0"], float), c.ln_fol_hinge) * np.ones_like(s)
    zero = np.zeros_like(s)
    d, d1 = drivers(s, r, zero, dfol, np.ones_like(s), q, c)
    hb0 = np.asarray(people["hb"], float) * np.ones_like(s)
    marrow_s = anchor_hb(q, d1, hb0, np.asarray(people["marrow_s"], float) * np.ones_like(s))
    dmar = marrow_s * d1
    hb0 = np.where(np.isnan(hb0), haem.steady_hb(dmar, q["marrow_sensitivity"], q["hb_replete"], q["epo_exponent"]),
                   hb0)
    mcv0 = np.asarray(people["mcv"], float) * np.ones_like(s)
    mcv0 = np.where(np.isnan(mcv0), haem.new_cell_mcv(dmar, q["mcv_normal_fl"], q["mcv_per_deficit"]), mcv0)
    nd = np.asarray(people["neuro_days"], float) * np.ones_like(s)
    nerve_s = np.asarray(people["nerve_s"], float) * np.ones_like(s)
    st = {"s": s, "r": r, "fa": zero.copy(), "dl": d,
          "nerve": nerve_history(np.maximum(exposure(d, q), 1.0), nd, q)}
    st.update(haem.steady_state(dmar, hb0, mcv0, q))
    return st | {"dfol": dfol, "food": kept, "usual": usual, "nerve_s": nerve_s, "marrow_s": marrow_s}


def exposure(d, q):
    """Nerve exposure-days per day at B12 deficit ``d``."""
    return neuro.exposure_rate(d, *neuro.exposure_anchors(q["x_k"], q["n_hinge"], q["mu_d"]), q["neuro_depth_power"])


def nerve_constants(q):
    """The nerve chain's rates at one exposure-day per day (:func:`neuro.nerve_constants`)."""
    return neuro.nerve_constants(q["neuro_onset_days"], q["neuro_progress_days"], q["neuro_fixation_days"],
                                 q["neuro_recovery_halflife_days"])


def nerve_matrix(onset, progress, fixation, recovery) -> np.ndarray:
    """The nerve chain's rate matrix (..., states, states; 1/day) of :func:`neuro.nerve_generator` for hazards
    that broadcast (scalars give one matrix)."""
    return np.stack([np.stack(np.broadcast_arrays(*row), -1)
                     for row in neuro.nerve_generator(onset, progress, fixation, recovery)], -2)


def nerve_history(e, days, q) -> np.ndarray:
    """State probabilities (:data:`neuro.STATES`, draws, people) of people with ``days`` of nerve symptoms so
    far, untreated at exposure rate ``e`` since the onset (none without symptoms): the chain's exact
    solution from the onset state (:data:`neuro.ONSET`)."""
    from scipy.linalg import expm

    out = np.zeros((neuro.N_NERVE, *days.shape))
    out[0] = 1.0
    some = days > 0
    if some.any():
        rates = np.broadcast_arrays(*neuro.nerve_hazards(e, 1.0, *nerve_constants(q)), days)
        gen = nerve_matrix(*(v[some] for v in rates[:4]))
        out[:, some] = expm(gen * rates[4][some][:, None, None])[:, :, neuro.ONSET].T
    return out


def observe(st, q, people, c: mk.Constants) -> dict:
    """Output variables (see :data:`OUTPUTS`) of a state."""
    s, r, dl = st["s"], st["r"], st["dl"]
    x = np.log(s + r)
    a, rr = np.asarray(people["a"], float), np.asarray(people["r"], float)
    fa_eff = haem.folic_acid_effect(st["fa"], q["folic_acid_threshold_mg"])
    hb, mcv, ret = haem.totals(st)
    return {
        "stores_ug": s + r,
        "b12": mk.b12_with_recent(x, r - st["usual"], q["b0"], q["serum_per_ug_recent"], c.ln_s_med),
        "holotc": mk.holotc_with_recent(x, r - st["usual"], q["t0"], q["kappa_t"], q["b0"], q["serum_per_ug_recent"],
                                        c.ln_s_med),
        "mma": np.exp(mk.log_mma(dl, a, rr, q["m0"], q["bm_age"], q["bm_renal"], q["a_m"])),
        "hcy": np.exp(mk.log_hcy(dl, st["dfol"] * (1 - fa_eff), a, rr, q["h0"], q["bh_age"], q["bh_renal"],
                                 q["a_h"], q["c_f"])),
        "hb": hb, "mcv": mcv, "reticulocytes": ret,
    } | dict(zip(neuro.OUTPUTS, neuro.nerve_outputs(*st["nerve"])))


def rates(st, q, c: mk.Constants) -> tuple[dict, np.ndarray]:
    """``(inflow, k)`` of every state except the B12 pools, folic acid and the nerve chain; and the nerve
    exposure rate."""
    d, dmar = drivers(st["s"], st["r"], st["fa"], st["dfol"], st["marrow_s"], q, c)
    km = kin.halflife_rate(q["marker_halflife_days"])  # MMA and tHcy follow the deficit with this lag
    return haem.marrow_rates(st, dmar, q) | {"dl": (d * km, km)}, exposure(d, q)


def nerve_rates(z, e, nerve_s, q) -> tuple[np.ndarray, np.ndarray]:
    """``(inflow, k)`` (states, ...) of the nerve chain ``z`` at exposure rate ``e``."""
    inflow, k = neuro.nerve_flows(*z, *neuro.nerve_hazards(e, nerve_s, *nerve_constants(q)))
    return np.stack(np.broadcast_arrays(*inflow)), np.stack(np.broadcast_arrays(*k))


def nerve_day(z, e, nerve_s, q) -> np.ndarray:
    """The nerve chain ``z`` one day on at a constant exposure rate ``e`` (the day's mean): an exponential
    predictor-corrector step (stable and positive at any rate), rescaled to total probability 1 (its error is
    second order in the day's rates)."""
    inflow, k = nerve_rates(z, e, nerve_s, q)
    inflow2, _ = nerve_rates(_exp_step(z, inflow, k, 1.0), e, nerve_s, q)
    out = _exp_step(z, 0.5 * (inflow + inflow2), k, 1.0)
    return out / out.sum(axis=0)


def _exp_step(z, inflow, k, h):
    decay, gain = kin.first_order_step(np.asarray(k, float), h)
    return z * decay + inflow * gain


def absorbed(doses_t, if_intact, q) -> np.ndarray:
    """Cobalamin (ug) kept from one day's doses (arrays (people,)), entering the recent pool."""
    return (kin.retained(kin.oral_absorbed(doses_t["oral_ug"], if_intact, q["if_fraction"], q["if_max_ug"],
                                           q["passive_fraction"]), q["spill_ug"])
            + kin.retained(doses_t["im_hydroxo_ug"], q["spill_hydroxo_ug"])
            + kin.retained(doses_t["im_cyano_ug"], q["spill_cyano_ug"]))


def pool_loss(ifi, q):
    """Store loss rate (1/day) of each person (``ifi``: intrinsic factor, 0/1)."""
    return kin.loss_rate(ifi, q["loss_per_day"], q["biliary_reabsorbed"], q["biliary_ug_per_day"],
                         evidence.value("body_store_median_ug"))


def _kernel_inputs(p: dict, q: dict, st: dict, people: dict, c: mk.Constants):
    """The per-draw parameter record and the per-cell record (draws, people) of :mod:`_kernel`."""
    from b12sim.simulation import _kernel as K

    consts = {"ln_s_med": c.ln_s_med, "ln_fol_hinge": c.ln_fol_hinge,
              "store_median_ug": evidence.value("body_store_median_ug")}
    cells = np.empty(st["s"].shape, K.CELL)
    given = st | {k: q[k] for k in ("marrow_sensitivity", "hb_replete")} | {
        "if_intact": people["if_intact"], "a": people["a"], "renal": people["r"]}
    for k in K.CELL.names:
        v = np.asarray(given[k], float)
        cells[k] = np.moveaxis(v, 0, -1) if K.CELL[k].shape else v
    return backend.record(p | consts, K.PARAMS), cells


def kernel_warm() -> bool:
    """Whether the numba kernel is compiled in this process (then even a one-patient run uses it)."""
    mod = sys.modules.get("b12sim.simulation._kernel")
    return mod is not None and bool(mod.run.signatures)


def run(p: dict, people: dict, doses: dict, days: int, *, substeps: int = SUBSTEPS,
        outputs=tuple(OUTPUTS), progress=None, kernel: bool | None = None) -> dict[str, np.ndarray]:
    """Simulate ``days`` days; returns output -> array (draws, people, days), end-of-day values.

    ``p``: parameter draws (:func:`parameters.draw`); ``people``: arrays (people,) or
    (draws, people) for ``x0`` (ln total stores, ug), ``y0`` (ln folate, nmol/L),
    ``if_intact`` (0/1), ``intake_ug`` (ug/day of food; NaN: what holds the day-0 stores steady) and
    ``release`` (share of food B12 freed for absorption), ``hb``/``mcv`` (NaN: steady state),
    ``neuro_days``, ``female``, centred age ``a``, renal term ``r`` and the nerve and marrow susceptibilities
    ``nerve_s``, ``marrow_s`` (draws, people); ``doses``: channel -> (people, days)
    received doses.
    ``kernel``: use the numba kernel (default: when draws x people reaches
    :data:`KERNEL_MIN`, or whenever it is already compiled in this process; it compiles once,
    about 10 s, and is cached on disk).
    """
    c = mk.Constants.load()
    q = person_params(p, people)
    st = initial_state(q, people, c)
    ifi = np.broadcast_to(np.asarray(people["if_intact"], float), st["s"].shape)
    n_draw, n_people = st["s"].shape
    if kernel or (kernel is None and (n_draw * n_people >= KERNEL_MIN or kernel_warm())):
        from b12sim.simulation import _kernel

        prm, cells = _kernel_inputs(p, q, st, people, c)
        codes = np.array([_kernel.OUTPUTS.index(k) for k in outputs], dtype=np.int64)
        dose = [np.broadcast_to(np.asarray(doses[ch], float)[..., :days], (n_people, days))
                for ch in ("oral_ug", "im_hydroxo_ug", "im_cyano_ug", "folic_acid_mg")]
        arr = np.empty((len(outputs), n_draw, n_people, days))
        given = np.array([bool(np.any(v != 0)) for v in dose])
        blocks = -(-n_draw * n_people // _kernel.LANES)
        step = max(1, KERNEL_CALL_CELL_DAYS // (_kernel.LANES * max(days, 1)))
        for first in range(0, blocks, step):  # Ctrl-C gets through between calls
            _kernel.run(prm, cells, *dose, given, substeps, codes, "mcv" in outputs,
                        any(k in outputs for k in neuro.OUTPUTS), arr, first, min(first + step, blocks))
        return dict(zip(outputs, arr))
    out = {k: np.empty((n_draw, n_people, days)) for k in outputs}
    h = 1.0 / substeps
    e_s, e_r, g = kin.pool_update(pool_loss(ifi, q), q["recent_per_day"], h / 2)
    left = haem.folic_acid_left(q["folic_acid_halflife_days"], h / 2)

    def half_step():  # the pools and folic acid are exact
        st["s"], st["r"], st["fa"] = st["s"] * e_s + g * st["r"], st["r"] * e_r, st["fa"] * left

    steps = range(days) if progress is None else progress(range(days))
    for t in steps:
        st["r"] = st["r"] + st["food"] + absorbed({ch: v[:, t] for ch, v in doses.items()}, ifi, q)
        st["fa"] = st["fa"] + doses["folic_acid_mg"][:, t]
        e_day = 0.0
        for _ in range(substeps):
            # the other states see the pools and folic acid at the substep midpoint
            half_step()
            rt, e = rates(st, q, c)
            e_day = e_day + e / substeps
            half_step()
            # predictor, then a corrector with the inflows averaged over the substep
            trial = dict(st)
            for name, (inflow, rate) in rt.items():
                trial[name] = _exp_step(st[name], inflow, rate, h)
            rt2, _ = rates(trial, q, c)
            for name, (inflow, rate) in rt.items():
                st[name] = _exp_step(st[name], 0.5 * (inflow + rt2[name][0]), 0.5 * (rate + rt2[name][1]), h)
        st["nerve"] = nerve_day(st["nerve"], e_day, st["nerve_s"], q)
        obs = observe(st, q, people, c)
        for name in outputs:
            out[name][:, :, t] = obs[name]
    return out
