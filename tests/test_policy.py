"""Policy microsimulation: cohorts, strategies, expected values, invariance, hand costs, bad input."""

import numpy as np
import pandas as pd
import pytest

from b12sim import evidence
from b12sim.errors import InputError
from b12sim import economics as econ
from b12sim.policy.compare import compare_strategies
from b12sim.policy.population import CAUSES, check_cohort, synthetic_cohort
from b12sim.policy.strategies import Strategy, load_strategy, presets
from b12sim.regimens import load_regimen
from b12sim.simulation.simulate import simulate

pytestmark = pytest.mark.filterwarnings("ignore::b12sim.errors.UnitWarning")
STRATS = ["uk_im_hydroxo", "oral_1mg", "confirm_mma_uk_im", "no_treatment"]


def _homogeneous(n, **extra):
    """``n`` copies of one pernicious-anaemia patient with known stores."""
    row = dict(b12=70.0, mma=3.0, age=70.0, egfr=90.0, pernicious_anaemia=1.0, sex="female", cause="pernicious_anaemia",
               stores_ug=150.0, neuro_days=0.0, oral_adherence=1.0, im_attendance=1.0) | extra
    return pd.DataFrame([row] * n)


def test_synthetic_cohort_is_what_testing_finds():
    """Everyone has serum B12 below the cut-off; person i does not depend on n; causes come
    from the risk flags; only truly deficient people have nerve involvement."""
    a = synthetic_cohort(600, seed=4)
    b = synthetic_cohort(150, seed=4)
    pd.testing.assert_frame_equal(a.iloc[:150].reset_index(drop=True), b)
    assert (a["b12"] < evidence.value("cohort_b12_cutoff")).all()
    assert set(a["cause"]) <= set(CAUSES) and (a["cause"] == "pernicious_anaemia").sum() > 30
    assert ((a["cause"] == "pernicious_anaemia") == (a["pernicious_anaemia"] > 0)).all()
    assert (a.loc[~a["deficient"], "neuro_days"] == 0).all()
    # a low B12 is not always a deficiency (evidence: 30-40% falsely low), but mostly is here
    assert 0.5 < a["deficient"].mean() < 0.95


def test_strategy_presets_follow_the_seed():
    s = load_strategy("uk_im_hydroxo")
    assert s.regimen_for("pernicious_anaemia", False).name == "uk_im_hydroxo_no_neuro"
    assert s.regimen_for("dietary", True).name == "uk_im_hydroxo_neuro"
    assert s.regimen_for("ileal_resection", False).name == "ileal_resection_im_monthly"
    assert s.regimen_for("bariatric", False).name == "bariatric_im_3monthly"
    assert {"us_im_cyano_monthly", "oral_1mg", "oral_2mg", "im_loading_then_oral"} <= set(presets())
    assert load_strategy("oral_1mg").switch_to.name == "uk_im_hydroxo_no_neuro"


def test_homogeneous_cohort_equals_the_simulator_run_directly():
    """With full adherence every copy is the same person: the cohort mean of each draw is
    that person's simulated value (same seed, same parameter draw), to round-off."""
    res = compare_strategies(_homogeneous(64), ["uk_im_hydroxo"], draws=8, seed=11, progress=False)
    ds = res.outcomes["outcomes"].to_dataset().sel(strategy="uk_im_hydroxo")
    direct = simulate(dict(b12=70.0, mma=3.0, age=70, egfr=90, pernicious_anaemia=True, sex="female", stores_ug=150.0),
                      "uk_im_hydroxo_no_neuro", horizon_days=365, draws=8, seed=11)
    # copies differ only in nerve susceptibility, which matters nowhere near onset (both about 1e-8 here)
    np.testing.assert_allclose(ds["p_permanent"], direct.p_permanent.isel(person=0, day=-1), rtol=0, atol=1e-6)
    hb56 = direct.hb.isel(person=0).sel(day=56) >= 120
    np.testing.assert_array_equal(ds["hb_normal_day56"], hb56.astype(float))


