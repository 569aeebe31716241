"""What one more test could show: the latent posterior and the distribution of a test's result.

For each parameter draw the diagnosis model gives the posterior of the patient's ln
stores ``x`` on its quadrature grid (:func:`b12sim.diagnosis.scoring.posterior_grid`).
A further test measures one marker; given ``x`` its log result is normal with the
marker model's mean and total SD (:func:`b12sim.physiology.markers.log_means`,
``log_sds``), drawn given the patient's results whose residuals it shares
(:func:`b12sim.physiology.markers.residual_cov`): a marker the patient already has is a
*repeat* (the between-person part of its noise, the fitted ``s_*`` term, is shared with the
first result, so only the within-person part, Solomon 2005, is new), and serum B12 and
holoTC share the holoTC part of serum B12.

Results are binned (:data:`N_BINS` equal bins on the log scale over the range the
result can plausibly take; the outer bins run to zero and infinity), so each node's result distribution
sums to exactly 1 and the expected post-test probability equals the pre-test one to
rounding. Everything is per draw: ``p_bin_def[d, k]`` is P(result in bin k | deficient)
under draw d. No MCMC; nothing here imports PyMC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from b12sim import units
from b12sim.diagnosis import inputs, scoring
from b12sim.diagnosis.draws import Draws
from b12sim.physiology import markers as mk

TESTS = ("mma", "holotc", "b12")  # markers whose result depends on the B12 state alone (tHcy also needs folate)
LABELS = {"mma": "MMA", "holotc": "holoTC", "b12": "serum B12"}
N_BINS = 80
SPAN_SD = 5.0  # inner bins cover the node means +- this many SDs ...
RANGE_WEIGHT = 1e-6  # ... of the nodes at least this heavy (the outer bins take the rest)
MIN_WEIGHT = 1e-14  # grid nodes lighter than this in every draw are left out


@dataclass(frozen=True)
class Posterior:
    """Posterior of ln stores (ug) on the diagnosis grid: nodes ``x`` (D, G), weights ``w`` (D, G).

    ``ind`` (1, G) holds the quadrature weights of the deficiency indicator (see
    :func:`b12sim.diagnosis.tables.below`; the two nodes beside the boundary carry
    -1/24 on the wrong side), so ``p`` (D,) is the diagnosis' per-draw P(deficient).
    """

    x: np.ndarray
    ind: np.ndarray
    w: np.ndarray

    @property
    def p(self) -> np.ndarray:
        return np.clip((self.w * self.ind).sum(axis=1), 0.0, 1.0)

    def mean_if_deficient(self, x_k: np.ndarray) -> np.ndarray:
        """E[ln stores | labs, deficient] per draw (ln ug); ``x_k`` where no deficient mass is left."""
        wd = self.w * self.ind
        den = wd.sum(axis=1)
        num = (wd * self.x).sum(axis=1)
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), x_k)


def posterior(person: dict, dr: Draws) -> Posterior:
    """The latent posterior of one checked patient (canonical values, see ``inputs.parse_patient``)."""
    canon = pd.DataFrame([person], columns=list(inputs.FIELDS))
    obs, a, r, risks = inputs.arrays(canon)
    x, ind, w = scoring.posterior_grid(obs[0], a[0], r[0], risks[0], dr)
    keep = (w > MIN_WEIGHT).any(axis=0)
    return Posterior(x[:, keep], ind[:, keep], w[:, keep])


@dataclass(frozen=True)
class ResultModel:
    """Binned distribution of one test's result for one patient, per draw and world.

    ``edges`` (K+1,) and ``centres`` (K,) in the marker's canonical unit (the outer
    bins extend to 0 and infinity); ``p_bin_def`` / ``p_bin_rep`` (D, K): P(bin | deficient)
    and P(bin | not deficient) under each draw (rows sum to 1; uniform where the draw
    leaves no mass in that world).
    """

    test: str
    repeat: bool
    edges: np.ndarray
    centres: np.ndarray
    p_bin_def: np.ndarray
    p_bin_rep: np.ndarray

    @property
    def label(self) -> str:
        return ("repeat " if self.repeat else "") + LABELS[self.test]

    @property
    def unit(self) -> str:
        return units.quantity(self.test).unit


def _node_distribution(test: str, post: Posterior, person: dict, dr: Draws):
    """Mean (D, G) and SD (D, 1) of the log result at each node: given the patient's results whose residuals it
    shares (a first result of the same marker, whose between-person part is lasting; serum B12 and holoTC), at
    the patient's age and eGFR (MMA's between-person SD depends on them,
    :func:`b12sim.physiology.markers.mma_between_sd`)."""
    p = {k: np.asarray(v)[:, None] for k, v in dr.params.items()}
    egfr = person["egfr"] if not math.isnan(person["egfr"]) else mk.EGFR_REF
    means = mk.log_means(post.x, p["mu_y"], person["age"], egfr, p, dr.const)
    given = [m for m in TESTS if not math.isnan(person[m]) and mk.shares_residual(test, m)]
    ar = mk.covariates(person["age"], egfr)
    total = mk.log_sds(p, dr.const, *ar)[test]
    if not given:
        return means[test], total
    cov = lambda m, n, same: np.broadcast_to(  # noqa: E731
        mk.residual_cov(m, n, p, dr.const, same, *ar), total.shape)[:, 0]
    cross = np.stack([cov(test, m, False) for m in given], axis=-1)  # (D, k): the new result with each given one
    among = np.stack([np.stack([cov(m, n, m == n) for n in given], axis=-1) for m in given], axis=-2)  # (D, k, k)
    beta = np.linalg.solve(among, cross[..., None])[..., 0]  # (D, k): regression of the new residual on the given
    resid = np.stack([math.log(person[m]) - means[m] for m in given], axis=-1)  # (D, G, k)
    mean = means[test] + np.einsum("dgk,dk->dg", resid, beta)
    var = total[:, 0] ** 2 - np.einsum("dk,dk->d", beta, cross)
    return mean, np.sqrt(var)[:, None]


def result_model(test: str, post: Posterior, person: dict, dr: Draws) -> ResultModel:
    """The binned result distribution of ``test`` (one of :data:`TESTS`) for this patient."""
    mean, sd = _node_distribution(test, post, person, dr)
    sd = np.broadcast_to(sd, mean.shape)
    heavy = post.w > RANGE_WEIGHT
    lo, hi = (mean - SPAN_SD * sd)[heavy].min(), (mean + SPAN_SD * sd)[heavy].max()
    inner = np.linspace(lo, hi, N_BINS + 1)
    z = (inner[None, None, :] - mean[:, :, None]) / sd[:, :, None]
    cdf = special.ndtr(z)
    cdf[..., 0], cdf[..., -1] = 0.0, 1.0  # outer bins reach to -inf and +inf
    lik = np.diff(cdf, axis=2)  # (D, G, K)
    out = []
    for world in (post.w * post.ind, post.w * (1.0 - post.ind)):
        pb = np.maximum(np.einsum("dg,dgk->dk", world, lik), 0.0)  # the end correction's -1/24 can dip below 0
        mass = pb.sum(axis=1, keepdims=True)
        out.append(np.where(mass > 0, pb / np.where(mass > 0, mass, 1.0), 1.0 / N_BINS))
    edges = np.exp(inner)
    edges[0], edges[-1] = 0.0, np.inf
    return ResultModel(test, not math.isnan(person[test]), edges, np.exp(0.5 * (inner[:-1] + inner[1:])), *out)


def post_test_probability(test: str, values, post: Posterior, person: dict, dr: Draws) -> np.ndarray:
    """Per-draw P(deficient) if ``test`` came back at ``values`` (canonical unit): (D, len(values)).

    Exact point values (the result's density, not a bin), for checks against
    :func:`b12sim.diagnose` with the result added.
    """
    v = np.log(np.atleast_1d(np.asarray(values, float)))
    mean, sd = _node_distribution(test, post, person, dr)
    ll = -0.5 * ((v[None, None, :] - mean[:, :, None]) / np.broadcast_to(sd, mean.shape)[:, :, None]) ** 2
    ll -= ll.max(axis=1, keepdims=True)
    wl = post.w[:, :, None] * np.exp(ll)
    return np.clip((wl * post.ind[:, :, None]).sum(axis=1) / wl.sum(axis=1), 0.0, 1.0)
