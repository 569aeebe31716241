"""Regimens: presets match their published schedules, files round-trip, adherence
sampling is right and reproducible, and bad input is refused naming the field."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from b12sim.errors import InputError
from b12sim.regimens import (
    CHANNELS, FLAGS, Adherence, Phase, Regimen, load_regimen, preset_table, presets,
)

KUZMINSKI_TRIAL_DAYS = [1, 3, 7, 10, 14, 21, 30, 60, 90]  # published; trial day 1 = day 0

# preset -> (channel, dose per dose day, expected dose days, horizon in days)
PUBLISHED = {
    "uk_im_hydroxo_no_neuro": ("im_hydroxo_ug", 1000, [0, 2, 4, 7, 9, 11, 101, 191, 281], 365),
    "uk_im_hydroxo_neuro": ("im_hydroxo_ug", 1000, [*range(0, 42, 2), 100, 160, 220, 280, 340], 365),
    "oral_1mg_daily": ("oral_ug", 1000, range(400), 400),
    "oral_2mg_daily": ("oral_ug", 2000, range(400), 400),
    "ileal_resection_im_monthly": ("im_hydroxo_ug", 1000, range(0, 400, 30), 400),
    "bariatric_im_3monthly": ("im_hydroxo_ug", 1000, [0, 90, 180, 270, 360], 400),
    "bariatric_oral_1mg_daily": ("oral_ug", 1000, range(400), 400),
    "kuzminski_im": ("im_cyano_ug", 1000, [d - 1 for d in KUZMINSKI_TRIAL_DAYS], 120),
    "kuzminski_oral": ("oral_ug", 2000, range(120), 200),
    "deshmukh_oral_2ug": ("oral_ug", 2, range(365), 400),
    "deshmukh_oral_10ug": ("oral_ug", 10, range(365), 400),
    "bolaman_oral": ("oral_ug", 1000, [*range(10), 10, 17, 24, 31, 38, 68], 120),
    "bolaman_im": ("im_cyano_ug", 1000, [*range(10), 10, 17, 24, 31, 38, 68], 120),
    "castelli_oral": ("oral_ug", 1000, range(90), 120),
    "castelli_im": ("im_cyano_ug", 1000, [d - 1 for d in KUZMINSKI_TRIAL_DAYS], 120),
    # OB12: week w starts on day 7(w-1); 52 weeks = 364 days
    "ob12_im": ("im_cyano_ug", 1000, [*range(0, 14, 2), *range(14, 56, 7), *range(56, 364, 30)], 400),
    "ob12_oral": ("oral_ug", 1000, [*range(56), *range(56, 364, 7)], 400),
    "metaxas_oral": ("oral_ug", 1000, range(28), 60),
    "metaxas_im": ("im_hydroxo_ug", 1000, [0, 7, 14, 21], 60),
    "fda_label_cyano": ("im_cyano_ug", 100,
                        [*range(7), *range(7, 21, 2), *range(21, 42, 3), *range(42, 400, 30)], 400),
    # daily x 7 (days 0-6), weekly x 4 (days 7-28), then every 30 days from day 58
    "us_im_cyano_monthly": ("im_cyano_ug", 1000, [*range(7), 7, 14, 21, 28, *range(58, 400, 30)], 400),
    "folic_acid_alone": ("folic_acid_mg", 5, range(400), 400),
    "no_treatment": ("oral_ug", 0, [], 400),
}


def dose_days(arr):
    return np.flatnonzero(arr).tolist()


# presets with two channels: channel -> (dose, days) over the horizon
MIXED = {
    "im_loading_then_oral_1mg": ({"im_hydroxo_ug": (1000, [0, 2, 4, 7, 9, 11]), "oral_ug": (1000, range(14, 120))}, 120),
}


def test_published_table_covers_every_preset():
    assert sorted({*PUBLISHED, *MIXED}) == sorted(presets())


@pytest.mark.parametrize("name", sorted(MIXED))
def test_mixed_preset_schedule(name):
    channels, horizon = MIXED[name]
    s = load_regimen(name).schedule(horizon)
    for ch, (dose, days) in channels.items():
        assert dose_days(s[ch]) == list(days) and set(s[ch][list(days)]) <= {dose}
    for other in set(CHANNELS) - set(channels):
        assert not s[other].any(), other


@pytest.mark.parametrize("name", presets())
def test_preset_loads_with_provenance(name):
    r = load_regimen(name)
    assert r.name == name and r.flag in FLAGS and r.source and r.description
    if r.flag == "U":
        assert r.note, "an assumption (flag U) must be explained in the note"
    text = r.describe()
    assert text.startswith(name) and "\n" not in text and r.source in text


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_preset_schedule_matches_published(name):
    channel, dose, days, horizon = PUBLISHED[name]
    s = load_regimen(name).schedule(horizon)
    assert set(s) == set(CHANNELS)
    assert all(a.shape == (horizon,) for a in s.values())
    assert dose_days(s[channel]) == list(days)
    assert set(s[channel][list(days)]) <= {dose}
    for other in set(CHANNELS) - {channel}:
        assert not s[other].any(), other


def test_kuzminski_trial_day_one_is_day_zero():
    s = load_regimen("kuzminski_im").schedule(120)["im_cyano_ug"]
    assert s[0] == 1000 and s[1] == 0 and s[2] == 1000  # trial days 1 and 3
    assert s[89] == 1000 and s[90] == 0  # trial day 90 is the last injection


@pytest.mark.parametrize(("name", "channel", "horizon", "total"), [
    ("kuzminski_im", "im_cyano_ug", 120, 9 * 1000),
    ("kuzminski_oral", "oral_ug", 365, 120 * 2000),
    ("uk_im_hydroxo_no_neuro", "im_hydroxo_ug", 365, (6 + 3) * 1000),  # loading + days 101, 191, 281
    ("uk_im_hydroxo_neuro", "im_hydroxo_ug", 365, (21 + 5) * 1000),
    ("ob12_im", "im_cyano_ug", 364, (7 + 6 + 11) * 1000),
    ("fda_label_cyano", "im_cyano_ug", 365, (7 + 7 + 7 + 11) * 100),
    ("folic_acid_alone", "folic_acid_mg", 365, 365 * 5),
])
def test_total_dose_equals_hand_count(name, channel, horizon, total):
    assert load_regimen(name).schedule(horizon)[channel].sum() == total


def test_schedule_truncates_at_horizon():
    s = load_regimen("kuzminski_im").schedule(10)["im_cyano_ug"]
    assert dose_days(s) == [0, 2, 6, 9]


@pytest.mark.parametrize("name", presets())
def test_preset_round_trips_through_dict_toml_and_json(name, tmp_path):
    r = load_regimen(name)
    assert Regimen.from_dict(r.to_dict()) == r
    (tmp_path / "a.toml").write_text(r.to_toml(), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps(r.to_dict()), encoding="utf-8")
    assert load_regimen(tmp_path / "a.toml") == r
    assert load_regimen(str(tmp_path / "b.json")) == r


def test_hand_written_toml_and_json_agree(tmp_path):
    (tmp_path / "mine.toml").write_text(
        'description = "loading then monthly"\n'
        "adherence = { p_take = 0.8 }\n"
        "[[phases]]\n"
        'dose_ug = 1000\nroute = "IM"\nform = "hydroxocobalamin"\nevery_days = 2\ntimes = 5\n'
        "[[phases]]\n"
        'dose_ug = 1000\nroute = "im"\nform = "hydroxocobalamin"\nevery_days = 30\nstart_day = 38\n',
        encoding="utf-8")
    (tmp_path / "mine.json").write_text(json.dumps({
        "description": "loading then monthly", "adherence": {"p_take": 0.8},
        "phases": [
            {"dose_ug": 1000.0, "route": "im", "form": "hydroxocobalamin", "every_days": 2, "times": 5},
            {"dose_ug": 1000, "route": "im", "form": "hydroxocobalamin", "every_days": 30,
             "start_day": 38.0},
        ]}), encoding="utf-8")
    a, b = load_regimen(tmp_path / "mine.toml"), load_regimen(tmp_path / "mine.json")
    assert a == b and a.name == "mine" and a.adherence == Adherence(0.8, 0.0)
    assert dose_days(a.schedule(100)["im_hydroxo_ug"]) == [0, 2, 4, 6, 8, 38, 68, 98]


def test_python_construction_equals_file_form():
    r = Regimen("x", phases=(Phase(route="oral", form="folic_acid", dose_mg=5, every_days=1),))
    assert Regimen.from_dict({"name": "x", "flag": "U", "phases": [
        {"route": "oral", "form": "folic_acid", "dose_mg": 5, "every_days": 1}]}) == r


def test_p_take_fraction_within_binomial_band():
    r = load_regimen("oral_1mg_daily").with_adherence(p_take=0.7)
    s = r.sample(200, 1000, seed=11)["oral_ug"]
    assert set(np.unique(s)) == {0.0, 1000.0}
    n = s.size
    frac = (s > 0).sum() / n
    assert abs(frac - 0.7) < 4 * math.sqrt(0.7 * 0.3 / n)


def test_p_take_applies_to_injections_only_on_dose_days():
    r = load_regimen("kuzminski_im").with_adherence(p_take=0.5)
    s = r.sample(120, 2000, seed=3)["im_cyano_ug"]
    assert set(np.flatnonzero(s.any(axis=0))) <= set(dose_days(r.schedule(120)["im_cyano_ug"]))
    frac = (s > 0).sum() / (2000 * 9)
    assert abs(frac - 0.5) < 4 * math.sqrt(0.25 / (2000 * 9))


def test_stopping_is_for_good_with_exponential_time():
    r = load_regimen("oral_1mg_daily").with_adherence(p_stop_per_year=1.0)
    s = r.sample(730, 3000, seed=5)["oral_ug"] > 0
    n_taken = s.sum(axis=1)
    # p_take = 1, so each person takes every day up to stopping and nothing after
    assert all(row[:k].all() and not row[k:].any() for row, k in zip(s, n_taken))
    on_at_year = s[:, 365].mean()
    expected = math.exp(-365 / 365.25)
    assert abs(on_at_year - expected) < 4 * math.sqrt(expected * (1 - expected) / 3000)


def test_full_adherence_sample_equals_schedule():
    r = load_regimen("ob12_im")
    s, sched = r.sample(400, 4, seed=0), r.schedule(400)
    for c in CHANNELS:
        assert np.array_equal(s[c], np.broadcast_to(sched[c], (4, 400)))


def test_sample_deterministic_and_independent_of_n_people_and_horizon():
    r = load_regimen("uk_im_hydroxo_neuro").with_adherence(p_take=0.6, p_stop_per_year=0.5)
    a = r.sample(400, 50, seed=42)
    b = r.sample(400, 50, seed=42)
    few = r.sample(400, 7, seed=42)
    short = r.sample(150, 50, seed=42)
    other = r.sample(400, 50, seed=43)
    ss = r.sample(400, 7, seed=np.random.SeedSequence(42))
    for c in CHANNELS:
        assert np.array_equal(a[c], b[c])
        assert np.array_equal(a[c][:7], few[c])
        assert np.array_equal(a[c][:, :150], short[c])
        assert np.array_equal(ss[c], few[c])
    assert not np.array_equal(a["im_hydroxo_ug"], other["im_hydroxo_ug"])


def test_no_treatment_samples_zeros():
    s = load_regimen("no_treatment").with_adherence(p_take=0.5).sample(30, 3, seed=1)
    assert all(a.shape == (3, 30) and not a.any() for a in s.values())


def test_preset_table():
    t = preset_table()
    assert list(t.columns) == ["name", "route", "form", "summary", "source", "flag"]
    assert t["name"].tolist() == list(presets())
    row = t.set_index("name").loc["kuzminski_im"]
    assert (row["route"], row["form"]) == ("im", "cyanocobalamin")
    assert "days 0, 2, 6, 9" in row["summary"]
    assert t.set_index("name").loc["no_treatment", "summary"] == "no doses"


def test_import_is_light():
    code = ("import sys, b12sim.regimens as r; r.load_regimen('kuzminski_im').sample(10, 2, 0); "
            "assert not {'pymc', 'pandas'} & set(sys.modules), sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- bad input

def good():
    return {"name": "t", "phases": [
        {"dose_ug": 1000, "route": "im", "form": "hydroxocobalamin", "every_days": 2, "for_days": 14},
        {"dose_ug": 1000, "route": "im", "form": "hydroxocobalamin", "every_days": 30},
    ]}


def edit(path, value):
    """``good()`` with the key at ``path`` set (value None: deleted)."""
    d = good()
    *head, last = path
    target = d
    for k in head:
        target = target[k]
    if value is None:
        del target[last]
    else:
        target[last] = value
    return d


@pytest.mark.parametrize(("path", "value", "field"), [
    (("dose",), 1, "dose"),
    (("phases", 0, "dose"), 1000, "phases[0].dose"),
    (("adherence",), {"p_takes": 0.5}, "adherence.p_takes"),
    (("phases", 0, "dose_ug"), 0, "phases[0].dose_ug"),
    (("phases", 1, "dose_ug"), -5, "phases[1].dose_ug"),
    (("phases", 0, "dose_ug"), None, "phases[0].dose_ug"),
    (("phases", 0, "dose_mg"), 1, "phases[0].dose_mg"),
    (("phases", 0, "route"), "iv", "phases[0].route"),
    (("phases", 0, "form"), "methylcobalamin", "phases[0].form"),
    (("phases", 1), {"dose_mg": 5, "route": "im", "form": "folic_acid", "every_days": 1},
     "phases[1].route"),
    (("phases", 1), {"dose_ug": 400, "route": "oral", "form": "folic_acid", "every_days": 1},
     "phases[1].dose_ug"),
    (("phases", 1, "every_days"), 0, "phases[1].every_days"),
    (("phases", 1, "every_days"), 2.5, "phases[1].every_days"),
    (("phases", 0, "days"), [0, 2], "phases[0].every_days"),
    (("phases", 0, "every_days"), None, "phases[0].every_days"),
    (("phases", 0, "times"), 7, "phases[0].times"),
    (("phases", 0), {"dose_ug": 1000, "route": "im", "form": "cyanocobalamin", "days": [0, 4, 2]},
     "phases[0].days"),
    (("phases", 0), {"dose_ug": 1000, "route": "im", "form": "cyanocobalamin", "days": [0, 1.5]},
     "phases[0].days[1]"),
    (("phases", 0), {"dose_ug": 1000, "route": "im", "form": "cyanocobalamin", "days": [0, 9],
                     "for_days": 7}, "phases[0].for_days"),
    (("phases", 0), {"dose_ug": 1000, "route": "im", "form": "cyanocobalamin", "days": [0, 9],
                     "times": 2}, "phases[0].times"),
    (("phases", 1, "until_day"), 10, "phases[1].until_day"),
    (("phases", 1, "start_day"), 5, "phases[1].start_day"),
    (("phases", 0, "for_days"), None, "phases[0]"),
    (("adherence",), {"p_take": 1.5}, "adherence.p_take"),
    (("adherence",), {"p_take": -0.1}, "adherence.p_take"),
    (("adherence",), {"p_stop_per_year": -1}, "adherence.p_stop_per_year"),
    (("flag",), "X", "flag"),
    (("phases",), None, "phases"),
    (("name",), None, "name"),
])
def test_bad_regimen_refused_naming_field(path, value, field):
    with pytest.raises(InputError) as e:
        Regimen.from_dict(edit(path, value))
    assert e.value.field == field
    assert str(e.value).startswith(field + ": got") and "allowed:" in str(e.value)


def test_unknown_key_suggests_spelling():
    with pytest.raises(InputError, match="did you mean 'every_days'"):
        Regimen.from_dict(edit(("phases", 1, "every_day"), 30))


def test_bad_adherence_and_sampling_arguments():
    r = load_regimen("oral_1mg_daily")
    for call, field in [
        (lambda: r.with_adherence(p_take=2), "adherence.p_take"),
        (lambda: r.schedule(0), "horizon_days"),
        (lambda: r.sample(10, 0, seed=1), "n_people"),
        (lambda: r.sample(10, 2, seed=-1), "seed"),
        (lambda: r.sample(10, 2, seed="abc"), "seed"),
    ]:
        with pytest.raises(InputError) as e:
            call()
        assert e.value.field == field


@pytest.mark.parametrize("suffix, text, kind", [
    (".toml", 'name = "x"\nphases = [\n  { dose_ug = , route = "im" },\n]\n', "valid TOML"),
    (".json", '{\n  "name": "x",\n  "phases": [,]\n}\n', "valid JSON"),
])
def test_malformed_file_names_file_and_line(tmp_path, suffix, text, kind):
    p = tmp_path / f"bad{suffix}"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_regimen(p)
    assert e.value.field == f"{p}, line 3" and kind in str(e.value)


def test_error_inside_file_names_file_and_field(tmp_path):
    p = tmp_path / "r.json"
    p.write_text(json.dumps(edit(("phases", 1, "every_days"), 0)), encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_regimen(p)
    assert e.value.field == f"{p}: phases[1].every_days"


def test_file_that_is_not_one_regimen(tmp_path):
    p = tmp_path / "list.json"
    p.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InputError, match="regimen"):
        load_regimen(p)


def test_unknown_preset_lists_presets():
    with pytest.raises(InputError) as e:
        load_regimen("kuzminsky_im")
    msg = str(e.value)
    assert e.value.field == "regimen" and "did you mean 'kuzminski_im'" in msg
    assert all(name in msg for name in presets())


@pytest.mark.parametrize("bad", ["missing.toml", "regimen.yaml", 42])
def test_missing_or_wrong_kind_of_file(bad, tmp_path):
    arg = tmp_path / bad if bad == "regimen.yaml" else bad
    with pytest.raises(InputError):
        load_regimen(arg)
