"""Command line: ``b12sim diagnose | simulate | decide | compare | calibrate | strategies | regimens | demo``.

Bad input ends with one ``error:`` line naming the field and what is allowed, and
exit status 2; no traceback. Heavy libraries are imported inside each command.
Options named as in the Python API (``--horizon-days``, ``--delay-days``); the old
spellings still work and, after a successful run, print a deprecation warning.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import warnings
from pathlib import Path

from b12sim.defaults import DISCLAIMER, DRAWS, MAX_SEED, SEED, version
from b12sim.errors import InputError, UnitWarning
from b12sim.validation import number, whole

BROKEN_PIPE = 141  # exit status when stdout's reader has gone, as a shell shows a tool ended by SIGPIPE (128 + 13)
PLOT_FORMATS = (".png", ".pdf", ".svg")
RISK_FLAGS = ("vegan", "metformin", "ppi", "pernicious_anaemia", "ileal_resection", "bariatric")
MARKER_HELP = {
    "b12": "serum B12 (default unit pmol/L; e.g. '180 pg/mL')",
    "holotc": "holotranscobalamin (pmol/L)",
    "mma": "methylmalonic acid (umol/L; e.g. '420 nmol/L')",
    "hcy": "total homocysteine (umol/L)",
    "folate": "serum folate (nmol/L; e.g. '5 ng/mL')",
    "age": "age in years (required)",
    "egfr": "eGFR in mL/min/1.73m2 (normal assumed if omitted)",
}


class _Once(argparse.Action):
    """Store the option's value; an option given twice (under any of its spellings) is refused."""

    def __call__(self, parser, namespace, values, option_string=None):
        given = vars(namespace).setdefault("given", {})
        if self.dest in given:
            parser.error(f"{option_string} given twice ({given[self.dest]} and {option_string} {values}); give it once")
        given[self.dest] = f"{option_string} {values}"
        setattr(namespace, self.dest, values)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one ``error:`` line (exit 2), like every other refusal; options
    are never abbreviated (``--ag`` is not ``--age``) and one given twice is refused."""

    def __init__(self, *a, **kw):
        super().__init__(*a, allow_abbrev=False, **kw)
        self.register("action", None, _Once)
        self.register("action", "store", _Once)

    def error(self, message):
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


class _Renamed(_Once):
    """The old spelling of a renamed option: sets the new option's value, remembered in ``renamed``."""

    def __call__(self, parser, namespace, values, option_string=None):
        super().__call__(parser, namespace, values, option_string)
        namespace.renamed = {**getattr(namespace, "renamed", {}), self.dest: option_string}


def _option(p: argparse.ArgumentParser, name: str, *old: str, **kw) -> None:
    """Option ``name``, also accepted (hidden from --help) under its deprecated spellings ``old``."""
    p.add_argument(name, **kw)
    for o in old:
        p.add_argument(o, dest=name[2:].replace("-", "_"), action=_Renamed, help=argparse.SUPPRESS)


def _flag(args, dest: str) -> str:
    """The option for ``dest`` as the user typed it (an old spelling if they used one)."""
    return args.renamed.get(dest, "--" + dest.replace("_", "-"))


def _patient_options(p: argparse.ArgumentParser, *, sex_help: str | None = None) -> None:
    """Lab values and risk flags of one patient; with ``sex_help``, also blood count, symptom duration and sex."""
    for k, h in MARKER_HELP.items():
        p.add_argument(f"--{k}", help=h)
    if sex_help:
        p.add_argument("--hb", help="haemoglobin (g/L; e.g. '9.5 g/dL'); model steady state if omitted")
        p.add_argument("--mcv", help="mean cell volume (fL); model steady state if omitted")
        p.add_argument("--neuro", help="days of neurological symptoms so far (default 0)")
        p.add_argument("--sex", help=sex_help)
        p.add_argument("--diet", help="what the person eats from today: omnivore, vegetarian, vegan or low_intake "
                                      "(default: the diet that holds their current stores)")
        p.add_argument("--intake-ug-per-day", dest="intake_ug_per_day",
                       help="dietary B12 from today (ug/day, 0-1000), instead of --diet")
        p.add_argument("--food-release", dest="food_release",
                       help="share of food B12 freed for absorption, 0-1 (food-cobalamin malabsorption; "
                            "default 1, less on PPIs or metformin)")
        p.add_argument("--intrinsic-factor", dest="intrinsic_factor",
                       help="present or absent (default: absent with pernicious anaemia, ileal resection or bariatric "
                            "surgery, otherwise inferred draw by draw from the stores)")
    for k in RISK_FLAGS:
        p.add_argument(f"--{k.replace('_', '-')}", dest=k, action="store_true", help=f"risk factor: {k.replace('_', ' ')}")


