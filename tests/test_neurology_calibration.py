"""The nerve calibration (target 6): data, exact chain solution, shipped posterior, re-run."""

import numpy as np
import pytest
from scipy import stats
from scipy.linalg import expm

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
        o = obs[f"drs_{g}"]
        t = abs(o["observed"]) / o["se"]
        assert 2 * stats.t.sf(t, o["n"] - 1) == pytest.approx(p, rel=1e-9)
    assert obs["drs_under_12mo"]["n"] + obs["drs_over_12mo"]["n"] == 18  # Martin 1992 completers
    assert obs["chodos_scd"]["observed"] == 12 and obs["chodos_scd"]["n"] == 22


def test_grid_solution_matches_the_matrix_exponential_and_the_onset_convolution_an_integral():
    """The grid's powers of the one-month step equal ``expm(Q t)`` at each month, and the onset convolution
    matches direct quadrature over the onset time (to 0.01, far below the binomial SE of 12/22, 0.11)."""
    progress, fixation = 1 / 150.0, 1 / 100.0
    path = N.path(progress, fixation)
    q = np.array([[float(v) for v in row] for row in neuro.nerve_generator(0.0, progress, fixation, 0.0)])
    t = N.grid()
    for i in (3, 12, 36):
        np.testing.assert_allclose(path[i], expm(q * t[i])[:, N.START_INVOLVED], atol=1e-12)
    onset, sd = 1 / 300.0, 1.0
    g = path[:, N.MODERATE_UP].sum(axis=1)
    conv = N.after_onset(g, onset, sd)
    s, w = N.susceptibility_nodes(sd)
    T = t[18]
    u = np.linspace(0, T, 2001)
    gu = np.array([expm(q * (T - x))[:, N.START_INVOLVED][N.MODERATE_UP].sum() for x in u[::50]])
    direct = sum(wi * np.trapezoid(onset * si * np.exp(-onset * si * u[::50]) * gu, u[::50]) for si, wi in zip(s, w))
    assert conv[18] == pytest.approx(direct, abs=0.01)


def test_shipped_posterior_converged_and_meets_target6(shipped):
    """R-hat < 1.01, bulk ESS > 400, no divergences; every fitted observation inside its posterior predictive
    95% interval; the permanent-deficit curve rises with untreated time, the moderate-severe one below it."""
    assert converged(shipped)
    assert bool(shipped["checks"].to_dataset()["inside"].all())
    text = report(shipped)
    assert f"{len(N.OBSERVATIONS)} of {len(N.OBSERVATIONS)} observations inside" in text
    curve = shipped["curve"].to_dataset()
    assert np.all(np.diff(curve["post_median"].to_numpy()) > 0)
    assert np.all(curve["post_severe_median"].to_numpy() <= curve["post_median"].to_numpy())


def test_posterior_is_what_the_simulator_draws(shipped):
    """The simulator's nerve draws are the shipped joint posterior (the onset-fixation pair kept together)."""
    post = shipped["posterior"].to_dataset()
    p = parameters.draw(4000, 1)
    for k in N.FREE:
        assert parameters.CALIBRATED[k] == "neurology"
        assert np.median(p[k]) == pytest.approx(float(post[k].median()), rel=0.03), k
    a, b = "neuro_progress_days", "neuro_fixation_days"
    r_post = np.corrcoef(post[a].to_numpy().ravel(), post[b].to_numpy().ravel())[0, 1]
    assert np.corrcoef(p[a], p[b])[0, 1] == pytest.approx(r_post, abs=0.05)  # 4,000 pairs: SE of r about 0.016


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
