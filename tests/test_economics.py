"""Economics: Ontario unit costs from the evidence table, regimen costs against hand
computations, utilities, discounting, and bad input refused naming the field."""

import math

import numpy as np
import pytest
import xarray as xr

from b12sim import evidence
from b12sim.errors import InputError
from b12sim import economics as ec

# Ontario unit costs, CAD 2013 (Masucci & Goeree 2013, Table 1)
VISIT, FEE_VISIT, FEE_SOLE, DRUG = 33.70, 3.89, 6.75, 6.74
CBC, B12, DRAW = 8.27, 14.48, 7.76


def test_ontario_setting_is_the_evidence_table():
    uc = ec.unit_costs("ontario")
    assert (uc.currency, uc.price_year, uc.setting) == ("CAD", 2013, "ontario")
    assert set(uc.costs) == set(ec.COST_ITEMS)
    expected = {"physician_visit": VISIT, "injection_fee_with_visit": FEE_VISIT,
                "injection_fee_sole_reason": FEE_SOLE, "im_drug_per_injection": DRUG,
                "test_cbc": CBC, "test_b12": B12, "blood_collection": DRAW,
                "test_mma": 105.0, "test_hcy": 65.0}
    for item, v in expected.items():
        assert uc.cost(item) == pytest.approx(v, abs=1e-12), item
    # oral tablet = the over-the-counter annual price spread over the days of a year
    assert uc.cost("oral_tablet") == pytest.approx(evidence.value("oral_b12_annual_cost_otc") / 365.25, rel=0.01)
    # the setting says which items are priced in another year
    assert "2019" in uc.note and "2002" in uc.note


def test_im_cyanocobalamin_monthly_matches_hand_computation():
    """IM 1 mg every month, given at a physician visit, 12 injections a year:

    per injection: visit 33.70 + injection fee with visit 3.89 + drug 6.74 = 44.33
    per year:      12 x 44.33 = 531.96 CAD (2013)
    (Silverstein et al. 2019, as reported: $44.33 per monthly shot, about $530 a year)
    """
    cost = ec.annual_regimen_cost(injections=12)
    assert cost["physician_visits"] == pytest.approx(12 * VISIT)
    assert cost["injection_fees"] == pytest.approx(12 * FEE_VISIT)
    assert cost["im_drug"] == pytest.approx(12 * DRUG)
    assert cost["total"] == pytest.approx(531.96, abs=1e-9)
    assert cost["total"] / 12 == pytest.approx(evidence.value("cost_im_injection_with_visit_total"), abs=1e-9)
    assert cost.attrs["currency"] == "CAD" and cost.attrs["price_year"] == 2013
    # the measured 1995-96 average (van Walraven 2001) was lower: fewer injections, older fees
    assert evidence.value("im_annual_cost_van_walraven") < cost["total"]


def test_im_hydroxocobalamin_every_3_months_matches_hand_computation():
    """IM hydroxocobalamin 1 mg every 3 months, 4 injections a year (drug priced as the
    Ontario cyanocobalamin injection, an assumption stated in the setting's note):

    at a visit:        4 x (33.70 + 3.89 + 6.74) = 4 x 44.33 = 177.32
    + yearly B12 test, CBC and one blood sample: 14.48 + 8.27 + 7.76 = 30.51 -> 207.83
    as sole reason:    4 x (6.75 + 6.74) = 4 x 13.49 = 53.96 (no visit fee)
    """
    at_visit = ec.annual_regimen_cost(injections=4)
    assert at_visit["total"] == pytest.approx(177.32, abs=1e-9)
    monitored = ec.annual_regimen_cost(injections=4, tests={"b12": 1, "cbc": 1})
    assert monitored["tests"] == pytest.approx(B12 + CBC)
    assert monitored["blood_collection"] == pytest.approx(DRAW)  # one sample for both tests
    assert monitored["total"] == pytest.approx(207.83, abs=1e-9)
    sole = ec.annual_regimen_cost(injections=4, injection_at="sole_reason")
    assert sole["physician_visits"] == 0
    assert sole["total"] == pytest.approx(53.96, abs=1e-9)


