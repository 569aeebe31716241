"""Reference integration of the simulator with ``scipy.integrate.solve_ivp``.

Slow and exact to the solver's tolerance: one person and one draw at a time,
doses as impulses at the start of each day, the continuous right-hand side built
from the same ``(inflow, k)`` terms the engine steps, the pools and folic acid at
any time of the day from their exact solution. Used by the tests (the engine must
agree with it) and by the benchmarks (as the baseline).
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from b12sim.physiology import haematology as haem
from b12sim.physiology import kinetics as kin
from b12sim.physiology import markers as mk
from b12sim.simulation import engine

EXACT = ("s", "r", "fa", "dfol", "food", "usual", "nerve_s", "marrow_s")  # states known in closed form within a day


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
    st = engine.initial_state(q, one, c)
    ifi = np.broadcast_to(np.asarray(one["if_intact"], float), st["s"].shape)
    lam = engine.pool_loss(ifi, q)
    start = {k: st[k] for k in EXACT}  # the exact states at the start of the current day
    names = [k for k in st if k not in EXACT]
    shapes = {k: st[k].shape for k in names}
    sizes = {k: int(np.prod(shapes[k])) for k in names}

    def pack(d):
        return np.concatenate([np.asarray(d[k], float).ravel() for k in names])

    def state(t, y):
        """The full state at time ``t`` (days) of the current day from the integrated states ``y``."""
        out, i = dict(start), 0
        for k in names:
            out[k] = y[i:i + sizes[k]].reshape(shapes[k])
            i += sizes[k]
        e_s, e_r, g = kin.pool_update(lam, q["recent_per_day"], t)
        out["s"], out["r"] = start["s"] * e_s + g * start["r"], start["r"] * e_r
        out["fa"] = start["fa"] * haem.folic_acid_left(q["folic_acid_halflife_days"], t)
        return out

    def rhs(t, y):
        s = state(t, y)
        flows, e = engine.rates(s, q, c)
        flows["nerve"] = engine.nerve_rates(s["nerve"], e, s["nerve_s"], q)
        return pack({k: inflow - np.asarray(rate) * s[k] for k, (inflow, rate) in flows.items()})

    out = {k: np.empty(days) for k in engine.OUTPUTS}
    y = pack(st)
    for t in range(days):
        day = {ch: v[person:person + 1, t] for ch, v in doses.items()}
        start["r"] = start["r"] + start["food"] + engine.absorbed(day, ifi, q)
        start["fa"] = start["fa"] + doses["folic_acid_mg"][person, t]
        y = solve_ivp(rhs, (0.0, 1.0), y, method="LSODA", rtol=rtol, atol=atol).y[:, -1]
        start.update({k: v for k, v in state(1.0, y).items() if k in EXACT})
        obs = engine.observe(state(0.0, y), q, one, c)
        for k in out:
            out[k][t] = float(np.squeeze(obs[k]))
    return out
