"""The closed-form scorer (patients without MMA and tHcy): exact against numerical integration,
the grid's error shrinking as its step does, routing of mixed batches, and the order statistics
that summarise per-draw results."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from b12sim.diagnosis import core, inputs, kernels, quantiles, scoring, tables
from b12sim.diagnosis.draws import from_posterior
from b12sim.physiology import markers as mk
from b12sim.posterior import load_posterior

pytestmark = pytest.mark.filterwarnings("ignore::b12sim.errors.UnitWarning")

# canonical units: pmol/L (B12, holoTC), nmol/L (folate), umol/L (MMA, tHcy)
CLOSED = [
    dict(b12=130, age=70),
    dict(b12=260, holotc=40, folate=9, age=45, vegan=1),
    dict(holotc=18, folate=4, age=82, metformin=1, ppi=1),
    dict(b12=95, holotc=22, age=60, pernicious_anaemia=1),
    dict(b12=400, folate=30, age=35, bariatric=1, ileal_resection=1),
    dict(folate=12, age=55),
]
GRID = [
    dict(b12=180, mma=0.5, age=72, egfr=55),
    dict(b12=220, hcy=18, folate=6, age=66),
    dict(holotc=30, mma=0.3, hcy=12, age=50, pernicious_anaemia=1),
    # tHcy pulls the latent folate far from its normal's peak: the kernel must widen its folate window
    dict(b12=505, holotc=15, hcy=17, folate=2.1, age=89, egfr=40),
    dict(b12=216, holotc=29, mma=2.6, hcy=52, folate=8, age=80),
]


@pytest.fixture(scope="module")
def draws():
    return from_posterior(load_posterior("markers"), 100)


def _arrays(rows):
    canon = pd.DataFrame(rows, columns=list(inputs.FIELDS))
    canon[list(mk.RISKS)] = canon[list(mk.RISKS)].fillna(0)
    return inputs.arrays(canon)


def _quad(patient: dict, dr, d: int):
    """P(deficient), E[ln stores] and P(folate deficient) under draw ``d`` by adaptive quadrature
    of the posterior density written from the marker model's functions."""
    p = {k: v[d] for k, v in dr.params.items()}
    c = dr.const
    age = patient["age"]
    a, r = mk.covariates(age, mk.EGFR_REF)
    risks = {k: patient.get(k, 0) for k in mk.RISKS}
    mu, pi = mk.main_mean(a, risks, p, c), mk.depleting_prob(a, risks, p)
    sds = mk.log_sds(p, c, a, r)

    def log_post(x):
        means = mk.log_means(x, 0.0, age, mk.EGFR_REF, p, c)
        e = {m: math.log(patient[m]) - means[m] for m in ("b12", "holotc") if m in patient}
        if len(e) == 2:  # serum B12 contains holoTC: their residuals are correlated (markers.b12_holotc_cov)
            vb, vt, cv = sds["b12"] ** 2, sds["holotc"] ** 2, mk.b12_holotc_residual_cov(p)
            ll = -0.5 * (e["b12"] ** 2 * vt - 2 * cv * e["b12"] * e["holotc"] + e["holotc"] ** 2 * vb) / (vb * vt - cv**2)
        else:
            ll = sum(-0.5 * (v / sds[m]) ** 2 for m, v in e.items())
        prior = np.logaddexp(math.log1p(-pi) - 0.5 * ((x - mu) / p["sigma_x"]) ** 2 - math.log(p["sigma_x"]),
                             math.log(pi) - 0.5 * ((x - p["mu_d"]) / p["sigma_d"]) ** 2 - math.log(p["sigma_d"]))
        return prior + ll

    def split(f, lo, cut, hi, peak):
        """Integrals of ``f`` over (lo, cut) and (cut, hi), with breakpoints around its peak."""
        opts = dict(epsabs=1e-15, epsrel=1e-12, limit=400)
        near = lambda a, b: [v for v in (peak - 1, peak - 0.3, peak, peak + 0.3, peak + 1) if a < v < b]  # noqa: E731
        return (integrate.quad(f, lo, cut, points=near(lo, cut) or None, **opts)[0],
                integrate.quad(f, cut, hi, points=near(cut, hi) or None, **opts)[0])

    xs = np.linspace(0.0, 14.0, 2801)  # ln ug; the posterior is negligible outside
    lp = np.array([log_post(x) for x in xs])
    f = lambda x: math.exp(log_post(x) - lp.max())  # noqa: E731
    peak = xs[lp.argmax()]
    lo, hi = split(f, 0.0, p["x_k"], 14.0, peak)
    ex = sum(split(lambda x: x * f(x), 0.0, p["x_k"], 14.0, peak)) / (lo + hi)
    my, sy = p["mu_y"], p["sigma_y"]
    if "folate" in patient:
        sf, ly = sds["folate"], math.log(patient["folate"])
        g = lambda y: math.exp(-0.5 * ((y - my) / sy) ** 2 - 0.5 * ((ly - y) / sf) ** 2)  # noqa: E731
        fl, fh = split(g, -6.0, c.ln_fol_def, 10.0, (my / sy**2 + ly / sf**2) / (sy**-2 + sf**-2))
        p_fol = fl / (fl + fh)
    else:
        p_fol = special.ndtr((c.ln_fol_def - my) / sy)
    return lo / (lo + hi), ex, p_fol


