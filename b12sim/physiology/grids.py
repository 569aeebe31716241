"""The latent grids: one range of ln stores and of ln true folate, and the node spacing of each use.

Every integral over the latent state (diagnosis, the cohort fit, the marker calibration)
takes its nodes from here, from the one range; the node counts differ by purpose. The
diagnosis steps :data:`H_X` and :data:`H_Y` with nodes aligned on a cut (each draw's
deficiency boundary, the folate deficiency cut: :func:`aligned`); the calibration spreads
:data:`CALIBRATION_NODES` evenly over the store range; the cohort fit, whose gradient runs
through every node for every person, fewer (:data:`COHORT_NODES`).
"""

from __future__ import annotations

import math

import numpy as np

X_MIN, X_MAX = math.log(5.0), math.log(40_000.0)  # ln ug, latent cobalamin stores
Y_MIN, Y_MAX = math.log(0.5), math.log(300.0)  # ln nmol/L, latent true folate
H_X = 0.1  # ln-units between the diagnosis' store nodes
H_Y = 0.15  # ln-units between its folate nodes
CALIBRATION_NODES = 121  # store nodes of the calibration (step 0.074)
COHORT_NODES = 49  # store nodes of the cohort fit (step 0.19)
# the calibration integrates the population folate prior over the folate range narrowed by a
# factor 2 at each end (1-150 nmol/L), where its mass lies, on 25 nodes (step 0.21)
Y_CALIBRATION = np.linspace(Y_MIN + math.log(2.0), Y_MAX - math.log(2.0), 25)


def store_nodes(n: int) -> np.ndarray:
    """``n`` ln-store nodes (ug) evenly over ``[X_MIN, X_MAX]``, both ends included."""
    return np.linspace(X_MIN, X_MAX, n)


def aligned(cut, step: float, lo: float, hi: float):
    """First and last integer offsets ``j`` of the nodes ``cut + step * j`` that cover ``[lo, hi]``
    (at most one node beyond each end); per element if ``cut`` is an array."""
    cut = np.asarray(cut)
    return np.floor((lo - cut) / step).astype(np.int64), np.ceil((hi - cut) / step).astype(np.int64)