def test_adherence_and_cost_match_their_expectation():
    """512 identical people taking each daily 1 mg tablet with probability 0.8: mean tablets
    0.8 x 365 = 292 and mean discounted cost 0.8 x sum(discount x survival) x tablet price (per
    draw; a dose on day t, 0 = today, paid at t days), within 4 Monte Carlo SEs (binomial: sd of
    one person's count sqrt(365 x 0.16) = 7.6 tablets, SE over 512 people 0.34)."""
    from b12sim.economics.mortality import survival

    strat = {"name": "oral_only", "regimen": "oral_1mg_daily"}
    res = compare_strategies(_homogeneous(512, oral_adherence=0.8), [strat], draws=4, seed=5, progress=False)
    ds = res.outcomes["outcomes"].to_dataset().sel(strategy="oral_only")
    se = np.sqrt(365 * 0.8 * 0.2 / 512)
    assert np.all(np.abs(ds["tablets"] - 292) < 4 * se)
    weight = econ.discount_factor(np.arange(365.0)) * survival([70.0], [True], np.arange(365))[0]
    price = res.outcomes["parameters"]["oral_tablet_cost"].to_numpy()
    expected = 0.8 * weight.sum() * price
    assert np.all(np.abs(ds["cost"].to_numpy() - expected) < 4 * se * price * 1.0)


def test_microsimulation_honours_the_regimens_adherence():
    """Tablets taken follow the one adherence model: each daily tablet with probability p_take x the
    person's oral share (0.8), until stopping (exponential, hazard 2 per year). 256 people over 365
    days, within 4 Monte Carlo SEs of the expectation: 292 tablets at p_take 1, 146 at p_take 0.5,
    and sum_d 0.4 exp(-2 d / 365.25) = 63 when stopping too."""
    reg = load_regimen("oral_1mg_daily")
    regs = {"full": reg, "half": reg.with_adherence(p_take=0.5), "stopping": reg.with_adherence(0.5, 2.0)}
    res = compare_strategies(_homogeneous(256, oral_adherence=0.8), [Strategy(k, r, r) for k, r in regs.items()],
                             draws=2, seed=3, progress=False)
    tablets = res.outcomes["outcomes"].to_dataset()["tablets"].isel(draw=0).to_series()
    reach = np.exp(-2.0 * np.arange(365) / 365.25)  # P(still taking on day d), stopping case
    kept, second = reach.sum(), ((2 * np.arange(1, 366) - 1) * reach).sum()  # E[K], E[K^2]: K days before stopping
    for name, q, k, var_k in (("full", 0.8, 365, 0.0), ("half", 0.4, 365, 0.0), ("stopping", 0.4, kept, second - kept**2)):
        sd = np.sqrt(q * (1 - q) * k + q**2 * var_k)  # one person's count, given and across stopping times
        assert abs(tablets[name] - q * k) < 4 * sd / np.sqrt(256), (name, tablets[name], q * k)
    assert tablets["full"] > tablets["half"] > tablets["stopping"]


