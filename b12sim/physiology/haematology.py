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

N_AGE = 12  # red-cell ageing compartments (lifespan CV about 0.29)
N_DELAY = 3  # marrow precursor stages


def marrow_deficit(d_b12, d_folate, fa_effect, bypass):
    """Deficit seen by the marrow: folic acid relieves ``bypass`` of the B12 part and all of the folate part."""
    return d_b12 * (1.0 - bypass * fa_effect) + d_folate * (1.0 - fa_effect)


def production(q_last, hb, p):
    """New red cells, g/L of Hb per day, from the delayed deficit and current Hb (g/L)."""
    eff = np.exp(-p["marrow_sensitivity"] * q_last)
    norm = p["hb_replete"] / (p["rbc_lifespan_days"] + p["reticulocyte_days"])
    return eff * norm * (p["hb_replete"] / hb) ** p["epo_exponent"]


def new_cell_mcv(q_last, p):
    """MCV (fL) of cells made under marrow deficit ``q_last``."""
    return p["mcv_normal_fl"] * np.exp(p["mcv_per_deficit"] * q_last)


def totals(st):
    """Hb (g/L), MCV (fL) and reticulocytes (% of red cells) of a state."""
    hb = st["ret"] + st["age"].sum(axis=0)
    vol = st["ret_vol"] + st["age_vol"].sum(axis=0)
    return hb, vol / hb, 100.0 * st["ret"] / hb


def marrow_rates(st, dmar, p):
    """``(inflow, k)`` per haematology state for marrow deficit ``dmar`` (see module doc)."""
    kq = N_DELAY / p["marrow_delay_days"]
    q = st["q"]
    q_in = np.concatenate([dmar[None], q[:-1]]) * kq
    hb, _, _ = totals(st)
    prod = production(q[-1], hb, p)
    kr = 1.0 / p["reticulocyte_days"]
    ka = N_AGE / p["rbc_lifespan_days"]
    age, vol = st["age"], st["age_vol"]
    return {
        "q": (q_in, kq),
        "ret": (prod, kr),
        "ret_vol": (prod * new_cell_mcv(q[-1], p), kr),
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


def steady_hb(dmar, p):
    """Hb (g/L) at which production balances removal for a constant marrow deficit."""
    eff = np.exp(-p["marrow_sensitivity"] * dmar)
    return p["hb_replete"] * eff ** (1.0 / (1.0 + p["epo_exponent"]))
