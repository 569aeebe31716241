"""The Monte Carlo standard error of a mean over draws, by batch means (one rule for b12sim).

The draws, in their order (chain after chain), are cut into contiguous batches, so that
autocorrelation left in MCMC chains widens the error; for independent draws it agrees
with ``sd / sqrt(n)``. ArviZ's ESS-based MCSE needs the chains, which thinned and joined
draws no longer have, and would add about a second of import to a one-patient diagnosis.
"""

from __future__ import annotations

import math

import numpy as np

from b12sim.errors import InputError
from b12sim.validation import whole


def batching(n: int, batches: int | None = None) -> tuple[int, int] | None:
    """(number, size) of the batches of ``n`` draws; None with fewer than 4 draws.

    Default: batches of ``floor(sqrt(n))`` draws, as many as fit (Flegal & Jones 2010);
    else ``n // batches`` draws each. Draws after the last whole batch are left out.
    """
    if n < 4:
        return None
    b = n // math.isqrt(n) if batches is None else whole("batches", batches, 2, n // 2)
    return b, n // b


def mcse(values, batches: int | None = None):
    """MCSE of the mean of ``values`` over their last axis (draws): SD of the batch means
    over sqrt(number of batches). A float for 1-D ``values``; NaN with fewer than 4 draws."""
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
