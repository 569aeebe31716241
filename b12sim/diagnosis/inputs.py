"""Patient inputs for diagnosis: keywords or a table, checked and put in canonical units.

A patient needs ``age`` and at least one marker. Missing markers are allowed (the
model integrates over them); a missing ``egfr`` is read as normal kidney function
(no renal adjustment) and flagged in the result. Risk factors are yes/no flags.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pandas as pd

from b12sim import tables, units
from b12sim.errors import ContradictionWarning, InputError, did_you_mean
from b12sim.physiology import markers as mk

MARKERS = mk.MARKERS
COVARIATES = ("age", "egfr")
RISKS = mk.RISKS
FIELDS = MARKERS + COVARIATES + RISKS

ALIASES = {
    "serum_b12": "b12", "vitamin_b12": "b12", "cobalamin": "b12", "b_12": "b12",
    "holo_tc": "holotc", "holotranscobalamin": "holotc", "active_b12": "holotc",
    "methylmalonic_acid": "mma",
    "thcy": "hcy", "homocysteine": "hcy", "total_homocysteine": "hcy",
    "serum_folate": "folate", "folic_acid_level": "folate",
    "gfr": "egfr",
    "pa": "pernicious_anaemia", "pernicious_anemia": "pernicious_anaemia",
    "ileal": "ileal_resection", "gastric_bypass": "bariatric", "bariatric_surgery": "bariatric",
    "vegetarian_vegan": "vegan", "proton_pump_inhibitor": "ppi",
}
MAX_ROW_WARNINGS = 5  # per table; the rest are summarised in one warning
HOLOTC_SHARE_MIN = 0.01  # holoTC below 1% of serum B12 is taken as a contradiction (about 25% is usual)
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}
_NA_WORDS = {"na", "n/a", "nan", "none", "null", "missing", "-", "--", "?", "nd", "n.d."}
_FIELD_NAMES = FIELDS + tuple(ALIASES)


def canonical_name(name: str) -> tuple[str | None, str | None]:
    """Map a user's column or keyword (``"B12 (pg/mL)"``) to (field, unit-in-header)."""
    base, unit = tables.split_unit(name)
    key = tables.key(base)
    key = ALIASES.get(key, key)
    return (key if key in FIELDS else None), unit


def unit_column(name) -> str | None:
    """The field whose unit a column such as ``"b12_unit"`` or ``"Serum B12 units"`` gives."""
    key = tables.key(name)
    for suffix in ("_unit", "_units"):
        if key.endswith(suffix):
            field, unit = canonical_name(key[: -len(suffix)])
            if field in MARKERS + COVARIATES and unit is None:
                return field
    return None


def _parse_value(field: str, raw, unit: str | None) -> float:
    """:func:`units.parse` with hints for the usual spreadsheet slips."""
    try:
        return units.parse(field, raw, unit)
    except InputError as e:
        if not isinstance(raw, str) or e.hint.startswith("value carries unit"):
            raise
        s = raw.strip()
        hint = ""
        if s.lower() in _NA_WORDS:
            hint = "leave it empty (or None) for a marker that was not measured"
        elif s[:1] in "<>≤≥":
            hint = "a censored result such as '<50' cannot be used; give a number, or leave it empty"
        elif re.match(r"^\s*\d+,\d", s):
            hint = "use a decimal point and no thousands separator, e.g. '0.42' or '1500'"
        if not hint:
            raise
        raise InputError(field, raw, units.quantity(field).allowed(), hint) from None


def _flag(field: str, raw) -> float:
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return 0.0
    if isinstance(raw, (bool, np.bool_)):
        return float(raw)
    if isinstance(raw, (int, float, np.integer, np.floating)) and raw in (0, 1):
        return float(raw)
    s = str(raw).strip().lower()
    if s in _TRUE:
        return 1.0
    if s in _FALSE:
        return 0.0
    raise InputError(field, raw, "yes/no (true/false, 1/0)")


def _missing(raw) -> bool:
    if raw is None:
        return True
    if isinstance(raw, str):
        return raw.strip() == ""
    try:
        return bool(pd.isna(raw))
    except (TypeError, ValueError):
        return False


def parse_patient(values: dict, units_by_field: dict | None = None) -> dict:
    """Check one patient's values; return canonical floats (NaN = missing) and flags.

    Raises :class:`InputError` for the first bad field.
    """
    units_by_field = units_by_field or {}
    out: dict[str, float] = {}
    for f in MARKERS + COVARIATES:
        raw = values.get(f)
        if _missing(raw):
            out[f] = math.nan
            continue
        if isinstance(raw, float) and not math.isfinite(raw):
            raise InputError(f, raw, units.quantity(f).allowed(), "not a finite number")
        out[f] = _parse_value(f, raw, units_by_field.get(f))
    for f in RISKS:
        out[f] = _flag(f, values.get(f))
    if math.isnan(out["age"]):
        raise InputError("age", values.get("age"), units.quantity("age").allowed(), "age is required")
    if all(math.isnan(out[m]) for m in MARKERS):
        raise InputError("markers", None, f"at least one of {', '.join(MARKERS)}")
    _check_holotc_share(out["b12"], out["holotc"])
    return out


