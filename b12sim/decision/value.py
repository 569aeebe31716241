"""Decision analysis on the two worlds: expected net benefit, the value of a test, thresholds.

Inputs are per draw ``d``: the pre-test probability of deficiency ``p[d]``, the net
monetary benefit of each scenario ``j`` (:class:`outcomes.Worlds`) in the deficient world
``nmb_def[d, j] = -wtp * qaly_loss - cost`` and in the other ``nmb_rep[j] = -cost``, and
for a test the binned result probabilities ``P_d(k | world)`` (:class:`information.ResultModel`).

The joint model is the diagnosis' own: a draw, then the world with probability ``p[d]``,
then the result. An **option** is a rule that gives each world a mixture of scenarios:

* no treatment: scenario 0; treat now: the regimen from day 0;
* test first: the regimen from day ``t`` (the turnaround) if the result falls in a bin
  where that beats no treatment in expectation *given the result* (Bayes over draws and
  worlds), else scenario 0; plus the test's price.

The **value of the test's information** at turnaround ``t`` is
``E_k[max_a E[NMB(a@t) | k]] - max_a E[NMB(a@t)]``: never negative (the maximum of
expectations is at most the expectation of maxima) and exactly 0 when no result changes
the action. It splits the net gain of testing first exactly:
``E[NMB(test first)] - max_a E[NMB(a now)] = value - cost of waiting - price``, where the
cost of waiting is ``max_a E[NMB(a now)] - max_a E[NMB(a@t)]``.

**Thresholds** follow Pauker & Kassirer's threshold model with the test's likelihood
ratios: treat-now and no-treatment are lines in the probability ``q`` of deficiency and
test-first is convex, so the test band ``(q_lo, q_hi)`` where it beats both always holds
the treatment threshold ``q*`` (and collapses onto it when testing never pays). Per draw
the lines are exact and the band edges are found by bisection; the headline thresholds
move all draws' pre-test odds by one common factor (a different prior, the same labs and
test behaviour), so at the patient's own probability they reproduce the options exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

BISECT_STEPS = 45
MAX_SHIFT = 40.0  # largest pre-test log-odds shift explored for the headline thresholds


@dataclass(frozen=True)
class Mixture:
    """An option as scenario weights per draw: ``w_def``, ``w_rep`` (D, J), rows summing to 1."""

    w_def: np.ndarray
    w_rep: np.ndarray
    price: float = 0.0


def one_scenario(j: int, n_draws: int, n_scen: int) -> Mixture:
    """Scenario ``j`` in both worlds."""
    w = np.zeros((n_draws, n_scen))
    w[:, j] = 1.0
    return Mixture(w, w)


def scores(p, nmb_def, nmb_rep, scen, p_bin_def, p_bin_rep) -> np.ndarray:
    """``E[NMB(scenario) ; result in bin k]`` (len(scen), K): summed over bins it is the expected NMB."""
    out = []
    for j in scen:
        out.append((p[:, None] * p_bin_def * nmb_def[:, j][:, None]
                    + (1 - p)[:, None] * p_bin_rep * nmb_rep[j]).mean(axis=0))
    return np.array(out)


def test_first(p, nmb_def, nmb_rep, j_wait, p_bin_def, p_bin_rep, price) -> tuple[Mixture, np.ndarray, dict]:
    """The test-first option, the treat/no-treat choice per result bin, and the value of the test.

    Returns ``(mixture, treat (K,) bool, info)`` with ``info`` keys ``value_of_information``,
    ``p_change`` (probability the result changes the action taken at the turnaround
    without it) and ``p_positive`` (probability the result leads to treatment).
    """
    sc = scores(p, nmb_def, nmb_rep, (0, j_wait), p_bin_def, p_bin_rep)
    treat = sc[1] > sc[0]
    total = sc.sum(axis=1)
    value = max(float(np.maximum(sc[0], sc[1]).sum() - total.max()), 0.0)  # >= 0 up to rounding
    p_bin = (p[:, None] * p_bin_def + (1 - p)[:, None] * p_bin_rep).mean(axis=0)
    without = bool(total[1] > total[0])
    w_def = np.zeros(nmb_def.shape)
    w_rep = np.zeros(nmb_def.shape)
    w_def[:, j_wait] = p_bin_def @ treat
    w_rep[:, j_wait] = p_bin_rep @ treat
    w_def[:, 0] = 1.0 - w_def[:, j_wait]
    w_rep[:, 0] = 1.0 - w_rep[:, j_wait]
    info = {"value_of_information": value, "p_change": min(float(p_bin[treat != without].sum()), 1.0),
            "p_positive": min(float(p_bin[treat].sum()), 1.0)}  # sums of probabilities, capped at 1 against rounding
    return Mixture(w_def, w_rep, price), treat, info


def expected_nmb(p, nmb_def, nmb_rep, mix: Mixture) -> np.ndarray:
    """Per-draw expected NMB of an option (D,)."""
    return (p * (mix.w_def * nmb_def).sum(axis=1) + (1 - p) * (mix.w_rep * nmb_rep[None, :]).sum(axis=1)
            - mix.price)


# ---------------------------------------------------------------------------------------
# Thresholds


def _bisect(f, a, b, steps: int = BISECT_STEPS):
    """Root of ``f`` between ``a`` and ``b`` (arrays), where ``f(a) > 0`` and ``f(b) > 0`` differ."""
    a, b = np.array(a, float), np.array(b, float)
    fa = f(a) > 0
    for _ in range(steps):
        m = 0.5 * (a + b)
        same = (f(m) > 0) == fa
        a, b = np.where(same, m, a), np.where(same, b, m)
    return 0.5 * (a + b)


@dataclass(frozen=True)
class Lines:
    """The per-draw NMB of the options entering one threshold analysis (arrays (D,) or scalars).

    ``none``: deficient world, no treatment (0 in the other world); ``now_def``/``now_rep``
    and ``wait_def``/``wait_rep``: the regimen from day 0 and from the turnaround;
    ``p_bin_def``/``p_bin_rep`` (D, K): the test's result bins; ``price``: the test's.
    """

    none: np.ndarray
    now_def: np.ndarray
    now_rep: float
    wait_def: np.ndarray
    wait_rep: float
    p_bin_def: np.ndarray
    p_bin_rep: np.ndarray
    price: float

    def __post_init__(self):
        # NMB of each post-test action per bin, split by world: treat = q * slope + base, nothing = q * none_k
        base = self.p_bin_rep * self.wait_rep
        object.__setattr__(self, "_base", base)
        object.__setattr__(self, "_slope", self.p_bin_def * self.wait_def[:, None] - base)
        object.__setattr__(self, "_none_k", self.p_bin_def * self.none[:, None])

    def treat(self, q):
        return q * self.now_def + (1 - q) * self.now_rep

    def nothing(self, q):
        return q * self.none

    def test_per_draw(self, q):
        """Test-first NMB per draw when draw ``d``'s parameters are known (q (D,))."""
        t = q[:, None] * self._slope + self._base
        return np.maximum(t, q[:, None] * self._none_k).sum(axis=1) - self.price

    def test_pooled(self, q):
        """Test-first expected NMB over draws, the action chosen per bin on the pooled evidence (q (D,))."""
        n = len(q)
        t = q @ self._slope / n + self._base.mean(axis=0)
        return np.maximum(t, q @ self._none_k / n).sum() - self.price


