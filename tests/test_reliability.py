"""Issue 18: result sets written whole or not at all, refusals before the long computation,
and options that used to be silently accepted.

The kill test runs the real console entry in subprocesses and kills them (SIGKILL, SIGINT)
at points drawn with a fixed seed; the rest run in process. No test asserts a duration, except that
Ctrl-C ends a long run within a few seconds (measured about 1 s; the bound is 5 s, with tens of seconds
of work left at the interrupt).
"""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import refused
import xarray as xr

import b12sim
from b12sim import io
from b12sim.errors import InputError
from b12sim.policy import figures, microsim
from b12sim.policy.compare import OUTPUT_FILES, PolicyResult, compare_strategies

ROOT = Path(__file__).resolve().parents[1]
PNG_HEAD, PNG_TAIL = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"



@pytest.fixture(scope="module")
def result():
    return compare_strategies(64, ["uk_im_hydroxo", "no_treatment"], draws=3, seed=2, horizon_days=60,
                              progress=False)


@pytest.fixture
def no_run(monkeypatch):
    """Make the long computations fail loudly, so a refusal is shown to come before them."""
    def boom(*a, **k):
        raise AssertionError("the computation started before the input was refused")

    import b12sim.decision
    import b12sim.diagnosis
    import b12sim.policy.compare
    import b12sim.simulation

    monkeypatch.setattr(b12sim.diagnosis, "diagnose", boom)
    monkeypatch.setattr(b12sim.policy.compare, "compare_strategies", boom)
    monkeypatch.setattr(b12sim.simulation, "simulate", boom)
    monkeypatch.setattr(b12sim.decision, "decide", boom)


def _dead_pid() -> int:
    """The id of a process that has ended."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _temps(folder: Path) -> list[str]:
    """Temps of ``folder`` beside it."""
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.b12sim-"))


def _assert_one_set(folder: Path) -> str:
    """``folder`` holds exactly one complete result set, every file from the same run; returns its seed."""
    assert sorted(os.listdir(folder)) == sorted(OUTPUT_FILES)  # all there, no temp inside
    tree = xr.open_datatree(folder / "outcomes.nc", engine="h5netcdf").load()
    res = PolicyResult(tree, None)
    for name, table in (("summary.csv", res.summary()), ("icers.csv", res.icers()),
                        ("ceac.csv", res.ceac()), ("evpi.csv", res.evpi())):
        saved = pd.read_csv(folder / name)
        expect = table.reset_index()
        num = [c for c in expect.columns if pd.api.types.is_float_dtype(expect[c])]
        assert saved.iloc[:, 0].astype(str).tolist() == expect.iloc[:, 0].astype(str).tolist(), name
        np.testing.assert_allclose(saved[num].to_numpy(float), expect[num].to_numpy(float), rtol=1e-9,
                                   err_msg=name)
    for png in ("ce_plane.png", "ceac.png"):
        data = (folder / png).read_bytes()
        assert data.startswith(PNG_HEAD) and data.endswith(PNG_TAIL), png
    return tree.attrs["seed"]


# --------------------------------------------------------------------------- item 1: whole result sets

@pytest.mark.slow
def test_ctrl_c_ends_a_long_scoring_run_promptly(tmp_path):
    """Ctrl-C while `diagnose --csv` scores 60,000 patients in numba chunks: exit 130 within 5 s with one line,
    and no output file (it is written whole or not at all)."""
    rng = np.random.default_rng(6)
    n = 60_000
    pd.DataFrame({"b12": rng.uniform(80, 600, n).round(0), "mma": rng.uniform(0.1, 2, n).round(2),
                  "age": rng.integers(30, 90, n)}).to_csv(tmp_path / "labs.csv", index=False)
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    env.pop("B12SIM_DEBUG", None)
    p = subprocess.Popen([sys.executable, "-m", "b12sim.cli", "diagnose", "--csv", "labs.csv", "--out", "p.csv"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=tmp_path,
                         start_new_session=True)
    seen = b""
    while not re.search(rb"\| *[1-9][0-9]*/[0-9]+ ", seen):  # a chunk is done: past compiling the kernels
        chunk = p.stderr.read1(4096)
        assert chunk, seen.decode()
        seen += chunk
    time.sleep(1.0)
    assert p.poll() is None
    t0 = time.monotonic()
    os.killpg(p.pid, signal.SIGINT)
    rc = p.wait(timeout=60)
    waited = time.monotonic() - t0
    err = (seen + p.stderr.read()).decode()
    assert rc == 130 and waited < 5.0, (rc, waited, err)
    assert [ln for ln in re.split(r"[\r\n]+", err) if ln.strip() and "chunk" not in ln] == ["error: interrupted"]
    assert sorted(os.listdir(tmp_path)) == ["labs.csv"]


def _marked_processes(mark: str) -> list[int]:
    """Live processes whose environment holds ``mark``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if mark.encode() in env:
            found.append(int(pid))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find leftover processes")
