"""The command line's options: the parser of ``b12sim``, its subcommands and the options of one patient.

Usage mistakes are one ``error:`` line (exit 2); options are never abbreviated, one given twice
is refused, and a renamed option's old spelling still works (:func:`flag` tells which was typed).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from b12sim.defaults import DISCLAIMER, DRAWS, SEED, version

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


def flag(args, dest: str) -> str:
    """The option for ``dest`` as the user typed it (an old spelling if they used one)."""
    return args.renamed.get(dest, "--" + dest.replace("_", "-"))


def patient_options(p: argparse.ArgumentParser, *, sex_help: str | None = None) -> None:
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


def patient(args) -> dict:
    """The patient given by :func:`patient_options` (only the options set)."""
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


def parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="b12sim", description=f"b12sim {version()}. {DISCLAIMER}",
                 epilog="'b12sim COMMAND --help' describes a command's options, with examples.")
    ap.add_argument("-V", "--version", action="version", version=f"b12sim {version()}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    d = _command(sub, "diagnose", "probability of true B12 deficiency from lab results",
                 "--b12 '180 pg/mL' --mma 0.52 --age 72", "--csv patients.csv --out scored.csv")
    patient_options(d)
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
    patient_options(s, sex_help="female or male: sets the Hb normal range (default female)")
    s.add_argument("--draws", default=str(DRAWS["simulate"]), help=f"parameter draws (default {DRAWS['simulate']})")
    s.add_argument("--seed", default=str(SEED), help=f"random seed (default {SEED})")
    s.add_argument("--json", action="store_true", help="print per-day medians and 95%% intervals and a summary as JSON")
    s.add_argument("--plot", type=Path, help="write a trajectory figure here (.png, .pdf or .svg)")
    s.add_argument("--force", action="store_true", help="overwrite --plot if it exists")

    dc = _command(sub, "decide", "treat now, test first, or not treat: expected outcomes, thresholds, value of a test",
                  "--b12 '155 pmol/L' --age 72", "--b12 150 --age 80 --test mma --wtp 30000 --plot threshold.png")
    patient_options(dc, sex_help="female or male: Hb normal range and life expectancy (default female)")
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

    ac = _command(sub, "accuracy", "sensitivity, specificity, PPV, NPV and likelihood ratios of one marker at one "
                                   "cut-off against a reference, with posterior intervals, and its ROC curve",
                  "--marker b12 --cutoff 148 --reference 'mma>0.271' --population older",
                  "--marker holotc --cutoff 35 --age 65-90 --egfr 40-110 --plot roc.png")
    ac.add_argument("--marker", required=True, help="b12, holotc, mma or hcy")
    ac.add_argument("--cutoff", required=True, help="test positive below it (b12, holotc; pmol/L) or above it "
                                                    "(mma, hcy; umol/L)")
    ac.add_argument("--reference", default="mma>0.271", help="'mma>V' (V umol/L) or 'deficient' (default mma>0.271)")
    ac.add_argument("--population", default="adults", help="adults (30-90 y) or older (65-90 y) (default adults)")
    ac.add_argument("--age", help="age range LO-HI in years, or one age (replaces the population's)")
    ac.add_argument("--egfr", help="eGFR range LO-HI in mL/min/1.73m2, or one value (replaces the population's)")
    ac.add_argument("--draws", default="200", help="posterior draws (default 200)")
    ac.add_argument("--json", action="store_true", help="print one JSON object")
    ac.add_argument("--plot", type=Path, help="write the ROC figure here (.png, .pdf or .svg)")
    ac.add_argument("--force", action="store_true", help="overwrite --plot if it exists")

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
    p.add_argument("--people-per-draw", help="people simulated per draw: a number (the first of --people or "
                                             "--cohort) or 'auto' (a pilot picks people and draws for --target-mcse)")
    p.add_argument("--target-mcse", help="with --people-per-draw auto: Monte Carlo SE wanted of each strategy's "
                                         "expected INB against the first (currency per person)")
    p.add_argument("--target-wtp", default="50000", help="willingness to pay per QALY of that INB (default 50000)")
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
