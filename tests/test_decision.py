"""Decision support: clear cases, the value of a test, thresholds, agreement with diagnosis and simulator, bad input."""

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import b12sim
from b12sim.decision import information
from b12sim.diagnosis import inputs
from b12sim.diagnosis.core import _draws, score_arrays
from b12sim.errors import InputError

DEFICIENT = dict(b12=95, mma=1.8, hcy=32, age=68)  # very low B12, high MMA
REPLETE = dict(b12=420, holotc=95, mma=0.15, age=45)
BORDERLINE = dict(b12=110, age=72)  # serum B12 alone, below the conventional cut-off (148 pmol/L)
RAISED_MMA = dict(b12="180 pg/mL", mma=0.52, folate=18, age=72, egfr=85)  # MMA already measured: repeat tests
SEED = 20261125


@pytest.fixture(scope="module")
def decisions():
    return {
        "deficient": b12sim.decide(DEFICIENT),
        "replete": b12sim.decide(REPLETE),
        "short": b12sim.decide(BORDERLINE, tests="mma", turnaround=7),
        "long": b12sim.decide(BORDERLINE, tests="mma", turnaround=300),  # the MMA test's value lasts to about 280 d
        "repeat": b12sim.decide(RAISED_MMA, turnaround=14),
    }


# --------------------------------------------------------------------------- clear cases

def test_clear_cases_decide_as_expected(decisions):
    assert decisions["deficient"].p_deficient > 0.99
    assert decisions["deficient"].recommendation == "treat_now"
    assert decisions["replete"].p_deficient < 0.01
    assert decisions["replete"].recommendation == "no_treatment"


def test_indeterminate_profile_tests_first_only_while_waiting_is_cheap(decisions):
    short, long = decisions["short"], decisions["long"]
    assert short.p_deficient == long.p_deficient
    assert short.recommendation == "test_first:mma"
    assert long.recommendation == "treat_now"
    # the same test loses its value to the delay: the information is worth about the same, waiting costs more
    assert long.tests.loc["mma", "cost_of_waiting"] > 5 * short.tests.loc["mma", "cost_of_waiting"]
    assert short.tests.loc["mma", "net_value"] > 0 > long.tests.loc["mma", "net_value"]
    # treating later never lowers the nerve risk of a deficient patient
    w = short.waiting.sort_values("delay_days")
    assert np.all(np.diff(w["p_permanent_if_deficient"]) >= -1e-12)


# --------------------------------------------------------------------------- value of a test

def test_value_of_a_test_is_zero_when_no_result_changes_the_decision(decisions):
    d = decisions["deficient"]
    for t, row in d.tests.iterrows():
        assert row["p_change"] == 0.0, t
        assert row["value_of_information"] == pytest.approx(0.0, abs=1e-6), t
        assert row["cutoff"] is None or math.isnan(row["cutoff"])
        # testing first only delays a treatment that every result would start
        assert row["net_value"] == pytest.approx(-row["cost_of_waiting"] - row["price"], abs=1e-6)


def test_value_of_a_test_is_never_negative_and_splits_the_gain_exactly(decisions):
    for name, d in decisions.items():
        opts = d.options["nmb"].astype(float)
        best_without = max(opts["no_treatment"], opts["treat_now"])
        for t, row in d.tests.iterrows():
            assert row["value_of_information"] >= 0, (name, t)
            assert 0 <= row["p_change"] <= 1 and 0 <= row["p_positive"] <= 1
            # E[NMB(test first)] - best acting now = value - cost of waiting - price
            assert opts[f"test_first:{t}"] - best_without == pytest.approx(row["net_value"], abs=1e-6 * abs(best_without))
            at = d.waiting.set_index("delay_days").loc[row["turnaround_days"], f"net_value_{t}"]
            assert at == pytest.approx(row["net_value"], abs=1e-6 * abs(best_without))
    assert decisions["short"].tests.loc["mma", "value_of_information"] > 0
    assert decisions["short"].tests.loc["mma", "p_change"] > 0.1
    assert decisions["repeat"].tests["label"].str.startswith("repeat").sum() == 2  # MMA and B12 were measured


def test_binned_results_keep_the_pre_test_probability():
    """Every world's result bins sum to 1 in every draw, so post-test probabilities average to the pre-test one."""
    dr = _draws(None, 50)
    for labs in (BORDERLINE, RAISED_MMA):
        person = inputs.from_kwargs(dict(labs))
        post = information.posterior(person, dr)
        for t in information.TESTS:
            rm = information.result_model(t, post, person, dr)
            np.testing.assert_allclose(rm.p_bin_def.sum(axis=1), 1, atol=1e-12)
            np.testing.assert_allclose(rm.p_bin_rep.sum(axis=1), 1, atol=1e-12)
            assert rm.repeat == (t in labs)
            assert np.all(np.diff(rm.edges) > 0)


