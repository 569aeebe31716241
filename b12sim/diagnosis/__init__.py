"""Diagnosis: P(true B12 deficiency) from borderline laboratory results.

See :func:`diagnose`. Scoring integrates over the shipped calibration posterior by
quadrature; nothing here imports PyMC.
"""

from b12sim.diagnosis.core import diagnose
from b12sim.diagnosis.result import Diagnosis

__all__ = ["Diagnosis", "diagnose"]