def per_draw_thresholds(lines: Lines) -> dict[str, np.ndarray]:
    """Treatment threshold ``p_treat`` and test band ``p_test_lo``/``p_test_hi`` under each draw (D,)."""
    gain = lines.now_def - lines.none  # benefit of treating now if deficient
    harm = -lines.now_rep  # cost of treating if not deficient
    n = gain.shape[0]
    star = np.where(gain + harm > 0, harm / np.where(gain + harm > 0, gain + harm, 1.0), 1.0)
    star = np.clip(np.where(gain > 0, star, 1.0), 0.0, 1.0)
    f_lo = lambda q: lines.test_per_draw(q) - lines.nothing(q)  # noqa: E731
    f_hi = lambda q: lines.test_per_draw(q) - lines.treat(q)  # noqa: E731
    band = f_lo(star) > 0
    lo = np.where(band, _bisect(f_lo, np.zeros(n), star), star)
    top = f_hi(np.ones(n)) > 0
    hi = np.where(band, np.where(top, 1.0, _bisect(f_hi, star, np.ones(n))), star)
    return {"p_treat": star, "p_test_lo": lo, "p_test_hi": hi}


def _shifted(p, delta):
    """Probabilities with log-odds moved by ``delta`` (scalar)."""
    return special.expit(special.logit(np.clip(p, 1e-12, 1 - 1e-12)) + delta)