def test_oral_and_nurse_time_costs():
    """Oral 1 mg daily: 365.25 x 0.082 = 29.95; with one switching visit: + 33.70.
    Injections costed by nurse time: 12 x 12.5 min / 60 x 27.23 CAD/h = 68.075."""
    oral = ec.annual_regimen_cost(oral_tablets=365.25, physician_visits=1)
    assert oral["oral_drug"] == pytest.approx(365.25 * 0.082)
    assert oral["total"] == pytest.approx(365.25 * 0.082 + VISIT)
    nurse = ec.annual_regimen_cost(injections=12, injection_at="sole_reason",
                                   nurse_minutes_per_injection=evidence.value("nurse_minutes_per_injection"))
    assert nurse["nurse_time"] == pytest.approx(12 * 12.5 / 60 * 27.23)
    assert ec.annual_regimen_cost()["total"] == 0


def test_user_settings_mapping_overrides_and_csv(tmp_path):
    uk = ec.unit_costs({"physician_visit": 40, "injection_fee_sole_reason": 10, "im_drug_per_injection": 2.5},
                       currency="GBP", price_year=2024)
    assert (uk.currency, uk.price_year) == ("GBP", 2024)
    assert ec.annual_regimen_cost(injections=4, injection_at="sole_reason", costs=uk)["total"] == pytest.approx(50)
    # a partial setting costs what it has and names what it lacks
    with pytest.raises(InputError) as e:
        ec.annual_regimen_cost(oral_tablets=365, costs=uk)
    assert e.value.field == "costs.oral_tablet"
    cheaper = ec.unit_costs("ontario", overrides={"oral_tablet": 0.05})
    assert cheaper.cost("oral_tablet") == 0.05 and cheaper.cost("physician_visit") == VISIT
    path = tmp_path / "costs.csv"
    path.write_text("item,cost\nphysician_visit,50\noral_tablet,0.1\n")
    own = ec.unit_costs(path, currency="EUR", price_year=2023)
    assert own.cost("physician_visit") == 50 and own.cost("oral_tablet") == 0.1


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, "12", True])
def test_bad_costs_are_refused_naming_the_item(bad):
    with pytest.raises(InputError) as e:
        ec.unit_costs("ontario", overrides={"physician_visit": bad})
    assert e.value.field == "costs.physician_visit"
    assert ">= 0" in e.value.allowed


def test_bad_settings_are_refused():
    with pytest.raises(InputError) as e:
        ec.unit_costs("atlantis")
    assert e.value.field == "setting" and "ontario" in e.value.allowed
    with pytest.raises(InputError) as e:
        ec.unit_costs({"physician_visit": 10})  # a user setting needs its currency
    assert e.value.field == "currency"
    with pytest.raises(InputError) as e:
        ec.unit_costs("ontario", overrides={"physican_visit": 10})
    assert e.value.field == "costs.physican_visit" and "physician_visit" in e.value.hint
    with pytest.raises(InputError) as e:
        ec.unit_costs({"physician_visit": 10}, currency="GBP", price_year=1066)
    assert e.value.field == "price_year"


@pytest.mark.parametrize("kwargs, field", [
    ({"injections": -1}, "injections"),
    ({"oral_tablets": math.nan}, "oral_tablets"),
    ({"tests": {"b12": -2}}, "tests.b12"),
    ({"tests": {"ferritin": 1}}, "tests.ferritin"),
    ({"injection_at": "home"}, "injection_at"),
    ({"costs": {"physician_visit": 1}}, "costs"),
])
def test_bad_counts_are_refused(kwargs, field):
    with pytest.raises(InputError) as e:
        ec.annual_regimen_cost(**kwargs)
    assert e.value.field == field


def test_anaemia_utility_is_lloyds_line_clipped():
    u = ec.utilities()
    assert (u.anaemia_low, u.anaemia_high, u.hb_low_g_l, u.hb_high_g_l) == (0.583, 0.708, 75, 120)
    got = ec.anaemia_utility(np.array([50.0, 75.0, 97.5, 120.0, 160.0]))
    np.testing.assert_allclose(got, [0.583, 0.583, (0.583 + 0.708) / 2, 0.708, 0.708])
    hb = xr.DataArray([70.0, 100.0, 130.0], dims="day")
    out = ec.anaemia_utility(hb)
    assert isinstance(out, xr.DataArray) and out.dims == ("day",)
    assert np.all(np.diff(out.values) > 0)
    # a user's utilities replace the published ones
    assert ec.anaemia_utility(60, ec.utilities(anaemia_low=0.5)) == pytest.approx(0.5)


