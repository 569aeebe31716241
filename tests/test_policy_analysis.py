"""Cost-effectiveness analysis: hand-worked ICER tables, CEAC/CEAF, EVPI and EVPPI against
known answers, Monte Carlo standard errors against their definition, and bad input."""

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.signal import lfilter

from b12sim.errors import InputError
from b12sim.policy import analysis as ca


def outcomes(cost, qaly, names=None, draws=None):
    """Dataset from per-strategy costs and QALYs: scalars are repeated over ``draws`` draws."""
    cost, qaly = np.asarray(cost, float), np.asarray(qaly, float)
    if cost.ndim == 1:
        cost, qaly = (np.repeat(a[:, None], draws or 3, axis=1) for a in (cost, qaly))
    names = names or [chr(ord("A") + i) for i in range(len(cost))]
    return xr.Dataset({"cost": (("strategy", "draw"), cost), "qaly": (("strategy", "draw"), qaly)},
                      coords={"strategy": names, "draw": np.arange(cost.shape[1])})


# ---------------------------------------------------------------------------------------
# ICER tables


def test_textbook_frontier_with_strong_and_extended_dominance():
    """A 1000/1.00, B 2000/1.50, C 2500/1.40, D 5000/2.00, E 3000/1.55 (cost/QALY).

    C costs more than B for fewer QALYs: strongly dominated by B.
    Sorted A, B, E, D: ICER(B vs A) = 1000/0.5 = 2000; ICER(E vs B) = 1000/0.05 = 20000;
    ICER(D vs E) = 2000/0.45 = 4444 < 20000, so E is extendedly dominated (by B and D).
    Frontier A -> B -> D: ICER(D vs B) = 3000/0.5 = 6000.
    """
    t = ca.icer_table(outcomes([1000, 2000, 2500, 5000, 3000], [1.0, 1.5, 1.4, 2.0, 1.55]))
    assert list(t.index) == ["A", "B", "C", "E", "D"]  # sorted by cost
    assert t["status"].to_dict() == {"A": "frontier", "B": "frontier", "C": "dominated",
                                     "E": "extendedly dominated", "D": "frontier"}
    assert t.loc["C", "dominated_by"] == "B" and t.loc["E", "dominated_by"] == "B and D"
    assert t.loc["B", "icer"] == pytest.approx(2000) and t.loc["B", "compared_with"] == "A"
    assert t.loc["D", "icer"] == pytest.approx(6000) and t.loc["D", "compared_with"] == "B"
    assert t.loc["D", "incremental_cost"] == pytest.approx(3000)
    assert t.loc["D", "incremental_qaly"] == pytest.approx(0.5)
    assert math.isnan(t.loc["A", "icer"]) and t[t.status != "frontier"]["icer"].isna().all()
    assert t.attrs["reference"] == "A"


def test_extended_dominance_cascades_and_equal_icers_stay():
    """A 0/0, B 100/0.5, C 250/1.0, D 300/2.0.

    ICERs along A, B, C, D: 200, 300, 50 -> C (300 > 50) goes first;
    then A, B, D: 200, 200/1.5 = 133 -> B goes too; frontier A -> D, ICER 300/2 = 150.
    Collinear P 0/0, Q 100/1, R 200/2 (ICERs 100 and 100): nothing is removed.
    """
    t = ca.icer_table(outcomes([0, 100, 250, 300], [0, 0.5, 1.0, 2.0]))
    assert list(t.index[t.status == "frontier"]) == ["A", "D"]
    assert t.loc["C", "status"] == t.loc["B", "status"] == "extendedly dominated"
    assert t.loc["C", "dominated_by"] == "B and D" and t.loc["B", "dominated_by"] == "A and D"
    assert t.loc["D", "icer"] == pytest.approx(150)
    line = ca.icer_table(outcomes([0, 100, 200], [0, 1, 2], names=["P", "Q", "R"]))
    assert (line.status == "frontier").all()
    np.testing.assert_allclose(line["icer"].iloc[1:], [100, 100])