def _patient(args) -> dict:
    """The patient given by :func:`_patient_options` (only the options set)."""
    patient = {k: getattr(args, k) for k in MARKER_HELP if getattr(args, k) is not None}
    patient |= {k: True for k in RISK_FLAGS if getattr(args, k)}
    for opt, key in (("hb", "hb"), ("mcv", "mcv"), ("neuro", "neuro_days"), ("sex", "sex"), ("diet", "diet"),
                     ("intake_ug_per_day", "intake_ug_per_day"), ("intrinsic_factor", "intrinsic_factor"),
                     ("food_release", "food_release")):
        if getattr(args, opt, None) is not None:
            patient[key] = getattr(args, opt)
    return patient


def _command(sub, name: str, about: str, *examples: str) -> argparse.ArgumentParser:
    """Subcommand ``name``: ``about`` is its one-line description, ``examples`` close its --help."""
    epilog = "examples:\n" + "\n".join(f"  b12sim {name} {e}" for e in examples) if examples else None
    return sub.add_parser(name, help=about, description=about[0].upper() + about[1:] + ".", epilog=epilog,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="b12sim", description=f"b12sim {version()}. {DISCLAIMER}",
                 epilog="'b12sim COMMAND --help' describes a command's options, with examples.")
    ap.add_argument("-V", "--version", action="version", version=f"b12sim {version()}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    d = _command(sub, "diagnose", "probability of true B12 deficiency from lab results",
                 "--b12 '180 pg/mL' --mma 0.52 --age 72", "--csv patients.csv --out scored.csv")
    _patient_options(d)
    d.add_argument("--csv", type=Path, help="score a CSV file of patients (one row each)")
    d.add_argument("--out", type=Path, help="output CSV for --csv (default: print to stdout)")
    d.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    d.add_argument("--no-explain", action="store_true", help="skip per-marker contributions (faster for big files)")
    d.add_argument("--draws", help=f"posterior draws to integrate over (default {DRAWS['diagnose']})")
    d.add_argument("--json", action="store_true", help="print one JSON object")

    s = _command(sub, "simulate", "project stores, markers, blood count and nerve outcomes under a regimen",
                 "--regimen oral_1mg_daily --b12 95 --age 70 --hb '9 g/dL'",
                 "--regimen uk_im_hydroxo_neuro --b12 95 --age 70 --neuro 30 --delay-days 14 --plot course.png")
    s.add_argument("--regimen", required=True, help="a preset name (see 'b12sim regimens') or a TOML/JSON regimen file")
    _option(s, "--delay-days", "--delay", default="0", help="days from today until treatment starts (default 0)")
    _option(s, "--horizon-days", "--days", default="180", help="days simulated (default 180)")
    _patient_options(s, sex_help="female or male: sets the Hb normal range (default female)")
    s.add_argument("--draws", default=str(DRAWS["simulate"]), help=f"parameter draws (default {DRAWS['simulate']})")
    s.add_argument("--seed", default=str(SEED), help=f"random seed (default {SEED})")
    s.add_argument("--json", action="store_true", help="print per-day medians and 95%% intervals and a summary as JSON")
    s.add_argument("--plot", type=Path, help="write a trajectory figure here (.png, .pdf or .svg)")
    s.add_argument("--force", action="store_true", help="overwrite --plot if it exists")

    dc = _command(sub, "decide", "treat now, test first, or not treat: expected outcomes, thresholds, value of a test",
                  "--b12 '155 pmol/L' --age 72", "--b12 150 --age 80 --test mma --wtp 30000 --plot threshold.png")
    _patient_options(dc, sex_help="female or male: Hb normal range and life expectancy (default female)")
    dc.add_argument("--regimen", default="uk_im_hydroxo_no_neuro",
                    help="treatment if treated: a preset (see 'b12sim regimens') or a TOML/JSON file "
                         "(default uk_im_hydroxo_no_neuro)")
    dc.add_argument("--test", action="append", dest="tests",
                    help="a further test to weigh: mma, holotc or b12 (repeat the option for several; default all three)")
    dc.add_argument("--turnaround", help="days from sample to result, for every test (default: per test, "
                                         "data/evidence/decision.csv)")
    _option(dc, "--horizon-days", "--horizon",
            help="days by which an untreated deficiency is assumed found and treated (default 365)")
    dc.add_argument("--wtp", help="willingness to pay per QALY (default 50000, CAD)")
    dc.add_argument("--draws", default=str(DRAWS["decide"]), help=f"parameter draws (default {DRAWS['decide']})")
    dc.add_argument("--seed", default=str(SEED), help=f"random seed (default {SEED})")
    dc.add_argument("--json", action="store_true", help="print one JSON object")
    dc.add_argument("--plot", type=Path, help="write the threshold figure here (.png, .pdf or .svg)")
    dc.add_argument("--force", action="store_true", help="overwrite --plot if it exists")

    c = _command(sub, "calibrate", "re-fit the marker model, treatment kinetics, blood response and "
                                   "nerve onset, progression and fixation to the evidence (PyMC)",
                 "--model markers --out markers.nc --draws 500 --tune 500 --chains 2")
    c.add_argument("--model", choices=("all", "markers", "treatment", "haematology", "neurology"), default="all",
                   help="which calibration to rebuild (default all: markers, treatment, haematology, then neurology)")
    c.add_argument("--out", type=Path, help="where to write the DataTree (default: the shipped file)")
    c.add_argument("--force", action="store_true", help="replace an existing file")
    c.add_argument("--draws", type=int, default=1000, help="posterior draws kept per chain (default 1000)")
    c.add_argument("--tune", type=int, default=1000,
                   help="tuning (warm-up) steps per chain, discarded (default 1000)")
    c.add_argument("--chains", type=int, default=4, help="independent NUTS chains (default 4)")
    c.add_argument("--seed", type=int, help="random seed (default: each model's own)")

    v = _command(sub, "validate", "the model against published studies it was and was not fitted to: table, counts, "
                                  "forest plot", "--only natural_history", "--out results/validation --force",
                 "--studies my_studies.csv --json")
    v.add_argument("--only", choices=("diagnosis", "treatment", "blood", "nerves", "natural_history", "costs"),
                   help="one area of the study table (default all)")
    v.add_argument("--studies", type=Path, action="append",
                   help="a study table (CSV, the columns of data/validation/studies.csv) instead of the shipped one; "
                        "repeat for several")
    v.add_argument("--draws", default="40", help="parameter draws per study (default 40)")
    v.add_argument("--people", default="300", help="synthetic people per study population (default 300)")
    v.add_argument("--seed", default=str(SEED), help=f"random seed (default {SEED})")
    v.add_argument("--out", type=Path, help="write results.csv, report.md and forest.png into this folder (replaced whole)")
    v.add_argument("--force", action="store_true", help="replace an earlier result set there")
    v.add_argument("--json", action="store_true", help="print the counts and every row as JSON")

    p = _command(sub, "compare", "compare treatment strategies across a population: costs, QALYs, ICERs, CEAC, EVPI",
                 "--strategies oral_1mg,uk_im_hydroxo,no_treatment --people 2000",
                 "--strategies oral_1mg,uk_im_hydroxo --reference oral_1mg --out results --force")
    p.add_argument("--strategies", required=True,
                   help="comma-separated strategy presets or TOML/JSON files (see 'b12sim strategies')")
    p.add_argument("--people", default="1000", help="synthetic people found by a low serum B12 (default 1000)")
    p.add_argument("--cohort", type=Path, help="your own cohort CSV (age, cause, labs...) instead of --people")
    p.add_argument("--draws", default=str(DRAWS["compare"]), help=f"posterior draws (default {DRAWS['compare']})")
    _option(p, "--horizon-days", "--days", default="365", help="days simulated (default 365)")
    p.add_argument("--seed", default=str(SEED), help=f"random seed (default {SEED})")
    p.add_argument("--reference", help="comparator of the ICER table and the CE plane (default: the least costly)")
    p.add_argument("--wtp", default="20000,50000", help="willingness to pay per QALY for the report (default 20000,50000)")
    p.add_argument("--discount-costs", help="annual discount rate of costs (default 0.015, CADTH)")
    p.add_argument("--discount-qalys", help="annual discount rate of QALYs (default 0.015, CADTH)")
    p.add_argument("--scheduler", help="Dask: local, local:N (N workers on this machine) or a scheduler address")
    p.add_argument("--out", type=Path, help="folder for CSV tables, PNG figures and outcomes.nc, written whole "
                                            "(a new folder, or one holding only an earlier result set)")
    p.add_argument("--force", action="store_true", help="replace the result set in --out")
    p.add_argument("--json", action="store_true", help="print the tables as one JSON object")

    _command(sub, "strategies", "list the policy strategy presets")
    _command(sub, "regimens", "list the regimen presets")

    m = _command(sub, "demo", "diagnose the example patients, simulate, compare, decide and write figures",
                 "--figures figures")
    m.add_argument("--figures", type=Path, default=Path("figures"), help="folder for the figures")
    return ap


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:  # bare 'b12sim': what it can do
        parser.print_help(sys.stderr)
        return 2
    args.renamed = getattr(args, "renamed", {})
    try:
        rc = {"diagnose": _diagnose, "simulate": _simulate, "decide": _decide, "calibrate": _calibrate, "validate": _validate, "compare": _compare,
              "strategies": _strategies, "regimens": _regimens, "demo": _demo}[args.command](args)
        for dest, old in args.renamed.items():  # after the run, so that a refusal stays one error line
            print(f"warning: {old} is deprecated; use --{dest.replace('_', '-')}", file=sys.stderr)
        return rc
    except (InputError, FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError, PermissionError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of stdout has gone (``| head -1``): nothing more to say to it
        _drop_stdout()
        return BROKEN_PIPE
    except Exception as e:  # a bug, not the user's fault: still one line, with a way to see more
        if os.environ.get("B12SIM_DEBUG"):
            raise
        print(f"error: internal error ({type(e).__name__}: {e}); please report it, "
              "and set B12SIM_DEBUG=1 to see the traceback", file=sys.stderr)
        return 1


def _drop_stdout() -> None:
    """Point stdout at the null device, so that Python's flush at exit does not fail on the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout is not a file (a test's capture)
        pass


@contextlib.contextmanager
def _warnings_to_stderr(limit: int = 20):
    """Print warnings raised inside the block as ``warning:`` lines (at most ``limit``)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught[:limit]:
        print(f"warning: {w.message}", file=sys.stderr)
    if len(caught) > limit:
        print(f"warning: ... and {len(caught) - limit} more warnings", file=sys.stderr)


def _diagnose(args) -> int:
    patient = _patient(args)
    if args.draws is not None:
        from b12sim import posterior

        post = posterior.load_posterior("markers")["posterior"]
        args.draws = _whole_option("--draws", args.draws, 1, post.sizes["chain"] * post.sizes["draw"])
    if args.csv is not None:
        if patient:
            raise InputError("--csv", str(args.csv), "a file alone, without per-patient options such as --b12")
        return _diagnose_csv(args)
    if args.out is not None:
        raise InputError("--out", str(args.out), "only together with --csv")
    from b12sim.diagnosis import diagnose

    with _warnings_to_stderr():
        res = diagnose(draws=args.draws, **patient)
    print(json.dumps(res.to_dict(), indent=2) if args.json else res.report())
    return 0


def _diagnose_csv(args) -> int:
    from b12sim.diagnosis import diagnose
    from b12sim.io import check_writable, write_csv
    from b12sim.tables import check_not_input, read

    table = read(args.csv, field="--csv", what="patient")  # indexed by spreadsheet row (header = row 1)
    if args.out is not None:
        if args.json:
            raise InputError("--json", True, "only without --out (--out always writes CSV)")
        if args.out.is_dir():
            raise InputError("--out", str(args.out), "a file name, not a folder")
        check_not_input(args.out, [args.csv], "--out")
        if args.out.exists() and not args.force:
            raise FileExistsError(f"{args.out} exists; add --force to replace it")
        _writable("--out", args.out, "a file name in a folder you can write to", lambda: check_writable(args.out))
    with _warnings_to_stderr():
        out = diagnose(table, draws=args.draws, explain=not args.no_explain, progress=len(table) > 10_000)
    bad = out[out["error"] != ""]
    if len(bad):
        print(f"{len(bad)} of {len(out)} rows could not be scored (see the 'error' column; "
              "rows numbered as in a spreadsheet, header = row 1):", file=sys.stderr)
        for i, msg in bad["error"].head(10).items():
            print(f"  row {i}: {msg}", file=sys.stderr)
        if len(bad) > 10:
            print(f"  ... and {len(bad) - 10} more", file=sys.stderr)
    if args.out is None:
        if args.json:
            print(out.to_json(orient="records"))
        else:
            out.to_csv(sys.stdout, index=False)
    else:
        with _warnings_to_stderr():  # says so if a killed run's temp is removed
            write_csv(out, args.out, overwrite=args.force)
        print(f"scored {len(out) - len(bad)} of {len(out)} rows -> {args.out}", file=sys.stderr)
    return 0


def _whole_option(name: str, raw: str, lo: int, hi: int) -> int:
    """Option text read as a number (``"30"``, ``"1e3"``; ints exactly), then :func:`b12sim.validation.whole`."""
    try:
        v = int(raw)
    except ValueError:
        try:
            v = float(raw)
        except ValueError:
            v = raw  # not a number: refused by whole() with the usual message
    return whole(name, v, lo, hi)


def _seed(raw: str) -> int:
    """``--seed`` read exactly, digits only (a float such as ``1e16`` would round above 2**53)."""
    try:
        return whole("--seed", int(raw), 0, MAX_SEED)
    except ValueError:
        raise InputError("--seed", raw, f"a whole number from 0 to {MAX_SEED:,}, written in digits") from None


def _writable(field: str, path: Path, allowed: str, check) -> None:
    """Run ``check()`` (an :mod:`b12sim.io` check); an ``OSError`` it raises is refused as ``field``."""
    try:
        check()
    except OSError as e:
        raise InputError(field, str(path), allowed, str(e)) from None


def _check_plot(args) -> None:
    """Refuse a --plot target that could not be written, before any computation."""
    from b12sim.io import check_writable

    path = args.plot
    if path is None:
        return
    allowed = f"a file name ending in {', '.join(PLOT_FORMATS[:-1])} or {PLOT_FORMATS[-1]}"
    if path.suffix.lower() not in PLOT_FORMATS:
        raise InputError("--plot", str(path), allowed)
    if path.is_dir():
        raise InputError("--plot", str(path), allowed, "it is a folder")
    if path.exists() and not args.force:
        raise FileExistsError(f"{path} exists; pass --force to replace it")
    _writable("--plot", path, allowed + " in a folder you can write to", lambda: check_writable(path))


def _validate(args) -> int:
    from b12sim.studies import validate
    from b12sim.studies.validate import MAX_DRAWS, MAX_PEOPLE, OUTPUT_FILES

    draws = _whole_option("--draws", args.draws, 2, MAX_DRAWS)
    people = _whole_option("--people", args.people, 10, MAX_PEOPLE)
    seed = _seed(args.seed)
    if args.out is not None:
        from b12sim.io import check_folder

        _writable("--out", args.out, "a new or empty folder, or one holding an earlier result set (with --force)",
                  lambda: check_folder(args.out, OUTPUT_FILES, overwrite=args.force))
    with _warnings_to_stderr():
        res = validate(args.only, studies=args.studies, draws=draws, people=people, seed=seed,
                       progress=not args.json and sys.stderr.isatty())
    if args.json:
        print(json.dumps({"counts": {k: {"inside": a, "rows": b} for k, (a, b) in res.counts.items()},
                          "draws": draws, "people": people, "seed": seed,
                          "rows": json.loads(res.results.to_json(orient="records")), "disclaimer": DISCLAIMER}))
    else:
        import pandas as pd

        with pd.option_context("display.width", 200, "display.max_colwidth", 60):
            print(res.table().drop(columns=["id", "area"]).to_string(index=False))
        from b12sim.studies.report import summary_line

        print(summary_line(res.results))
    if args.out is not None:
        import matplotlib

        matplotlib.use("Agg")
        for path in res.save(args.out, overwrite=True):
            print(f"written: {path}", file=sys.stderr)
    return 0


def _simulate(args) -> int:
    from b12sim.regimens import MAX_DAY
    from b12sim.simulation import simulate
    from b12sim.simulation.simulate import MAX_DRAWS, per_day, summarise

    days = _whole_option(_flag(args, "horizon_days"), args.horizon_days, 1, MAX_DAY)
    delay = _whole_option(_flag(args, "delay_days"), args.delay_days, 0, MAX_DAY)
    draws = _whole_option("--draws", args.draws, 1, MAX_DRAWS)
    seed = _seed(args.seed)
    if delay >= days:
        raise InputError(_flag(args, "delay_days"), args.delay_days,
                         f"fewer days than the horizon {_flag(args, 'horizon_days')} {days}")
    _check_plot(args)
    patient = _patient(args)
    with _warnings_to_stderr():
        ds = simulate(patient, args.regimen, delay_days=delay, horizon_days=days, draws=draws, seed=seed)
    summ = summarise(ds)
    if args.plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        from b12sim import plots
        from b12sim.io import save_figure

        with _warnings_to_stderr():
            save_figure(plots.trajectories([ds], title=f"{ds.attrs['regimen']} from day {delay}"), args.plot)
    if args.json:
        print(json.dumps({"regimen": ds.attrs["regimen"], "schedule": ds.attrs["regimen_schedule"],
                          "delay_days": delay, "days": days, "draws": draws, "seed": seed,
                          "calibration": ds.attrs["calibration"], "summary": summ,
                          "outputs": per_day(ds), "disclaimer": DISCLAIMER}))
    else:
        print(_simulation_report(ds, summ, delay))
    return 0


def _simulation_report(ds, summ: dict, delay: int) -> str:
    def days(key):
        med, (lo, hi) = summ[f"day_{key}_normal"], summ[f"day_{key}_normal_interval"]
        share = summ[f"p_{key}_normal_reached"]
        if med is None:
            return "not reached within the horizon"
        return f"day {med:.0f} (95% {lo:.0f}-{hi:.0f}); reached in {share:.0%} of draws"

    lo, hi = summ["p_permanent_damage_interval"]
    severe = summ["p_residual_severe_interval"]
    lines = [
        f"b12sim simulation: {ds.attrs['regimen']} starting on day {delay}, horizon {ds.sizes['day'] - 1} days, "
        f"{ds.sizes['draw']} draws",
        f"  schedule (day 0 = first treatment day): {ds.attrs['regimen_schedule']}",
        f"  P(permanent nerve deficit) by the horizon: {summ['p_permanent_damage']:.1%} (95% {lo:.1%}-{hi:.1%}), "
        f"moderate-severe {summ['p_residual_severe']:.1%} (95% {severe[0]:.1%}-{severe[1]:.1%})",
        f"  Hb in the normal range (>= {float(ds['hb_normal'][0]):.0f} g/L) from: {days('hb')}",
        f"  MMA normal from: {days('mma')}",
        f"  serum B12 >= cut-off from: {days('b12')}",
    ]
    if "hb_at_day_42" in summ:
        a, b = summ["hb_at_day_42_interval"]
        lines.append(f"  Hb at day 42: {summ['hb_at_day_42']:.0f} g/L (95% {a:.0f}-{b:.0f})")
    lines += [f"  note: {ds.attrs['calibration']}", f"  {DISCLAIMER}"]
    return "\n".join(lines)


def _decide(args) -> int:
    from b12sim.decision import decide
    from b12sim.decision.decide import HORIZON_RANGE, MAX_DRAWS, MAX_WTP
    from b12sim.regimens import MAX_DAY

    kw = {"draws": _whole_option("--draws", args.draws, 1, MAX_DRAWS), "seed": _seed(args.seed)}
    if args.turnaround is not None:
        kw["turnaround"] = _whole_option("--turnaround", args.turnaround, 0, MAX_DAY)
    if args.horizon_days is not None:
        kw["horizon_days"] = _whole_option(_flag(args, "horizon_days"), args.horizon_days, *HORIZON_RANGE)
    if args.wtp is not None:
        kw["wtp"] = _wtp(args.wtp, one=True, hi=MAX_WTP)[0]
    if args.tests:
        kw["tests"] = tuple(args.tests)
    _check_plot(args)
    patient = _patient(args)
    with _warnings_to_stderr():
        res = decide(patient, regimen=args.regimen, **kw)
    if args.plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        from b12sim.io import save_figure

        with _warnings_to_stderr():
            save_figure(res.plot_threshold(), args.plot)
    print(json.dumps(res.to_dict()) if args.json else res.report())
    return 0


def _calibrate(args) -> int:
    import importlib

    from b12sim import posterior
    from b12sim.calibration.report import report

    for k in ("draws", "tune", "chains"):
        if getattr(args, k) < 1:
            raise InputError(f"--{k}", getattr(args, k), "a positive integer")
    if args.seed is not None and args.seed < 0:
        raise InputError("--seed", args.seed, "a non-negative integer")
    names = list(posterior.NAMES) if args.model == "all" else [args.model]
    if args.out is not None and len(names) > 1:
        raise InputError("--out", str(args.out), f"only with one --model ({', '.join(posterior.NAMES)})")
    outs = [args.out or posterior.shipped_path(n) for n in names]
    for out in outs:
        if out.exists() and not args.force:
            raise FileExistsError(f"{out} exists; add --force to replace it")
    for name, out in zip(names, outs):  # in order: each fit reads the posteriors before it
        print(f"calibrating the {name} model", file=sys.stderr)
        calibrate = importlib.import_module(f"b12sim.calibration.{name}").calibrate
        seed = {} if args.seed is None else {"seed": args.seed}
        tree = calibrate(draws=args.draws, tune=args.tune, chains=args.chains, progress=True, **seed)
        posterior.write(tree, out, overwrite=True)
        posterior.load_posterior.cache_clear()
        print(report(tree))
        print(f"written: {out}")
    return 0


def _wtp(raw: str, *, one: bool = False, hi: float = math.inf) -> list[float]:
    """``--wtp``: finite numbers from 0 to ``hi`` (currency per QALY), comma-separated unless ``one``."""
    allowed = (f"a number from 0 to {hi:g}" if one else "comma-separated numbers >= 0") + " (currency per QALY)"
    try:
        return [number("--wtp", float(w), 0.0, hi, allowed) for w in ([raw] if one else raw.split(","))]
    except (ValueError, InputError):  # not a number, NaN, infinite or negative
        raise InputError("--wtp", raw, allowed) from None


def _compare(args) -> int:
    from b12sim.errors import did_you_mean
    from b12sim.io import check_folder
    from b12sim.policy.compare import MAX_DRAWS, OUTPUT_FILES, compare_strategies, discounting
    from b12sim.policy.strategies import load_strategy

    # every option is checked before the simulation starts
    names = [n.strip() for n in args.strategies.split(",") if n.strip()]
    if not names:
        raise InputError("--strategies", args.strategies, "one or more comma-separated strategy names or files")
    strategies = [load_strategy(n) for n in names]
    labels = [s.name for s in strategies]
    if args.reference is not None and args.reference not in labels:
        raise InputError("--reference", args.reference, "one of the strategies compared: " + ", ".join(labels),
                         did_you_mean(args.reference, labels))
    draws = _whole_option("--draws", args.draws, 1, MAX_DRAWS)
    days = _whole_option(_flag(args, "horizon_days"), args.horizon_days, 1, 36_525)
    seed = _seed(args.seed)
    wtp = _wtp(args.wtp)
    from b12sim.economics.discounting import MAX_DISCOUNT_RATE

    rates, allowed = {}, f"an annual rate from 0 to {MAX_DISCOUNT_RATE:g}"
    for flag, key in (("--discount-costs", "discount_costs"), ("--discount-qalys", "discount_qalys")):
        raw = getattr(args, key)
        if raw is not None:
            try:
                rates[key] = number(flag, float(raw), 0.0, MAX_DISCOUNT_RATE, allowed)
            except (ValueError, InputError):
                raise InputError(flag, raw, allowed) from None
    if args.cohort is not None:
        from b12sim.policy.population import check_cohort
        from b12sim.tables import read

        if "people" in getattr(args, "given", {}):
            raise InputError("--people", args.people, "only without --cohort (the cohort's rows are the people)")
        cohort = check_cohort(read(args.cohort, field="--cohort", what="person"))
    else:
        cohort = _whole_option("--people", args.people, 1, 10_000_000)
    if args.out is not None:
        from b12sim.tables import check_not_input

        check_not_input(args.out, [args.cohort], "--out")
        with _warnings_to_stderr():  # says so if temps of an interrupted run are removed
            _writable("--out", args.out, "a new folder, or one holding only an earlier result set (replaced with "
                      "--force), where you can write",
                      lambda: check_folder(args.out, OUTPUT_FILES, overwrite=args.force))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnitWarning)  # synthetic tails look like unit mix-ups by design
        res = compare_strategies(cohort, strategies, draws=draws, horizon_days=days, seed=seed,
                                 scheduler=args.scheduler, progress=not args.json, **rates)
    icers = res.icers(reference=args.reference)
    ceac = res.ceac(wtp)
    evpi = res.evpi(wtp)
    written = []
    if args.out is not None:
        with _warnings_to_stderr():
            written = res.save(args.out, overwrite=args.force, wtp=tuple(wtp), reference=args.reference)
    attrs = res.outcomes.attrs
    if args.json:
        def records(df):
            return json.loads(df.reset_index().to_json(orient="records"))

        print(json.dumps({"people": attrs["people"], "draws": draws, "horizon_days": days, "seed": seed,
                          "currency": attrs["currency"], "price_year": attrs["price_year"],
                          "summary": records(res.summary()), "icers": records(icers), "ceac": records(ceac),
                          "evpi": records(evpi), "files": [str(p) for p in written],
                          "calibration": attrs["calibration"], "disclaimer": DISCLAIMER}))
        return 0
    cur = f"{attrs['currency']} {attrs['price_year']}"
    fmt = lambda v: f"{v:,.3f}" if abs(v) < 10 else f"{v:,.0f}"  # noqa: E731
    print(f"b12sim strategy comparison: {attrs['people']:,} people, {draws} draws, {days} days, "
          f"costs in {cur} per person ({discounting(attrs)})")
    print(icers[["cost", "qaly", "status", "compared_with", "icer", "quadrant"]].to_string(float_format=fmt))
    print("\nP(cost-effective) at each willingness to pay:")
    print(ceac.to_string(float_format=lambda v: f"{v:.2f}"))
    print("\nEVPI per person:")
    print(evpi.to_string(float_format=fmt))
    for p in written:
        print(f"written: {p}")
    print(DISCLAIMER)
    return 0


def _strategies(args) -> int:
    from b12sim.policy.strategies import load_strategy, presets

    width = max(map(len, presets()))
    for name in presets():
        print(f"{name:<{width}}  {load_strategy(name).summary()}")
    return 0


def _regimens(args) -> int:
    from b12sim.regimens import preset_table

    table = preset_table()
    width = max(map(len, table["name"]))
    for row in table.itertuples():
        print(f"{row.name:<{width}}  {row.route:<5} {row.form:<17} {row.summary}")
    return 0


def _demo(args) -> int:
    from b12sim.demo import run

    return run(args.figures)


if __name__ == "__main__":
    sys.exit(main())
