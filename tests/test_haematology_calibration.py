"""The blood-response calibration (target 5): emulator, shipped posterior, re-run."""

import numpy as np
import pytest

from b12sim.calibration import haematology as H
from b12sim.calibration.report import converged, report
from b12sim.posterior import load_posterior
from b12sim.simulation import parameters


@pytest.fixture(scope="module")
def shipped():
    return load_posterior("haematology")


def test_features_read_a_known_curve():
    """Crossings and the refined peak on hand-made curves: reticulocytes a parabola peaking
    at day 8.25, Hb rising 1 g/L a day from 90 (5 g/L reached on day 5), MCV straight lines."""
    days = np.arange(61.0)
    ret = np.maximum(1.0, 10 - 0.5 * (days - 8.25) ** 2)[None, :]
    hb = (90 + days)[None, :]
    mcv = (110 - 0.2 * days)[None, :]
    f = H.features({"reticulocytes": ret, "hb": hb, "mcv": mcv})
    assert f["retic_peak_day"][0] == pytest.approx(8.25, abs=1e-9)  # exact for a parabola
    # a quarter of the rise from 1 to 9.97 (day-8 value) on the rising side of the parabola
    level = 1 + 0.25 * (ret[0, 8] - 1)
    assert ret[0, int(np.floor(f["retic_rise_day"][0]))] < level <= ret[0, int(np.ceil(f["retic_rise_day"][0]))]
    assert f["hb_rise_day"][0] == pytest.approx(5.0)
    assert f["hb_day56"][0] == 146 and f["mcv_day49"][0] == pytest.approx(100.2)
    never = H._crossing(np.zeros((1, 5)), np.array([1.0]))
    assert np.isnan(never[0])


def test_shipped_posterior_converged_and_meets_target5(shipped):
    """R-hat < 1.01, bulk ESS > 400, no divergences; the emulator explains most of each feature
    (hold-out R^2 > 0.8, residual SD below the target SD); every target-5 reading lies inside
    the posterior 95% range simulated with the real engine; and the fit moved the reticulocyte
    peak towards day 8 (prior median about 10.5 days)."""
    assert converged(shipped)
    emu = shipped["emulator"].to_dataset()
    tgt = H.targets()
    assert float(emu.r2.min()) > 0.8
    for f in H.FEATURES:
        assert float(emu.resid_sd.sel(feature=f)) < tgt[f][1], f
    checks = shipped["checks"].to_dataset()
    assert bool(checks["inside"].all())
    peak = checks.sel(feature="retic_peak_day")
    assert abs(float(peak.post_median) - 8) < abs(0.5 * (float(peak.prior_lo) + float(peak.prior_hi)) - 8)
    assert "7 of 7 observations inside" in report(shipped)


def test_emulator_agrees_with_the_engine_on_posterior_draws(shipped):
    """On 200 posterior draws (other parameters as the simulator draws them), the emulator's
    prediction and the engine differ by less than 3 hold-out residual SDs on average."""
    n = 200
    p = parameters.draw(n, 5)
    assert set(H.FREE) <= set(parameters.CALIBRATED) and parameters.CALIBRATED["epo_exponent"] == "haematology"
    direct = H.simulate_features(p)
    prior_p = parameters.draw(H.N_DESIGN, 20261126, prior=H.FREE)
    emu = H.Emulator(prior_p, H.simulate_features(prior_p))
    pred = emu.predict({k: p[k] for k in H.INPUTS})
    for j, f in enumerate(H.FEATURES):
        ok = np.isfinite(direct[f])
        assert np.mean(np.abs(pred[ok, j] - direct[f][ok])) < 3 * emu.resid_sd[j], f


def test_posterior_is_what_the_simulator_draws(shipped):
    post = shipped["posterior"].to_dataset()
    p = parameters.draw(4000, 1)
    for k in H.FREE:
        assert np.median(p[k]) == pytest.approx(float(post[k].median()), rel=0.02), k
    prior = parameters.draw(4000, 1, prior=H.FREE)
    # the reticulocyte timing is informed: the marrow delay is shorter and narrower than its prior
    assert np.median(p["marrow_delay_days"]) < np.median(prior["marrow_delay_days"])
    assert np.std(p["marrow_delay_days"]) < np.std(prior["marrow_delay_days"])


@pytest.mark.slow
def test_recalibration_agrees_with_shipped(shipped):
    """A fresh run with another seed (new design draws, new chains) agrees with the shipped
    posterior: medians within 4 x 1.25 Monte Carlo standard errors plus the emulator's own
    seed-to-seed spread, taken as 0.1 posterior SD."""
    fresh = H.calibrate(draws=1000, tune=1000, chains=2, seed=11, progress=False)
    assert converged(fresh)
    a, b = shipped["posterior"].to_dataset(), fresh["posterior"].to_dataset()
    ess_a = shipped["diagnostics"].to_dataset()["ess_bulk"]
    ess_b = fresh["diagnostics"].to_dataset()["ess_bulk"]
    for k in H.FREE:
        sd = float(a[k].std())
        se = np.sqrt(sd**2 / float(ess_a.sel(parameter=k)) + sd**2 / float(ess_b.sel(parameter=k)))
        assert abs(float(a[k].median()) - float(b[k].median())) < 4 * 1.25 * se + 0.1 * sd, k