def _mean_shifted(p, delta) -> float:
    """:func:`_shifted` averaged over draws: a point of the probability axis."""
    return float(_shifted(p, delta).mean())


def pooled_thresholds(p, lines: Lines) -> dict[str, float]:
    """Headline thresholds on the pre-test probability averaged over draws (see the module doc)."""
    def diff(f):
        return lambda d: np.array([f(float(x)) for x in np.atleast_1d(d)])

    def root(f, a, b):
        return float(_bisect(f, [a], [b])[0])

    treat_gain = diff(lambda d: (lines.treat(_shifted(p, d)) - lines.nothing(_shifted(p, d))).mean())
    if treat_gain(MAX_SHIFT)[0] <= 0:
        return {"p_treat": 1.0, "p_test_lo": 1.0, "p_test_hi": 1.0}
    if treat_gain(-MAX_SHIFT)[0] > 0:
        return {"p_treat": 0.0, "p_test_lo": 0.0, "p_test_hi": 0.0}
    star = root(treat_gain, -MAX_SHIFT, MAX_SHIFT)
    f_lo = diff(lambda d: lines.test_pooled(_shifted(p, d)) - lines.nothing(_shifted(p, d)).mean())
    f_hi = diff(lambda d: lines.test_pooled(_shifted(p, d)) - lines.treat(_shifted(p, d)).mean())
    out = dict.fromkeys(("p_treat", "p_test_lo", "p_test_hi"), _mean_shifted(p, star))
    if f_lo(star)[0] > 0:
        out["p_test_lo"] = _mean_shifted(p, root(f_lo, -MAX_SHIFT, star))
        top = f_hi(MAX_SHIFT)[0] > 0
        out["p_test_hi"] = 1.0 if top else _mean_shifted(p, root(f_hi, star, MAX_SHIFT))
    return out


def curves(p, lines: Lines, n: int = 201) -> dict[str, np.ndarray]:
    """Expected NMB of no treatment, treat now and test first along the probability axis (for figures).

    The axis is traversed as in :func:`pooled_thresholds`; ``p`` holds the averaged
    probabilities, from about 0.001 to 0.999.
    """
    def shift_to(target):
        gap = lambda d: np.array([_mean_shifted(p, x) - target for x in d])  # noqa: E731
        return float(_bisect(gap, [-MAX_SHIFT], [MAX_SHIFT])[0])

    lo, hi = shift_to(1e-3), shift_to(1 - 1e-3)
    out = {k: np.empty(n) for k in ("p", "none", "treat", "test")}
    for i, d in enumerate(np.linspace(lo, hi, n)):
        q = _shifted(p, d)
        out["p"][i] = q.mean()
        out["none"][i] = lines.nothing(q).mean()
        out["treat"][i] = lines.treat(q).mean()
        out["test"][i] = lines.test_pooled(q)
    return out
