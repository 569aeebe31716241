"""Cohort fit: parameter recovery on synthetic cohorts drawn from known parameters."""

import numpy as np
import pytest

from b12sim.cohort import POSITIVE, PROBABILITY, CohortModel
from b12sim.diagnosis import inputs
from b12sim.errors import InputError
from b12sim.physiology import markers as mk
from b12sim.physiology.population import sample_people

# synthetic tails (e.g. folate < 3 nmol/L) trip the unit mix-up warning by design
pytestmark = pytest.mark.filterwarnings("ignore::b12sim.errors.UnitWarning")

COHORT = dict(age=(30, 90), egfr=(30, 110), risks={"vegan": 0.1, "pernicious_anaemia": 0.03, "metformin": 0.1},
              p_missing={"holotc": 0.5, "hcy": 0.5, "folate": 0.2, "mma": 0.3})


def _from_free(k, z):
    if k in POSITIVE:
        return float(np.exp(z))
    if k in PROBABILITY:
        return float(1 / (1 + np.exp(-z)))
    return float(z)


@pytest.mark.slow
def test_parameter_recovery():
    """Synthetic cohort from known parameters, with a B12 assay reading 25% high.

    The truth is drawn from the calibration prior (so 95% intervals of a fit whose
    prior is the same or, for the cohort-level parameters, three times wider should
    cover it about 95% of the time or more) except for the
    assay level b0, shifted well outside that prior: the fit must find it.
    """
    model = CohortModel(prior_scale=3.0)
    rng = np.random.default_rng(2024)
    base = CohortModel()
    truth = {k: _from_free(k, rng.normal(*base.priors[k])) for k in mk.PARAMS}
    truth["b0"] = _from_free("b0", base.priors["b0"][0]) + np.log(1.25)
    df = sample_people(400, truth, seed=7, **COHORT)
    model.fit(df[list(inputs.FIELDS)], draws=500, tune=800, chains=2, seed=3, progress=False)
    diag = model.diagnostics()
    assert diag.attrs["divergences"] <= 3
    assert diag["r_hat"].max() < 1.05
    post = model.posterior["posterior"]
    inside = []
    for k in mk.PARAMS:
        lo, hi = np.quantile(post[k].to_numpy().ravel(), [0.025, 0.975])
        inside.append(lo <= truth[k] <= hi)
    # 33 parameters at >= 95% coverage: P(Binomial(33, 0.95) <= 28) = 0.07, <= 27 is 0.017
    assert sum(inside) >= 28, [k for k, ok in zip(mk.PARAMS, inside) if not ok]
    # the assay offset is recovered (within 3 posterior SDs), not left at the prior (shift ln 1.25 = 0.22)
    b0 = post["b0"].to_numpy().ravel()
    assert abs(b0.mean() - truth["b0"]) < 3 * b0.std()
    assert abs(b0.mean() - base.priors["b0"][0]) > 0.15
    # the data inform the population and assay levels: posterior narrower than the fit's prior
    for k in ("b0", "m0", "sigma_x", "mu_y"):
        post_sd = np.std(np.log(post[k]) if k in POSITIVE else post[k])
        assert post_sd < 0.5 * model.priors[k][1], k
    # scoring with the cohort posterior works
    res = model.diagnose(df[list(inputs.FIELDS)].head(30))
    assert res["p_deficient"].between(0, 1).all() and (res["error"] == "").all()


def test_bad_arguments():
    with pytest.raises(InputError, match="prior_scale"):
        CohortModel(prior_scale=-1)
    with pytest.raises(InputError, match="prior"):
        CohortModel(prior={"posterior": 1})
    model = CohortModel()
    with pytest.raises(InputError, match="at least 20"):
        model.fit(sample_people(5, {k: _from_free(k, model.priors[k][0]) for k in mk.PARAMS}, seed=1))
    with pytest.raises(InputError, match="draws"):
        model.fit(sample_people(30, {k: _from_free(k, model.priors[k][0]) for k in mk.PARAMS}, seed=1), draws=0)
    with pytest.raises(RuntimeError, match="not fitted"):
        model.diagnose(b12=200, age=60)


def test_convergence_checks():
    from b12sim.cohort import convergence_problems

    assert convergence_problems(1.005, 800, 0) == []
    found = convergence_problems(1.065, 68, 3)
    assert len(found) == 3 and "1.065 > 1.01" in found[0] and "68 < 400" in found[1] and "3 divergent" in found[2]
    assert convergence_problems(float("nan"), 800, 0)  # an R-hat that cannot be computed fails


def test_posterior_predictive_reproduces_a_cohort_drawn_from_the_posterior():
    """People drawn from the shipped posterior's medians: the predictive distribution of each log
    marker (from the shipped posterior) has their mean and SD (within 0.1 and 20%); the observed
    group holds exactly the log of the labs measured, person by person."""
    from b12sim.cohort import _data_arrays, predictive
    from b12sim.posterior import load_posterior

    model = CohortModel()
    truth = {k: _from_free(k, model.priors[k][0]) for k in mk.PARAMS}
    df = sample_people(600, truth, seed=5, **COHORT)
    canon, errors, _ = inputs.from_frame(df[list(inputs.FIELDS)])
    data = _data_arrays(canon[(errors == "").to_numpy()])
    post = load_posterior("markers")["posterior"].to_dataset()
    pp, obs = predictive(post, data, draws=40, seed=1)
    for m in mk.MARKERS:
        v = f"log_{m}"
        measured = df[m].dropna().to_numpy()
        np.testing.assert_allclose(obs[v].to_numpy(), np.log(measured), rtol=1e-9)
        assert pp[v].dims == ("chain", "draw", f"{m}_person") and pp[v].sizes[f"{m}_person"] == len(measured)
        sim = pp[v].to_numpy().ravel()
        assert abs(sim.mean() - obs[v].mean()) < 0.1, m
        assert 0.8 < sim.std() / float(obs[v].std()) < 1.25, m


@pytest.mark.slow
def test_fit_warns_when_unconverged_and_keeps_the_arviz_groups(tmp_path):
    """A deliberately short fit (30 draws) fails the checks, warns and says so; the tree has the
    groups ArviZ's energy and predictive-check plots need, and survives save and load."""
    import arviz as az
    import matplotlib

    matplotlib.use("Agg")
    from b12sim.cohort import ConvergenceWarning

    model = CohortModel()
    df = sample_people(40, {k: _from_free(k, model.priors[k][0]) for k in mk.PARAMS}, seed=3, **COHORT)
    with pytest.warns(ConvergenceWarning, match="bulk ESS"):
        model.fit(df[list(inputs.FIELDS)], draws=30, tune=30, chains=2, seed=1, progress=False)
    assert model.posterior.attrs["converged"] == 0 and "bulk ESS" in model.posterior.attrs["problems"]
    assert model.diagnostics().attrs["converged"] == 0
    assert {"posterior", "sample_stats", "observed_data", "posterior_predictive"} <= set(model.posterior.children)
    az.plot_energy(model.posterior)
    az.plot_ppc_dist(model.posterior, var_names=["log_b12"])
    model.save(tmp_path / "fit.nc")
    back = CohortModel.load(tmp_path / "fit.nc")
    assert set(back.posterior.children) == set(model.posterior.children)