def test_ties_in_cost_in_effect_and_identical_strategies():
    """B 2000/1.5 against F 2000/1.2 (same cost, fewer QALYs), G 2200/1.5 (same QALYs,
    costlier), H 2000/1.5 (identical to B): F and G are dominated by B; H is a tie, and the
    strategy listed first (B) represents the pair on the frontier."""
    t = ca.icer_table(outcomes([1000, 2000, 2000, 2200, 2000], [1.0, 1.5, 1.2, 1.5, 1.5],
                               names=["A", "B", "F", "G", "H"]))
    assert t.loc["F", "status"] == "dominated" and t.loc["F", "dominated_by"] == "B"
    assert t.loc["G", "status"] == "dominated" and t.loc["G", "dominated_by"] == "B"
    assert t.loc["H", "status"] == "tied" and t.loc["H", "dominated_by"] == "B"
    assert list(t.index[t.status == "frontier"]) == ["A", "B"]
    # listed the other way round, H is kept and B is the tie
    t2 = ca.icer_table(outcomes([2000, 1000, 2000], [1.5, 1.0, 1.5], names=["H", "A", "B"]))
    assert t2.loc["H", "status"] == "frontier" and t2.loc["B", "status"] == "tied"
    # equal costs only, or equal QALYs only, between two strategies
    assert ca.icer_table(outcomes([5, 5], [1, 2])).loc["A", "status"] == "dominated"
    assert ca.icer_table(outcomes([5, 6], [1, 1])).loc["B", "status"] == "dominated"


def test_increments_against_an_explicit_reference_include_the_southwest_quadrant():
    """Reference D 5000/2.0: A 1000/1.0 is cheaper and worse (SW), dC = -4000, dE = -1.0,
    ICER 4000 = saving per QALY forgone. Against C 2500/1.4: B 2000/1.5 is cheaper and
    better (SE dominant); D costs more for more QALYs (NE, 2500/0.6 = 4167); a strategy
    costing more for fewer QALYs is NW dominated."""
    o = outcomes([1000, 2000, 2500, 5000, 3000], [1.0, 1.5, 1.4, 2.0, 1.3])
    t = ca.icer_table(o, reference="D")
    assert t.loc["A", "quadrant"] == "SW"
    assert t.loc["A", "cost_vs_reference"] == pytest.approx(-4000)
    assert t.loc["A", "qaly_vs_reference"] == pytest.approx(-1.0)
    assert t.loc["A", "icer_vs_reference"] == pytest.approx(4000)
    assert t.loc["D", "quadrant"] == "reference" and t.attrs["reference"] == "D"
    t = ca.icer_table(o, reference="C")
    assert t.loc["B", "quadrant"] == "SE dominant" and math.isnan(t.loc["B", "icer_vs_reference"])
    assert t.loc["D", "quadrant"] == "NE" and t.loc["D", "icer_vs_reference"] == pytest.approx(2500 / 0.6)
    assert t.loc["E", "quadrant"] == "NW dominated"
    # the frontier does not depend on the reference
    assert list(t.index[t.status == "frontier"]) == ["A", "B", "D"]


def test_single_strategy():
    t = ca.icer_table(outcomes([100.0], [1.0], names=["oral"]))
    assert t.shape[0] == 1 and t.loc["oral", "status"] == "frontier"
    assert t.loc["oral", "quadrant"] == "reference" and math.isnan(t.loc["oral", "icer"])
    o = outcomes([100.0], [1.0], names=["oral"])
    assert ca.evpi(o, [0, 5e4])["evpi"].eq(0).all()
    assert ca.ceac(o, [0, 5e4])["oral"].eq(1).all()


# ---------------------------------------------------------------------------------------
# Net benefit and acceptability

# Tiny hand example (binary-exact numbers): A costs 0 for 0 QALYs in every draw;
# B gains 0.5 QALY at costs 100, 200, 300, 400 in draws 0-3.
TINY = outcomes([[0, 0, 0, 0], [100, 200, 300, 400]], [[0, 0, 0, 0], [0.5] * 4])


