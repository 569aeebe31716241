"""Scalar numba primitives for the compiled kernels: branch-free ``exp``, ``log`` and kin.

``math.exp`` and ``math.log`` are library calls, which keep a loop over lanes from
compiling to SIMD instructions; these are written out (about 1 ulp, no branches), so
that they vectorise. :mod:`b12sim.physiology.backend` binds them as the primitives of
the numba build of the equations. Importing this module imports numba.
"""

from __future__ import annotations

import math

import numba
import numpy as np

# fastmath without reassociation: the rounding steps in _exp_parts and log1p must stay as written
JIT = dict(cache=True, fastmath={"nnan", "ninf", "nsz", "arcp", "contract", "afn"}, error_model="numpy")

_SHIFT = 6755399441055744.0  # 1.5 * 2**52: adding it rounds to an integer, kept in the low mantissa bits
_LOG2E = 1.4426950408889634
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
_E1, _E2, _E3, _E4, _E5, _E6, _E7, _E8, _E9, _E10, _E11, _E12, _E13 = (1.0 / math.factorial(k) for k in range(1, 14))
# fdlibm's log: ln(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)), s = f / (2 + f)
_LG1, _LG2, _LG3, _LG4 = 6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01, \
    2.222219843214978396e-01
_LG5, _LG6, _LG7 = 1.818357216161805012e-01, 1.531383769920937332e-01, 1.479819860511658591e-01
_LOG_SHIFT = (0x3FF00000 - 0x3FE6A09E) << 32  # moves the mantissa range [1, 2) to [sqrt(1/2), sqrt(2))
_MANTISSA = (1 << 52) - 1
_LOG_BASE = 0x3FE6A09E << 32


@numba.njit(inline="always", **JIT)
def _bits(x):
    return np.float64(x).view(np.int64)


@numba.njit(inline="always", **JIT)
def _from_bits(i):
    return np.int64(i).view(np.float64)


@numba.njit(inline="always", **JIT)
def _exp_parts(x):
    """``(2**n, expm1(r))`` with ``exp(x) = 2**n (1 + expm1(r))``, ``|r| <= ln2/2``; x clamped to +-708."""
    x = min(max(x, -708.0), 708.0)
    y = x * _LOG2E + _SHIFT
    n = y - _SHIFT
    r = x - n * _LN2_HI - n * _LN2_LO
    # Taylor series of expm1(r) / r to r^12: the leading terms in Horner's order (accuracy), the tail
    # in Estrin's scheme (a short dependency chain)
    r2 = r * r
    r4 = r2 * r2
    tail = (_E5 + _E6 * r) + (_E7 + _E8 * r) * r2 + ((_E9 + _E10 * r) + (_E11 + _E12 * r) * r2 + _E13 * r4) * r4
    p = _E1 + r * (_E2 + r * (_E3 + r * (_E4 + r * tail)))
    return _from_bits((_bits(y) + 1023) << 52), p * r


@numba.njit(inline="always", **JIT)
def exp(x):
    scale, em1 = _exp_parts(x)
    return scale * em1 + scale


@numba.njit(inline="always", **JIT)
def expm1(x):
    scale, em1 = _exp_parts(x)
    return scale * em1 + (scale - 1.0)


@numba.njit(inline="always", **JIT)
def _log_reduce(x):
    """``(k, f)`` with ``x = 2**k (1 + f)``, ``sqrt(1/2) <= 1 + f < sqrt(2)``, for positive normal x."""
    u = _bits(x) + _LOG_SHIFT
    return float((u >> 52) - 1023), _from_bits((u & _MANTISSA) + _LOG_BASE) - 1.0


@numba.njit(inline="always", **JIT)
def _log_poly(k, f):
    """``ln(2**k (1 + f))``."""
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    z2 = z * z
    r = z * ((_LG1 + _LG2 * z) + (_LG3 + _LG4 * z) * z2 + ((_LG5 + _LG6 * z) + _LG7 * z2) * (z2 * z2))
    return s * (hfsq + r) + k * _LN2_LO - hfsq + f + k * _LN2_HI


@numba.njit(inline="always", **JIT)
def log(x):
    k, f = _log_reduce(x)
    return _log_poly(k, f)


@numba.njit(inline="always", **JIT)
def log1p(u):
    """``ln(1 + u)`` for ``0 <= u <= 1``: the rounding error of ``1 + u`` goes back into f (k is 0 or 1)."""
    w = 1.0 + u
    k, f = _log_reduce(w)
    return _log_poly(k, f + (u - (w - 1.0)) * (1.0 - 0.5 * k))


@numba.njit(inline="always", **JIT)
def softplus(z):
    """``ln(1 + e^z)`` as ``max(z, 0) + ln(1 + e^-|z|)``."""
    return max(z, 0.0) + log1p(exp(-abs(z)))


@numba.njit(inline="always", **JIT)
def maximum(a, b):
    return max(a, b)


@numba.njit(inline="always", **JIT)
def minimum(a, b):
    return min(a, b)


@numba.njit(inline="always", **JIT)
def where(c, a, b):
    return a if c else b


@numba.njit(inline="always", **JIT)
def sqrt(x):
    return math.sqrt(x)
