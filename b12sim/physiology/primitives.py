"""The primitives every equation in :mod:`b12sim.physiology` is written with, for numpy.

Equation modules import these by name (``from b12sim.physiology.primitives import exp``)
and use nothing else for arithmetic beyond operators, so that
:mod:`b12sim.physiology.backend` can rebuild the same equations around numba's or
PyTensor's primitives. The numpy versions broadcast over arrays.
"""

from __future__ import annotations

import numpy as np

exp, log, log1p, expm1, sqrt = np.exp, np.log, np.log1p, np.expm1, np.sqrt
maximum, minimum, where = np.maximum, np.minimum, np.where


def softplus(z):
    """``ln(1 + e^z)``, stable for large ``|z|``."""
    return np.logaddexp(0.0, z)


NAMES = ("exp", "log", "log1p", "expm1", "sqrt", "maximum", "minimum", "where", "softplus")
