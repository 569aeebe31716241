"""Per-draw tables shared by the scorers: column layouts, quadrature grids and weights.

Every scorer reads a posterior draw's parameters from :func:`draw_table` (D, 33) by the
column constants below; the fused kernels of :mod:`b12sim.diagnosis.kernels` also take
the derived constants of :func:`closed_tables` and :func:`grid_table`, computed once per
call from it. Stores are ln ug, folate ln nmol/L, precisions in ln-units^-2.
"""

from __future__ import annotations

import math

import numpy as np

from b12sim.diagnosis.draws import Draws
from b12sim.physiology import markers as mk

H_X = 0.1  # ln-units between latent store nodes
H_Y = 0.15  # ln-units between latent folate nodes
X_MIN, X_MAX = math.log(5.0), math.log(40_000.0)  # ug
Y_MIN, Y_MAX = math.log(0.5), math.log(300.0)  # nmol/L
ndtr = np.vectorize(lambda z: 0.5 * math.erfc(-z / math.sqrt(2.0)), otypes=[float])  # standard normal CDF

B, T, M, HCY, F = range(5)  # column order of markers.MARKERS


def draw_table(dr: Draws) -> np.ndarray:
    """Per-draw parameters (D, 33) in the column order of the constants below."""
    p, c = dr.params, dr.const
    sd = dr.sds()
    cols = [
        p["x_k"], p["n_hinge"], p["sigma_x"], p["gamma_age"], p["mu_d"], p["sigma_d"], p["pi0"], p["pi_age"],
        p["b0"] - c.ln_s_med, p["t0"] - p["kappa_t"] * c.ln_s_med, p["kappa_t"],
        p["m0"], p["a_m"], p["bm_age"], p["bm_renal"],
        p["h0"], p["a_h"], p["bh_age"], p["bh_renal"], p["c_f"], p["mu_y"], p["sigma_y"],
        *(sd[:, k] for k in range(5)),
        *(p[f"delta_{k}"] for k in mk.RISKS_SHIFT),
        *(p[f"p_{k}"] for k in mk.RISKS_DEPLETING),
    ]
    return np.ascontiguousarray(np.stack(cols, axis=1))


(XK, NH, SX, GA, MUD, SD_, PI0, PIA, BOFF, TOFF, KT, M0, AM, BMA, BMR, H0, AH, BHA, BHR, CF, MUY, SY,
 SDB, SDT, SDM, SDH, SDF) = range(27)
DSHIFT = 27  # first of the 3 shift deltas, then the 3 depleting probabilities


def below(j):
    """Quadrature weights of the indicator ``node < cut`` for nodes ``j`` steps from the cut.

    The trapezoid rule (1 below, 1/2 on the cut) has an error ``h^2 g'(cut) / 12``; the
    end correction of Gregory's rule estimates ``g'`` by the central difference of the
    two neighbours (weights ``1 + 1/24`` one step below, ``-1/24`` one step above), which
    leaves an O(``h^4``) error. Weights sum to the trapezoid's, so probabilities from
    them can stray below 0 or above 1 by that error and are clipped.
    """
    j = np.asarray(j)
    return np.select([j < -1, j == -1, j == 0, j == 1], [1.0, 1.0 + 1.0 / 24.0, 0.5, -1.0 / 24.0], 0.0)


def folate_grid(c: mk.Constants, hy: float = H_Y):
    """Latent folate nodes ``hy`` ln-units apart, aligned on the deficiency cut:
    ``(y, weights of y < cut (:func:`below`), folate deficit)``."""
    ly = np.arange(math.floor((Y_MIN - c.ln_fol_def) / hy), math.ceil((Y_MAX - c.ln_fol_def) / hy) + 1)
    y = c.ln_fol_def + hy * ly
    return y, below(ly), mk.folate_deficit(y, c.ln_fol_hinge)