def test_closed_form_is_exact(draws):
    """numpy and numba closed forms against quadrature of the posterior, draw by draw."""
    obs, a, r, risks = _arrays(CLOSED)
    assert scoring.closed_form(obs).all()
    rows = np.repeat(np.arange(len(CLOSED)), 15)  # more than SMALL_BATCH rows: the kernel path
    fast = scoring.score_batch(obs[rows], a[rows], r[rows], risks[rows], draws, core.MASKS[:1])
    worst = 0.0
    for i, patient in enumerate(CLOSED):
        ref = scoring.score_closed(obs[i], a[i], r[i], risks[i], draws, core.MASKS[:1])
        for k in range(4):
            np.testing.assert_allclose(fast[k][15 * i], ref[k], rtol=0, atol=1e-12)
        for d in (0, 31, 77, int(np.argmin(draws["sigma_x"]))):
            exact = _quad(patient, draws, d)
            got = (ref[0][d], ref[2][d], ref[1][d])
            worst = max(worst, *(abs(u - v) for u, v in zip(got, exact)))
    assert worst < 1e-10, worst


def test_subsets_are_the_closed_form_without_those_markers(draws):
    obs, a, r, risks = _arrays(CLOSED)
    res = scoring.score_closed(obs[1], a[1], r[1], risks[1], draws, core.MASKS)
    for s, mask in enumerate(core.MASKS):
        o = np.where(mask, obs[1], np.nan)
        alone = scoring.score_closed(o, a[1], r[1], risks[1], draws, core.MASKS[:1])
        assert res[3][s] == pytest.approx(alone[0].mean(), abs=1e-14)


def test_grid_error_shrinks_with_its_step(draws):
    """With the end correction the grid's error is O(h^4): about 16x smaller per halving of the
    step (asymptotically; 10-22x accepted); P(folate deficient) without tHcy is exact."""
    obs, a, r, risks = _arrays(CLOSED)
    errs = []
    for hx in (0.1, 0.05, 0.025):
        e = np.zeros(4)
        for i in range(len(CLOSED)):
            exact = scoring.score_closed(obs[i], a[i], r[i], risks[i], draws, core.MASKS)
            grid = scoring.score_grid(obs[i], a[i], r[i], risks[i], draws, core.MASKS, hx=hx, hy=1.5 * hx)
            e = np.maximum(e, [np.abs(grid[0] - exact[0]).max(), abs(grid[0].mean() - exact[0].mean()),
                               np.abs(grid[3] - exact[3]).max(), np.abs(grid[1] - exact[1]).max()])
        errs.append(e)
    errs = np.array(errs)
    assert 1e-3 < errs[0, 0] < 0.01  # the shipped step H_X = 0.1: under 1% in single draws ...
    assert errs[0, 1] < 5e-4  # ... and under 0.05% averaged over draws
    ratio = errs[:-1, :3] / errs[1:, :3]
    assert np.all((10 < ratio) & (ratio < 22)), ratio
    assert np.all(errs[:, 3] < 1e-14)