def test_neuropathy_and_permanent_deficit_utilities():
    assert ec.neuropathy_utility(0.0) == pytest.approx(0.81)
    assert ec.neuropathy_utility(1.0) == pytest.approx(0.25)
    assert ec.neuropathy_utility(0.5) == pytest.approx(0.53)
    assert ec.permanent_deficit_utility(0.8) == pytest.approx(0.8 - 0.22)
    assert ec.permanent_deficit_utility(0.8, paralysis=True) == pytest.approx(0.8 - 0.32)
    assert ec.permanent_deficit_utility(0.1, paralysis=True) == 0.0  # floored at 0


@pytest.mark.parametrize("call, field", [
    (lambda: ec.utilities(anaemia_low=1.2), "utilities.anaemia_low"),
    (lambda: ec.utilities(myelopathy=-0.1), "utilities.myelopathy"),
    (lambda: ec.utilities(hb_low_g_l=130), "utilities.hb_high_g_l"),
    (lambda: ec.utilities(anemia_low=0.5), "utilities.anemia_low"),
    (lambda: ec.anaemia_utility(-5), "hb"),
    (lambda: ec.anaemia_utility([100, math.nan]), "hb"),
    (lambda: ec.neuropathy_utility(1.5), "severity"),
    (lambda: ec.permanent_deficit_utility(1.1), "baseline"),
    (lambda: ec.permanent_deficit_utility(0.8, paralysis="yes"), "paralysis"),
])
def test_bad_utilities_are_refused(call, field):
    with pytest.raises(InputError) as e:
        call()
    assert e.value.field == field


def test_discount_factors():
    r = evidence.value("discount_rate")
    assert r == 0.015
    year = 365.25
    assert ec.discount_factor(year) == pytest.approx(1 / 1.015)
    assert ec.discount_factor(2 * year) == pytest.approx(1.015 ** -2)
    assert ec.discount_factor(year / 2) == pytest.approx(1.015 ** -0.5)
    np.testing.assert_allclose(ec.discount_factor([0, 364, 366, 800], method="annual"),
                               [1, 1, 1 / 1.015, 1.015 ** -2])
    days = np.arange(0, 3650, 30)
    df = ec.discount_factor(days, 0.05)
    assert df[0] == 1 and np.all(np.diff(df) < 0)
    np.testing.assert_array_equal(ec.discount_factor(days, 0.0), 1.0)


@pytest.mark.parametrize("kwargs, field", [
    ({"days": 10, "rate": -0.01}, "rate"),
    ({"days": 10, "rate": 0.5}, "rate"),
    ({"days": 10, "rate": math.nan}, "rate"),
    ({"days": -1}, "days"),
    ({"days": 10, "method": "monthly"}, "method"),
])
def test_bad_discounting_is_refused(kwargs, field):
    with pytest.raises(InputError) as e:
        ec.discount_factor(**kwargs)
    assert e.value.field == field


def test_doses_become_injections_and_whole_tablets():
    """One counting rule for decide and the microsimulation: an injection per IM dose of each form,
    whole 1 mg tablets per oral dose (0.5 mg takes one, 1.5 mg two), folic acid not costed; priced
    as annual_regimen_cost prices the same counts."""
    doses = {"oral_ug": np.array([0, 500, 1000, 1500, 2000.0]), "im_hydroxo_ug": np.array([1000.0, 0, 0, 0, 1000]),
             "im_cyano_ug": np.array([0, 0, 0, 0, 1000.0]), "folic_acid_mg": np.full(5, 5.0)}
    res = ec.resources(doses)
    np.testing.assert_array_equal(res["tablets"], [0, 1, 1, 2, 2])
    np.testing.assert_array_equal(res["injections"], [1, 0, 0, 0, 2])
    daily = ec.dose_cost(res["injections"], res["tablets"], ec.unit_costs())
    by_year = ec.annual_regimen_cost(injections=3, oral_tablets=6)["total"]
    assert daily.sum() == pytest.approx(by_year, rel=1e-12)
    # a setting without a tablet price still costs injections
    im_only = ec.unit_costs({"physician_visit": 40, "injection_fee_with_visit": 5, "im_drug_per_injection": 2},
                            currency="GBP", price_year=2024)
    np.testing.assert_allclose(ec.dose_cost(res["injections"], np.zeros(5), im_only), [47, 0, 0, 0, 94])


