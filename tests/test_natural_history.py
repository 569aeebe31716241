"""Natural history: people eat; stores hold unless something takes them away, at the published speed.

Hold-out checks (Adachi 2000) use trials the calibration did not see; the calibrated speed
(Hu 2013) is checked against its observation interval.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta

import b12sim
from b12sim import evidence
from b12sim.errors import InputError
from b12sim.physiology import markers as mk
from b12sim.policy.population import synthetic_cohort
from b12sim.posterior import medians
from b12sim.regimens import Phase, Regimen
from b12sim.simulation import parameters
from b12sim.simulation import people as ppl

ev = evidence.value
REPLETE = dict(age=50, b12=350, stores_ug=2500)
YEAR = 365


def _median_markers():
    return medians("markers", mk.PARAMS)


def _stores(person, regimen="no_treatment", days=5 * YEAR, draws=100, seed=1):
    ds = b12sim.simulate(person, regimen, horizon_days=days, draws=draws, seed=seed, outputs=("stores_ug", "b12"))
    return ds["stores_ug"].values, ds["b12"].values


def test_replete_omnivore_with_intrinsic_factor_keeps_stores_for_five_years():
    """In every draw, given stores or stores inferred from normal labs; one person on the numpy engine,
    25 copies (5,000 cells) on the numba kernel."""
    for person in (REPLETE, dict(age=50, b12=350, mma=0.15)):
        for copies in (1, 25):
            ds = b12sim.simulate(pd.DataFrame([person] * copies), "no_treatment", horizon_days=5 * YEAR, draws=200,
                                 seed=3, outputs=("stores_ug",))
            s = ds["stores_ug"].values
            assert np.all(np.abs(s / s[..., :1] - 1) < 0.10), (person, copies)
            assert np.all(np.abs(s[..., -1] / s[..., 0] - 1) < 1e-6)  # the steady state is exact, not a slow drift


def test_without_intrinsic_factor_stores_fall_at_the_published_speed():
    """Total gastrectomy: median time to serum B12 < 148 pmol/L inside the interval of Hu 2013's 15 months
    (calibrated); the share low by years 1-3 inside the 95% Clopper-Pearson intervals of Adachi 2000
    (2, 6, 9 of 10 patients; hold-out). People aged 45-75 start at stores drawn from the marker model's
    replete component; measured serum B12 carries its total noise."""
    med = _median_markers()
    rng = np.random.default_rng(1)
    n = 80
    age = rng.uniform(45, 75, n)
    s_med = ev("body_store_median_ug")
    x = np.log(s_med) + med["gamma_age"] * (age - 50) / 10 + med["sigma_x"] * rng.standard_normal(n)
    people = pd.DataFrame({"age": age, "stores_ug": np.exp(x), "b12": np.exp(med["b0"] + x) / s_med,
                           "intrinsic_factor": "absent"})
    b = b12sim.simulate(people, "no_treatment", horizon_days=3 * YEAR, draws=20, seed=2, outputs=("b12",))["b12"].values
    sd = mk.log_sds(med, mk.Constants.load(), 0.0, 0.0)["b12"]  # serum B12's is the same at all ages
    low = b * np.exp(sd * rng.standard_normal(b.shape[:2]))[..., None] < ev("gastrectomy_low_b12_cut")
    first = np.where(low.any(-1), low.argmax(-1), 10**6)
    hu, span = ev("hu_gastrectomy_median_days"), 1.96 * ev("hu_gastrectomy_log_sd")
    assert hu * np.exp(-span) < np.median(first) < hu * np.exp(span)
    for year in (1, 2, 3):
        k = round(10 * ev(f"adachi_gastrectomy_low_share_{year}y"))
        lo, hi = beta.ppf(0.025, k, 11 - k), beta.ppf(0.975, k + 1, 10 - k)
        assert lo <= (first <= year * YEAR).mean() <= hi, year


def test_a_vegan_without_supplements_depletes_more_slowly_than_pernicious_anaemia():
    vegan, _ = _stores(REPLETE | {"diet": "vegan"})
    pa, _ = _stores(REPLETE | {"pernicious_anaemia": True})
    assert np.all(vegan[:, 0, 2 * YEAR] > pa[:, 0, 2 * YEAR])
    assert np.mean(vegan[:, 0, 2 * YEAR] < 0.95 * vegan[:, 0, 0]) > 0.95  # it still has a cause: less B12 eaten
    # and settles at the steady state of the vegan diet instead of falling to nothing
    late = vegan[:, 0, -1] / vegan[:, 0, 4 * YEAR]
    assert np.median(late) > 0.85


def test_crystalline_b12_works_in_food_cobalamin_malabsorption_but_hardly_without_intrinsic_factor():
    """10 ug a day for six months: tablets need no release from food, only intrinsic factor."""
    low_dose = Regimen("oral_10ug", phases=(Phase("oral", "cyanocobalamin", 10, every_days=1),))
    start = dict(age=75, b12=150, stores_ug=900, ppi=True)
    gain = {}
    for cause, extra in (("ppi", {"intrinsic_factor": "present"}), ("no IF", {"intrinsic_factor": "absent"})):
        treated, _ = _stores(start | extra, low_dose, days=180)
        untreated, _ = _stores(start | extra, days=180)
        gain[cause] = treated[:, 0, -1] - untreated[:, 0, -1]
    assert np.all(gain["ppi"] > 150)  # ug gained over 6 months
    assert np.all(gain["no IF"] < 0.2 * gain["ppi"])


def test_food_cobalamin_malabsorption_lowers_the_level_of_a_given_diet():
    """The same omnivore intake freeing 30% of food B12 settles lower than freeing all of it; tablets still work."""
    diet = REPLETE | {"intake_ug_per_day": 3.8}
    freed, _ = _stores(diet, draws=50)
    poor, _ = _stores(diet | {"food_release": 0.3}, draws=50)
    assert np.all(poor[:, 0, -1] < 0.8 * freed[:, 0, -1])


def test_intake_sets_the_level_the_stores_move_to():
    more, _ = _stores(REPLETE | {"intake_ug_per_day": 15}, draws=50)
    less, _ = _stores(REPLETE | {"intake_ug_per_day": 1}, draws=50)
    assert np.all(more[:, 0, -1] > more[:, 0, 0]) and np.all(less[:, 0, -1] < less[:, 0, 0])
    # a vegan diet is the diagnosis model's vegan risk factor too
    assert ppl.parse(dict(age=50, b12=350, diet="vegan"))["vegan"] == 1
    assert ppl.parse(dict(age=50, b12=350, diet="vegan", vegan=False))["vegan"] == 0


def test_steady_states_of_the_diet_agree_with_the_marker_population():
    """One population: the steady store of the median omnivore intake brackets the marker model's median
    store, the spread of usual intake gives about the marker model's between-person SD, and the vegan diet's
    steady state gives the EPIC-Oxford serum ratio (Gilsing 2010) and lies inside the marker model's vegan shift."""
    p = parameters.draw(1000, 5)

    def steady(intake):
        return ppl.steady_stores(intake, p)

    median = steady(ev("intake_omnivore_median_ug"))
    lo, hi = np.quantile(median, [0.025, 0.975])
    assert lo < ev("body_store_median_ug") < hi
    z = np.random.default_rng(0).standard_normal(1000)
    spread = np.std(np.log(steady(ev("intake_omnivore_median_ug") * np.exp(ev("intake_log_sd") * z))))
    assert 0.5 * np.median(p["sigma_x"]) < spread < np.quantile(p["sigma_x"], 0.975)
    vegan = np.median(steady(ev("intake_omnivore_median_ug") * ev("intake_vegan_ratio")) / median)
    row = {k: evidence.row(f"gilsing_b12_{k}_men") for k in ("vegan", "omnivore")}
    ratio = float(row["vegan"]["value"]) / float(row["omnivore"]["value"])
    se = ratio * np.hypot(*(float(r["uncertainty"]) / float(r["value"]) for r in row.values()))
    assert abs(vegan - ratio) < 1.96 * se
    assert np.quantile(p["delta_vegan"], 0.025) < np.log(vegan) < np.quantile(p["delta_vegan"], 0.975)


