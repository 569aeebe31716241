"""Command line: ``b12sim diagnose | simulate | decide | compare | calibrate | validate | accuracy | strategies |
regimens | demo`` (the options: :mod:`b12sim.cli_options`).

Bad input ends with one ``error:`` line naming the field and what is allowed, and
exit status 2; no traceback. Heavy libraries are imported inside each command.
Options named as in the Python API (``--horizon-days``, ``--delay-days``); the old
spellings still work and, after a successful run, print a deprecation warning.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import warnings
from pathlib import Path

from b12sim import cli_options as opts
from b12sim.defaults import DISCLAIMER, MAX_SEED
from b12sim.errors import InputError, UnitWarning
from b12sim.validation import number, whole

BROKEN_PIPE = 141  # exit status when stdout's reader has gone, as a shell shows a tool ended by SIGPIPE (128 + 13)
def main(argv: list[str] | None = None) -> int:
    parser = opts.parser()
    args = parser.parse_args(argv)
    if args.command is None:  # bare 'b12sim': what it can do
        parser.print_help(sys.stderr)
        return 2
    args.renamed = getattr(args, "renamed", {})
    with _interrupts() as interrupted:
        return _run(args, interrupted)


@contextlib.contextmanager
def _interrupts():
    """Record Ctrl-C (then raise KeyboardInterrupt as usual) while a command runs: a library that turns the
    interrupt into another error (an interrupted sampler returning NaN) still ends as interrupted."""
    import signal
    import threading

    seen: list[bool] = []
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return

    def handler(signum, frame):
        seen.append(True)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)


def _run(args, interrupted: list) -> int:
    try:
        rc = {"diagnose": _diagnose, "simulate": _simulate, "decide": _decide, "calibrate": _calibrate, "validate": _validate, "compare": _compare,
              "accuracy": _accuracy, "strategies": _strategies, "regimens": _regimens, "demo": _demo}[args.command](args)
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
        if interrupted:  # the interrupt surfaced as another error
            print("error: interrupted", file=sys.stderr)
            return 130
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
    patient = opts.patient(args)
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
    allowed = f"a file name ending in {', '.join(opts.PLOT_FORMATS[:-1])} or {opts.PLOT_FORMATS[-1]}"
    if path.suffix.lower() not in opts.PLOT_FORMATS:
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

    days = _whole_option(opts.flag(args, "horizon_days"), args.horizon_days, 1, MAX_DAY)
    delay = _whole_option(opts.flag(args, "delay_days"), args.delay_days, 0, MAX_DAY)
    draws = _whole_option("--draws", args.draws, 1, MAX_DRAWS)
    seed = _seed(args.seed)
    if delay >= days:
        raise InputError(opts.flag(args, "delay_days"), args.delay_days,
                         f"fewer days than the horizon {opts.flag(args, 'horizon_days')} {days}")
    _check_plot(args)
    patient = opts.patient(args)
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
        kw["horizon_days"] = _whole_option(opts.flag(args, "horizon_days"), args.horizon_days, *HORIZON_RANGE)
    if args.wtp is not None:
        kw["wtp"] = _wtp(args.wtp, one=True, hi=MAX_WTP)[0]
    if args.tests:
        kw["tests"] = tuple(args.tests)
    _check_plot(args)
    patient = opts.patient(args)
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


def _range_option(name: str, raw: str) -> float | tuple[float, float]:
    """``--age``/``--egfr``: one number or ``LO-HI`` (checked by the accuracy module)."""
    lo, sep, hi = raw.partition("-")
    try:
        return (float(lo), float(hi)) if sep else float(raw)
    except ValueError:
        raise InputError(name, raw, "a number or a range LO-HI such as 65-90") from None


def _accuracy(args) -> int:
    from b12sim.diagnosis.accuracy import POPULATIONS, accuracy

    if args.population not in POPULATIONS:
        raise InputError("--population", args.population, f"one of {', '.join(POPULATIONS)}")
    pop = dict(POPULATIONS[args.population])
    for key in ("age", "egfr"):
        if getattr(args, key) is not None:
            pop[key] = _range_option(f"--{key}", getattr(args, key))
    try:
        cutoff = float(args.cutoff)
    except ValueError:
        raise InputError("--cutoff", args.cutoff, "a number in the marker's canonical unit") from None
    _check_plot(args)
    res = accuracy(args.marker, cutoff, reference=args.reference, population=pop,
                   draws=_whole_option("--draws", args.draws, 1, 10_000))
    if args.plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        from b12sim.io import save_figure

        save_figure(res.plot_roc().figure, args.plot)
    if args.json:
        print(json.dumps({"marker": res.marker, "cutoff": res.cutoff, "reference": res.reference, "population": pop,
                          "statistics": res.summary.to_dict(orient="index"), "disclaimer": DISCLAIMER}))
    else:
        print(res)
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


def _precision(args) -> dict:
    """``--people-per-draw``, ``--target-mcse``, ``--target-wtp`` as compare_strategies arguments (ranges checked
    there, against the cohort)."""
    out = {}
    raw = args.people_per_draw
    if raw is not None:
        try:
            out["people_per_draw"] = "auto" if raw.strip() == "auto" else _whole_option("--people-per-draw", raw, 1,
                                                                                         10_000_000)
        except InputError:
            raise InputError("--people-per-draw", raw, "a whole number of people from 1 to 10,000,000, or auto") \
                from None
    for flag, key, lo, allowed in (("--target-mcse", "target_mcse", 0.0, "a number > 0 (currency per person)"),
                                   ("--target-wtp", "target_wtp", 0.0, "a number >= 0 (currency per QALY)")):
        value = getattr(args, key)
        if value is None:
            continue
        try:
            out[key] = number(flag, float(value), lo, math.inf, allowed, open_lo=key == "target_mcse")
        except (ValueError, InputError):
            raise InputError(flag, value, allowed) from None
    if out.get("people_per_draw") != "auto":
        if "target_mcse" in out:
            raise InputError("--target-mcse", args.target_mcse, "only with --people-per-draw auto")
        out.pop("target_wtp", None)
    elif "target_mcse" not in out:
        raise InputError("--target-mcse", None, "a number > 0 (currency per person) with --people-per-draw auto")
    return out


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
    days = _whole_option(opts.flag(args, "horizon_days"), args.horizon_days, 1, 36_525)
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
    precision = _precision(args)
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
                                 scheduler=args.scheduler, progress=not args.json, **rates, **precision)
    icers = res.icers(reference=args.reference)
    ceac = res.ceac(wtp)
    attrs = res.outcomes.attrs
    draws = attrs["draws"]
    within = "batches" in res.outcomes.children and res.outcomes["batches"].sizes["batch"] >= 2 and draws >= 2 \
        and len(labels) >= 2
    evpi = res.evpi(wtp, corrected=within)
    noise = res.noise(wtp) if within else None
    ceac_fixed = res.ceac(wtp, corrected=True) if within else None
    written = []
    if args.out is not None:
        with _warnings_to_stderr():
            written = res.save(args.out, overwrite=args.force, wtp=tuple(wtp), reference=args.reference)
    if args.json:
        def records(df):
            return json.loads(df.reset_index().to_json(orient="records"))

        print(json.dumps({"people": attrs["people"], "draws": draws, "horizon_days": days, "seed": seed,
                          "currency": attrs["currency"], "price_year": attrs["price_year"],
                          "summary": records(res.summary()), "icers": records(icers), "ceac": records(ceac),
                          "evpi": records(evpi), "files": [str(p) for p in written],
                          "noise": None if noise is None else records(noise),
                          "ceac_corrected": None if ceac_fixed is None else records(ceac_fixed),
                          "allocation": attrs.get("allocation"),
                          "calibration": attrs["calibration"], "disclaimer": DISCLAIMER}))
        return 0
    cur = f"{attrs['currency']} {attrs['price_year']}"
    fmt = lambda v: f"{v:,.3f}" if abs(v) < 10 else f"{v:,.0f}"  # noqa: E731
    print(f"b12sim strategy comparison: {attrs['people']:,} people, {draws} draws, {days} days, "
          f"costs in {cur} per person ({discounting(attrs)})")
    print(icers[["cost", "qaly", "status", "compared_with", "icer", "quadrant"]].to_string(float_format=fmt))
    print("\nP(cost-effective) at each willingness to pay:")
    print(ceac.to_string(float_format=lambda v: f"{v:.2f}"))
    if ceac_fixed is not None:
        print("\nP(cost-effective), within-draw noise taken out:")
        print(ceac_fixed.to_string(float_format=lambda v: f"{v:.2f}"))
    print("\nEVPI per person" + (" (raw, and corrected for within-draw noise):" if within else ":"))
    print(evpi.to_string(float_format=fmt))
    if noise is not None:
        print(f"\nINB against {labels[0]}: between-draw SD sigma_b, per-person within-draw SD sigma_w (sigma_wd "
              "differs between draws), reliability of a draw's mean, MCSE of the mean:")
        print(noise[["inb", "mcse", "sigma_b", "sigma_w", "sigma_wd", "reliability"]].to_string(float_format=fmt))
    if "allocation" in attrs:
        print(attrs["allocation"])
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


def console() -> None:
    """The ``b12sim`` command: :func:`main`, and after Ctrl-C an immediate exit 130 that leaves no worker
    process behind (a Dask worker busy in a kernel call is killed; exit hooks that would wait for it are
    skipped; result sets are already whole, see :mod:`b12sim.io`)."""
    rc = main()
    if rc == 130:
        import multiprocessing

        for child in multiprocessing.active_children():
            child.kill()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    sys.exit(rc)


if __name__ == "__main__":
    console()
