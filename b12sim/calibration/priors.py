"""PyMC priors of simulator parameters (imports PyMC: sampling only).

The priors are those of :func:`b12sim.simulation.parameters.prior_of`, the same that
:func:`b12sim.simulation.parameters.draw` samples.
"""

from __future__ import annotations

import math


def evidence_priors(names) -> dict:
    """Random variables for ``names`` in the current PyMC model context."""
    import pymc as pm

    from b12sim.simulation.parameters import prior_of

    out = {}
    for name in names:
        v, u, log_normal, lo, hi = prior_of(name)
        if log_normal:
            out[name] = pm.Truncated(name, pm.LogNormal.dist(mu=math.log(v), sigma=u), lower=lo, upper=hi)
        else:
            out[name] = pm.TruncatedNormal(name, mu=v, sigma=u, lower=lo, upper=hi)
    return out
