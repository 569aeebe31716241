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

from b12sim import units
from b12sim.errors import InputError
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
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


def canonical_name(name: str) -> tuple[str | None, str | None]:
    """Map a user's column or keyword (``"B12 (pg/mL)"``) to (field, unit-in-header)."""
    m = re.match(r"^\s*(.*?)\s*[\(\[]\s*([^\)\]]+)\s*[\)\]]\s*$", str(name))
    base, unit = (m.group(1), m.group(2)) if m else (str(name), None)
    key = re.sub(r"[^a-z0-9]+", "_", base.strip().lower()).strip("_")
    key = ALIASES.get(key, key)
    return (key if key in FIELDS else None), unit


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
        out[f] = units.parse(f, raw, units_by_field.get(f))
    for f in RISKS:
        out[f] = _flag(f, values.get(f))
    if math.isnan(out["age"]):
        raise InputError("age", values.get("age"), units.quantity("age").allowed(), "age is required")
    if all(math.isnan(out[m]) for m in MARKERS):
        raise InputError("markers", None, f"at least one of {', '.join(MARKERS)}")
    return out


def from_kwargs(kwargs: dict) -> dict:
    """Validate keyword arguments of :func:`b12sim.diagnose` for one patient."""
    values, unit_of = {}, {}
    for k, v in kwargs.items():
        field, unit = canonical_name(k)
        if field is None:
            raise InputError(k, v, f"a keyword among {', '.join(FIELDS)}")
        values[field] = v
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
        raise InputError("table", type(df).__name__, "a pandas DataFrame")
    col_of, unit_of, unused = {}, {}, []
    for col in df.columns:
        field, unit = canonical_name(col)
        if field is None:
            base = str(col).lower()
            if base.endswith("_unit") and canonical_name(base[:-5])[0] in MARKERS + COVARIATES:
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
    unit_cols = {f: c for c in df.columns for f in MARKERS + COVARIATES if str(c).lower() == f"{f}_unit"}
    rows, errors = [], []
    blank = {f: math.nan for f in MARKERS + COVARIATES} | {f: 0.0 for f in RISKS}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for idx, rec in zip(df.index, df.to_dict("records")):
            values = {f: rec[c] for f, c in col_of.items()}
            ufor = dict(unit_of)
            for f, c in unit_cols.items():
                if not _missing(rec[c]):
                    ufor[f] = str(rec[c])
            try:
                rows.append(parse_patient(values, ufor))
                errors.append("")
            except InputError as e:
                rows.append(dict(blank))
                errors.append(str(e))
    for w in caught:
        warnings.warn(w.message, w.category, stacklevel=2)
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
