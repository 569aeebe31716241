"""Diagnosis on the shipped posterior: agreement of the two scorers, monotonicity,
calibration on synthetic people with known status, and the published targets."""

import math

import numpy as np
import pandas as pd
import pytest

import b12sim
from b12sim.diagnosis import core, inputs, scoring
from b12sim.diagnosis.draws import from_posterior
from b12sim.physiology import markers as mk
from b12sim.physiology.population import sample_people
from b12sim.posterior import load_posterior


@pytest.fixture(scope="module")
def draws():
    return from_posterior(load_posterior("markers"), 100)


def _arrays(df):
    canon, errors, _ = inputs.from_frame(df)
    assert (errors == "").all(), errors[errors != ""]
    return inputs.arrays(canon)


def test_kernel_matches_reference(draws):
    rng = np.random.default_rng(3)
    post = load_posterior("markers")["posterior"]
    params = {k: float(post[k].mean()) for k in mk.PARAMS}
    df = sample_people(40, params, seed=11, risks={"vegan": 0.2, "pernicious_anaemia": 0.1},
                       p_missing={"holotc": 0.5, "hcy": 0.5, "folate": 0.3, "mma": 0.3})
    df["b12"] = np.where(rng.random(40) < 0.15, np.nan, df["b12"])  # some without B12
    df.loc[~df[list(mk.MARKERS)].notna().any(axis=1), "mma"] = 0.3
    obs, a, r, risks = _arrays(df[list(inputs.FIELDS)])
    fast = scoring.score_batch(obs, a, r, risks, draws, core.MASKS)
    for i in range(len(df)):
        ref = scoring.score_reference(obs[i], a[i], r[i], risks[i], draws, core.MASKS)
        for k in range(4):
            np.testing.assert_allclose(fast[k][i], ref[k], atol=2e-6, rtol=1e-6)


def test_clear_cases():
    deficient = b12sim.diagnose(b12=95, holotc=15, mma=1.8, hcy=32, folate=14, age=68, egfr=80)
    replete = b12sim.diagnose(b12=420, holotc=95, mma=0.15, hcy=9, folate=25, age=45, egfr=100)
    assert deficient.p_deficient > 0.95 and deficient.interval[0] > 0.8
    assert replete.p_deficient < 0.02
    assert deficient.cb12_category in ("probable deficiency", "possible deficiency")
    assert replete.cb12_category == "adequate"
    # contributions split the log-odds change exactly (Shapley efficiency)
    d = b12sim.diagnose(b12="180 pg/mL", mma=0.52, folate=18, age=72, egfr=85)
    lo = lambda p: math.log(p / (1 - p))  # noqa: E731
    assert sum(d.contributions.values()) == pytest.approx(lo(d.p_deficient) - lo(d.p_prior), abs=1e-6)
    assert set(d.contributions) == {"b12", "mma", "folate"}
    assert d.contributions["mma"] > 0 and abs(d.contributions["folate"]) < 0.05


def _p(df):
    return b12sim.diagnose(pd.DataFrame(df), draws=100, explain=False)["p_deficient"].to_numpy()


@pytest.mark.parametrize("others", [
    {"mma": 0.4, "age": 70, "egfr": 80},
    {"holotc": 35, "hcy": 16, "folate": 12, "age": 50, "egfr": 60},
    {"age": 80},
])
def test_monotone_in_b12(others):
    p = _p({"b12": np.linspace(60, 600, 40), **others})
    assert np.all(np.diff(p) <= 1e-9)


def test_monotone_in_other_markers():
    base = {"b12": 180, "age": 70, "egfr": 80}
    assert np.all(np.diff(_p({**base, "holotc": np.linspace(8, 150, 30)})) <= 1e-9)
    assert np.all(np.diff(_p({**base, "mma": np.geomspace(0.08, 5, 30)})) >= -1e-9)
    assert np.all(np.diff(_p({**base, "hcy": np.geomspace(5, 80, 30), "folate": 20})) >= -1e-9)


def test_low_egfr_discounts_raised_mma():
    p = _p({"b12": 180, "mma": 0.55, "age": 72, "egfr": [90, 60, 45, 30, 15]})
    assert np.all(np.diff(p) < 0)
    # with a normal MMA kidney function hardly matters
    q = _p({"b12": 180, "mma": 0.15, "age": 72, "egfr": [90, 30]})
    assert abs(q[0] - q[1]) < abs(p[0] - p[3])


