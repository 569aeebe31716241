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
    """The log result's distribution at each node, a list of normal components ``(log weight (D, G) or (D, 1),
    mean (D, G), SD (D, 1))``: given the patient's results whose residuals it shares (a first result of the same
    marker; serum B12 and holoTC), and for MMA the mixture of :func:`b12sim.physiology.markers.mma_components`
    (a raised residual is lasting, so a repeat is drawn given the first result in each component)."""
    p = {k: np.asarray(v)[:, None] for k, v in dr.params.items()}
    egfr = person["egfr"] if not math.isnan(person["egfr"]) else mk.EGFR_REF
    means = mk.log_means(post.x, p["mu_y"], person["age"], egfr, p, dr.const)
    if test == "mma":
        within, first = dr.const.within["mma"], math.log(person["mma"])
        comps = []
        for w, shift, sd in mk.mma_components(*mk.covariates(person["age"], egfr), p, dr.const):
            mean = means["mma"] + shift
            if math.isnan(first):
                comps.append((np.log(w), mean, sd))
                continue
            shared = sd**2 - within**2  # lasting part of the residual, common to both results
            lw = np.log(w) - np.log(sd) - 0.5 * ((first - mean) / sd) ** 2  # how well this component explains it
            comps.append((lw, mean + shared / sd**2 * (first - mean), np.sqrt(sd**2 - shared**2 / sd**2)))
        top = np.logaddexp(comps[0][0], comps[1][0])
        return [(lw - top, mean, sd) for lw, mean, sd in comps]
    given = [m for m in TESTS if not math.isnan(person[m]) and mk.shares_residual(test, m)]
    total = mk.log_sds(p, dr.const)[test]
    if not given:
        return [(np.zeros_like(total), means[test], total)]
    cov = lambda m, n, same: np.broadcast_to(mk.residual_cov(m, n, p, dr.const, same), total.shape)[:, 0]  # noqa: E731
    cross = np.stack([cov(test, m, False) for m in given], axis=-1)  # (D, k): the new result with each given one
    among = np.stack([np.stack([cov(m, n, m == n) for n in given], axis=-1) for m in given], axis=-2)  # (D, k, k)
    beta = np.linalg.solve(among, cross[..., None])[..., 0]  # (D, k): regression of the new residual on the given
    resid = np.stack([math.log(person[m]) - means[m] for m in given], axis=-1)  # (D, G, k)
    mean = means[test] + np.einsum("dgk,dk->dg", resid, beta)
    var = total[:, 0] ** 2 - np.einsum("dk,dk->d", beta, cross)
    return [(np.zeros_like(total), mean, np.sqrt(var)[:, None])]


def result_model(test: str, post: Posterior, person: dict, dr: Draws) -> ResultModel:
    """The binned result distribution of ``test`` (one of :data:`TESTS`) for this patient."""
    comps = _node_distribution(test, post, person, dr)
    heavy = post.w > RANGE_WEIGHT
    lo = min((mean - SPAN_SD * sd)[heavy].min() for _, mean, sd in comps)
    hi = max((mean + SPAN_SD * sd)[heavy].max() for _, mean, sd in comps)
    inner = np.linspace(lo, hi, N_BINS + 1)
    lik = 0.0
    for lw, mean, sd in comps:
        cdf = special.ndtr((inner[None, None, :] - mean[:, :, None]) / sd[:, :, None])
        cdf[..., 0], cdf[..., -1] = 0.0, 1.0  # outer bins reach to -inf and +inf
        lik = lik + np.exp(lw)[:, :, None] * np.diff(cdf, axis=2)  # (D, G, K)
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
    ll = special.logsumexp([(lw - np.log(sd))[:, :, None] - 0.5 * ((v[None, None, :] - mean[:, :, None])
                                                                    / sd[:, :, None]) ** 2
                            for lw, mean, sd in _node_distribution(test, post, person, dr)], axis=0)
    ll -= ll.max(axis=1, keepdims=True)
    wl = post.w[:, :, None] * np.exp(ll)
    return np.clip((wl * post.ind[:, :, None]).sum(axis=1) / wl.sum(axis=1), 0.0, 1.0)