def test_net_monetary_benefit_and_its_increment():
    nmb = ca.net_monetary_benefit(TINY, 400)
    assert nmb.dims == ("strategy", "draw")
    np.testing.assert_array_equal(nmb.sel(strategy="B").values, [100, 0, -100, -200])  # 400 x 0.5 - cost
    grid = ca.net_monetary_benefit(TINY, [0, 400])
    assert grid.dims == ("wtp", "strategy", "draw") and grid.sel(wtp=0, strategy="B").values[0] == -100
    inb = ca.incremental_net_benefit(TINY, 400, reference="A")
    assert list(inb.index) == ["B"]
    assert inb.loc["B", "inmb"] == pytest.approx(-50) and inb.loc["B", "p_positive"] == 0.25


def test_ceac_matches_hand_computation_with_a_tie():
    """At wtp 400 B's NMB is 100, 0, -100, -200 against A's 0: B wins draw 0 and ties
    draw 1 (shared half each), so P(B) = (1 + 0.5) / 4 = 0.375 and P(A) = 0.625.
    At wtp 0, A wins every draw; at wtp 1000 (NMB_B = 400, 300, 200, 100), B does."""
    c = ca.ceac(TINY, [0, 400, 1000])
    assert c.loc[400.0, "B"] == 0.375 and c.loc[400.0, "A"] == 0.625
    assert c.loc[0.0, "A"] == 1 and c.loc[1000.0, "B"] == 1


def test_ceac_rows_sum_to_one():
    rng = np.random.default_rng(7)
    o = outcomes(rng.normal(1000, 300, (4, 500)), rng.normal(1, 0.1, (4, 500)))
    c = ca.ceac(o, np.linspace(0, 1e5, 21))
    np.testing.assert_allclose(c.sum(axis=1), 1.0, atol=1e-12)
    assert (c.values >= 0).all()


def test_ceaf_follows_expected_nmb_not_the_most_likely_winner():
    """B saves 1000 in one draw and costs 10 in three (no QALY change): expected NMB
    (1000 - 30) / 4 = 242.5 > 0, so B is optimal although it wins only 1 draw in 4.
    EVPI = E[max(0, NMB_B)] - max(0, E[NMB_B]) = 1000 / 4 - 242.5 = 7.5."""
    o = outcomes([[0, 0, 0, 0], [-1000, 10, 10, 10]], np.zeros((2, 4)))
    f = ca.ceaf(o, [20000])
    assert f.loc[20000.0, "strategy"] == "B"
    assert f.loc[20000.0, "probability"] == 0.25
    assert f.loc[20000.0, "expected_nmb"] == pytest.approx(242.5)
    assert ca.evpi(o, 20000).loc[20000.0, "evpi"] == pytest.approx(7.5)


# ---------------------------------------------------------------------------------------
# Value of information


def test_evpi_is_zero_when_one_strategy_wins_every_draw():
    rng = np.random.default_rng(11)
    cost_b = rng.normal(1000, 100, 800)
    qaly_b = rng.normal(1.0, 0.1, 800)
    # A is cheaper and better than B in every draw
    o = outcomes([cost_b - 50, cost_b], [qaly_b + 0.01, qaly_b])
    e = ca.evpi(o, np.linspace(0, 1e5, 11))
    assert (e["evpi"] == 0).all() and (e["mcse"] == 0).all()


@pytest.mark.parametrize("seed", range(5))
def test_evpi_is_never_negative(seed):
    rng = np.random.default_rng(seed)
    o = outcomes(rng.normal(1000, 500, (3, 200)), rng.normal(1, 0.2, (3, 200)))
    e = ca.evpi(o, np.linspace(0, 2e4, 9))
    assert (e["evpi"] >= 0).all() and e["evpi"].max() > 0


def test_evpi_mcse_matches_the_spread_over_replicate_analyses():
    """60 independent analyses of 1000 draws (INB ~ N(0, 100) at wtp 10,000): the spread
    of their EVPIs is the true Monte Carlo error. With 60 replicates the SD is known to
    about 1/sqrt(2 x 59) = 9%, so the mean bootstrap MCSE must agree within 30% (3 SE)."""
    values, mcse = [], []
    for r in range(60):
        q = np.random.default_rng(r).normal(0, 0.01, 1000)
        e = ca.evpi(outcomes(np.zeros((2, 1000)), np.vstack([np.zeros(1000), q])), 1e4, seed=r)
        values.append(e["evpi"].iloc[0])
        mcse.append(e["mcse"].iloc[0])
    assert np.mean(mcse) == pytest.approx(np.std(values, ddof=1), rel=0.3)
    # seeded: the same call gives the same MCSE
    again = ca.evpi(outcomes(np.zeros((2, 1000)), np.vstack([np.zeros(1000), q])), 1e4, seed=59)
    assert again["mcse"].iloc[0] == mcse[-1]


