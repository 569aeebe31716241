"""The table of published study results the model is checked against (``data/validation/*.csv``).

One row is one published result: the study and its citation, who it enrolled
(``select``, in the grammar of :mod:`b12sim.studies.populations`), what they received
(``arm``, against ``comparator`` for contrasts: regimen presets or ``none``), what it
measured (``outcome``, in the grammar of :mod:`b12sim.studies.outcomes`) at ``day``, the
published ``value`` with its interval (``lo``, ``hi``) and size ``n``, and whether the model
was fitted to it (``use``: ``calibration``) or not (``validation``).
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import pandas as pd

from b12sim import tables
from b12sim.errors import InputError
from b12sim.validation import number

COLUMNS = ("id", "area", "study", "citation", "population", "select", "arm", "comparator", "outcome", "day",
           "value", "lo", "hi", "n", "unit", "use", "flag", "note")
AREAS = ("diagnosis", "treatment", "blood", "nerves", "natural_history", "costs")
USES = ("calibration", "validation")
FLAGS = ("V", "S", "U", "D")
NUMBERS = {"day": (0, 36525), "value": (-math.inf, math.inf), "lo": (-math.inf, math.inf),
           "hi": (-math.inf, math.inf), "n": (1, 10**7)}
REQUIRED = ("id", "area", "study", "citation", "select", "arm", "outcome", "day", "value", "use", "flag")


def shipped() -> list:
    """The shipped study tables (``data/validation/*.csv``), in name order."""
    files = resources.files("b12sim._validation").iterdir()
    return sorted((f for f in files if f.name.endswith(".csv")), key=lambda f: f.name)


def load(paths=None) -> pd.DataFrame:
    """Checked study rows of ``paths`` (CSV files, read by :func:`b12sim.tables.read`; default
    :func:`shipped`), with ``file`` and ``row`` (spreadsheet row number, header = row 1) columns.
    Column names are matched ignoring case; other columns are ignored. Errors name the file, the
    row and the field."""
    sources = shipped() if paths is None else [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    frames = []
    for src in sources:
        df = tables.read(src, field="studies" if isinstance(src, Path) else "", what="study")
        df.columns = [tables.key(c) for c in df.columns]
        missing = [c for c in COLUMNS if c not in df.columns]
        if missing:
            raise InputError(f"{src.name} columns", ", ".join(missing), "the columns " + ", ".join(COLUMNS),
                             f"missing: {', '.join(missing)}")
        df = df[list(COLUMNS)].reset_index()  # the spreadsheet row numbers, as column "row"
        df.insert(0, "file", src.name)
        frames.append(_check(df))
    out = pd.concat(frames, ignore_index=True)
    dup = out["id"][out["id"].duplicated()]
    if len(dup):
        r = out.loc[dup.index[0]]
        raise InputError(f"{r['file']} row {r['row']} (id)", r["id"], "an id used once across the study tables")
    return out


def _number(where: str, c: str, text: str) -> float:
    lo, hi = NUMBERS[c]
    if not text and c not in ("day", "value"):
        return math.nan
    try:
        v = float(text)
    except ValueError:
        v = text  # refused below, as given
    return number(f"{where} ({c})", v, lo, hi)


def _check(df: pd.DataFrame) -> pd.DataFrame:
    from b12sim.regimens import load_regimen
    from b12sim.studies import outcomes, populations

    numbers = {c: [] for c in NUMBERS}
    for r in df.to_dict("records"):
        where = f"{r['file']} row {r['row']}"
        for c in REQUIRED:
            if not str(r[c]).strip():
                raise InputError(f"{where} ({c})", r[c], "a value (required)")
        for c in NUMBERS:
            numbers[c].append(_number(where, c, str(r[c]).strip()))
        for c, allowed in (("area", AREAS), ("use", USES), ("flag", FLAGS)):
            if r[c] not in allowed:
                raise InputError(f"{where} ({c})", r[c], "one of " + ", ".join(allowed))
        for c in ("arm", "comparator"):
            name = str(r[c]).strip()
            if name and name != "none":
                try:
                    load_regimen(name)
                except InputError as e:
                    raise InputError(f"{where} ({c})", name, e.allowed, e.hint) from None
        try:
            populations.parse(r["select"])
            out = outcomes.parse(r["outcome"])
        except InputError as e:
            raise InputError(f"{where} ({e.field})", e.value, e.allowed, e.hint) from None
        if out.contrast and not str(r["comparator"]).strip():
            raise InputError(f"{where} (comparator)", r["comparator"], f"a regimen or none for '{r['outcome']}'")
    for c, v in numbers.items():
        df[c] = v
    return df
