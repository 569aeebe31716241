"""Clinical nerve involvement (issue 13): onset, severity, fixation, recovery, and what remains."""

import numpy as np
import pytest
from scipy.linalg import expm

import b12sim
from b12sim.errors import InputError
from b12sim.physiology import neurology as neuro
from b12sim.simulation import parameters

YEAR = 365
INVOLVED = neuro.STATES.index((1, 0))
RESIDUAL = [i for i, (a, f) in enumerate(neuro.STATES) if f >= 1]
ANY = [i for i, (a, f) in enumerate(neuro.STATES) if a >= 1]


def _chain(hazards, days, start):
    """Exact state probabilities after ``days`` under constant ``hazards`` from state ``start``."""
    q = np.array([[float(v) for v in row] for row in neuro.nerve_generator(*hazards)])
    return expm(q * days)[:, start]


def test_flows_conserve_probability_and_keep_the_permanent_part_below_the_severity():
    """Whatever the state probabilities and hazards, total probability does not change; a state's flows only
    reach states one step away (severity up or down by one, permanent part up by one, below the severity)."""
    rng = np.random.default_rng(0)
    for _ in range(50):
        p = rng.dirichlet(np.ones(neuro.N_NERVE))
        hz = rng.uniform(0.0, 0.1, 4)
        inflow, k = neuro.nerve_flows(*p, *hz)
        assert sum(inflow) - float(np.dot(k, p)) == pytest.approx(0.0, abs=1e-15)
    q = np.array([[float(v) for v in row] for row in neuro.nerve_generator(0.1, 0.2, 0.3, 0.4)])
    for j, (a, f) in enumerate(neuro.STATES):
        for i in np.flatnonzero(q[:, j] > 0):
            a2, f2 = neuro.STATES[i]
            assert (abs(a2 - a), f2 - f) in ((1, 0), (0, 1)) and f2 <= a2
            if f2 > f:
                assert f2 <= a - 1  # fixation lags the severity reached by one level


def test_risk_rises_with_untreated_duration_and_depth_in_every_draw():
    """In every draw of the shipped posterior, P(some permanent deficit) after untreated symptoms rises with
    their duration and with the depth of deficiency (exposure-days per day), and so does the chance of
    clinical involvement starting in a person free of it."""
    p = parameters.draw(300, 3)
    durations = np.array([30, 90, 180, 365, 730])
    for j in range(300):
        rates = neuro.nerve_constants(*(p[k][j] for k in ("neuro_onset_days", "neuro_progress_days",
                                                           "neuro_fixation_days", "neuro_recovery_halflife_days")))
        by_depth = []
        for e in (1.0, 1.5, 3.0):
            hz = neuro.nerve_hazards(e, 1.0, *rates)
            res = np.array([_chain(hz, t, INVOLVED)[RESIDUAL].sum() for t in durations])
            onset = np.array([_chain(hz, t, 0)[ANY].sum() for t in durations])
            assert np.all(np.diff(res) > 0) and np.all(np.diff(onset) > 0), j
            by_depth.append((res, onset))
        for (r1, o1), (r2, o2) in zip(by_depth, by_depth[1:]):
            assert np.all(r2 > r1) and np.all(o2 > o1), j


def test_treatment_stops_progression_and_the_unfixed_part_resolves():
    """Without exposure nothing progresses or becomes permanent; what is not fixed resolves over months, so
    a treated patient ends at the level of their permanent part."""
    rates = neuro.nerve_constants(300.0, 150.0, 100.0, 60.0)
    start = _chain(neuro.nerve_hazards(1.0, 1.0, *rates), 240.0, INVOLVED)
    q = np.array([[float(v) for v in row] for row in neuro.nerve_generator(*neuro.nerve_hazards(0.0, 1.0, *rates))])
    later = expm(q * 3 * YEAR) @ start
    assert later[RESIDUAL].sum() == pytest.approx(start[RESIDUAL].sum(), rel=1e-9)  # the permanent part stays
    settled = [i for i, (a, f) in enumerate(neuro.STATES) if a == f or (a, f) == (0, 0)]
    assert later[settled].sum() > 0.99  # the rest has resolved


def test_long_standing_severe_myelopathy_mostly_leaves_residual_signs():
    """A patient treated after a year of nerve symptoms at a pernicious-anaemia deficit keeps a permanent
    deficit in most draws (case series: complete resolution in a small minority, e.g. 8 of 57 in Vasconcelos
    2006), while one treated after 2 weeks mostly recovers in full."""
    pa = dict(b12="95 pg/mL", mma=3.6, age=60, pernicious_anaemia=True)
    late = b12sim.simulate(pa | {"neuro_days": YEAR}, "uk_im_hydroxo_neuro", horizon_days=2 * YEAR, draws=200,
                           seed=5, outputs=("p_permanent", "p_residual_severe", "nerve_severity"))
    early = b12sim.simulate(pa | {"neuro_days": 14}, "uk_im_hydroxo_neuro", horizon_days=2 * YEAR, draws=200,
                            seed=5, outputs=("p_permanent",))
    pp = late["p_permanent"].values[:, 0, -1]
    assert np.mean(pp > 0.5) > 0.8
    assert float(early["p_permanent"].values[:, 0, -1].mean()) < 0.15
    sev = late["nerve_severity"].values[:, 0]
    assert np.all(sev[:, -1] <= sev[:, 0] + 1e-9)  # treatment never leaves a patient worse than at its start


def test_simulate_reports_severity_outputs_that_add_up():
    """The severity probabilities are probabilities (0-1, at most 1 together), the permanent parts nested."""
    ds = b12sim.simulate(dict(b12="95 pg/mL", mma=3.6, age=70, pernicious_anaemia=True, neuro_days=120),
                         "no_treatment", horizon_days=YEAR, draws=20, seed=2)
    levels = ds["nerve_mild"] + ds["nerve_moderate"] + ds["nerve_severe"]
    # symptomatic: involved; the exponential steps keep the total within 1e-4 of 1 (4 substeps a day)
    assert float(levels.min()) > 1 - 1e-4 and float(levels.max()) < 1 + 1e-4
    assert bool((ds["p_residual_severe"] <= ds["p_permanent"] + 1e-12).all())
    assert bool((ds["p_permanent"].diff("day") >= -1e-12).all())  # untreated, nothing permanent goes away
    summ = b12sim.summarise(ds)
    assert 0 <= summ["p_residual_severe"] <= summ["p_permanent_damage"] <= 1


@pytest.mark.parametrize("value", [-1, "long", 10 ** 6])
def test_bad_symptom_duration_names_the_field(value):
    with pytest.raises(InputError, match="neuro_days"):
        b12sim.simulate(dict(b12=150, age=70, neuro_days=value), "no_treatment", horizon_days=10, draws=4)
