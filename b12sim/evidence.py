"""Published numbers, read from the evidence tables.

The tables live in ``data/evidence/*.csv`` (shipped in the wheel as the
``b12sim._evidence`` resource package). One row is one number with its unit,
population, citation and a flag:

* ``V`` verified in a source excerpt,
* ``S`` read on a secondary page quoting the primary,
* ``U`` unverified background knowledge or an assumption (use only with wide uncertainty),
* ``D`` derived by a stated computation from V/S rows.

Code never hard-codes a literature number: it calls :func:`value` or :func:`row`.
"""

from __future__ import annotations

import functools
from importlib import resources

import pandas as pd

COLUMNS = (
    "quantity", "value", "uncertainty", "uncertainty_type", "n",
    "unit", "population", "citation", "flag", "note",
)
FLAGS = {"V", "S", "U", "D"}


@functools.cache
def table() -> pd.DataFrame:
    """All evidence rows, indexed by ``quantity``, with a ``table`` column naming the file."""
    frames = []
    for res in sorted(resources.files("b12sim._evidence").iterdir(), key=lambda r: r.name):
        if not res.name.endswith(".csv"):
            continue
        with res.open("r", encoding="utf-8") as fh:
            df = pd.read_csv(fh, dtype={"quantity": str, "flag": str})
        missing = [c for c in COLUMNS if c not in df.columns]
        if missing:
            raise ValueError(f"evidence table {res.name} lacks columns {missing}")
        df["table"] = res.name.removesuffix(".csv")
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    dup = out["quantity"][out["quantity"].duplicated()].tolist()
    if dup:
        raise ValueError(f"evidence quantities defined twice: {dup}")
    bad = sorted(set(out["flag"]) - FLAGS)
    if bad:
        raise ValueError(f"evidence flags must be one of {sorted(FLAGS)}, found {bad}")
    return out.set_index("quantity")


def row(quantity: str) -> pd.Series:
    """The evidence row for ``quantity`` (KeyError names the missing quantity)."""
    t = table()
    if quantity not in t.index:
        raise KeyError(f"no evidence row named {quantity!r}")
    return t.loc[quantity]


def value(quantity: str) -> float:
    """The published (or stated-assumption) value of ``quantity``, as a float."""
    return float(row(quantity)["value"])


def uncertainty(quantity: str) -> float:
    """The ``uncertainty`` entry of ``quantity`` (NaN when none is given)."""
    return float(row(quantity)["uncertainty"])