def test_microsimulation_and_decide_agree_for_one_person(monkeypatch):
    """One person, one regimen (3 injections, then 1.5 mg daily: two whole tablets a day), the same
    parameter draws, and the economic inputs at the central values decide uses: the microsimulation's
    cost, QALYs, P(permanent deficit), injections and tablets over the horizon are those of decide's
    "treat now" world (its QALYs lost turned into QALYs lived, its cost over the horizon only)."""
    from b12sim.decision import outcomes
    from b12sim.policy import microsim as ms
    from b12sim.regimens import Phase, Regimen
    from b12sim.simulation import parameters
    from b12sim.simulation import people as ppl

    reg = Regimen("im_then_oral", phases=(Phase("im", "hydroxocobalamin", 1000, days=(0, 2, 4)),
                                          Phase("oral", "cyanocobalamin", 1500, every_days=1)))
    draws, seed, h, year = 6, 4, 200, 365.25
    central = ms.economic_draws
    monkeypatch.setattr(ms, "economic_draws", lambda *a, **k: central(*a, central=True))
    cohort = _homogeneous(1, neuro_days=30.0)
    res = compare_strategies(cohort, [Strategy("treat", reg, reg)], draws=draws, seed=seed, horizon_days=h,
                             progress=False)
    micro = res.outcomes["outcomes"].to_dataset().sel(strategy="treat")

    row = cohort.iloc[0].drop(["cause", "oral_adherence", "im_attendance"]).to_dict()
    person, u, costs = ppl.parse(row), econ.utilities(), econ.unit_costs()
    params = parameters.draw(draws, np.random.SeedSequence(seed).spawn(3)[0])  # the microsimulation's parameter stream
    w = outcomes.worlds(person, np.full(draws, np.log(row["stores_ug"])), params, reg, (0,), h,
                        np.random.SeedSequence(0), np.random.SeedSequence(seed).spawn(3)[0], costs, u)  # same people
    life = outcomes.life_weights(person["age"], person["sex"])
    residual = econ.residual_decrement(w.p_permanent[:, 1], w.p_residual_severe[:, 1], u)
    permanent_after = residual * life[h + 1:].sum() / year
    lived = u.neuropathy_none * life[1:h + 1].sum() / year - (w.qaly_loss[:, 1] - permanent_after)
    treat = outcomes.treatments(reg, (0,), h, life[:h], costs)[0]
    np.testing.assert_allclose(micro["qaly"], lived, rtol=1e-12)
    np.testing.assert_allclose(micro["p_permanent"], w.p_permanent[:, 1], rtol=1e-12)
    np.testing.assert_allclose(micro["cost"], treat.cost, rtol=1e-12)
    assert (micro["injections"] == treat.injections).all() and treat.injections == 3
    assert (micro["tablets"] == treat.tablets).all() and treat.tablets == 2 * (h - 5)


def test_annual_cost_matches_a_hand_computation():
    """IM 1000 ug monthly (days 0, 30, ..., 360: 13 injections in 365 days), every injection
    given at a physician visit, no discounting, no background mortality, no monitoring. Ontario 2013 unit costs
    (Masucci & Goeree 2013): visit 33.70 + injection fee with visit 3.89 + drug 6.74 = 44.33
    per injection; 13 x 44.33 = 576.29 CAD at the central unit costs, and 13 x the sum of the
    drawn unit costs in each draw of a probabilistic run."""
    strat = {"name": "im_monthly", "regimen": "ileal_resection_im_monthly"}
    kw = dict(draws=3, seed=1, discount_rate=0.0, mortality=False, progress=False)
    res = compare_strategies(_homogeneous(64), [strat], deterministic=True, **kw)
    ds = res.outcomes["outcomes"].to_dataset()
    assert float(ds["injections"].mean()) == 13
    np.testing.assert_allclose(ds["cost"], 13 * (33.70 + 3.89 + 6.74), rtol=1e-12)
    np.testing.assert_allclose(res.budget_impact(1000)["year_1"], 1000 * 13 * 44.33, rtol=1e-12)
    assert res.outcomes.attrs["currency"] == "CAD" and res.outcomes.attrs["price_year"] == 2013
    res = compare_strategies(_homogeneous(64), [strat], **kw)
    par = res.outcomes["parameters"]
    unit = par["physician_visit_cost"] + par["injection_fee_with_visit_cost"] + par["im_drug_per_injection_cost"]
    assert float(unit.std()) > 0.1  # the unit costs are drawn
    np.testing.assert_allclose(res.outcomes["outcomes"]["cost"].sel(strategy="im_monthly"), 13 * unit, rtol=1e-12)