# --------------------------------------------------------------------------- agreement

def test_probability_agrees_with_diagnose(decisions):
    for name, labs in (("deficient", DEFICIENT), ("short", BORDERLINE), ("repeat", RAISED_MMA)):
        dx = b12sim.diagnose(draws=200, **labs)
        assert decisions[name].p_deficient == pytest.approx(dx.p_deficient, abs=1e-10), name
        assert decisions[name].interval == pytest.approx(dx.interval, abs=1e-10), name


@pytest.mark.parametrize("labs, test, values", [(BORDERLINE, "mma", [0.15, 0.3, 0.6, 1.5]),
                                                (BORDERLINE, "holotc", [20.0, 45.0, 90.0]),
                                                (dict(holotc=30, age=72), "b12", [90.0, 160.0, 300.0])])
def test_post_test_probability_agrees_with_diagnose_given_the_result(labs, test, values):
    """A first result of one more marker: the same per-draw probabilities as scoring the labs with it added
    (serum B12 and holoTC given each other: their residuals are correlated)."""
    dr = _draws(None, 200)
    person = inputs.from_kwargs(dict(labs))
    post = information.posterior(person, dr)
    got = information.post_test_probability(test, values, post, person, dr)
    canon = pd.DataFrame([{**person, test: v} for v in values], columns=list(inputs.FIELDS))
    ref = score_arrays(*inputs.arrays(canon), dr, explain=False)[0]
    np.testing.assert_allclose(got, ref.T, atol=1e-6)
    for v, p in zip(values, got.mean(axis=0)):
        assert p == pytest.approx(b12sim.diagnose(draws=200, **labs, **{test: v}).p_deficient, abs=1e-6)


