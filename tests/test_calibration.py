"""Calibration: the shipped posterior converged, fits its targets, and is what the code produces."""

import numpy as np
import pytest

from b12sim.calibration import markers as cm
from b12sim.calibration.report import converged, report
from b12sim.physiology import markers as mk
from b12sim.posterior import load_posterior


def test_shipped_posterior_converged_and_fits():
    tree = load_posterior("markers")
    assert converged(tree), report(tree)
    checks = tree["checks"].to_dataset()
    assert bool(checks["inside"].all())
    # the data moved the model: posterior intervals are narrower than prior ones
    width_post = (checks.post_hi - checks.post_lo).to_numpy()
    width_prior = (checks.prior_hi - checks.prior_lo).to_numpy()
    assert np.median(width_post / width_prior) < 0.5
    assert set(mk.PARAMS) <= set(tree["posterior"].data_vars)


def test_observations_come_from_the_evidence_tables():
    names = [o.name for o in cm.observations()]
    assert len(names) == len(set(names)) == 31
    assert all(o.sd > 0 for o in cm.observations())


@pytest.mark.slow
def test_recalibration_agrees_with_shipped():
    """Re-run the calibration (shorter chains) and compare with the shipped posterior.

    Each parameter's mean must agree within 4 combined Monte Carlo standard errors
    plus 10% of its posterior SD (the two runs differ in chain length only).
    """
    shipped = load_posterior("markers")
    fresh = cm.calibrate(draws=500, tune=1000, chains=2, seed=7, progress=False)
    assert fresh["diagnostics"].attrs["max_r_hat"] < 1.05
    a, b = shipped["posterior"], fresh["posterior"]
    ess_a = shipped["diagnostics"]["ess_bulk"].to_series()
    ess_b = fresh["diagnostics"]["ess_bulk"].to_series()
    bad = []
    for k in mk.PARAMS:
        sd = float(a[k].std())
        se = np.hypot(sd / np.sqrt(ess_a[k]), float(b[k].std()) / np.sqrt(ess_b[k]))
        if abs(float(a[k].mean()) - float(b[k].mean())) > 4 * se + 0.1 * sd:
            bad.append((k, float(a[k].mean()), float(b[k].mean()), se))
    assert not bad, bad
