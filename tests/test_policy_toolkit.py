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


def test_one_way_moves_each_factor_alone_and_ranks_by_swing():
    """IM monthly (13 injections of 44.33 CAD, no discounting or mortality) against no treatment:
    moving the physician visit cost from its 2.5% to its 97.5% quantile (log-normal, median 33.70,
    log SD 0.1: 27.7 to 41.0) changes the incremental NMB by 13 x (high - low); the MMA test, unused,
    by nothing; scenarios that change only costs leave QALYs exactly as in the base case."""
    from b12sim.policy import sensitivity

    strategies = [IM_MONTHLY, {"name": "none", "regimen": "no_treatment"}]
    sa = sensitivity.one_way(_homogeneous(64), strategies, ["test_mma_cost", "cost_physician_visit",
                                                            "discount_rate_costs"],
                             discount_rate=0.0, mortality=False, progress=False)
    t = sa.tornado(50_000, strategy="im_monthly", reference="none")
    assert list(t.index) == ["cost_physician_visit", "discount_rate_costs", "test_mma_cost"]
    lo, hi = t.loc["cost_physician_visit", ["low", "high"]]
    assert lo == pytest.approx(33.70 * np.exp(-1.96 * 0.1), rel=0.02)
    assert hi == pytest.approx(33.70 * np.exp(1.96 * 0.1), rel=0.02)
    assert t.loc["cost_physician_visit", "swing"] == pytest.approx(13 * (hi - lo), rel=1e-9)
    assert t.loc["test_mma_cost", "swing"] == 0
    # the discount rate for costs from 0% to 3% (CADTH's sensitivity range): 13 injections on days 0, 30, ...
    days = np.arange(0, 365, 30.0)
    assert t.loc["discount_rate_costs", "swing"] == pytest.approx(44.33 * (1 - 1.03 ** (-days / 365.25)).sum())
    out = sa.result.outcomes["outcomes"]
    assert (out["qaly"] == out["qaly"].isel(draw=0)).all()
    base = out["cost"].sel(strategy="im_monthly").isel(draw=0)
    assert float(base) == pytest.approx(13 * 44.33)
    assert t.attrs["base"] == pytest.approx(float(50_000 * (out["qaly"].isel(draw=0).sel(strategy="im_monthly")
                                                            - out["qaly"].isel(draw=0).sel(strategy="none")) - base))


def test_group_factor_moves_its_members_together_and_ranges_replace_defaults():
    from b12sim.policy import sensitivity

    kw = dict(discount_rate=0.0, mortality=False, progress=False)
    sa = sensitivity.one_way(_homogeneous(64), [IM_MONTHLY], ["costs", "physician_visit_cost"],
                             ranges={"physician_visit_cost": (0.0, 100.0)}, **kw)
    cost = sa.result.outcomes["outcomes"]["cost"].sel(strategy="im_monthly").to_numpy()
    sc = sa.scenarios
    par = sa.result.outcomes["parameters"]
    for end in ("low", "high"):
        i = sc.index[(sc["factor"] == "costs") & (sc["end"] == end)][0]
        unit = sum(float(par[k][i]) for k in ("physician_visit_cost", "injection_fee_with_visit_cost",
                                             "im_drug_per_injection_cost"))
        assert cost[i] == pytest.approx(13 * unit)
        assert (unit < 44.33) == (end == "low")
    i = sc.index[(sc["factor"] == "physician_visit_cost") & (sc["end"] == "high")][0]
    assert cost[i] == pytest.approx(13 * (100 + 3.89 + 6.74))
    with pytest.raises(InputError, match="factors"):
        sensitivity.one_way(_homogeneous(64), [IM_MONTHLY], ["no_such_input"], **kw)
    with pytest.raises(InputError, match="ranges.costs"):
        sensitivity.one_way(_homogeneous(64), [IM_MONTHLY], ["costs"], ranges={"costs": (0, 1)}, **kw)
    with pytest.raises(InputError, match="ranges.meals_per_day"):  # a constant: needs a range
        sensitivity.one_way(_homogeneous(64), [IM_MONTHLY], ["meals_per_day"], **kw)
    with pytest.raises(InputError, match="grid"):
        sa.grid()