def test_untreated_people_who_are_not_deficient_stay_so_unless_they_lack_intrinsic_factor():
    """The policy cohort's untreated course: the replete with intrinsic factor stay replete; those without deplete."""
    coh = synthetic_cohort(200, seed=1)
    people = coh.drop(columns=["person", "cause", "oral_adherence", "im_attendance", "deficient"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = b12sim.simulate(people, "no_treatment", horizon_days=YEAR, draws=20, seed=1,
                            outputs=("stores_ug",))["stores_ug"].values
    x_k = parameters.draw(20, np.random.SeedSequence(1).spawn(2)[0])["x_k"][:, None]
    ok = (~coh["deficient"] & (coh["intrinsic_factor"] == "present")).to_numpy()
    lost = (coh["intrinsic_factor"] == "absent").to_numpy()
    assert ok.sum() > 20 and lost.sum() > 20
    np.testing.assert_allclose(s[:, ok, -1], s[:, ok, 0], rtol=1e-6)  # was: 94% deficient within a year
    assert np.mean(np.log(s[:, ok, -1]) < x_k) == np.mean(np.log(s[:, ok, 0]) < x_k)
    assert np.all(s[:, lost, -1] < 0.8 * s[:, lost, 0])


@pytest.mark.parametrize("field,value,allowed", [
    ("diet", "carnivore", "omnivore, vegetarian, vegan, low_intake"),
    ("intake_ug_per_day", -2, "0 to 1,000 ug/day"),
    ("intake_ug_per_day", "lots", "0 to 1,000 ug/day"),
    ("intrinsic_factor", "maybe", "present or absent"),
    ("food_release", 1.5, "0 to 1"),
])
def test_bad_diet_input_names_the_field_and_the_range(field, value, allowed):
    with pytest.raises(InputError, match=field) as e:
        b12sim.simulate(REPLETE | {field: value}, "no_treatment", horizon_days=10, draws=5)
    assert allowed in str(e.value)


def test_mild_biochemical_deficiency_is_not_a_neurological_emergency():
    """Nerve exposure needs depth: one exposure-day per day at a typical clinical deficit whatever the depth
    power, far less at a mild deficit, more at a deep one; a year of untreated moderate deficiency in an
    older person adds little permanent-deficit risk over daily oral B12 (the OPEN trial saw no neurological
    benefit of treatment over 12 months, Dangour 2015)."""
    from b12sim.physiology import neurology as neuro

    p = parameters.draw(200, 7)
    d_k, per = neuro.exposure_anchors(p["x_k"], p["n_hinge"], p["mu_d"])
    typical, mild, deep = d_k + 1 / per, d_k + 0.15 / per, d_k + 2 / per
    np.testing.assert_allclose(neuro.exposure_rate(typical, d_k, per, p["neuro_depth_power"]), 1.0, rtol=1e-12)
    assert np.all(neuro.exposure_rate(mild, d_k, per, p["neuro_depth_power"]) < 0.15)  # below a linear dose
    assert np.all(neuro.exposure_rate(deep, d_k, per, p["neuro_depth_power"]) > 2.0)
    assert np.all(neuro.exposure_rate(d_k - 0.1, d_k, per, p["neuro_depth_power"]) == 0.0)
    person = dict(age=78, b12=150)
    risk = {}
    for regimen in ("no_treatment", "oral_1mg_daily"):
        ds = b12sim.simulate(person, regimen, horizon_days=YEAR, draws=200, seed=4, outputs=("p_permanent",))
        risk[regimen] = ds["p_permanent"].values[:, 0, -1]
    assert np.mean(risk["no_treatment"] - risk["oral_1mg_daily"]) < 0.01