def test_policy_outcomes_make_sense_and_tables_work():
    """On a synthetic cohort: treatment lowers nerve risk and raises QALYs against no treatment;
    confirming with MMA treats fewer people; the ICER table, CEAC (rows sum to 1) and EVPI
    (never negative) come out of the result."""
    res = compare_strategies(128, STRATS, draws=6, seed=3, progress=False)
    s = res.summary()
    assert s.loc["uk_im_hydroxo", "p_permanent"] < s.loc["no_treatment", "p_permanent"]
    assert s.loc["uk_im_hydroxo", "qaly"] > s.loc["no_treatment", "qaly"]
    assert s.loc["confirm_mma_uk_im", "treated"] < 1 and s.loc["uk_im_hydroxo", "treated"] == 1
    assert s.loc["no_treatment", "cost"] == 0
    np.testing.assert_allclose(res.ceac([0, 20_000, 50_000]).sum(axis=1), 1.0)
    assert (res.evpi([0, 20_000, 50_000])["evpi"] >= 0).all()
    assert set(res.icers().index) == set(STRATS)


@pytest.mark.slow
def test_same_seed_same_result_whatever_the_chunks_and_workers():
    """Identical (not just close) outcomes in this process with chunks of 64 and 256 people or of 3 draws,
    and on Dask LocalClusters of 2 and 4 workers; subgroups too."""
    kw = dict(draws=4, seed=9, progress=False, subgroups=True)
    first = compare_strategies(256, ["uk_im_hydroxo", "oral_1mg"], chunk_people=256, **kw).outcomes
    for extra in (dict(chunk_people=64), dict(chunk_draws=3), dict(chunk_people=64, scheduler="local:2"),
                  dict(chunk_people=128, scheduler="local:4")):
        other = compare_strategies(256, ["uk_im_hydroxo", "oral_1mg"], **extra, **kw).outcomes
        for group in ("outcomes", "subgroups"):
            assert other[group].to_dataset().equals(first[group].to_dataset()), (extra, group)


def test_save_writes_tables_figures_and_outcomes(tmp_path):
    res = compare_strategies(64, ["uk_im_hydroxo", "no_treatment"], draws=4, seed=2, progress=False)
    files = res.save(tmp_path)
    names = {f.name for f in files}
    assert {"summary.csv", "icers.csv", "ceac.csv", "evpi.csv", "outcomes.nc", "ce_plane.png", "ceac.png"} <= names
    assert pd.read_csv(tmp_path / "icers.csv")["strategy"].tolist()[0] == "no_treatment"
    with pytest.raises(FileExistsError):
        res.save(tmp_path)


@pytest.mark.parametrize("kwargs, field", [
    (dict(strategies=["no_such_strategy"]), "strategy"),
    (dict(strategies=[{"name": "x", "regimen": "oral_1mg_daily", "treat_threshold": 2}]), "treat_threshold"),
    (dict(strategies=[{"name": "x", "regimen": "nope"}]), "regimen"),
    (dict(strategies=[{"name": "x", "regimen": "oral_1mg_daily", "colour": "red"}]), "colour"),
    (dict(draws=0), "draws"),
    (dict(horizon_days=-1), "horizon_days"),
    (dict(cost_overrides={"physician_visit": -5.0}), "physician_visit"),
    (dict(utilities={"anaemia_high": 1.5}), "anaemia_high"),
    (dict(discount_rate=0.9), "rate"),
    (dict(cohort=pd.DataFrame()), "cohort"),
    (dict(cohort=pd.DataFrame({"age": [70], "cause": ["aliens"]})), "cause"),
    (dict(cohort=pd.DataFrame({"age": [70], "cause": ["dietary"], "oral_adherence": [1.4]})), "oral_adherence"),
    (dict(cohort=0), "cohort"),
])
def test_bad_input_names_the_field(kwargs, field):
    args = dict(cohort=64, strategies=["uk_im_hydroxo"], draws=2, progress=False) | kwargs
    with pytest.raises(InputError, match=field):
        compare_strategies(args.pop("cohort"), args.pop("strategies"), **args)


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(InputError, match="scheduler"):
        compare_strategies(64, ["no_treatment"], draws=2, progress=False, scheduler="tcp://127.0.0.1:9")