def test_two_way_grid_prices_every_cell():
    """Physician visit cost 0-100 x MMA test cost (unused) 0-10: the IM cost in each cell is 13 x
    (visit + 3.89 + 6.74); the best strategy at wtp 0 switches from IM to no treatment once the
    IM strategy costs more (never cheaper than nothing)."""
    from b12sim.policy import sensitivity

    strategies = [IM_MONTHLY, {"name": "none", "regimen": "no_treatment"}]
    sa = sensitivity.two_way(_homogeneous(64), strategies, "physician_visit_cost", "test_mma_cost", points=3,
                             ranges={"physician_visit_cost": (0, 100), "test_mma_cost": (0, 10)},
                             discount_rate=0.0, mortality=False, progress=False)
    grid = sa.grid(0.0)
    assert grid.shape == (3, 3) and list(grid.index) == [0, 50, 100]
    assert (grid == "none").all().all()
    cost = sa.result.outcomes["outcomes"]["cost"].sel(strategy="im_monthly").to_numpy()[1:]
    np.testing.assert_allclose(cost, 13 * (np.repeat([0, 50, 100], 3) + 3.89 + 6.74))
    sa.plot_grid(wtp=0.0)


def test_subgroups_add_up_to_everyone_and_can_be_analysed():
    """Synthetic cohort: in each subgroup variable (cause, age band, nerves) the people add up to
    the cohort and the people-weighted subgroup means are the overall means; the people with
    nerve involvement are those with neuro_days > 0; a subgroup gets its own ICER table and EVPI."""
    res = compare_strategies(192, ["no_treatment", "uk_im_hydroxo"], draws=4, seed=2, subgroups=True,
                             progress=False)
    sub = res.outcomes["subgroups"].to_dataset()
    levels = [str(v) for v in sub["subgroup"].values]
    assert levels[-2:] == ["nerves=no", "nerves=yes"] and any(v.startswith("age=") for v in levels)
    assert int(sub["people"].sel(subgroup="nerves=yes")) == int((res.cohort["neuro_days"] > 0).sum())
    overall = res.outcomes["outcomes"].to_dataset()
    for var in ("cause", "age", "nerves"):
        mine = [v for v in levels if v.startswith(var + "=")]
        w = sub["people"].sel(subgroup=mine)
        assert int(w.sum()) == 192
        for k in ("cost", "qaly", "p_permanent"):
            np.testing.assert_allclose((sub[k].sel(subgroup=mine) * w).sum("subgroup") / 192, overall[k], rtol=1e-10)
    table = res.subgroups()
    assert table.loc[("nerves=yes", "no_treatment"), "p_permanent"] > table.loc[("nerves=no", "no_treatment"),
                                                                                "p_permanent"]
    assert set(res.icers(subgroup="nerves=yes").index) == {"no_treatment", "uk_im_hydroxo"}
    assert (res.evpi([0.0, 50_000.0], subgroup="nerves=no")["evpi"] >= 0).all()
    with pytest.raises(InputError, match="subgroup"):
        res.icers(subgroup="cause=aliens")
    plain = compare_strategies(64, ["no_treatment"], draws=2, seed=2, progress=False)
    with pytest.raises(InputError, match="subgroups"):
        plain.subgroups()


def test_parameter_groups_name_drawn_inputs_once():
    from b12sim.policy.compare import GROUPS

    res = compare_strategies(64, ["no_treatment"], draws=2, seed=1, progress=False)
    drawn = set(res.outcomes["parameters"].to_dataset().data_vars)
    for name, members in GROUPS.items():
        assert len(set(members)) == len(members), name
        assert set(members) <= drawn, name


def test_value_of_information_figures_are_written(tmp_path):
    """toolkit_figures (for make demo) writes the tornado and the EVPI/EVPPI figure; the EVPI panel's
    curve is the EVPI table's."""
    import matplotlib

    matplotlib.use("Agg")
    from b12sim.policy.toolkit import toolkit_figures

    paths = toolkit_figures(tmp_path, people=64, draws=24, seed=3)
    assert [p.name for p in paths] == ["policy_tornado.png", "policy_voi.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)
    res = compare_strategies(64, ["no_treatment", "oral_1mg"], draws=24, seed=3, progress=False)
    ax = res.plot_evpi(wtp=[0.0, 1000.0, 5000.0])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), res.evpi([0.0, 1000.0, 5000.0])["evpi"])
    with pytest.raises(InputError, match="parameters"):  # eleven unit costs need more than 24 draws
        res.plot_evppi(groups=["costs"])
