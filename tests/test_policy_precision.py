"""Within-draw Monte Carlo noise of the microsimulation (issue 21 item 2): the variance decomposition, the
noise-corrected EVPI, and people_per_draw="auto"."""

import warnings

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from b12sim.errors import InputError
from b12sim.policy import analysis, noise
from b12sim.policy.compare import compare_strategies

STRATS = ["oral_1mg", "uk_im_hydroxo"]


def _toy(mu, sb, sw, batches, per_batch, draws, seed, common=0.0):
    """Two strategies; the second's INB per draw: parameter signal N(mu, sb^2) plus the mean of per_batch people's
    noise (SD sw, of which SD ``common`` per person is the same in every draw). Returns (batches, signal)."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(mu, sb, draws)
    fixed = rng.normal(0.0, common / np.sqrt(per_batch), (batches, 1))
    varying = np.sqrt(sw**2 - common**2)
    y = signal[None] + fixed + rng.normal(0.0, varying / np.sqrt(per_batch), (batches, draws))
    cost = np.zeros((batches, 2, draws))
    cost[:, 1] = -y  # INB = -dcost at any wtp (no QALY difference)
    ds = xr.Dataset({"cost": (("batch", "strategy", "draw"), cost), "qaly": (("batch", "strategy", "draw"), 0 * cost),
                     "people": ("batch", np.full(batches, per_batch))},
                    coords={"strategy": ["a", "b"], "draw": np.arange(draws)})
    return ds, signal


def _means(ds):
    return ds[["cost", "qaly"]].mean("batch")


def test_decomposition_recovers_known_sigmas():
    ds, _ = _toy(mu=50.0, sb=200.0, sw=2000.0, batches=16, per_batch=32, draws=4000, seed=3, common=800.0)
    row = noise.variance_decomposition(ds, 50_000).iloc[0]
    assert row["sigma_b"] == pytest.approx(200.0, rel=0.06)
    assert row["sigma_w"] == pytest.approx(2000.0, rel=0.05)
    assert row["sigma_wd"] == pytest.approx(np.sqrt(2000.0**2 - 800.0**2), rel=0.05)
    assert row["reliability"] == pytest.approx(200.0**2 / (200.0**2 + row["sigma_wd"] ** 2 / 512), rel=0.05)
    assert (row["people"], row["draws"]) == (512, 4000)


def test_corrected_evpi_recovers_the_closed_form():
    mu, sb = 100.0, 300.0
    ds, _ = _toy(mu=mu, sb=sb, sw=3000.0, batches=8, per_batch=16, draws=20_000, seed=1)
    z = mu / sb
    truth = sb * stats.norm.pdf(z) + mu * stats.norm.cdf(z) - max(mu, 0.0)  # E[max(0, X)] - max(0, mu)
    raw = analysis.evpi(_means(ds), 0.0).iloc[0]
    fixed = analysis.evpi(noise.noise_corrected(ds), 0.0).iloc[0]
    assert raw["evpi"] - truth > 10 * raw["mcse"]  # the noise inflates the raw EVPI ...
    assert abs(fixed["evpi"] - truth) < 4 * fixed["mcse"]  # ... the corrected one is right within its MC error
    # the draws' means are unchanged; their spread is the parameters'
    corrected = noise.noise_corrected(ds)
    assert float(corrected["cost"].mean("draw")[1]) == pytest.approx(float(_means(ds)["cost"].mean("draw")[1]))
    assert float(corrected["cost"][1].std()) == pytest.approx(sb, rel=0.03)


def test_corrected_ceac_is_sharper():
    ds, _ = _toy(mu=150.0, sb=100.0, sw=3000.0, batches=8, per_batch=16, draws=20_000, seed=2)
    truth = stats.norm.cdf(150.0 / 100.0)
    raw = analysis.ceac(_means(ds), 0.0).iloc[0, 1]
    fixed = analysis.ceac(noise.noise_corrected(ds), 0.0).iloc[0, 1]
    assert raw < truth - 0.1
    assert fixed == pytest.approx(truth, abs=0.02)


def test_allocation_meets_the_target_for_least_cost():
    sb, sw, swd, t = 100.0, 2000.0, 2000.0, 10.0
    people, draws = noise.allocation([sb], [sw], [swd], t, block=64, max_people=10_000, max_draws=4000,
                                        draw_cost=400.0)
    assert people % 64 == 0
    assert sb**2 / draws + swd**2 / (people * draws) <= t**2
    # classical optimum with no people common to the draws: P* = sqrt(draw cost) sigma_w / sigma_b = 400
    assert abs(people - 400) <= 64
    with pytest.raises(InputError, match="target_mcse"):
        noise.allocation([sb], [sw], [swd], 0.01, block=64, max_people=1000, max_draws=4000)


def _run(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compare_strategies(192, STRATS, seed=4, horizon_days=60, progress=False, **kw)


def test_fixed_people_per_draw_is_unchanged(tmp_path):
    a, b = _run(draws=6), _run(draws=6, people_per_draw=192)
    for k in a._ds.data_vars:
        np.testing.assert_array_equal(a._ds[k].values, b._ds[k].values)
    c = _run(draws=6, people_per_draw=128)
    assert c.outcomes.attrs["people"] == 128
    noise = a.noise([0.0, 50_000.0])
    assert (noise["sigma_w"] > 0).all() and (noise["people"] == 192).all()
    ev = a.evpi([50_000.0], corrected=True)
    assert {"evpi", "mcse", "evpi_corrected", "mcse_corrected"} <= set(ev.columns)
    from b12sim.policy.compare import PolicyResult

    a.save(tmp_path / "run")
    back = PolicyResult.load(tmp_path / "run").noise([0.0, 50_000.0])
    np.testing.assert_allclose(back.to_numpy(float), noise.to_numpy(float))


def test_auto_is_identical_across_workers():
    kw = dict(people_per_draw="auto", target_mcse=400.0, pilot=(128, 4))
    one, two = _run(**kw), _run(scheduler="local:2", **kw)
    assert one.outcomes.attrs["allocation"] == two.outcomes.attrs["allocation"]
    for k in one._ds.data_vars:
        np.testing.assert_array_equal(one._ds[k].values, two._ds[k].values)
    np.testing.assert_array_equal(one.outcomes["batches"]["cost"].values, two.outcomes["batches"]["cost"].values)


@pytest.mark.parametrize("kw, field", [
    (dict(people_per_draw="some"), "people_per_draw"),
    (dict(people_per_draw=0), "people_per_draw"),
    (dict(people_per_draw=500), "people_per_draw"),
    (dict(people_per_draw="auto"), "target_mcse"),
    (dict(people_per_draw="auto", target_mcse=0.0), "target_mcse"),
    (dict(people_per_draw="auto", target_mcse=5.0, pilot=(64, 8)), "pilot"),
    (dict(people_per_draw="auto", target_mcse=5.0, pilot=(128, 2)), "pilot"),
    (dict(people_per_draw="auto", target_mcse=5.0, draw_cost=-1), "draw_cost"),
    (dict(target_mcse=5.0), "target_mcse"),
    (dict(people_per_draw="auto", target_mcse=5.0, inputs={"oral_tablet_cost": 0.1}), "inputs"),
])
def test_bad_precision_inputs(kw, field):
    with pytest.raises(InputError) as e:
        compare_strategies(192, STRATS, draws=4, progress=False, **kw)
    assert e.value.field.startswith(field)


def test_cli_reports_the_noise(capsys):
    import json

    from b12sim.cli import main

    args = ["compare", "--strategies", ",".join(STRATS), "--people", "192", "--draws", "5", "--horizon-days", "30",
            "--seed", "4"]
    assert main(args + ["--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"sigma_b", "sigma_w", "sigma_wd", "reliability"} <= set(out["noise"][0])
    assert "evpi_corrected" in out["evpi"][0] and out["ceac_corrected"]
    assert main(args + ["--people-per-draw", "auto"]) == 2
    assert "--target-mcse" in capsys.readouterr().err
    assert main(args + ["--people-per-draw", "lots", "--target-mcse", "5"]) == 2
    assert "or auto" in capsys.readouterr().err