N = 4000  # EVPPI draws
SIGMA = 100.0  # SD of each part of the INB at wtp 10,000 (0.01 QALY x 10,000)
# The fitted conditional mean has an error of RMS about sigma_resid x sqrt(p / N) with p <=
# 7 polynomial terms (degree 6 for one parameter); EVPPI, a mean of max(0, fit), moves
# by less than that, so 2 x SIGMA x sqrt(7 / N) = 8.4 is a two-RMS tolerance.
TOL = 2 * SIGMA * math.sqrt(7 / N)


@pytest.fixture(scope="module")
def params():
    rng = np.random.default_rng(2024)
    return {"theta": rng.normal(size=N), "phi": rng.normal(size=N)}


def _two(qaly_b):
    return outcomes(np.zeros((2, N)), np.vstack([np.zeros(N), qaly_b]))


def test_evppi_equals_evpi_when_the_parameters_explain_everything(params):
    th, ph = params["theta"], params["phi"]
    for f in (th, th**2 - 1):  # linear and non-linear: the polynomial fits both exactly
        r = ca.evppi(_two(0.01 * f), params, "theta", [1e4])
        assert r["evpi"].iloc[0] > 30
        assert r["evppi"].iloc[0] == pytest.approx(r["evpi"].iloc[0], rel=1e-6)
    r = ca.evppi(_two(0.01 * (th + ph)), params, ["theta", "phi"], [1e4])
    assert r["evppi"].iloc[0] == pytest.approx(r["evpi"].iloc[0], rel=1e-6)


def test_evppi_of_one_of_two_equal_sources_matches_its_oracle(params):
    """INB = 100 theta + 100 phi: E[INB | theta] = 100 theta, so the oracle EVPPI on these
    draws is mean(max(0, 100 theta)) - max(0, mean(100 theta)), about 100/sqrt(2 pi) =
    40, while EVPI is about sqrt(2) times that. phi is the unexplained part (SD 100)."""
    th, ph = params["theta"], params["phi"]
    r = ca.evppi(_two(0.01 * (th + ph)), params, "theta", [1e4])
    oracle = np.maximum(0, SIGMA * th).mean() - max(0.0, (SIGMA * th).mean())
    assert r["evppi"].iloc[0] == pytest.approx(oracle, abs=TOL)
    assert r["evppi"].iloc[0] < 0.85 * r["evpi"].iloc[0]  # 1/sqrt(2) = 0.71 expected


def test_evppi_of_an_irrelevant_parameter_is_near_zero(params):
    """INB = 100 theta; phi is independent, so the true EVPPI(phi) is 0 and the estimate
    is only the fit of noise: below TOL (about a fifth of the EVPI of 40)."""
    r = ca.evppi(_two(0.01 * params["theta"]), params, "phi", [1e4])
    assert 0 <= r["evppi"].iloc[0] < TOL
    assert r["evpi"].iloc[0] > 4 * TOL


def test_evppi_handles_skewed_binary_and_constant_parameters(params):
    th = params["theta"]
    # a log-normal parameter with INB linear in its log: the normal-score basis fits it
    r = ca.evppi(_two(0.01 * th), {"x": np.exp(th)}, "x", [1e4])
    assert r["evppi"].iloc[0] == pytest.approx(r["evpi"].iloc[0], abs=TOL)
    assert "normal scores" in r.attrs["smoother"]["qaly B - A"]
    b = (th > 0).astype(float)
    r = ca.evppi(_two(0.01 * th), {"b": b}, "b", [1e4])  # a binary summary of theta
    oracle = np.maximum(0, np.where(b == 1, th[b == 1].mean(), th[b == 0].mean()) * SIGMA).mean()
    assert r["evppi"].iloc[0] == pytest.approx(oracle - max(0.0, SIGMA * th.mean()), abs=TOL)
    assert ca.evppi(_two(0.01 * th), {"c": np.ones(N)}, "c", [1e4])["evppi"].iloc[0] == 0