@pytest.mark.parametrize("scheduler", [None, "local:2"], ids=["numba", "dask"])
def test_ctrl_c_ends_a_long_run_promptly_with_one_line(scheduler, tmp_path):
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) while `compare` simulates (numba kernel
    chunks in process, or Dask workers, which ignore it and are stopped by the main process): exit 130 within
    5 s, one line on stderr after the progress bar ("error: interrupted"; no worker traceback, no resource
    warning), no result folder, and no process of the run left behind."""
    mark = f"B12SIM_CTRL_C_TEST={os.getpid()}-{scheduler}"
    env = dict(os.environ, PYTHONWARNINGS="ignore", B12SIM_CTRL_C_TEST=mark.partition("=")[2])
    env.pop("B12SIM_DEBUG", None)
    cmd = [sys.executable, "-m", "b12sim.cli", "compare", "--strategies", "uk_im_hydroxo,no_treatment", "--people",
           "4000", "--draws", "20", "--horizon-days", "365", "--out", str(tmp_path / "res")]
    p = subprocess.Popen(cmd + (["--scheduler", scheduler] if scheduler else []), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=env, cwd=tmp_path, start_new_session=True)
    seen = b""
    while not re.search(rb"\| *[1-9][0-9,]*/[0-9,]+ ", seen):  # a piece is done: past compiling the kernel
        chunk = p.stderr.read1(4096)
        assert chunk, seen.decode()
        seen += chunk
    time.sleep(1.0)
    assert p.poll() is None  # still working
    t0 = time.monotonic()
    os.killpg(p.pid, signal.SIGINT)  # to the process group, as a terminal sends it (workers included)
    rc = p.wait(timeout=60)
    waited = time.monotonic() - t0
    err = (seen + p.stderr.read()).decode()
    assert rc == 130 and waited < 5.0, (rc, waited, err)
    lines = [ln for ln in re.split(r"[\r\n]+", err) if ln.strip() and "person-draw" not in ln]
    assert lines == ["error: interrupted"], err
    assert not (tmp_path / "res").exists()
    deadline = time.monotonic() + 5.0  # killed workers and the resource tracker are reaped within a second or two
    while _marked_processes(mark.partition("=")[2]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _marked_processes(mark.partition("=")[2]) == []


def test_killed_compare_leaves_one_complete_result_set(tmp_path):
    """SIGKILL (and SIGINT) at random points of `compare --out DIR --force`, some of them while the
    set is being written: DIR always holds one complete set from one seed; the next run removes
    the killed runs' temps and says so."""
    out = tmp_path / "res"
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    env.pop("B12SIM_DEBUG", None)

    def start(seed):
        return subprocess.Popen([sys.executable, "-m", "b12sim.cli", "compare", "--strategies",
                                 "uk_im_hydroxo,no_treatment", "--people", "64", "--draws", "3", "--horizon-days",
                                 "60", "--seed", str(seed), "--out", str(out), "--force", "--json"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=tmp_path)

    first = start(1)
    t0 = time.monotonic()
    assert first.wait(timeout=300) == 0, first.stderr.read()
    whole_run = time.monotonic() - t0  # to spread the kill points over a run, not asserted
    seeds = {_assert_one_set(out)}
    rng = np.random.default_rng(18)
    plan = [(signal.SIGKILL, "writing"), (signal.SIGKILL, "any"), (signal.SIGINT, "writing"),
            (signal.SIGKILL, "writing"), (signal.SIGKILL, "writing")]
    for i, (sig, when) in enumerate(plan):
        p = start(2 + i)
        if when == "writing":  # once this run's temp folder appears, a random moment into the writing
            while p.poll() is None and not any(n.startswith(f".res.b12sim-{p.pid}-") for n in _temps(out)):
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 1.2))  # writing takes about a second
        else:
            time.sleep(rng.uniform(0.3, 1.0) * whole_run)
        p.send_signal(sig)
        p.wait(timeout=300)
        p.stderr.close()
        seeds.add(seed := _assert_one_set(out))
        assert seed in {str(s) for s in range(1, 3 + i)}
    left = _temps(out)
    last = start(99)
    assert last.wait(timeout=300) == 0
    err = last.stderr.read().decode()
    assert _assert_one_set(out) == "99"
    assert _temps(out) == []
    if left:
        notices = [ln for ln in err.splitlines() if "interrupted run" in ln]
        assert len(notices) == 1 and notices[0].startswith("warning: removed"), err