def _check_holotc_share(b12: float, holotc: float) -> None:
    """Warn when holoTC (pmol/L) cannot be the part of serum B12 (pmol/L) it is: above it, or below
    :data:`HOLOTC_SHARE_MIN` of it (about a quarter at median stores, ``holotc_share_nexo``)."""
    if math.isnan(b12) or math.isnan(holotc):
        return
    if holotc > b12:
        warnings.warn(f"holotc={holotc:g} pmol/L is above b12={b12:g} pmol/L, though holoTC is part of serum B12: "
                      "check the values and units; scored as given", ContradictionWarning, stacklevel=3)
    elif holotc < HOLOTC_SHARE_MIN * b12:
        warnings.warn(f"holotc={holotc:g} pmol/L is {100 * holotc / b12:.2g}% of b12={b12:g} pmol/L (usually about a "
                      "quarter): check the values and units; scored as given", ContradictionWarning, stacklevel=3)


def from_kwargs(kwargs: dict) -> dict:
    """Validate keyword arguments of :func:`b12sim.diagnose` for one patient.

    Only ``None`` (or leaving the keyword out) means "not measured": an explicit NaN
    or empty string is refused, since it usually means a value was lost upstream.
    """
    values, unit_of, given_as = {}, {}, {}
    for k, v in kwargs.items():
        field, unit = canonical_name(k)
        if field is None:
            raise InputError(k, v, f"a keyword among {', '.join(FIELDS)}",
                             did_you_mean(tables.key(k), _FIELD_NAMES, cutoff=0.75))
        if field in values:
            raise InputError(k, v, "each field once",
                             f"{k!r} and {given_as[field]!r} both mean {field}")
        if v is not None and _missing(v):
            allowed = units.quantity(field).allowed() if field in MARKERS + COVARIATES else "yes/no (true/false, 1/0)"
            raise InputError(field if k == field else k, v, allowed,
                             "empty or not a number; leave the keyword out or pass None for a value not measured")
        values[field] = v
        given_as[field] = k
        if unit:
            unit_of[field] = unit
    return parse_patient(values, unit_of)


def from_frame(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """Validate a table of patients row by row.

    Returns the canonical values (one row per input row, NaN where missing or bad),
    the error message per row (empty string when the row is fine), and the input
    columns that b12sim does not use (kept, passed through to the output).
    Raises :class:`InputError` only when the table as a whole is unusable.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError("table", type(df).__name__, "a pandas DataFrame or the path of a CSV file")
    col_of, unit_of, unused, unit_cols = {}, {}, [], {}
    for col in df.columns:
        field, unit = canonical_name(col)
        if field is None:
            ufield = unit_column(col)
            if ufield is not None:
                if ufield in unit_cols:
                    raise InputError("columns", list(df.columns), "one unit column per field",
                                     f"{col!r} and {unit_cols[ufield]!r} both give the unit of {ufield}")
                unit_cols[ufield] = col
                continue
            unused.append(str(col))
            continue
        if field in col_of:
            raise InputError("columns", list(df.columns), "each field once", f"{col!r} and {col_of[field]!r} both mean {field}")
        col_of[field] = col
        if unit:
            unit_of[field] = unit
    if "age" not in col_of:
        raise InputError("columns", list(df.columns), "a table with an 'age' column")
    if not any(m in col_of for m in MARKERS):
        raise InputError("columns", list(df.columns), f"at least one marker column among {', '.join(MARKERS)}")
    rows, errors, caught = [], [], []
    blank = {f: math.nan for f in MARKERS + COVARIATES} | {f: 0.0 for f in RISKS}
    # positional access: works with duplicate or non-string column labels
    pos = {c: i for i, c in enumerate(df.columns)}
    records = df.itertuples(index=False, name=None)
    for idx, rec in zip(df.index, records):
        values = {f: rec[pos[c]] for f, c in col_of.items()}
        ufor = dict(unit_of)
        try:
            for f, c in unit_cols.items():
                u = rec[pos[c]]
                if _missing(u):
                    continue
                u = str(u).strip()
                if f in unit_of and units._norm_unit(u) != units._norm_unit(unit_of[f]):
                    raise InputError(str(c), u, f"the unit in the header of {col_of[f]!r} ({unit_of[f]})",
                                     "the header and the unit column disagree")
                ufor[f] = u
            with warnings.catch_warnings(record=True) as row_warnings:
                warnings.simplefilter("always")
                rows.append(parse_patient(values, ufor))
            errors.append("")
            caught += [(idx, w) for w in row_warnings]
        except InputError as e:
            rows.append(dict(blank))
            col = col_of.get(e.field)
            errors.append(str(e) if col is None or str(col) == e.field else f"{e} [column {str(col)!r}]")
    for idx, w in caught[:MAX_ROW_WARNINGS]:
        warnings.warn(f"row {idx}: {w.message}", w.category, stacklevel=2)
    if len(caught) > MAX_ROW_WARNINGS:
        rest = [str(i) for i, _ in caught[MAX_ROW_WARNINGS:]]
        warnings.warn(f"{len(rest)} more rows with unusual values (rows {', '.join(rest[:20])}"
                      f"{', ...' if len(rest) > 20 else ''}); they were scored as given",
                      caught[0][1].category, stacklevel=2)
    canon = pd.DataFrame(rows, index=df.index, columns=list(FIELDS))
    return canon, pd.Series(errors, index=df.index, name="error"), unused


def arrays(canon: pd.DataFrame):
    """Model arrays from canonical values: ln markers (N,5), centred age, renal term, risks (N,6)."""
    obs = np.log(canon[list(MARKERS)].to_numpy(float))
    egfr = canon["egfr"].to_numpy(float)
    egfr = np.where(np.isnan(egfr), mk.EGFR_REF, egfr)
    a, r = mk.covariates(canon["age"].to_numpy(float), egfr)
    risks = canon[list(RISKS)].to_numpy(float)
    return obs, a, r, risks
