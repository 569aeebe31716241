"""The permanent-deficit calibration (target 6): data, shipped posterior, re-run."""

import numpy as np
import pytest
from scipy import integrate, stats

from b12sim.calibration import neurology as N
from b12sim.calibration.report import converged, report
from b12sim.physiology import neurology as neuro
from b12sim.posterior import load_posterior
from b12sim.simulation import parameters


@pytest.fixture(scope="module")
def shipped():
    return load_posterior("neurology")


def test_standard_errors_give_back_the_published_p_values():
    """A paired t-test of each group mean against zero with the derived SE returns Martin's P."""
    obs = N.observations()
    for g, p in (("under_12mo", 0.0076), ("over_12mo", 0.34)):
        o = obs[g]
        t = abs(o["observed"]) / o["se"]
        assert 2 * stats.t.sf(t, o["n"] - 1) == pytest.approx(p, rel=1e-9)
    assert obs["under_12mo"]["n"] + obs["over_12mo"]["n"] == 18  # Martin 1992 completers


def test_group_prediction_matches_an_integral_over_durations():
    """The midpoint nodes average P(permanent) over each duration band as an integral would
    (to 0.01 DRS points, far below the group SEs of 3-6 points)."""
    p3, p12, gain = 0.2, 0.7, 30.0
    for g, o in N.observations().items():
        lo, hi = o["days"][0] - (o["days"][1] - o["days"][0]) / 2, o["days"][-1] + (o["days"][1] - o["days"][0]) / 2
        f = lambda d: float(neuro.p_permanent(d, *neuro.weibull(p3, p12)))  # noqa: E731
        exact = gain * (1 - integrate.quad(f, lo, hi)[0] / (hi - lo))
        assert float(N.predict(p3, p12, gain, o["days"])) == pytest.approx(exact, abs=0.01), g


def test_shipped_posterior_converged_and_meets_target6(shipped):
    """R-hat < 1.01, bulk ESS > 400, no divergences; both Martin group means inside their
    posterior predictive 95% intervals; the curve rises with untreated time and the data moved
    the 12-month probability up from its prior median (the over-12-month group did not recover)."""
    assert converged(shipped)
    assert bool(shipped["checks"].to_dataset()["inside"].all())
    text = report(shipped)
    assert "2 of 2 observations inside" in text and "P(permanent deficit)" in text
    curve = shipped["curve"].to_dataset()
    assert np.all(np.diff(curve["post_median"].to_numpy()) > 0)
    post, prior = shipped["posterior"].to_dataset(), shipped["prior"].to_dataset()
    assert float(post["neuro_permanent_p_12mo"].median()) > float(prior["neuro_permanent_p_12mo"].median()) + 0.03
    assert bool((post["neuro_permanent_p_12mo"] >= post["neuro_permanent_p_3mo"] + neuro.MIN_GAP).all())


def test_posterior_is_what_the_simulator_draws(shipped):
    """The simulator's neurologic draws are the shipped joint posterior (pairs kept together)."""
    post = shipped["posterior"].to_dataset()
    p = parameters.draw(4000, 1)
    assert parameters.CALIBRATED["neuro_permanent_p_3mo"] == "neurology"
    for k in N.FREE:
        assert np.median(p[k]) == pytest.approx(float(post[k].median()), rel=0.02), k
    assert np.all(p["neuro_permanent_p_12mo"] >= p["neuro_permanent_p_3mo"] + neuro.MIN_GAP - 1e-12)
    r_post = np.corrcoef(post["neuro_permanent_p_3mo"].to_numpy().ravel(),
                         post["neuro_permanent_p_12mo"].to_numpy().ravel())[0, 1]
    r_sim = np.corrcoef(p["neuro_permanent_p_3mo"], p["neuro_permanent_p_12mo"])[0, 1]
    assert r_sim == pytest.approx(r_post, abs=0.05)  # 4,000 pairs: SE of r about 0.016


@pytest.mark.slow
def test_recalibration_agrees_with_shipped(shipped):
    """A fresh run with another seed agrees with the shipped posterior: medians within
    4 Monte Carlo standard errors of their difference."""
    fresh = N.calibrate(draws=1000, tune=1000, chains=2, seed=11, progress=False)
    assert converged(fresh)
    a, b = shipped["posterior"].to_dataset(), fresh["posterior"].to_dataset()
    ess_a = shipped["diagnostics"].to_dataset()["ess_bulk"]
    ess_b = fresh["diagnostics"].to_dataset()["ess_bulk"]
    for k in N.FREE + N.NUISANCE:
        sd = float(a[k].std())
        # SE of a median is about 1.25 x that of a mean
        se = 1.25 * np.sqrt(sd**2 / float(ess_a.sel(parameter=k)) + sd**2 / float(ess_b.sel(parameter=k)))
        assert abs(float(a[k].median()) - float(b[k].median())) < 4 * se, k
