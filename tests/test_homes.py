"""One home per concept: the MCSE rule, draw thinning, defaults and value checks."""

import numpy as np
import pytest
import xarray as xr

import b12sim
from b12sim import defaults, posterior, stats
from b12sim.diagnosis import core
from b12sim.diagnosis.draws import from_posterior
from b12sim.errors import InputError
from b12sim.physiology import markers as mk
from b12sim.policy import analysis
from b12sim.policy.strategies import load_strategy


def test_one_mcse_for_diagnosis_decisions_and_policy():
    assert core.mcse is stats.mcse and analysis.mcse_mean is stats.mcse


@pytest.mark.parametrize("n, batches, shape", [(200, None, (14, 14)), (30, None, (6, 5)), (30, 5, (5, 6)),
                                               (400, None, (20, 20)), (4, None, (2, 2))])
def test_mcse_batches_of_sqrt_n_draws(n, batches, shape):
    """Batches of floor(sqrt(n)) draws, as many as fit (or ``batches`` of n // batches);
    draws after the last whole batch are left out."""
    x = np.random.default_rng(n).normal(size=n) + np.arange(n) / n
    b, size = shape
    means = x[:b * size].reshape(b, size).mean(axis=1)
    assert stats.batching(n, batches) == shape
    assert stats.mcse(x, batches) == pytest.approx(means.std(ddof=1) / np.sqrt(b), rel=1e-12)
    rows = np.vstack([x, -2 * x])
    assert stats.mcse(rows, batches) == pytest.approx(np.array([1, 2]) * stats.mcse(x, batches), rel=1e-12)


def test_mcse_needs_four_draws_and_checks_batches():
    assert np.isnan(stats.mcse([1.0, 2.0, 3.0])) and np.isfinite(stats.mcse([1.0, 2.0, 3.0, 5.0]))
    with pytest.raises(InputError, match="batches"):
        stats.mcse(np.arange(100.0), batches=51)


def _toy():
    """Two chains of five draws; ``a`` = 10 x chain + draw, so values name their position."""
    a = 10 * np.arange(2)[:, None] + np.arange(5)[None, :]
    return xr.Dataset({"a": (("chain", "draw"), a.astype(float)), "b": (("chain", "draw"), -a.astype(float))})


@pytest.mark.parametrize("n, expected", [
    (None, [0, 1, 2, 3, 4, 10, 11, 12, 13, 14]),
    (3, [0, 4, 14]),  # positions round(linspace(0, 9, 3)) = 0, 4, 9 of the joined chains
    (12, [0, 1, 2, 3, 4, 10, 11, 12, 13, 14, 0, 1]),  # more than the posterior holds: cycled
])
def test_thin_evenly_spaced_joined_chains(n, expected):
    out = posterior.thin(_toy(), ("a", "b"), n)
    assert out["a"].tolist() == expected and out["b"].tolist() == [-v for v in expected]
    tree = xr.DataTree.from_dict({"posterior": _toy()})
    assert posterior.thin(tree, ("a",), n)["a"].tolist() == expected


def test_diagnosis_draws_are_the_thinned_posterior():
    post = posterior.load_posterior("markers")
    dr = from_posterior(post, 37)
    ref = posterior.thin(post, mk.PARAMS, 37)
    assert dr.n == 37 and all(np.array_equal(dr[k], ref[k]) for k in mk.PARAMS)
    with pytest.raises(InputError, match="draws"):
        from_posterior(post, 10**6)


def test_defaults_have_one_home():
    assert b12sim.DISCLAIMER is defaults.DISCLAIMER
    ds = b12sim.simulate(dict(b12=200, age=60), "no_treatment", horizon_days=2, draws=2)
    assert ds.attrs["disclaimer"] == defaults.DISCLAIMER and ds.attrs["seed"] == str(defaults.SEED)


@pytest.mark.parametrize("key, value, ok", [
    ("treat_threshold", 0.999, True), ("treat_threshold", 1.0, False), ("treat_threshold", 0.0, False),
    ("treat_threshold", True, False), ("delay_days", 30.0, True), ("delay_days", 3651, False),
    ("monitoring", {"b12": 365}, True), ("monitoring", {"b12": -1}, False),
])
def test_strategy_values_are_checked_by_the_shared_rules(key, value, ok):
    spec = {"name": "x", "regimen": "oral_1mg_daily", key: value}
    if ok:
        assert getattr(load_strategy(spec), key) == value
    else:
        with pytest.raises(InputError, match=f"strategy x: {key}"):
            load_strategy(spec)
