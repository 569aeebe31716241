"""One definition of each equation, run three ways: numpy, numba and PyTensor.

The equation modules (:data:`MODULES`) are plain Python written with the primitives of
:mod:`b12sim.physiology.primitives` (``exp``, ``log``, ``softplus``, ...) and operators,
and import each other's functions by name. Called directly they broadcast over numpy
arrays. :func:`numba` rebuilds every function of those modules around scalar numba
primitives (:mod:`b12sim.physiology.fastmath`), compiled inline into the kernels;
:func:`pytensor` rebuilds them around PyTensor's, for the calibrations' gradients. The
rebuilt functions share their code objects with the originals: a modeller changes an
equation in one place.

Parameters reach the numba kernels by name, as the fields of a structured array
(:func:`record`); numba reads ``row.x_k`` from it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import types

import numpy as np

from b12sim.physiology import primitives

MODULES = ("b12sim.physiology.markers", "b12sim.physiology.kinetics", "b12sim.physiology.haematology",
           "b12sim.physiology.neurology")


def _equations() -> dict[str, types.FunctionType]:
    """Every function defined in :data:`MODULES`, by name (names are unique across them)."""
    out: dict[str, types.FunctionType] = {}
    for name in MODULES:
        for key, f in vars(importlib.import_module(name)).items():
            if isinstance(f, types.FunctionType) and f.__module__ == name:
                if key in out:
                    raise RuntimeError(f"equation {key!r} is defined in {out[key].__module__} and {name}")
                out[key] = f
    return out


def _rebuild(prims: dict, wrap) -> types.ModuleType:
    """The equations with ``prims`` in place of the numpy primitives, each passed through ``wrap``."""
    eqs = _equations()
    spaces = {name: dict(vars(importlib.import_module(name))) | prims for name in MODULES}
    built = {}
    for key, f in eqs.items():
        g = types.FunctionType(f.__code__, spaces[f.__module__], key, f.__defaults__, f.__closure__)
        g.__kwdefaults__, g.__doc__, g.__qualname__ = f.__kwdefaults__, f.__doc__, f.__qualname__
        built[key] = wrap(g)
    for space in spaces.values():  # each module's own definitions and by-name imports now point at the builds
        space.update({k: v for k, v in built.items() if k in space})
    return _module(built)


def _module(funcs: dict) -> types.ModuleType:
    """The functions as attributes of a module object (numba resolves ``module.function`` in kernels)."""
    mod = types.ModuleType("b12sim.physiology.equations", "The equation functions of one backend.")
    vars(mod).update(funcs)
    return mod


@functools.cache
def numpy() -> types.ModuleType:
    """The equations as written (numpy primitives)."""
    return _module(_equations())


@functools.cache
def numba() -> types.ModuleType:
    """The equations compiled by numba for scalars, to be inlined into kernels (imports numba)."""
    import numba as nb

    from b12sim.physiology import fastmath

    prims = {k: getattr(fastmath, k) for k in primitives.NAMES}
    return _rebuild(prims, nb.njit(inline="always", **fastmath.JIT))


@functools.cache
def pytensor() -> types.ModuleType:
    """The equations on PyTensor tensors (imports PyTensor)."""
    import pytensor.tensor as pt

    prims = {"exp": pt.exp, "log": pt.log, "log1p": pt.log1p, "expm1": pt.expm1, "sqrt": pt.sqrt,
             "maximum": pt.maximum, "minimum": pt.minimum, "where": pt.switch,
             "softplus": lambda z: pt.logaddexp(0.0, z)}
    return _rebuild(prims, lambda f: f)


def of(xp) -> types.ModuleType:
    """The equations for array module ``xp`` (``numpy`` or ``pytensor.tensor``)."""
    return numpy() if xp is np else pytensor()


@functools.cache
def fingerprint() -> str:
    """A short hash of the equations' and primitives' source, part of compiled kernels' cache keys
    (numba's cache sees changes to a kernel's own file only)."""
    h = hashlib.sha256()
    for name in (*MODULES, "b12sim.physiology.primitives", "b12sim.physiology.fastmath"):
        h.update(inspect.getsource(importlib.import_module(name)).encode())
    return h.hexdigest()[:12]


def kernel(fn, **options):
    """``numba.njit(cache=True, **options)`` of ``fn``, its cache keyed on :func:`fingerprint`."""
    import numba as nb

    fn.__qualname__ = f"{fn.__qualname__}_{fingerprint()}"
    return nb.njit(cache=True, **options)(fn)


def record(values, names) -> np.ndarray:
    """Structured array (D,) with one float field per name in ``names``, from a mapping of
    scalars or (D,) arrays: a parameter set as numba kernels read it (``row.name``)."""
    cols = {k: np.asarray(values[k], float) for k in names}
    n = max((v.size for v in cols.values() if v.ndim), default=1)
    out = np.empty(n, dtype=[(k, "f8") for k in names])
    for k, v in cols.items():
        out[k] = v
    return out
