"""Monte Carlo standard error of a mean over draws: the one rule b12sim uses.

Batch means: the draws, in the order they came (chain after chain), are cut into
contiguous batches, so that autocorrelation left in MCMC chains widens the error as it
should; for independent draws it agrees with ``sd / sqrt(n)``. ArviZ's ESS-based MCSE
needs the chains themselves, which the thinned and combined draws used here no longer
have, and importing it would add about a second to a one-patient diagnosis; the
calibration reports use ArviZ on the chains.
"""

from __future__ import annotations

import math

import numpy as np

from b12sim.errors import InputError
from b12sim.validation import whole


def batching(n: int, batches: int | None = None) -> tuple[int, int] | None:
    """Number and size of the contiguous batches of ``n`` draws, or None with fewer than 4.

    By default batches of ``floor(sqrt(n))`` draws, as many as fit (the usual rule, e.g.
    Flegal & Jones 2010); with ``batches`` given, ``n // batches`` draws each. The
    ``n mod size`` draws after the last whole batch are left out.
    """
    if n < 4:
        return None
    b = n // math.isqrt(n) if batches is None else whole("batches", batches, 2, n // 2)
    return b, n // b


def mcse(values, batches: int | None = None):
    """Monte Carlo standard error of the mean of ``values`` over their last axis (draws).

    The SD of the batch means (:func:`batching`) over ``sqrt(number of batches)``; a float
    for 1-D ``values``, else an array over the leading axes. NaN with fewer than 4 draws.
    """
    allowed = "numbers with a last (draw) axis of length >= 1"
    try:
        x = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InputError("values", values, allowed) from None
    if x.ndim == 0 or x.shape[-1] == 0:
        raise InputError("values", values, allowed)
    shape = batching(x.shape[-1], batches)
    if shape is None:
        return np.full(x.shape[:-1], np.nan)[()]
    b, size = shape
    means = x[..., :b * size].reshape(*x.shape[:-1], b, size).mean(axis=-1)
    return (means.std(axis=-1, ddof=1) / np.sqrt(b))[()]