def test_evppi_stays_between_zero_and_evpi_over_the_grid(params):
    th, ph = params["theta"], params["phi"]
    rng = np.random.default_rng(3)
    o = outcomes(np.vstack([np.zeros(N), 50 * th + rng.normal(0, 50, N), 30 * ph]),
                 np.vstack([np.zeros(N), 0.01 * (th + ph), 0.005 * th]))
    grid = np.linspace(0, 3e4, 13)
    for group in ("theta", "phi", ["theta", "phi"]):
        r = ca.evppi(o, params, group, grid)
        assert (r["evppi"] >= 0).all() and (r["evppi"] <= r["evpi"]).all()
        assert r["evppi"].max() > 0
    # inputs as a DataFrame or Dataset indexed by draw give the same answer
    frame = pd.DataFrame(params)
    ds = xr.Dataset({k: ("draw", v) for k, v in params.items()}, coords={"draw": np.arange(N)})
    a, b, c = (ca.evppi(o, inp, "theta", grid)["evppi"] for inp in (params, frame, ds))
    np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(a, c)


# ---------------------------------------------------------------------------------------
# Monte Carlo standard errors and the summary table


def test_batch_means_mcse_for_independent_and_autocorrelated_draws():
    """Independent N(0,1): SE of the mean is 1/sqrt(n) = 0.01 for n = 10,000 (batch-means
    estimate with 100 batches: relative SD about 7%, so 25% is 3.5 SE).
    AR(1), rho = 0.9, unit innovations, n = 40,000: the true SE is
    sqrt((1 + rho) / (1 - rho) / (1 - rho^2) / n) = 0.050, about 4.4 times sd/sqrt(n);
    200 batches of 200 draws give it to about 5% (plus a small bias), so 20%."""
    rng = np.random.default_rng(5)
    assert ca.mcse_mean(rng.normal(size=10_000)) == pytest.approx(0.01, rel=0.25)
    rho, n = 0.9, 40_000
    z = lfilter([1.0], [1.0, -rho], rng.normal(size=n))
    true = math.sqrt((1 + rho) / (1 - rho) / (1 - rho**2) / n)
    assert ca.mcse_mean(z) == pytest.approx(true, rel=0.2)
    assert ca.mcse_mean(z) > 3 * z.std() / math.sqrt(n)
    assert math.isnan(ca.mcse_mean([1.0, 2.0, 3.0]))


def test_summary_table_and_pandas_inputs_agree():
    rng = np.random.default_rng(9)
    o = outcomes(rng.normal([[100], [200]], 10, (2, 900)), rng.normal([[1], [1.2]], 0.05, (2, 900)),
                 names=["oral", "im"])
    s = ca.summary_table(o)
    assert list(s.index) == ["oral", "im"]
    assert s.loc["im", "cost"] == pytest.approx(o.cost.sel(strategy="im").mean().item())
    assert s.loc["oral", "cost_mcse"] == pytest.approx(10 / 30, rel=0.3)  # sd / sqrt(900)
    assert (s["cost_lo"] < s["cost"]).all() and (s["cost"] < s["cost_hi"]).all()
    long = o.to_dataframe().reset_index()
    pd.testing.assert_frame_equal(ca.summary_table(long), s)
    pd.testing.assert_frame_equal(ca.summary_table(o.to_dataframe()), s)  # (strategy, draw) index
    # INB per draw: 1000 x (0.2 + 0.05 sqrt(2) z) - (100 + 10 sqrt(2) z'): SD sqrt(5000 + 200) = 72.1,
    # so the mean is 100 give or take 72.1 / sqrt(900) = 2.4
    inb = ca.incremental_net_benefit(o, 1000, "oral")
    assert inb.loc["im", "inmb"] == pytest.approx(1000 * 0.2 - 100, abs=4 * 2.4)
    assert inb.loc["im", "inmb_mcse"] == pytest.approx(math.sqrt(5200) / 30, rel=0.3)