def test_interrupted_save_keeps_the_old_set(result, tmp_path, monkeypatch):
    """A save that fails (or is interrupted) part-way leaves the previous set byte for byte and no temp."""
    out = tmp_path / "res"
    result.save(out)
    before = {f: (out / f).read_bytes() for f in OUTPUT_FILES}

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(figures, "ceac_plot", interrupted)
    with pytest.raises(KeyboardInterrupt):
        result.save(out, overwrite=True)
    assert {f: (out / f).read_bytes() for f in OUTPUT_FILES} == before
    assert _temps(out) == [] and sorted(os.listdir(tmp_path)) == ["res"]


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "rename-aside"])
def test_save_replaces_the_set_whole(result, tmp_path, monkeypatch, exchange):
    """--force replaces the old set by the new one (also where the system cannot exchange two folders);
    the folder keeps its permissions and nothing is left beside it."""
    if not exchange:
        monkeypatch.setattr(io, "_exchange", lambda a, b: False)
    out = tmp_path / "res"
    out.mkdir(mode=0o750)
    (out / "outcomes.nc.tmp").write_bytes(b"left by an old version")  # temps inside are part of the old set
    other = compare_strategies(64, ["uk_im_hydroxo", "no_treatment"], draws=3, seed=7, horizon_days=60,
                               progress=False)
    other.save(out, overwrite=True)
    assert _assert_one_set(out) == "7"
    result.save(out, overwrite=True)
    assert _assert_one_set(out) == "2"
    assert (out.stat().st_mode & 0o777) == 0o750
    assert sorted(os.listdir(tmp_path)) == ["res"]


