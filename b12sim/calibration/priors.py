"""PyMC priors of simulator parameters from their evidence rows (imports PyMC: sampling only).

:data:`b12sim.simulation.parameters.PRIORS` names each parameter's evidence row and
bounds; ``sd`` rows give truncated normals, ``log_sd`` rows truncated log-normals,
the same shapes that :func:`b12sim.simulation.parameters.draw` samples.
"""

from __future__ import annotations

import math

from b12sim import evidence


def evidence_priors(names) -> dict:
    """Random variables for ``names`` in the current PyMC model context."""
    import pymc as pm

    from b12sim.simulation.parameters import PRIORS

    out = {}
    for name in names:
        row, lo, hi = PRIORS[name]
        r = evidence.row(row)
        v, u = float(r["value"]), float(r["uncertainty"])
        if r["uncertainty_type"] == "log_sd":
            out[name] = pm.Truncated(name, pm.LogNormal.dist(mu=math.log(v), sigma=u), lower=lo, upper=hi)
        else:
            out[name] = pm.TruncatedNormal(name, mu=v, sigma=u, lower=lo, upper=hi)
    return out