# rows of the per-draw table of the closed form (each row a (D,) array)
(CXK, CGA, CMUD, CDV, CDM, CDP, CPI0, CPIA, CPP, CPI, CPB, CBOFF, CIVB, CTOFF, CKTV,
 CYM, CYW, CYR, CPF0) = range(19)
# rows of its per-draw table for each set of store markers (bit 0: B12, bit 1: holoTC); V, L, A, R of
# the main (M) and the depleting (D) component as in closed_tables
KP, KVM, KLM, KAM, KRM, KVD, KLD, KAD, KRD = range(9)


def closed_tables(tab: np.ndarray, c: mk.Constants):
    """Per-draw constants of the closed form: ``base`` (19, D) and ``post`` (4, 9, D).

    ``post[k]`` for the store markers in ``k``: ``P``, the precision (ln-units^-2) they give
    about ``x``; then per component with prior SD ``s0``: ``V = s0^2 / (1 + s0^2 P)``, the
    posterior variance; ``L = -ln(1 + s0^2 P) / 2`` and ``A = 1 / (2 P (1 + s0^2 P))`` (0 if
    ``P = 0``), so that its log evidence is ``L - A g^2`` with ``g = h - P m0`` (``h``: the
    results' precision-weighted information, ``m0``: the prior mean); ``R = 1 / sqrt(2 V)``.
    """
    col = lambda k: tab[:, k]  # noqa: E731
    prec_y = col(SY) ** -2 + col(SDF) ** -2
    base = np.stack([
        col(XK), col(GA), col(MUD), *(col(DSHIFT + k) for k in range(3)), col(PI0), col(PIA),
        *(col(DSHIFT + 3 + k) for k in range(3)), col(BOFF), col(SDB) ** -2, col(TOFF), col(KT) / col(SDT) ** 2,
        col(MUY) * col(SY) ** -2 / prec_y, col(SDF) ** -2 / prec_y, np.sqrt(prec_y / 2),
        ndtr((c.ln_fol_def - col(MUY)) / col(SY)),
    ])
    post = np.empty((4, 9, tab.shape[0]))
    for k in range(4):
        p = (k & 1) * col(SDB) ** -2 + (k >> 1) * (col(KT) / col(SDT)) ** 2
        post[k, KP] = p
        for row, s0 in ((KVM, col(SX)), (KVD, col(SD_))):
            q = 1.0 + s0**2 * p
            post[k, row] = s0**2 / q
            post[k, row + 1] = -0.5 * np.log(q)
            post[k, row + 2] = 0.5 / (p * q) if k else 0.0
            post[k, row + 3] = np.sqrt(q / (2.0 * s0**2))
    return np.ascontiguousarray(base), post



# columns of the grid kernel's per-draw table of derived constants (see grid_table)
G_LSX, G_LSD, G_ISX2, G_ISD2, G_IB, G_IT, G_IKT, G_KM, G_ISH, G_YA, G_YW, G_SY1 = range(12)


def grid_table(tab: np.ndarray) -> np.ndarray:
    """Per-draw constants of the grid kernel, derived once from the draw table (D, 12).

    ln of the components' prior SDs, their precisions, the precisions of B12 and of holoTC
    about ``x``, ``1/kappa_t``, ``1/SD`` of MMA and tHcy, and the latent folate's conjugate
    update by a folate result ``f``: mean ``YA + YW f``, SD ``SY1``.
    """
    col = lambda k: tab[:, k]  # noqa: E731
    prec_y = col(SY) ** -2 + col(SDF) ** -2
    return np.ascontiguousarray(np.stack([
        np.log(col(SX)), np.log(col(SD_)), col(SX) ** -2, col(SD_) ** -2, col(SDB) ** -2, (col(KT) / col(SDT)) ** 2,
        1.0 / col(KT), 1.0 / col(SDM), 1.0 / col(SDH), col(MUY) * col(SY) ** -2 / prec_y, col(SDF) ** -2 / prec_y,
        prec_y**-0.5,
    ], axis=1))

