"""Quantiles and medians over posterior draws, row by row, in parallel (numba, compiled on first use).

They return exactly what ``np.quantile(..., axis=1)`` (method "linear") and
``np.median(..., axis=1)`` return, without sorting each row: the ranks needed are read
from short sorted lists of a row's extremes or found by quickselect.
"""

from __future__ import annotations

import functools

import numpy as np

EXTREME = 32  # order statistics this close to either end of a row are found by insertion


def draw_quantiles(v: np.ndarray, q) -> np.ndarray:
    """``np.quantile(v, q, axis=1)`` (method "linear") of ``v`` (N, D), the same numbers, in parallel: (len(q), N)."""
    n = v.shape[1]
    virt = (n - 1) * np.asarray(q, float)
    prev = np.floor(virt)
    pairs = _compiled_order()(np.ascontiguousarray(v, float), np.minimum(prev, n - 1).astype(np.int64))
    a, b, g = pairs[:, :, 0].T, pairs[:, :, 1].T, (virt - prev)[:, None]
    return np.where(g >= 0.5, b - (b - a) * (1 - g), a + (b - a) * g)  # numpy's interpolation, term by term


def draw_median(v: np.ndarray) -> np.ndarray:
    """``np.median(v, axis=1)`` of ``v`` (N, D), the same numbers, in parallel: (N,)."""
    n = v.shape[1]
    pairs = _compiled_order()(np.ascontiguousarray(v, float), np.array([(n - 1) // 2]))
    return pairs[:, 0, 0] if n % 2 else (pairs[:, 0, 0] + pairs[:, 0, 1]) / 2


@functools.cache
def _compiled_order():
    """:func:`_order_kernel`, compiled on first use; its helpers are rebound to compiled versions."""
    global numba, _select, _partition_below, _extremes, _insert
    import numba

    _insert = numba.njit(inline="always")(_insert)
    _extremes = numba.njit(_extremes)
    _partition_below = numba.njit(inline="always")(_partition_below)
    _select = numba.njit(_select)
    return numba.njit(cache=True, parallel=True)(_order_kernel)


def _order_kernel(v, ks):
    """The ``k``-th and ``k+1``-th smallest value (the ``k``-th again if ``k`` is the last) of each row of
    ``v`` for each ``k`` in ``ks``: (N, len(ks), 2). Ranks within :data:`EXTREME` of either end are
    read from short sorted lists of the smallest and largest values (one pass), the others found
    by :func:`_select`."""
    n, m = v.shape
    out = np.empty((n, ks.size, 2))
    n_lo = n_hi = 0  # lengths of the lists needed
    select = False
    for k in ks:
        if k + 2 <= EXTREME:
            n_lo = max(n_lo, min(k + 2, m))
        elif m - k <= EXTREME:
            n_hi = max(n_hi, m - k)
        else:
            select = True
    for i in numba.prange(n):
        low = np.empty(n_lo)  # ascending
        high = np.empty(n_hi)  # descending, negated (so ascending)
        _extremes(v[i], low, high)
        w = v[i].copy() if select else v[i]
        for j in range(ks.size):
            k = ks[j]
            k1 = min(k + 1, m - 1)
            if k + 2 <= EXTREME:
                out[i, j, 0], out[i, j, 1] = low[k], low[k1]
            elif m - k <= EXTREME:
                out[i, j, 0], out[i, j, 1] = -high[m - 1 - k], -high[m - 1 - k1]
            else:
                _select(w, k)
                out[i, j, 0] = w[k]
                out[i, j, 1] = w[k + 1:].min() if k + 1 < m else w[k]
    return out


def _extremes(row, low, high):
    """Fill ``low`` with the ``low.size`` smallest values of ``row`` in ascending order and ``high`` with
    minus the ``high.size`` largest in descending order (so ``high`` ascends), in one pass."""
    low[:] = np.inf
    high[:] = np.inf
    top_lo = np.inf if low.size else -np.inf  # the last entry of each list, kept in a register
    top_hi = np.inf if high.size else -np.inf
    for x in row:
        if x < top_lo:
            top_lo = _insert(low, x)
        if -x < top_hi:
            top_hi = _insert(high, -x)


def _insert(buf, x):
    """Insert ``x`` into the ascending ``buf``, dropping its last entry; returns the new last entry."""
    j = buf.size - 1
    while j > 0 and buf[j - 1] > x:
        buf[j] = buf[j - 1]
        j -= 1
    buf[j] = x
    return buf[buf.size - 1]


def _select(w, k):
    """Reorder ``w`` in place so that ``w[k]`` is its ``k``-th smallest value, with none larger before it and
    none smaller after it: quickselect with median-of-three pivots and branch-free partitions; when the
    pivot is the smallest value left, its copies are split off, so repeated values cost nothing extra."""
    lo, hi = 0, w.size  # w[k] lies in w[lo:hi]
    while hi - lo > 1:
        a, b, c = w[lo], w[(lo + hi) // 2], w[hi - 1]
        pivot = max(min(a, b), min(max(a, b), c))
        j = _partition_below(w, lo, hi, pivot, False)
        if k < j:
            hi = j
        elif j > lo:
            lo = j
        else:
            j = _partition_below(w, lo, hi, pivot, True)
            if k < j:
                return
            lo = j


def _partition_below(w, lo, hi, pivot, equal):
    """Move the values of ``w[lo:hi]`` below ``pivot`` (at most ``pivot`` if ``equal``) to its front,
    without branches; returns where the rest starts."""
    j = lo
    for i in range(lo, hi):
        x = w[i]
        w[i] = w[j]
        w[j] = x
        j += (x <= pivot) if equal else (x < pivot)
    return j
