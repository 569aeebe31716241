"""Cohort fit: parameter recovery on synthetic cohorts drawn from known parameters."""

import numpy as np
import pytest

from b12sim.cohort import POSITIVE, PROBABILITY, CohortModel
from b12sim.diagnosis import inputs
from b12sim.errors import InputError
from b12sim.physiology import markers as mk
from b12sim.physiology.population import sample_people

COHORT = dict(age=(30, 90), egfr=(30, 110), risks={"vegan": 0.1, "pernicious_anaemia": 0.03, "metformin": 0.1},
              p_missing={"holotc": 0.5, "hcy": 0.5, "folate": 0.2, "mma": 0.3})


def _from_free(k, z):
    if k in POSITIVE:
        return float(np.exp(z))
    if k in PROBABILITY:
        return float(1 / (1 + np.exp(-z)))
    return float(z)


@pytest.mark.slow
def test_parameter_recovery_from_the_prior():
    """Truth drawn from the fit's own prior: 95% intervals should cover it about 95% of the time."""
    model = CohortModel()
    rng = np.random.default_rng(2024)
    truth = {k: _from_free(k, rng.normal(*model.priors[k])) for k in mk.PARAMS}
    df = sample_people(1500, truth, seed=7, **COHORT)
    model.fit(df[list(inputs.FIELDS)], draws=400, tune=400, chains=2, seed=3, progress=False)
    diag = model.diagnostics()
    assert diag.attrs["divergences"] <= 2
    assert diag["r_hat"].max() < 1.05
    post = model.posterior["posterior"]
    inside = []
    for k in mk.PARAMS:
        lo, hi = np.quantile(post[k].to_numpy().ravel(), [0.025, 0.975])
        inside.append(lo <= truth[k] <= hi)
    # 33 parameters at 95% coverage: P(Binomial(33, 0.95) <= 27) = 0.017
    assert sum(inside) >= 28, [k for k, ok in zip(mk.PARAMS, inside) if not ok]
    # the data inform the population and assay levels: posterior narrower than prior
    for k in ("b0", "m0", "sigma_x", "mu_y"):
        post_sd = np.std(np.log(post[k]) if k in POSITIVE else post[k])
        assert post_sd < 0.8 * model.priors[k][1], k


@pytest.mark.slow
def test_assay_offset_is_recovered():
    """A cohort whose B12 assay reads 25% high: the fit moves b0 to the truth."""
    model = CohortModel(prior_scale=3.0)
    base = {k: _from_free(k, model.priors[k][0]) for k in mk.PARAMS}
    truth = dict(base, b0=base["b0"] + np.log(1.25))
    df = sample_people(1500, truth, seed=8, **COHORT)
    model.fit(df[list(inputs.FIELDS)], draws=300, tune=400, chains=2, seed=4, progress=False)
    b0 = model.posterior["posterior"]["b0"].to_numpy().ravel()
    assert abs(b0.mean() - truth["b0"]) < 0.05
    assert abs(b0.mean() - base["b0"]) > 0.15
    # and scoring with the cohort posterior works on the same table
    res = model.diagnose(df[list(inputs.FIELDS)].head(50))
    assert res["p_deficient"].between(0, 1).all()


def test_bad_arguments():
    with pytest.raises(InputError, match="prior_scale"):
        CohortModel(prior_scale=-1)
    model = CohortModel()
    with pytest.raises(InputError, match="at least 20"):
        model.fit(sample_people(5, {k: _from_free(k, model.priors[k][0]) for k in mk.PARAMS}, seed=1))
    with pytest.raises(InputError, match="draws"):
        model.fit(sample_people(30, {k: _from_free(k, model.priors[k][0]) for k in mk.PARAMS}, seed=1), draws=0)
    with pytest.raises(RuntimeError, match="not fitted"):
        model.diagnose(b12=200, age=60)