def test_end_correction_weights():
    """:func:`tables.below` integrates the half-line of smooth functions to O(h^4) and sums to the
    trapezoid's weights."""
    j = np.arange(-400, 401)
    w = tables.below(j)
    assert w.sum() == pytest.approx(400.5, abs=1e-12)
    for centre, sd in ((0.3, 0.25), (-0.2, 0.4), (0.07, 0.15)):
        err = []
        for h in (0.05, 0.025):
            x = h * j
            g = np.exp(-0.5 * ((x - centre) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
            err.append(abs(h * (w * g).sum() - special.ndtr(-centre / sd)))
        assert err[0] < 2e-4 and 12 < err[0] / err[1] < 20, err


def test_mma_and_hcy_patients_keep_the_grid(draws):
    obs, a, r, risks = _arrays(GRID)
    assert not scoring.closed_form(obs).any()
    rows = np.repeat(np.arange(len(GRID)), 25)
    fast = scoring.score_batch(obs[rows], a[rows], r[rows], risks[rows], draws, core.MASKS)
    for i in range(len(GRID)):
        ref = scoring.score_reference(obs[i], a[i], r[i], risks[i], draws, core.MASKS)
        grid = scoring.score_grid(obs[i], a[i], r[i], risks[i], draws, core.MASKS)
        for k in range(4):
            np.testing.assert_array_equal(ref[k], grid[k])
            np.testing.assert_allclose(fast[k][25 * i], ref[k], atol=1e-7, rtol=0)


def test_mixed_batch_keeps_input_order(draws):
    rng = np.random.default_rng(7)
    people = CLOSED + GRID
    order = rng.integers(0, len(people), 150)
    obs, a, r, risks = _arrays([people[j] for j in order])
    closed = scoring.closed_form(obs)
    assert 0 < closed.sum() < len(order)
    mixed = scoring.score_batch(obs, a, r, risks, draws, core.MASKS)
    parts = {flag: scoring.score_batch(obs[sel], a[sel], r[sel], risks[sel], draws, core.MASKS)
             for flag, sel in ((True, closed), (False, ~closed))}
    for k in range(4):
        np.testing.assert_array_equal(mixed[k][closed], parts[True][k])
        np.testing.assert_array_equal(mixed[k][~closed], parts[False][k])
    for i in range(0, len(order), 10):
        ref = scoring.score_reference(obs[i], a[i], r[i], risks[i], draws, core.MASKS)
        for k in range(4):
            np.testing.assert_allclose(mixed[k][i], ref[k], atol=2e-6, rtol=1e-6)


@pytest.mark.parametrize("others", [{"age": 70}, {"holotc": 35, "folate": 12, "age": 50},
                                    {"age": 80, "pernicious_anaemia": 1}])
def test_closed_form_monotone_in_b12_and_holotc(draws, others):
    b12 = np.linspace(45, 450, 80)
    obs, a, r, risks = _arrays([{"b12": v, **others} for v in b12])
    p = scoring.score_batch(obs, a, r, risks, draws, core.MASKS)[0].mean(axis=1)
    assert np.all(np.diff(p) <= 1e-12) and p[0] > p[-1]
    holo = np.linspace(8, 150, 80)
    obs, a, r, risks = _arrays([{**others, "b12": 180, "holotc": v} for v in holo])
    p = scoring.score_batch(obs, a, r, risks, draws, core.MASKS)[0].mean(axis=1)
    assert np.all(np.diff(p) <= 1e-12) and p[0] > p[-1]


def test_small_batches_stay_on_the_grid(draws):
    """Up to SMALL_BATCH patients are scored on the grid, as b12sim.decision's posterior_grid is."""
    obs, a, r, risks = _arrays(CLOSED)
    small = core.score_arrays(obs, a, r, risks, draws, explain=True)
    for i in range(len(CLOSED)):
        grid = scoring.score_grid(obs[i], a[i], r[i], risks[i], draws, core.MASKS)
        for k in range(4):
            np.testing.assert_array_equal(small[k][i], grid[k])


def test_erfc_helper():
    kernels._jit()
    t = np.concatenate([np.linspace(-7, 7, 2001), [-40.0, -9.0, 9.0, 40.0, 0.0]])
    got = np.array([kernels._erfc(v) for v in t])
    np.testing.assert_allclose(got, special.erfc(t), rtol=0, atol=2e-14)


@pytest.mark.parametrize("n", [1, 2, 5, 33, 100, 399, 400])
def test_order_statistics_are_numpys(n):
    rng = np.random.default_rng(n)
    for v in (rng.random((200, n)), rng.choice([0.0, 0.5, 1.0], (200, n), p=[0.45, 0.1, 0.45]), np.ones((3, n))):
        for q in (core.INTERVAL, (0.0, 0.5, 1.0), (0.3,)):
            np.testing.assert_array_equal(quantiles.draw_quantiles(v, q), np.quantile(v, q, axis=1))
        np.testing.assert_array_equal(quantiles.draw_median(v), np.median(v, axis=1))


def test_summarise_same_numbers_as_numpy(draws):
    obs, a, r, risks = _arrays((CLOSED + GRID) * 10)
    sm = core.summarise(obs, a, r, risks, draws, explain=False)
    p_def, p_fol, ex, _ = core.score_arrays(obs, a, r, risks, draws, explain=False)
    lo, hi = np.quantile(p_def, core.INTERVAL, axis=1)
    np.testing.assert_array_equal(sm["lo"], lo)
    np.testing.assert_array_equal(sm["hi"], hi)
    np.testing.assert_array_equal(sm["stores_ug"], np.exp(np.median(ex, axis=1)))
    np.testing.assert_array_equal(sm["p_deficient"], p_def.mean(axis=1))