def test_cohort_table_checks():
    df = check_cohort(pd.DataFrame({"age": [70, 80], "cause": ["pernicious_anaemia", "drug"], "b12": [90, 120]}))
    assert df["pernicious_anaemia"].tolist() == [1.0, 0.0] and df["metformin"].tolist() == [0.0, 1.0]
    assert (df["oral_adherence"] == evidence.value("oral_adherence_mean")).all()


def test_cli_compare_json_and_files(tmp_path, capsys):
    import json

    from b12sim.cli import main

    out = tmp_path / "res"
    argv = ["compare", "--strategies", "uk_im_hydroxo,no_treatment", "--people", "64", "--draws", "3",
            "--out", str(out), "--json", "--discount-costs", "0.03", "--discount-qalys", "0"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    from b12sim.policy.compare import PolicyResult

    attrs = PolicyResult.load(out).outcomes.attrs
    assert (attrs["discount_rate_costs"], attrs["discount_rate_qalys"]) == (0.03, 0.0)
    assert {"summary", "icers", "ceac", "evpi", "currency", "price_year", "files"} <= set(doc)
    assert [r["strategy"] for r in doc["icers"]][0] == "no_treatment"
    assert (out / "icers.csv").exists() and (out / "ce_plane.png").exists()
    assert main(argv) == 2  # refuses to overwrite
    assert "--force" in capsys.readouterr().err


@pytest.mark.parametrize("extra, field", [
    (["--strategies", "uk_im_hydroxo,nope"], "strategy"),
    (["--strategies", "uk_im_hydroxo", "--draws", "0"], "--draws"),
    (["--strategies", "uk_im_hydroxo", "--people", "-3"], "--people"),
    (["--strategies", "uk_im_hydroxo", "--wtp", "cheap"], "--wtp"),
    (["--strategies", "uk_im_hydroxo", "--discount-costs", "3%"], "--discount-costs"),
    (["--strategies", "uk_im_hydroxo", "--discount-qalys", "0.5"], "--discount-qalys"),
    (["--strategies", "uk_im_hydroxo", "--scheduler", "tcp://127.0.0.1:9"], "scheduler"),
])
def test_cli_compare_bad_input(extra, field, capsys):
    from b12sim.cli import main

    opts = {"--people": "64", "--draws": "2"} | dict(zip(extra[::2], extra[1::2]))  # each option once
    assert main(["compare", *(x for kv in opts.items() for x in kv)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and field in err and "Traceback" not in err


def test_background_mortality_reproduces_the_life_table():
    """Integrating the Gompertz survival from 65 gives the life-table life expectancy (to 0.01 y);
    survival falls with age and time."""
    from b12sim.economics import mortality

    days = np.arange(0, 60 * 365.25, 1.0)
    for female, row in ((True, "life_expectancy_65_female"), (False, "life_expectancy_65_male")):
        s = mortality.survival([65.0], [female], days)[0]
        assert np.trapezoid(s, days) / 365.25 == pytest.approx(evidence.value(row), abs=0.01)
    s = mortality.survival([65.0, 85.0], [True, True], np.array([365.0, 3650.0]))
    assert s[1, 0] < s[0, 0] and s[0, 1] < s[0, 0]


def test_budget_impact_by_year_and_evppi_of_a_group():
    """Two-year horizon: a yearly budget column per year; year 2 of monthly IM costs less than
    year 1 (12 vs 13 injections, fewer survivors). EVPPI of the diagnosis group lies in [0, EVPI]."""
    strat = {"name": "im_monthly", "regimen": "ileal_resection_im_monthly"}
    res = compare_strategies(_homogeneous(64), [strat, "no_treatment"], draws=60, seed=1, horizon_days=730,
                             progress=False)
    b = res.budget_impact(100)
    assert list(b.columns) == ["year_1", "year_2"]
    assert 0 < b.loc["im_monthly", "year_2"] < b.loc["im_monthly", "year_1"] and (b.loc["no_treatment"] == 0).all()
    ev = res.evppi("diagnosis", [0.0, 50_000.0])
    assert ((ev["evppi"] >= 0) & (ev["evppi"] <= ev["evpi"] + 1e-9)).all()
