"""Per-draw tables of the scorers, by name: parameters, derived constants, quadrature weights.

:func:`draw_record` holds each posterior draw's parameters (the names of
:data:`markers.PARAMS`) and the constants derived from them once per call (:data:`DERIVED`);
:func:`update_record` the conjugate update of the two prior components of ``x`` by each set
of store markers (:data:`UPDATE`). The kernels of :mod:`b12sim.diagnosis.kernels` read them
by name (``row.x_k``, ``tab.x_k``), the numpy scorers by field (``tab["x_k"]``). Stores are
ln ug, folate ln nmol/L, precisions in ln-units^-2.
"""

from __future__ import annotations

import math

import numpy as np

from b12sim.diagnosis.draws import Draws
from b12sim.physiology import backend, grids
from b12sim.physiology import markers as mk

ndtr = np.vectorize(lambda z: 0.5 * math.erfc(-z / math.sqrt(2.0)), otypes=[float])  # standard normal CDF

# the data layout, not a parameter table: columns of the (N, 5) arrays of ln marker values
B, T, M, HCY, F = (mk.MARKERS.index(m) for m in ("b12", "holotc", "mma", "hcy", "folate"))

DERIVED = (
    "b_x0", "b_w", "b_p",  # serum B12, linear in x: ln value at x = 0, slope / SD^2, slope^2 / SD^2 (its precision)
    "t_x0", "t_w", "t_p",  # holoTC, the same
    "bt_wb", "bt_wt", "bt_p",  # both measured (correlated residuals, markers.pair_weights): weights and precision
    "m_within", "h_isd",  # within-person SD of ln MMA (its between part, markers.mma_between_sd, is the person's);
    # 1 / total SD of ln tHcy
    "f_p", "f_v", "f_sd", "f_r",  # folate: a result's precision about y; variance, SD, 1/sqrt(2 var) of y given it
    "p_fol0",  # P(folate deficient) without a folate result
)
# per set of store markers (index: bit 0 B12, bit 1 holoTC): the weights wb, wt of the B12 and holoTC residuals
# (value - x0) in the information h about x, their precision about x, then for the main (m) and the depleting (d)
# prior component updated by them: posterior variance v, log-evidence constants l, k (markers.evidence_terms),
# posterior precision q = 1/v, lq = ln sqrt(q), r = 1/sqrt(2 v)
UPDATE = ("wb", "wt", "prec", "v_m", "l_m", "k_m", "q_m", "lq_m", "r_m", "v_d", "l_d", "k_d", "q_d", "lq_d", "r_d")


def draw_record(dr: Draws) -> np.ndarray:
    """Per-draw parameters and :data:`DERIVED` constants, a structured array (D,) (:func:`backend.record`)."""
    p, c = dr.params, dr.const
    sd = mk.log_sds(p, c, 0.0, 0.0)  # every marker's but MMA's is the same at all ages and eGFR
    out = dict(p)
    for m, x0, slope in (("b", *_line(mk.log_b12, p["b0"], c.ln_s_med)),
                         ("t", *_line(mk.log_holotc, p["t0"], p["kappa_t"], c.ln_s_med))):
        s = sd["b12" if m == "b" else "holotc"]
        out |= {f"{m}_x0": x0, f"{m}_w": slope / s**2, f"{m}_p": (slope / s) ** 2, f"{m}_slope": slope}
    out["bt_wb"], out["bt_wt"], out["bt_p"] = mk.pair_weights(out.pop("b_slope"), out.pop("t_slope"), sd["b12"] ** 2,
                                                              sd["holotc"] ** 2, mk.b12_holotc_residual_cov(p))
    out["m_within"], out["h_isd"] = np.full_like(p["s_m"], c.within["mma"]), 1.0 / sd["hcy"]
    out["f_p"] = sd["folate"] ** -2
    out["f_v"] = mk.posterior_variance(p["sigma_y"], out["f_p"])
    out["f_sd"], out["f_r"] = np.sqrt(out["f_v"]), 1.0 / np.sqrt(2.0 * out["f_v"])
    out["p_fol0"] = ndtr((c.ln_fol_def - p["mu_y"]) / p["sigma_y"])
    return backend.record(out, mk.PARAMS + DERIVED)


def _line(f, *args):
    """Intercept and slope in ``x`` of the observation equation ``f(x, *args)``, linear in ``x``."""
    x0 = f(0.0, *args)
    return x0, f(1.0, *args) - x0


def update(tab: np.ndarray, key: int) -> dict[str, np.ndarray]:
    """:data:`UPDATE` for the store markers in ``key`` (bit 0 B12, bit 1 holoTC), (D,) arrays.

    With no store marker (``key`` 0) the log evidence is 0 (``l = k = 0``).
    """
    zero = np.zeros(tab.shape[0])
    wb, wt, prec = {0: (zero, zero, zero), 1: (tab["b_w"], zero, tab["b_p"]), 2: (zero, tab["t_w"], tab["t_p"]),
                    3: (tab["bt_wb"], tab["bt_wt"], tab["bt_p"])}[key]
    out = {"wb": wb, "wt": wt, "prec": prec}
    for c, s0 in (("m", tab["sigma_x"]), ("d", tab["sigma_d"])):
        v = mk.posterior_variance(s0, prec)
        out[f"l_{c}"], out[f"k_{c}"] = mk.evidence_terms(s0, prec) if key else (0.0, 0.0)
        out |= {f"v_{c}": v, f"q_{c}": 1.0 / v, f"lq_{c}": -0.5 * np.log(v), f"r_{c}": 1.0 / np.sqrt(2.0 * v)}
    return out


def update_record(tab: np.ndarray) -> np.ndarray:
    """:func:`update` for each set of store markers, a structured array (4, D)."""
    out = np.empty((4, tab.shape[0]), dtype=[(k, "f8") for k in UPDATE])
    for key in range(4):
        for k, v in update(tab, key).items():
            out[key][k] = v
    return out


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


def folate_grid(c: mk.Constants, hy: float = grids.H_Y):
    """Latent folate nodes ``hy`` ln-units apart over the folate range of :mod:`~b12sim.physiology.grids`,
    aligned on the deficiency cut: ``(y, weights of y < cut (:func:`below`), folate deficit)``."""
    j0, j1 = grids.aligned(c.ln_fol_def, hy, grids.Y_MIN, grids.Y_MAX)
    ly = np.arange(j0, j1 + 1)
    y = c.ln_fol_def + hy * ly
    return y, below(ly), mk.folate_deficit(y, c.ln_fol_hinge)
