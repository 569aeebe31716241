"""One name per idea across the API and the CLI (horizon_days, delay_days, costs); the old
names still work, with a DeprecationWarning (Python) or a warning line (CLI)."""

import json
import warnings

import numpy as np
import pytest
import xarray as xr

import b12sim
from b12sim.cli_options import parser as _parser
from b12sim.errors import InputError
from b12sim.simulation import delay_curve

PATIENT = dict(b12="95 pg/mL", mma=3.6, age=70, neuro_days=30)
SIM = dict(draws=4, seed=3)


def _quiet(fn, *args, **kwargs):
    """Call ``fn`` and fail on any DeprecationWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        return fn(*args, **kwargs)


def test_simulate_new_names_and_the_old_ones_warn_and_agree():
    new = _quiet(b12sim.simulate, PATIENT, "oral_1mg_daily", delay_days=5, horizon_days=20, **SIM)
    assert new.sizes["day"] == 21 and new.attrs["start_day"] == 5
    with pytest.warns(DeprecationWarning) as rec:
        old = b12sim.simulate(PATIENT, "oral_1mg_daily", start_day=5, days=20, **SIM)
    assert {str(w.message) for w in rec} == {"simulate(start_day=...) is deprecated; use delay_days=...",
                                             "simulate(days=...) is deprecated; use horizon_days=..."}
    assert rec[0].filename == __file__  # the warning points at the caller
    xr.testing.assert_identical(new, old)


def test_delay_curve_horizon_days_and_old_horizon():
    kw = dict(regimens=("no_treatment",), delays=(0, 10), draws=3, seed=1)
    new = _quiet(delay_curve, PATIENT, horizon_days=30, **kw)
    with pytest.warns(DeprecationWarning, match="use horizon_days"):
        old = delay_curve(PATIENT, horizon=30, **kw)
    assert new.equals(old) and list(new["delay_days"]) == [0, 10]


@pytest.mark.parametrize("kwargs, field", [
    (dict(days=0), "days"), (dict(horizon_days=0), "horizon_days"),
    (dict(start_day=-1), "start_day"), (dict(delay_days=-1), "delay_days"),
])
def test_a_refusal_names_the_keyword_as_written(kwargs, field):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(InputError) as e:
            b12sim.simulate(PATIENT, "no_treatment", **SIM, **kwargs)
    assert e.value.field == field


def test_old_and_new_name_together_is_refused():
    with pytest.raises(TypeError, match="horizon_days= and its deprecated name days="):
        b12sim.simulate(PATIENT, "no_treatment", days=10, horizon_days=10, **SIM)


def test_compare_strategies_costs_and_old_setting():
    from b12sim.policy import compare

    kw = dict(draws=2, horizon_days=30, seed=4, progress=False)
    gbp = compare.econ.unit_costs("ontario", currency="GBP", price_year=2024)  # econ: wherever compare finds it
    new = _quiet(b12sim.compare_strategies, 16, ["oral_1mg"], costs=gbp, **kw)
    with pytest.warns(DeprecationWarning, match=r"compare_strategies\(setting=\.\.\.\) is deprecated; use costs="):
        old = b12sim.compare_strategies(16, ["oral_1mg"], setting=gbp, **kw)
    assert new.outcomes.attrs["currency"] == old.outcomes.attrs["currency"] == "GBP"
    xr.testing.assert_identical(new.outcomes, old.outcomes)


# --- CLI ---------------------------------------------------------------------

SIM_ARGS = ("simulate", "--regimen", "oral_1mg_daily", "--b12", "95 pg/mL", "--age", "70", "--draws", "4",
            "--seed", "3", "--json")


def test_cli_simulate_new_and_old_options_agree_and_only_the_old_warn(cli):
    status, out_new, err_new = cli(*SIM_ARGS, "--horizon-days", "20", "--delay-days", "5")
    assert status == 0 and "deprecated" not in err_new
    status, out_old, err_old = cli(*SIM_ARGS, "--days", "20", "--delay", "5")
    assert status == 0
    assert sorted(err_old.strip().splitlines()) == ["warning: --days is deprecated; use --horizon-days",
                                                    "warning: --delay is deprecated; use --delay-days"]
    assert json.loads(out_new) == json.loads(out_old)
    assert len(json.loads(out_new)["outputs"]["hb"]["median"]) == 21


@pytest.mark.parametrize("flag", ["--days", "--horizon-days"])
def test_cli_refusal_is_one_line_naming_the_option_as_typed(cli, flag):
    status, _, err = cli(*SIM_ARGS, flag, "0")
    assert status == 2 and err.startswith(f"error: {flag}: got 0;") and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv, dest, value", [
    (("decide", "--b12", "200", "--age", "72", "--horizon", "100"), "horizon_days", "100"),
    (("decide", "--b12", "200", "--age", "72", "--horizon-days", "100"), "horizon_days", "100"),
    (("compare", "--strategies", "oral_1mg", "--days", "90"), "horizon_days", "90"),
    (("compare", "--strategies", "oral_1mg", "--horizon-days", "90"), "horizon_days", "90"),
    (("compare", "--strategies", "oral_1mg"), "horizon_days", "365"),
])
def test_cli_old_options_parse_into_the_new_ones(argv, dest, value):
    args = _parser().parse_args(argv)
    assert getattr(args, dest) == value
    assert getattr(args, "renamed", {}) == ({dest: argv[-2]} if argv[-2] in ("--horizon", "--days") else {})


def test_cli_help_shows_only_the_new_names(cli):
    for cmd in ("simulate", "decide", "compare"):
        status, out, _ = cli(cmd, "--help")
        assert status == 0 and "--horizon-days" in out
        assert "--days " not in out and "--horizon " not in out and "--delay " not in out


def test_cli_large_seed_is_read_exactly(cli):
    seed = str(2**62 + 1)  # not representable as a float
    status, out, _ = cli(*SIM_ARGS[:-3], "--seed", seed, "--horizon-days", "3", "--json")
    assert status == 0 and json.loads(out)["seed"] == int(seed)
    assert np.isfinite(json.loads(out)["summary"]["p_permanent_damage"])


def test_an_unknown_cost_setting_is_named_as_the_caller_wrote_it():
    with pytest.raises(InputError, match=r"^costs: got 'ontaro'"):
        b12sim.compare_strategies(8, ["oral_1mg"], draws=2, costs="ontaro", progress=False)
    with pytest.warns(DeprecationWarning), pytest.raises(InputError, match=r"^setting: got 'ontaro'"):
        b12sim.compare_strategies(8, ["oral_1mg"], draws=2, setting="ontaro", progress=False)