def test_save_never_deletes_files_it_did_not_write(result, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not part of a result set.*notes.txt"):
        result.save(out, overwrite=True)
    assert os.listdir(out) == ["notes.txt"]
    with pytest.raises(FileExistsError, match="overwrite"):
        result.save(tmp_path / "new")
        result.save(tmp_path / "new")


def test_stale_temps_of_a_killed_run_are_removed_with_one_notice(result, tmp_path):
    out = tmp_path / "res"
    dead, alive = _dead_pid(), os.getppid()
    (tmp_path / f".res.b12sim-{dead}-abc").mkdir()
    (tmp_path / f".res.b12sim-{dead}-abc" / "summary.csv").write_text("half")
    (tmp_path / f".res.b12sim-{dead}-def.csv.tmp").write_text("half")
    (tmp_path / f".res.b12sim-{alive}-ghi").mkdir()  # another run still writing: not touched
    with pytest.warns(io.StaleTempWarning, match="removed 2 temporary") as rec:
        result.save(out)
    assert len(rec) == 1
    assert _temps(out) == [f".res.b12sim-{alive}-ghi"]
    _assert_one_set(out)


def test_single_files_are_atomic_and_clean_up_after_a_killed_writer(tmp_path):
    """Figures go through the atomic writer: a failing savefig leaves the old file, not 0 bytes;
    a killed writer's temp is removed by the next write to that file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    target = tmp_path / "ce_plane.png"
    target.write_bytes(b"good old figure")
    fig = plt.figure()
    fig.savefig = lambda *a, **k: (Path(a[0]).write_bytes(b""), 1 / 0)
    with pytest.raises(ZeroDivisionError):
        io.save_figure(fig, target)
    assert target.read_bytes() == b"good old figure" and os.listdir(tmp_path) == ["ce_plane.png"]
    stale = tmp_path / f".out.csv.b12sim-{_dead_pid()}-x.csv.tmp"
    stale.write_text("half")
    with pytest.warns(io.StaleTempWarning, match="out.csv"):
        io.write_csv(pd.DataFrame({"a": [1]}), tmp_path / "out.csv")
    assert sorted(os.listdir(tmp_path)) == ["ce_plane.png", "out.csv"]


def test_cli_diagnose_out_notice_of_removed_temp(capsys, tmp_path, cli):
    src = ROOT / "data" / "examples" / "patients.csv"
    (tmp_path / f".o.csv.b12sim-{_dead_pid()}-z.csv.tmp").write_text("half")
    status, _, err = cli("diagnose", "--csv", src, "--out", tmp_path / "o.csv", "--draws", "40", "--no-explain")
    assert status == 0, err
    notices = [ln for ln in err.splitlines() if "interrupted run" in ln]
    assert len(notices) == 1 and notices[0].startswith("warning: removed 1 temporary file"), err
    assert os.listdir(tmp_path) == ["o.csv"]


# --------------------------------------------------------------------------- item 2: --reference in the files

def test_saved_icers_and_ce_plane_use_the_reference_printed(capsys, tmp_path, monkeypatch, cli):
    drawn = []
    plane = figures.ce_plane
    monkeypatch.setattr(figures, "ce_plane", lambda ax, res, reference=None, **kw: (
        drawn.append(reference), plane(ax, res, reference, **kw)))
    out = tmp_path / "res"
    status, stdout, err = cli("compare", "--strategies", "uk_im_hydroxo,no_treatment", "--people", "64",
                              "--draws", "3", "--horizon-days", "60", "--reference", "uk_im_hydroxo",
                              "--out", out, "--json")
    assert status == 0, err
    printed = pd.DataFrame(json.loads(stdout)["icers"])
    saved = pd.read_csv(out / "icers.csv")
    assert saved.loc[saved["quadrant"] == "reference", "strategy"].tolist() == ["uk_im_hydroxo"]
    assert saved["quadrant"].tolist() == printed["quadrant"].tolist()
    assert drawn == ["uk_im_hydroxo"]


# --------------------------------------------------------------------------- item 3: horizons of whole years + 1

@pytest.mark.parametrize("h", [1, 365, 366, 730, 731, 1096, 1827, 2192, 3653])
def test_year_starts_lie_inside_the_horizon(h):
    starts = microsim.year_starts(h)
    assert starts[0] == 0 and (starts < h).all() and (np.diff(starts) > 0).all()
    assert starts.tolist() == [int(np.ceil(k * 365.25)) for k in range(len(starts))]
    assert np.ceil(len(starts) * 365.25) >= h  # every day of the horizon is in a year


def test_compare_over_two_years_and_a_day(capsys, cli):
    res = compare_strategies(64, ["us_im_cyano_monthly"], draws=2, horizon_days=731, progress=False)
    assert list(res.budget_impact(10).columns) == ["year_1", "year_2"]
    status, out, err = cli("compare", "--strategies", "us_im_cyano_monthly", "--people", "64", "--draws", "2",
                           "--horizon-days", "731", "--json")
    assert status == 0, err
    assert json.loads(out)["horizon_days"] == 731


# --------------------------------------------------------------------------- item 7: refused before computing

@pytest.mark.parametrize("args, words", [
    (["--wtp", "nan"], ["--wtp", "'nan'"]),
    (["--wtp", "20000,inf"], ["--wtp", "inf"]),
    (["--wtp", "-5"], ["--wtp"]),
    (["--reference", "bogus"], ["--reference", "bogus", "uk_im_hydroxo, no_treatment"]),
    (["--reference", "no_treatmnt"], ["did you mean 'no_treatment'"]),
])
def test_compare_refuses_bad_options_before_simulating(capsys, no_run, cli, args, words):
    refused(*cli("compare", "--strategies", "uk_im_hydroxo,no_treatment", "--people", "64", *args)[::2], *words)


def test_unwritable_out_refused_before_simulating(capsys, tmp_path, no_run, cli):
    try:
        io.check_writable("/sys/b12sim-probe/x")
        pytest.skip("/sys is writable here")
    except OSError:
        pass
    status, _, err = cli("compare", "--strategies", "no_treatment", "--out", "/sys/b12sim-test")
    refused(status, err, "--out", "/sys/b12sim-test", "cannot write")
    for command in (["simulate", "--regimen", "no_treatment"], ["decide"]):
        status, _, err = cli(*command, "--b12", "200", "--age", "60", "--plot", "/sys/b12sim.png")
        refused(status, err, "--plot", "cannot write")
    status, _, err = cli("diagnose", "--csv", ROOT / "data" / "examples" / "patients.csv", "--out", "/sys/o.csv")
    refused(status, err, "--out", "cannot write")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_out_refused_before_simulating(capsys, tmp_path, no_run, cli):
    out = tmp_path / "res"
    out.mkdir()
    out.chmod(0o555)
    try:
        refused(*cli("compare", "--strategies", "no_treatment", "--out", out, "--force")[::2], "--out", "read-only")
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o555)
        refused(*cli("compare", "--strategies", "no_treatment", "--out", ro / "res")[::2], "--out", "cannot write")
    finally:
        out.chmod(0o755)


@pytest.mark.parametrize("name", ["x.txt", "x", "x.PNG.bak"])
@pytest.mark.parametrize("command", [["simulate", "--regimen", "no_treatment"], ["decide"]])
def test_plot_with_an_unsupported_extension_refused_before_simulating(capsys, tmp_path, no_run, cli, name,
                                                                       command):
    refused(*cli(*command, "--b12", "200", "--age", "60", "--plot", tmp_path / name)[::2],
             "--plot", ".png, .pdf or .svg")
    (tmp_path / "fig.png").mkdir()
    refused(*cli(*command, "--b12", "200", "--age", "60", "--plot", tmp_path / "fig.png")[::2], "--plot", "folder")


def test_decide_wtp_nan_refused_naming_the_option(capsys, no_run, cli):
    for bad in ("nan", "inf", "1,2"):
        refused(*cli("decide", "--b12", "200", "--age", "60", "--wtp", bad)[::2], "--wtp", "0 to 1e+07")


@pytest.mark.parametrize("field, raw, suggested", [("b12", "0.2", "200 pg/mL"), ("holotc", "0.05", "50 pg/mL")])
def test_ng_per_ml_hint_suggests_a_value_that_is_accepted(field, raw, suggested):
    with pytest.raises(InputError) as e:
        b12sim.units.parse(field, raw)
    assert f"give it as '{suggested}'" in e.value.hint
    given = re.search(r"give it as '([^']+)'", e.value.hint).group(1)
    assert b12sim.units.parse(field, given) == pytest.approx(
        b12sim.units.convert(float(raw) * 1000, "pg/mL", "pmol/L", field))
    with pytest.raises(InputError, match="1 ng/mL = 1000 pg/mL"):
        b12sim.units.parse(field, f"{raw} ng/mL")


def test_cohort_that_is_a_folder_is_called_a_folder(capsys, tmp_path, no_run, cli):
    folder = tmp_path / "adir.csv"
    folder.mkdir()
    line = refused(*cli("compare", "--strategies", "no_treatment", "--cohort", folder)[::2], "--cohort")
    assert "folder" in line and "not found" not in line
    refused(*cli("compare", "--strategies", "no_treatment", "--cohort", tmp_path / "no.csv")[::2], "no such file")


# --------------------------------------------------------------------------- item 8: no silent acceptance

@pytest.mark.parametrize("command", [["diagnose", "--b12", "200", "--age", "60"],
                                     ["simulate", "--regimen", "no_treatment", "--b12", "200", "--age", "60"],
                                     ["decide", "--b12", "200", "--age", "60"],
                                     ["compare", "--strategies", "no_treatment"]])
def test_draws_above_the_maximum_refused_with_the_range(capsys, no_run, cli, command):
    refused(*cli(*command, "--draws", "1000000000")[::2], "--draws", "1000000000", "from 1 to 4,000")


@pytest.mark.parametrize("args, words", [
    (["diagnose", "--b12", "100", "--b12", "400", "--age", "60"], ["--b12 given twice", "--b12 100", "--b12 400"]),
    (["simulate", "--regimen", "no_treatment", "--b12", "100", "--age", "60", "--days", "30", "--horizon-days", "60"],
     ["--horizon-days given twice", "--days 30"]),
    (["compare", "--strategies", "no_treatment", "--seed", "1", "--seed", "2"], ["--seed given twice"]),
    (["diagnose", "--b12", "100", "--ag", "70"], ["unrecognized arguments", "--ag"]),
    (["compare", "--strat", "no_treatment"], ["--strat"]),
    (["simulate", "--regimen", "no_treatment", "--b12", "100", "--age", "60", "--seed", "1e16"],
     ["--seed", "in digits"]),
    (["simulate", "--regimen", "no_treatment", "--b12", "100", "--age", "60", "--seed", "-1"], ["--seed"]),
])
def test_repeated_abbreviated_and_inexact_optionsrefused(capsys, no_run, cli, args, words):
    refused(*cli(*args)[::2], *words)


def test_seed_above_two_to_the_53_is_kept_exactly(capsys, cli):
    seed = 2**53 + 1
    status, out, err = cli("simulate", "--regimen", "no_treatment", "--b12", "200", "--age", "60", "--draws", "2",
                           "--horizon-days", "2", "--seed", seed, "--json")
    assert status == 0, err
    assert json.loads(out)["seed"] == seed


def test_simulate_api_refuses_what_the_cli_refuses():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(InputError, match=r"^start_day: got 50; allowed: fewer days than horizon_days \(10\)"):
            b12sim.simulate({"b12": 200, "age": 60}, "oral_1mg_daily", start_day=50, days=10, draws=2)
    with pytest.raises(InputError, match="^delay_days"):
        b12sim.simulate({"b12": 200, "age": 60}, "oral_1mg_daily", delay_days=10, horizon_days=10, draws=2)
    for bad in (-1, 1.5, "7", 2**63):
        with pytest.raises(InputError, match="^seed: "):
            b12sim.simulate({"b12": 200, "age": 60}, draws=2, horizon_days=2, seed=bad)
        with pytest.raises(InputError, match="^seed: "):
            b12sim.simulation.delay_curve({"b12": 200, "age": 60}, draws=2, horizon_days=2, delays=(0,), seed=bad)


def test_unknown_scheduler_refused_naming_it():
    with pytest.raises(InputError, match="^scheduler: got 'bogus'"):
        compare_strategies(64, ["no_treatment"], draws=2, progress=False, scheduler="bogus")


# --------------------------------------------------------------------------- item 9: help and version

def test_short_version_option(capsys, cli):
    status, out, _ = cli("-V")
    assert status == 0 and out.strip() == f"b12sim {b12sim.__version__}"


def test_every_command_has_a_description_and_its_examples_parse(capsys):
    from b12sim.cli_options import parser as _parser

    parser = _parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert set(commands) == {"diagnose", "simulate", "decide", "calibrate", "validate", "compare", "accuracy",
                             "strategies", "regimens", "demo"}
    for name, sub in commands.items():
        text = sub.format_help()
        assert sub.description and sub.description.endswith(".") and "\n" not in sub.description, name
        examples = [ln.strip().split()[2:] for ln in text.splitlines() if ln.startswith(f"  b12sim {name}")]
        for ex in examples:  # each example is a valid command line (parsed, not run)
            args = parser.parse_args([name, *shlex.split(" ".join(ex))])
            assert args.command == name
    help_text = commands["calibrate"].format_help()
    for opt in ("--draws", "--tune", "--chains"):
        line = next(ln for ln in help_text.splitlines() if ln.strip().startswith(opt))
        assert len(line.split()) > 2, line  # the option is explained, not only named