# ---------------------------------------------------------------------------------------
# Bad input


def _frame(rows):
    return pd.DataFrame(rows, columns=["strategy", "draw", "cost", "qaly"])


BAD_OUTCOMES = [
    (xr.Dataset({"cost": (("strategy", "draw"), np.zeros((0, 5))),
                 "qaly": (("strategy", "draw"), np.zeros((0, 5)))}), "outcomes"),
    (_frame([]), "outcomes"),
    (xr.Dataset({"cost": (("strategy", "draw", "person"), np.zeros((2, 3, 4))),
                 "qaly": (("strategy", "draw", "person"), np.zeros((2, 3, 4)))}), "outcomes.cost.dims"),
    (xr.Dataset({"cost": (("strategy", "draw"), np.zeros((2, 3)))}), "outcomes.qaly"),
    (xr.Dataset({"cost": (("strategy", "draw"), [[1.0, np.nan], [1, 2]]),
                 "qaly": (("strategy", "draw"), np.ones((2, 2)))}), "outcomes.cost"),
    (_frame([["a", 0, 1, 1], ["a", 1, 1, 1], ["b", 0, 1, 1]]), "outcomes.draw"),
    (_frame([["a", 0, 1, 1], ["a", 0, 2, 1]]), "outcomes.draw"),
    (pd.DataFrame({"strategy": ["a"], "draw": [0], "cost": [1.0]}), "outcomes.qaly"),
    (xr.Dataset({"cost": (("strategy", "draw"), np.ones((2, 2))), "qaly": (("strategy", "draw"), np.ones((2, 2)))},
                coords={"strategy": ["a", "a"]}), "outcomes.strategy"),
    ([[1, 2], [3, 4]], "outcomes"),
]


@pytest.mark.parametrize("bad, field", BAD_OUTCOMES)
def test_bad_outcomes_are_refused_naming_the_field(bad, field):
    for fn in (ca.summary_table, ca.icer_table, lambda o: ca.ceac(o, [0, 1e4]), lambda o: ca.evpi(o, 1e4)):
        with pytest.raises(InputError) as e:
            fn(bad)
        assert e.value.field == field


@pytest.mark.parametrize("call, field", [
    (lambda: ca.ceac(TINY, -1), "wtp"),
    (lambda: ca.ceac(TINY, [[0, 1]]), "wtp"),
    (lambda: ca.evpi(TINY, [math.nan]), "wtp"),
    (lambda: ca.ceaf(TINY, []), "wtp"),
    (lambda: ca.incremental_net_benefit(TINY, [0, 1], "A"), "wtp"),
    (lambda: ca.icer_table(TINY, reference="Z"), "reference"),
    (lambda: ca.incremental_net_benefit(TINY, 100, "Z"), "reference"),
    (lambda: ca.evpi(TINY, 100, n_boot=0), "n_boot"),
    (lambda: ca.mcse_mean(np.ones(100), batches=1), "batches"),
    (lambda: ca.evppi(TINY, {"t": np.ones(4)}, "u", 100), "parameters"),
    (lambda: ca.evppi(TINY, {"t": np.ones(3)}, "t", 100), "inputs.t"),
    (lambda: ca.evppi(TINY, {"t": [1, 2, math.inf, 4]}, "t", 100), "inputs.t"),
    (lambda: ca.evppi(TINY, pd.DataFrame({"t": np.ones(4)}, index=[5, 6, 7, 8]), "t", 100), "inputs.index"),
    (lambda: ca.evppi(TINY, [1, 2, 3, 4], "t", 100), "inputs"),
    (lambda: ca.evppi(TINY, {"t": np.arange(4.0)}, [], 100), "parameters"),
    (lambda: ca.evppi(TINY, {"t": np.arange(4.0)}, "t", 100, folds=1), "folds"),
])
def test_bad_arguments_are_refused_naming_the_field(call, field):
    with pytest.raises(InputError) as e:
        call()
    assert e.value.field == field