def test_day_utility_combines_the_published_proxies():
    """Each nerve severity has its cited utility (none 0.81; mild x0.96; moderate and severe less Matza's
    0.22 and 0.32, the severe value matching spinal cord injury's EQ-5D-5L 0.49); a day's utility is the
    expected nerve utility times the anaemia utility relative to its top; per-draw anchors replace the
    published ones; the lifelong residual decrement weighs mild signs and moderate-severe disability."""
    u = ec.utilities()
    v = ec.nerve_utilities(u)
    assert v == pytest.approx({"none": 0.81, "mild": 0.81 * 0.96, "moderate": 0.59, "severe": 0.49})
    assert v["severe"] == pytest.approx(0.492, abs=0.01)  # utility_sci_eq5d5l, the cross-check
    hb = np.array([60.0, 100, 140, 100])
    mild, moderate, severe = np.array([0.0, 0.3, 0.1, 0.0]), np.array([0.0, 0.2, 0.0, 0.0]), np.array([0, 0, 0.5, 1])
    nerve = 0.81 - mild * (0.81 - v["mild"]) - moderate * 0.22 - severe * 0.32
    expected = nerve * ec.anaemia_utility(hb) / u.anaemia_high
    np.testing.assert_allclose(ec.day_utility(hb, mild, moderate, severe, u), expected, rtol=1e-14)
    assert ec.day_utility(140.0, 0.0, 0.0, 0.0, u) == pytest.approx(u.neuropathy_none)
    low = ec.day_utility(60.0, 0.0, 0.0, 0.0, u, anaemia_low=0.3, anaemia_high=0.6)
    assert low == pytest.approx(u.neuropathy_none * 0.5)
    assert ec.residual_decrement(0.5, 0.2, u) == pytest.approx(0.3 * (0.81 - v["mild"]) + 0.2 * 0.22)


def test_adherence_combines_the_regimen_with_the_persons_shares():
    """A dose day is received when its uniform is below p_take x the person's share for the route
    and the person has not stopped: p_take 0.5, oral share 0.8 (threshold 0.4), IM share 1
    (threshold 0.5), stopping after 2.5 days (hazard 1 per day)."""
    from b12sim.economics import adherence
    from b12sim.regimens import Phase, Regimen

    reg = Regimen("oral", phases=(Phase("oral", "cyanocobalamin", 1000, every_days=1),)).with_adherence(0.5, 365.25)
    im = Regimen("im", phases=(Phase("im", "cyanocobalamin", 1000, every_days=1),)).with_adherence(0.5)
    u = np.array([[0.1, 0.45, 0.3, 0.2, 0.1], [0.1, 0.45, 0.3, 0.6, 0.1]])
    u_stop = np.array([1 - np.exp(-2.5), 0.5])
    got = adherence.received([((reg, 0, 5),), ((im, 1, 5),)], u, u_stop, {"oral": np.array([0.8, 0.8]),
                                                                           "im": np.array([1.0, 1.0])}, 5)
    np.testing.assert_array_equal(got["oral_ug"][0], [1000, 0, 1000, 0, 0])  # 0.45 > 0.4; stopped from day 3
    np.testing.assert_array_equal(got["im_cyano_ug"][1], [0, 1000, 1000, 0, 1000])  # from day 1; 0.6 > 0.5
    assert got["oral_ug"][1].sum() == 0 and got["im_cyano_ug"][0].sum() == 0
    np.testing.assert_allclose(reg.adherence.expected([0, 1]), [0.5, 0.5 * np.exp(-1)])


def test_economics_imports_nothing_above_it():
    """The economics layer sits below decision and policy: none of its modules imports them, even lazily."""
    import ast
    from pathlib import Path

    for f in Path(ec.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
                     if isinstance(node, ast.ImportFrom) else [])
            assert not [n for n in names if n.startswith(("b12sim.policy", "b12sim.decision", "b12sim.cli"))], f