def _auc(score, truth):
    order = np.argsort(score)
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    pos = truth.astype(bool)
    n1, n0 = pos.sum(), (~pos).sum()
    return (ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)


@pytest.fixture(scope="module")
def synthetic():
    """20,000 synthetic people, each block of 500 drawn from one posterior draw."""
    post = load_posterior("markers")["posterior"].stack(sample=("chain", "draw"))
    idx = np.linspace(0, post.sizes["sample"] - 1, 40).astype(int)
    frames = []
    for j, s in enumerate(idx):
        params = {k: float(post[k].isel(sample=s)) for k in mk.PARAMS}
        frames.append(sample_people(500, params, seed=100 + j, age=(40, 90), egfr=(25, 110),
                                    risks={"pernicious_anaemia": 0.05, "vegan": 0.1, "metformin": 0.1},
                                    p_missing={"holotc": 0.6, "hcy": 0.5, "folate": 0.2, "mma": 0.2}))
    return pd.concat(frames, ignore_index=True)


def test_calibrated_on_synthetic_people(synthetic):
    df = synthetic
    res = b12sim.diagnose(df[list(inputs.FIELDS)], explain=False)
    p, y = res["p_deficient"].to_numpy(), df["deficient"].to_numpy(float)
    edges = np.linspace(0, 1, 11)
    idx = np.clip(np.digitize(p, edges) - 1, 0, 9)
    ece = sum(abs(p[idx == b].mean() - y[idx == b].mean()) * (idx == b).mean() for b in range(10) if (idx == b).any())
    # 20,000 people: binomial noise in a bin of n people is sqrt(p(1-p)/n) <= 0.01 for n >= 2,500;
    # weighted over bins the expected |error| of a calibrated predictor is below about 0.01
    assert ece < 0.02
    # folate probability is calibrated too
    pf, yf = res["p_folate_deficient"].to_numpy(), df["folate_deficient"].to_numpy(float)
    assert abs(pf.mean() - yf.mean()) < 0.01
    # the probability beats serum B12 alone
    only_b12 = b12sim.diagnose(df[["b12", "age", "egfr"] + list(mk.RISKS)], explain=False)["p_deficient"].to_numpy()
    has_b12 = df["b12"].notna().to_numpy()
    auc_full = _auc(p[has_b12], y[has_b12])
    auc_b12 = _auc(-df["b12"].to_numpy()[has_b12], y[has_b12])
    brier_full = np.mean((p[has_b12] - y[has_b12]) ** 2)
    brier_b12 = np.mean((only_b12[has_b12] - y[has_b12]) ** 2)
    assert auc_full > auc_b12 + 0.02
    assert brier_full < 0.9 * brier_b12


def test_savage_and_nhanes_targets_reproduced():
    """Calibration targets 3 and 4 recomputed from the shipped posterior in numpy."""
    from b12sim.calibration import targets as tg
    from b12sim.calibration.markers import observations

    tree = load_posterior("markers")
    checks = tree["checks"].to_dataset()
    assert bool(checks["inside"].all()), checks["inside"].to_series()[lambda s: ~s]
    post = tree["posterior"].mean(("chain", "draw"))
    params = {k: float(post[k]) for k in mk.PARAMS}
    pred = tg.predictions(params, mk.Constants.load())
    sd = {o.name: o.sd for o in observations()}
    # Savage 1994: proportions elevated in clinical deficiency; within 3 likelihood SDs (logit scale)
    for m in ("mma", "hcy"):
        obs = {"mma": 0.984, "hcy": 0.959}[m]
        logit = lambda v: math.log(v / (1 - v))  # noqa: E731
        assert abs(logit(pred[f"savage_{m}_elevated"]) - logit(obs)) < 3 * sd[f"savage_{m}_elevated"]
    # NHANES band medians: the published median has half the band below it
    for band in ("low", "mid", "high"):
        for m in ("mma", "hcy"):
            key = f"nhanes_{m}_median_{band}"
            assert abs(pred[key] - 0.5) < 3 * sd[key], (key, pred[key])