def test_deficient_world_agrees_with_the_simulator_run_directly(decisions):
    """Treat now and no treatment for a clearly deficient patient against simulate() with the same seed.

    Same parameter draws and doses; the decision starts the deficient world from the
    stores given deficiency, the simulator from the stores given the labs. With
    P(deficient) > 0.99999 in every draw the two starts differ by less than 1e-4 ln-units,
    and the engine paths agree to 1e-9, so 1e-3 on a probability is a loose bound.
    """
    d = decisions["deficient"]
    for option, regimen in (("treat_now", d.regimen), ("no_treatment", "no_treatment")):
        ds = b12sim.simulate(DEFICIENT, regimen, horizon_days=d.horizon_days, draws=d.draws, seed=SEED)
        s = b12sim.summarise(ds)
        o = d.options.loc[option]
        assert o["p_permanent_if_deficient"] == pytest.approx(s["p_permanent_damage"], abs=1e-3)
        assert o["p_hb_normal"] == pytest.approx(s["p_hb_normal_reached"], abs=0.01)
        # median over all draws of the first day Hb stays normal, "never" counted as beyond the horizon
        ok = (ds["hb"] >= ds["hb_normal"]).isel(person=0).values[:, ::-1]
        held = np.cumprod(ok, axis=1)[:, ::-1]
        days = np.where(held.any(axis=1), held.argmax(axis=1), np.inf)
        median = np.sort(days)[len(days) // 2]
        assert (o["day_hb_normal"] is None) == (not np.isfinite(median))
        if np.isfinite(median):
            assert o["day_hb_normal"] == pytest.approx(median, abs=1)
    assert d.p_permanent_untreated_if_deficient == pytest.approx(d.options.loc["no_treatment", "p_permanent"], abs=1e-3)


# --------------------------------------------------------------------------- thresholds

def test_thresholds_are_ordered_and_consistent_with_the_options(decisions):
    for name, d in decisions.items():
        tab = d.threshold_table
        assert (tab["p_test_lo"] <= tab["p_treat"] + 1e-9).all() and (tab["p_treat"] <= tab["p_test_hi"] + 1e-9).all()
        for k in ("p_treat", "p_test_lo", "p_test_hi"):
            assert (tab[f"{k}_lo"] <= tab[f"{k}_hi"]).all()
        p, th = d.p_deficient, d.thresholds
        opts = d.options["nmb"].astype(float)
        for t, b in th["tests"].items():
            lo, hi = b["band"]
            trio = opts[["no_treatment", "treat_now", f"test_first:{t}"]]
            if min(abs(p - lo), abs(p - hi), abs(p - th["treat"])) < 1e-6:
                continue  # on an edge: either answer is right
            expect = "test_first:" + t if lo < p < hi else ("treat_now" if p > th["treat"] else "no_treatment")
            assert trio.idxmax() == expect, (name, t, p, lo, hi)


def test_with_one_draw_the_headline_thresholds_are_that_draws_thresholds():
    """The pooled thresholds (odds shifted over draws) and the per-draw ones are the same analysis for one draw."""
    d = b12sim.decide(BORDERLINE, tests=("mma", "b12"), draws=1, turnaround=14)
    assert math.isnan(d.margin_mcse) and not d.too_close and "not estimable from 1 draw" in d.report()
    for k in ("p_treat", "p_test_lo", "p_test_hi"):
        np.testing.assert_allclose(d.threshold_table[k], d.threshold_table[f"{k}_lo"], atol=1e-9)
        np.testing.assert_allclose(d.threshold_table[k], d.threshold_table[f"{k}_hi"], atol=1e-9)


def test_longer_turnaround_narrows_the_test_band(decisions):
    for name in ("short", "replete", "deficient"):
        tab = decisions[name].threshold_table
        for t, g in tab.groupby("test"):
            g = g.sort_values("turnaround_days")
            width = (g["p_test_hi"] - g["p_test_lo"]).to_numpy()
            assert np.all(np.diff(width) <= 1e-3), (name, t, width)
            assert width[0] > width[-1]


def test_figures_draw(decisions):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for d in (decisions["short"], decisions["deficient"]):
        for fig in (d.plot_threshold(), d.plot_waiting()):
            assert fig.axes
            plt.close(fig)


def test_decision_modules_import_one_way():
    """decide -> result -> figures, never back (not even inside a function), and nothing from policy."""
    import ast
    from pathlib import Path

    import b12sim.decision as pkg

    above = {"figures": ("result", "decide"), "result": ("decide",), "outcomes": ("decide",),
             "information": ("decide",), "value": ("decide",)}
    for f in Path(pkg.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            for n in names:
                assert not n.startswith("b12sim.policy"), (f.name, n)
                assert not any(n == f"b12sim.decision.{m}" for m in above.get(f.stem, ())), (f.name, n)


def test_report_and_json(decisions):
    d = decisions["short"]
    text = d.report()
    assert "P(true B12 deficiency)" in text and "Recommendation" in text and b12sim.DISCLAIMER in text
    js = json.loads(json.dumps(d.to_dict()))
    assert {"recommendation", "p_deficient", "thresholds", "options", "value_of_test", "runner_up", "margin",
            "margin_mcse", "too_close_to_call"} <= set(js)
    for o in js["options"].values():
        assert {"p_permanent", "day_hb_normal", "cost", "qaly", "nmb", "nmb_mcse"} <= set(o)


def test_margin_is_the_recommendations_lead_and_the_tests_net_value(decisions):
    """The margin is the lead of the recommendation over the runner-up in expected NMB; when testing
    first beats treating now, that lead is the test's net value (information - waiting - price)."""
    for d in decisions.values():
        nmb = d.options["nmb"].sort_values(ascending=False)
        assert (d.recommendation, d.runner_up) == tuple(nmb.index[:2])
        assert d.margin == pytest.approx(nmb.iloc[0] - nmb.iloc[1], rel=1e-9, abs=1e-6)
        assert d.margin_mcse >= 0 and (d.options["nmb_mcse"] >= 0).all()
    d = decisions["short"]
    assert d.margin_mcse > 0  # the options differ by draw here (a replete patient's differ by fixed costs only)
    assert (d.recommendation, d.runner_up) == ("test_first:mma", "treat_now")
    assert d.margin == pytest.approx(d.tests.loc["mma", "net_value"], rel=1e-9)


def test_margin_monte_carlo_error_covers_the_change_with_ten_times_the_draws():
    """The Monte Carlo error reported at 200 draws accounts for the margin's move at 2,000 draws
    (most of it is the posterior draws, which a new seed does not change): within 3 combined
    errors (a 0.3% chance of failing if the errors are right), and it shrinks about as
    1/sqrt(draws): sqrt(10) = 3.2, and each batch-means error from 14 batches is good to about
    1/sqrt(26) = 20%, so their ratio to about 28% (log scale): 3.2 x exp(+-2 x 0.28) is 1.8-5.6,
    widened to 1.6-6 (a ratio near 1 would mean the error does not shrink at all)."""
    few = b12sim.decide(BORDERLINE, tests="mma", turnaround=7, draws=200)
    many = b12sim.decide(BORDERLINE, tests="mma", turnaround=7, draws=2000)
    assert few.runner_up == many.runner_up
    assert abs(few.margin - many.margin) < 3 * math.hypot(few.margin_mcse, many.margin_mcse)
    assert 1.6 < few.margin_mcse / many.margin_mcse < 6.0


def test_too_close_to_call_is_said(decisions):
    import dataclasses

    d = decisions["short"]
    assert not d.too_close and "Too close to call" not in d.report()
    close = dataclasses.replace(d, margin=d.margin_mcse)
    assert close.too_close and close.to_dict()["too_close_to_call"]
    assert "Too close to call with 200 draws" in close.report()


def test_same_seed_same_answer():
    a = b12sim.decide(BORDERLINE, tests="b12", draws=20, seed=3)
    b = b12sim.decide(BORDERLINE, tests="b12", draws=20, seed=3)
    assert a.to_dict() == b.to_dict()


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("kwargs, field", [
    (dict(turnaround=-3), "turnaround"),
    (dict(turnaround=365), "turnaround"),
    (dict(turnaround=2.5), "turnaround"),
    (dict(turnaround={"tsh": 3}), "turnaround"),
    (dict(tests="thcy"), "tests"),
    (dict(tests=("mma", "mma")), "tests"),
    (dict(tests=()), "tests"),
    (dict(regimen="no_such_regimen"), "regimen"),
    (dict(regimen="no_treatment"), "regimen"),
    (dict(horizon_days=5), "horizon_days"),
    (dict(wtp=-1), "wtp"),
    (dict(wtp=float("nan")), "wtp"),
    (dict(draws=0), "draws"),
    (dict(seed=-1), "seed"),
    (dict(test_costs={"mma": -5}), "test_costs"),
    (dict(costs="ontario"), "costs"),
])
def test_bad_options_are_refused_with_the_field_named(kwargs, field):
    with pytest.raises(InputError) as e:
        b12sim.decide(BORDERLINE, **kwargs)
    assert e.value.field.startswith(field), e.value.field
    assert e.value.allowed


@pytest.mark.parametrize("labs, field", [
    (dict(b12=1e7, age=70), "b12"),
    (dict(b12=-5, age=70), "b12"),
    (dict(b12=200, age=300), "age"),
    (dict(b12=200), "age"),
    (dict(b12=200, mma=1e5, age=70), "mma"),
    (dict(b12=200, age=70, hb=900), "hb"),
    (dict(b12=200, age=70, neuro_days=-2), "neuro_days"),
])
def test_absurd_labs_are_refused(labs, field):
    with pytest.raises(InputError) as e:
        b12sim.decide(labs)
    assert e.value.field == field


# --------------------------------------------------------------------------- command line



def test_cli_json_keys(capsys, cli):
    status, out, err = cli("decide", "--b12", "270 pg/mL", "--age", "72", "--test", "mma",
                            "--turnaround", "7", "--draws", "40", "--json")
    assert status == 0, err
    d = json.loads(out)
    assert {"recommendation", "p_deficient", "thresholds", "options", "value_of_test"} <= set(d)
    assert d["recommendation"] in d["options"]
    assert set(d["options"]) == {"no_treatment", "treat_now", "test_first:mma"}
    assert {"treat", "treat_interval", "tests"} <= set(d["thresholds"])
    assert d["thresholds"]["tests"]["mma"]["turnaround_days"] == 7
    for o in d["options"].values():
        assert {"p_permanent", "day_hb_normal", "cost", "qaly", "nmb"} <= set(o)
    assert {"value_of_information", "p_change", "cost_of_waiting", "net_value"} <= set(d["value_of_test"]["mma"])


def test_cli_plot_is_written_and_not_overwritten(capsys, tmp_path, cli):
    out = tmp_path / "threshold.png"
    args = ("decide", "--b12", "200", "--age", "72", "--test", "b12", "--draws", "20", "--plot", out)
    status, text, err = cli(*args)
    assert status == 0, err
    assert out.stat().st_size > 1000 and "Recommendation" in text
    status, _, err = cli(*args)
    assert status == 2 and "--force" in err


@pytest.mark.parametrize("args, words", [
    (("--turnaround", "-3"), ("--turnaround", "0 to")),
    (("--turnaround", "400"), ("turnaround", "0 to 364")),
    (("--test", "tsh"), ("tests", "mma, holotc, b12")),
    (("--regimen", "nope"), ("regimen",)),
    (("--wtp", "lots"), ("--wtp",)),
    (("--horizon", "1"), ("--horizon",)),
    (("--age", "300"), ("age", "18 to 110")),
])
def test_cli_bad_input_is_one_error_line_exit_2(capsys, args, words, cli):
    opts = {"--b12": "200", "--age": "72"} | dict(zip(args[::2], args[1::2]))  # each option once
    status, out, err = cli("decide", *(x for kv in opts.items() for x in kv))
    assert status == 2, (status, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err
    for w in words:
        assert w in lines[0], (w, lines[0])


def test_cli_process_refuses_without_traceback_and_decide_never_imports_pymc():
    r = subprocess.run([sys.executable, "-m", "b12sim.cli", "decide", "--b12", "200", "--age", "72",
                        "--turnaround", "-1"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr
    code = ("import sys, b12sim; b12sim.decide(b12=200, age=72, tests='mma', draws=10); "
            "print('pymc' in sys.modules, 'pytensor' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True).stdout
    assert out.split() == ["False", "False"]
