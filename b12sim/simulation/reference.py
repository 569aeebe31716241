"""Reference integration of the simulator with ``scipy.integrate.solve_ivp``.

Slow and exact to the solver's tolerance: one person and one draw at a time,
doses as impulses at the start of each day, the continuous right-hand side built
from the same ``(inflow, k)`` terms the engine steps. Used by the tests (the
engine must agree with it) and by the benchmarks (as the baseline).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import solve_ivp

from b12sim.physiology import kinetics as kin
from b12sim.physiology import markers as mk
from b12sim.simulation import engine
from b12sim.simulation.parameters import kinetic_params


def run_one(p: dict, people: dict, doses: dict, days: int, *, draw: int = 0, person: int = 0,
            rtol: float = 1e-8, atol: float = 1e-10) -> dict[str, np.ndarray]:
    """Outputs (days,) for one draw and one person, as :func:`engine.run` gives them."""
    p1 = {k: np.asarray(v)[draw:draw + 1] for k, v in p.items()}
    one = {}
    for k, v in people.items():
        v = np.asarray(v)
        one[k] = v[draw:draw + 1, person:person + 1] if v.ndim == 2 else v[person:person + 1]
    c = mk.Constants.load()
    q = engine.person_params(p1, one)
    kp = kinetic_params(p1)
    ifi = np.asarray(one["if_intact"], float)[None, :]
    lam = float(np.squeeze(kin.loss_rate(ifi, kp)))
    ks, kl = float(np.squeeze(kp.recent_to_stores_per_day)), float(np.squeeze(kp.recent_lost_per_day))
    kfa = math.log(2) / float(np.squeeze(q["folic_acid_halflife_days"]))
    st = engine.initial_state(q, one, c)
    names = [k for k in st if k != "dfol"]
    shapes = {k: st[k].shape for k in names}
    sizes = {k: int(np.prod(shapes[k])) for k in names}

    def pack(d):
        return np.concatenate([np.asarray(d[k], float).ravel() for k in names])

    def unpack(y):
        out, i = {"dfol": st["dfol"]}, 0
        for k in names:
            out[k] = y[i:i + sizes[k]].reshape(shapes[k])
            i += sizes[k]
        return out

    def rhs(_, y):
        s = unpack(y)
        d = {"s": ks * s["r"] - lam * s["s"], "r": -(ks + kl) * s["r"], "fa": -kfa * s["fa"]}
        for k, (inflow, rate) in engine.rates(s, q, c).items():
            d[k] = inflow - np.asarray(rate) * s[k]
        return pack(d)

    out = {k: np.empty(days) for k in engine.OUTPUTS}
    y = pack(st)
    for t in range(days):
        s = unpack(y)
        s["r"] = s["r"] + engine.absorbed({ch: v[person:person + 1, t] for ch, v in doses.items()}, ifi, kp)
        s["fa"] = s["fa"] + doses["folic_acid_mg"][person, t]
        y = solve_ivp(rhs, (0.0, 1.0), pack(s), method="LSODA", rtol=rtol, atol=atol).y[:, -1]
        obs = engine.observe(unpack(y), q, one, c)
        for k in out:
            out[k][t] = float(np.squeeze(obs[k]))
    return out
