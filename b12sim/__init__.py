"""b12sim: probabilistic diagnosis and outcome simulation for vitamin B12 deficiency.

A research and teaching tool. Nothing it prints is medical advice.

The public API is loaded lazily so that ``import b12sim`` stays fast and never
imports PyMC; sampling code is imported only when a fit or calibration runs.
"""

from __future__ import annotations

import importlib
import types

from b12sim.defaults import DISCLAIMER

_LAZY = {
    "diagnose": "b12sim.diagnosis",
    "Diagnosis": "b12sim.diagnosis",
    "accuracy": "b12sim.diagnosis.accuracy",
    "cb12": "b12sim.fedosov",
    "cb12_category": "b12sim.fedosov",
    "CohortModel": "b12sim.cohort",
    "simulate": "b12sim.simulation",
    "summarise": "b12sim.simulation",
    "summary_table": "b12sim.simulation",
    "delay_curve": "b12sim.simulation",
    "decide": "b12sim.decision",
    "Decision": "b12sim.decision",
    "compare_strategies": "b12sim.policy.compare",
    "PolicyResult": "b12sim.policy.compare",
    "synthetic_cohort": "b12sim.policy.population",
    "validate": "b12sim.studies",
    "load_posterior": "b12sim.posterior",
    "InputError": "b12sim.errors",
}

__all__ = ["DISCLAIMER", "__version__", *_LAZY]


def __getattr__(name: str):
    if name == "__version__":
        from b12sim.defaults import version

        return version()
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'b12sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public API, lazy names included, and the submodules imported so far (tab completion)."""
    loaded = {k for k, v in globals().items() if isinstance(v, types.ModuleType) and v.__name__ == f"b12sim.{k}"}
    return sorted(set(__all__) | loaded)
