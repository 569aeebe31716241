"""Red cells driven by tissue B12 and folate supply: marrow, reticulocytes, Hb, MCV.

Marrow efficiency is ``E = exp(-beta * q)`` where ``q`` is the marrow deficit delayed
through three precursor stages (mean ``marrow_delay_days``): new red cells appear
3-4 days after tissue supply changes. Production (g/L of Hb per day) is
``E * Hb_rep / (L + t_r) * (Hb_rep / Hb)^gamma``: erythropoietin drive raises it
while the patient is anaemic. New cells spend ``t_r`` days as reticulocytes, then
age through ``N_AGE`` compartments (mean lifespan ``L``) and are removed, so MCV
falls as the macrocytes made during deficiency age out.

The marrow deficit combines the B12 metabolic deficit (partly bypassed by
pharmacological folic acid: the masking) and the folate deficit (relieved by it).

Every rate is written as ``dz/dt = inflow - k * z`` so that the engine can take
exact exponential steps and the reference integrator can use the same terms.
"""

from __future__ import annotations

import numpy as np

from b12sim.physiology.kinetics import halflife_rate
from b12sim.physiology.primitives import exp, log, maximum

N_AGE = 12  # red-cell ageing compartments (lifespan CV about 0.29)
N_DELAY = 3  # marrow precursor stages


def folic_acid_effect(folic_acid_mg, folic_acid_threshold_mg):
    """Effect (0-1) of the pharmacological folic acid in the body (mg), half at the threshold (mg)."""
    return folic_acid_mg / (folic_acid_mg + folic_acid_threshold_mg)


def folic_acid_left(folic_acid_halflife_days, dt):
    """Share of the body's pharmacological folic acid left after ``dt`` days."""
    return exp(-halflife_rate(folic_acid_halflife_days) * dt)


def folate_marrow_deficit(d_folate, d_folate_replete, a_h, c_f):
    """The folate part of the marrow deficit in B12-deficit units: the folate deficit beyond that
    of a person at the population median folate (``d_folate_replete``), weighted by the ratio of
    the two deficits' effects on tHcy (``c_f / a_h``)."""
    return maximum(0.0, d_folate - d_folate_replete) * c_f / a_h


def marrow_deficit(d_b12, d_b12_replete, d_folate_marrow, fa_effect, bypass, susceptibility):
    """Deficit seen by the marrow (B12-deficit units): the B12 deficit beyond that of a person at the
    population median stores (``d_b12_replete``: the marrow's own threshold; their marrow is replete by
    definition) and the folate part (:func:`folate_marrow_deficit`), times the person's marrow
    ``susceptibility`` (log-normal, median 1, independent of the nerves'). Folic acid (effect ``fa_effect``,
    0-1) relieves ``bypass`` of the B12 part and all of the folate part."""
    return susceptibility * (maximum(0.0, d_b12 - d_b12_replete) * (1.0 - bypass * fa_effect)
                             + d_folate_marrow * (1.0 - fa_effect))


def stage_rates(marrow_delay_days, reticulocyte_days, rbc_lifespan_days):
    """Exit rates (1/day) of each marrow precursor stage, of reticulocytes and of each ageing compartment."""
    return N_DELAY / marrow_delay_days, 1.0 / reticulocyte_days, N_AGE / rbc_lifespan_days


def production_scale(hb_replete, rbc_lifespan_days, reticulocyte_days, epo_exponent):
    """ln of the constant factor ``Hb_rep^(1 + gamma) / (L + t_r)`` of :func:`production` (g/L, days)."""
    return (1.0 + epo_exponent) * log(hb_replete) - log(rbc_lifespan_days + reticulocyte_days)


def production(q_last, ln_hb, ln_scale, marrow_sensitivity, epo_exponent):
    """New red cells (g/L of Hb per day) at delayed marrow deficit ``q_last`` and ln Hb ``ln_hb``
    (g/L): ``E Hb_rep / (L + t_r) (Hb_rep / Hb)^gamma`` with ``ln_scale`` from :func:`production_scale`."""
    return exp(ln_scale - marrow_sensitivity * q_last - epo_exponent * ln_hb)


def new_cell_mcv(q_last, mcv_normal_fl, mcv_per_deficit):
    """MCV (fL) of cells made under delayed marrow deficit ``q_last``."""
    return mcv_normal_fl * exp(mcv_per_deficit * q_last)


def steady_hb(dmar, marrow_sensitivity, hb_replete, epo_exponent):
    """Hb (g/L) at which production balances removal for a constant marrow deficit ``dmar``."""
    return hb_replete * exp(-marrow_sensitivity * dmar / (1.0 + epo_exponent))


def deficit_at_hb(hb, marrow_sensitivity, hb_replete, epo_exponent):
    """The constant marrow deficit whose steady Hb (:func:`steady_hb`) is ``hb`` (g/L): anaemia below ``hb``
    needs more than this."""
    return (1.0 + epo_exponent) * log(hb_replete / hb) / marrow_sensitivity


def deficit_at_mcv(mcv, mcv_normal_fl, mcv_per_deficit):
    """The marrow deficit whose new cells (:func:`new_cell_mcv`) have MCV ``mcv`` (fL)."""
    return log(mcv / mcv_normal_fl) / mcv_per_deficit


def totals(st):
    """Hb (g/L), MCV (fL) and reticulocytes (% of red cells) of a state."""
    hb = st["ret"] + st["age"].sum(axis=0)
    vol = st["ret_vol"] + st["age_vol"].sum(axis=0)
    return hb, vol / hb, 100.0 * st["ret"] / hb


def marrow_rates(st, dmar, p):
    """``(inflow, k)`` per haematology state (numpy arrays) for marrow deficit ``dmar`` (see module doc)."""
    kq, kr, ka = stage_rates(p["marrow_delay_days"], p["reticulocyte_days"], p["rbc_lifespan_days"])
    q = st["q"]
    q_in = np.concatenate([dmar[None], q[:-1]]) * kq
    hb, _, _ = totals(st)
    scale = production_scale(p["hb_replete"], p["rbc_lifespan_days"], p["reticulocyte_days"], p["epo_exponent"])
    prod = production(q[-1], np.log(hb), scale, p["marrow_sensitivity"], p["epo_exponent"])
    age, vol = st["age"], st["age_vol"]
    return {
        "q": (q_in, kq),
        "ret": (prod, kr),
        "ret_vol": (prod * new_cell_mcv(q[-1], p["mcv_normal_fl"], p["mcv_per_deficit"]), kr),
        "age": (np.concatenate([(st["ret"] * kr)[None], age[:-1] * ka]), ka),
        "age_vol": (np.concatenate([(st["ret_vol"] * kr)[None], vol[:-1] * ka]), ka),
    }


def steady_state(dmar, hb, mcv, p):
    """State at equilibrium with marrow deficit ``dmar``, Hb ``hb`` (g/L) and MCV ``mcv`` (fL).

    Reticulocytes and ageing compartments hold Hb in proportion to their residence
    times; every compartment carries the given MCV.
    """
    dmar, hb, mcv = np.broadcast_arrays(*(np.asarray(v, float) for v in (dmar, hb, mcv)))
    total = p["rbc_lifespan_days"] + p["reticulocyte_days"]
    ret = hb * p["reticulocyte_days"] / total
    each = hb * p["rbc_lifespan_days"] / total / N_AGE
    age = np.broadcast_to(each, (N_AGE, *hb.shape)).copy()
    return {"q": np.broadcast_to(dmar, (N_DELAY, *hb.shape)).copy(), "ret": ret,
            "ret_vol": ret * mcv, "age": age, "age_vol": age * mcv}
