"""Policy toolkit: probabilistic unit costs, separate discount rates, deterministic sensitivity
analysis, subgroups, value-of-information figures."""

import numpy as np
import pandas as pd
import pytest

from b12sim import economics as econ
from b12sim import evidence
from b12sim.errors import InputError
from b12sim.policy.compare import compare_strategies

pytestmark = pytest.mark.filterwarnings("ignore::b12sim.errors.UnitWarning")
IM_MONTHLY = {"name": "im_monthly", "regimen": "ileal_resection_im_monthly"}


def _homogeneous(n, **extra):
    """``n`` copies of one pernicious-anaemia patient with known stores."""
    row = dict(b12=70.0, mma=3.0, age=70.0, egfr=90.0, pernicious_anaemia=1.0, sex="female", cause="pernicious_anaemia",
               stores_ug=150.0, neuro_days=0.0, oral_adherence=1.0, im_attendance=1.0) | extra
    return pd.DataFrame([row] * n)


def test_every_ontario_unit_cost_is_drawn_with_its_evidence_uncertainty():
    """Each item's draws are log-normal around the evidence value with the row's log SD: the
    median and the SD of the log of 20,000 draws match within 4 standard errors."""
    costs = econ.unit_costs("ontario")
    assert set(costs.log_sd) == set(costs.costs)  # every unit cost is uncertain
    assert costs.log_sd["oral_tablet"] == evidence.uncertainty("cost_oral_tablet") == 0.7
    assert costs.log_sd["test_b12"] == evidence.uncertainty("cost_b12_test") == 0.103
    draws = econ.cost_draws(costs, 20_000, np.random.default_rng(1))
    for item, x in draws.items():
        sd = costs.log_sd[item]
        logs = np.log(x / costs.cost(item))
        assert abs(np.median(logs)) < 4 * 1.2533 * sd / np.sqrt(len(x)), item
        assert abs(logs.std() / sd - 1) < 4 / np.sqrt(2 * len(x)), item
    central = econ.cost_draws(costs, 3, np.random.default_rng(1), scale=0.0)
    assert all(np.all(v == costs.cost(k)) for k, v in central.items())


def test_user_cost_uncertainty_is_checked_and_kept():
    uc = econ.unit_costs({"oral_tablet": 0.1}, currency="GBP", price_year=2024, uncertainty={"oral_tablet": 0.3})
    assert uc.log_sd == {"oral_tablet": 0.3}
    assert econ.unit_costs({"oral_tablet": 0.1}, currency="GBP", price_year=2024).log_sd == {}
    with pytest.raises(InputError, match="uncertainty.oral_tablet"):
        econ.unit_costs({"oral_tablet": 0.1}, currency="GBP", price_year=2024, uncertainty={"oral_tablet": -1})
    with pytest.raises(InputError, match="uncertainty.test_mma"):
        econ.unit_costs({"oral_tablet": 0.1}, currency="GBP", price_year=2024, uncertainty={"test_mma": 0.2})


def test_separate_discount_rates_for_costs_and_qalys():
    """Costs discounted at 5% and QALYs at 0% give the costs of a 5% run and the QALYs of a 0% run;
    and the monthly IM costs at 5% are the hand sum of 13 injections of 44.33 CAD on days 0, 30,
    ..., 360 at (1.05) ** (-day / 365.25)."""
    kw = dict(draws=2, seed=3, mortality=False, deterministic=True, progress=False)
    both5 = compare_strategies(_homogeneous(64), [IM_MONTHLY], discount_rate=0.05, **kw).outcomes["outcomes"]
    both0 = compare_strategies(_homogeneous(64), [IM_MONTHLY], discount_rate=0.0, **kw).outcomes["outcomes"]
    split = compare_strategies(_homogeneous(64), [IM_MONTHLY], discount_costs=0.05, discount_qalys=0.0, **kw)
    out = split.outcomes["outcomes"]
    np.testing.assert_allclose(out["cost"], both5["cost"], rtol=1e-12)
    np.testing.assert_allclose(out["qaly"], both0["qaly"], rtol=1e-12)
    assert float(both5["qaly"].max()) < float(both0["qaly"].min())
    days = np.arange(0, 365, 30.0)
    np.testing.assert_allclose(out["cost"], 44.33 * (1.05 ** (-days / 365.25)).sum(), rtol=1e-12)
    assert "costs discounted at 5.0% and QALYs at 0.0%" in split.report()
    with pytest.raises(InputError, match="discount_qalys"):
        compare_strategies(_homogeneous(64), [IM_MONTHLY], discount_qalys=0.5, **kw)
