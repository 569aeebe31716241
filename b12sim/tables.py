"""The one reader of the CSV tables a user gives b12sim: patients, cohorts, study rows.

- Text is UTF-8 (a byte-order mark is dropped); anything else is refused, naming the row.
- The delimiter is ``,``, ``;`` or tab: whichever the header row holds most of (outside quotes).
- The header is row 1. Every column has a name, used once; names are compared ignoring case and
  surrounding spaces, so ``Age`` and ``age`` are the same column. A delimiter at the end of the
  header leaves a column without a name and is refused.
- Rows are numbered as a spreadsheet shows them (header = row 1). Blank rows (empty, or only
  delimiters) count in that numbering but hold no data and are dropped. The table's index holds
  these numbers (named ``row``), so every message can name the row the user sees.
- A row with fewer cells than the header is padded with empty cells; one with more is refused
  unless the extra cells are empty.

Cells are strings (``""`` when empty): each consumer reads its columns with its own rules
(units in headers such as ``b12 (pg/mL)`` by :func:`split_unit`).
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from b12sim.errors import InputError

DELIMITERS = (",", ";", "\t")
_NAMES = {",": "','", ";": "';'", "\t": "tab"}


def split_unit(name) -> tuple[str, str | None]:
    """A header split into its name and the unit in brackets at its end: ``"B12 (pg/mL)"`` -> ``("B12", "pg/mL")``."""
    m = re.match(r"^\s*(.*?)\s*[\(\[]\s*([^\)\]]+?)\s*[\)\]]\s*$", str(name))
    return (m.group(1), m.group(2)) if m else (str(name).strip(), None)


def key(name) -> str:
    """A header as a key: lower case, runs of other characters as one ``_`` (``"Serum B12"`` -> ``"serum_b12"``)."""
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


def plain(value):
    """``value`` as Python shows it to a user (a numpy scalar as its Python number, not ``np.float64(1.5)``)."""
    return value.item() if isinstance(value, np.generic) else value


def source(table: pd.DataFrame, default: str) -> str:
    """How messages name the file ``table`` was read from (``default`` for a table made in Python)."""
    return table.attrs.get("source") or default


def _sniff(line: str) -> str:
    """The delimiter the header line holds most of outside quotes (``,`` when it holds none)."""
    counts, quoted = dict.fromkeys(DELIMITERS, 0), False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    return max(DELIMITERS, key=lambda d: counts[d])  # max keeps the first of a tie: ','


def _text(data: bytes, field: str, path: str, allowed: str) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data:
        raise InputError(field, path, allowed, "it is UTF-16 or binary, not UTF-8 text; save it as 'CSV UTF-8'")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        row = data[:e.start].count(b"\n") + 1
        raise InputError(field, path, allowed, f"not UTF-8 text (byte 0x{data[e.start]:02x} in row {row}); "
                                               "save it as 'CSV UTF-8'") from None


def read(path, *, field: str = "", what: str = "data") -> pd.DataFrame:
    """The table in CSV file ``path`` (a path or an importlib resource), checked as the module says.

    ``field`` names the input in messages (``"--csv"``; the file's name is added); ``what`` names
    a row (``"patient"``: "the file has no patient rows"). Raises :class:`InputError`. The table's
    ``attrs["source"]`` is how messages name the file (``"--csv in.csv"``)."""
    name = getattr(path, "name", str(path))
    label = " ".join(s for s in (field, name) if s)
    allowed = f"a CSV file (UTF-8 text) with a header row and one row per {what}"
    shown = str(path)
    if isinstance(path, (str, os.PathLike)):
        path = Path(path)
        if path.is_dir():
            raise InputError(field or name, shown, allowed, "it is a folder, not a file")
        if not path.is_file():
            raise InputError(field or name, shown, allowed, "no such file")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(field or name, shown, allowed, f"cannot be read ({e.strerror or e})") from None
    text = _text(data, field or name, shown, allowed)
    if not text.strip():
        raise InputError(field or name, shown, allowed, "the file is empty; its first row must be the header")
    delimiter = _sniff(text.split("\n", 1)[0])
    records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows, numbers, header, number = [], [], None, 0
    try:
        for number, cells in enumerate(records, start=1):
            if header is None:
                header = _header(cells, label, delimiter)
            elif any(c.strip() for c in cells):
                if len(cells) > len(header):
                    if any(c.strip() for c in cells[len(header):]):
                        raise InputError(f"{label} row {number}", f"{len(cells)} cells", f"at most {len(header)} "
                                         f"cells, one per column of the header ({_NAMES[delimiter]}-separated)")
                    cells = cells[:len(header)]
                rows.append(cells + [""] * (len(header) - len(cells)))
                numbers.append(number)
    except csv.Error as e:
        raise InputError(f"{label} row {number + 1}", shown, allowed, f"{e}; check the quotes") from None
    if not rows:
        raise InputError(field or name, shown, allowed, f"the file has no {what} rows below its header")
    table = pd.DataFrame(rows, columns=header, index=pd.Index(numbers, name="row"), dtype=object)
    table.attrs["source"] = label
    return table


def _header(cells: list[str], label: str, delimiter: str) -> list[str]:
    """The column names of row 1: each present and used once (ignoring case and surrounding spaces)."""
    if not any(c.strip() for c in cells):
        raise InputError(f"{label} row 1", "an empty row", "the column names (header) in row 1")
    seen = {}
    for k, c in enumerate(cells, start=1):
        where = f"{label} row 1, column {k}"
        if not c.strip():
            hint = (f"the header ends in a {_NAMES[delimiter]}, which makes one more column without a name; remove it"
                    if k == len(cells) else "give the column a name, or remove it")
            raise InputError(where, c, "a name for every column", hint)
        norm = c.strip().casefold()
        if norm in seen:
            raise InputError(where, c, "each column name once",
                             f"columns {seen[norm]} and {k} are both {cells[seen[norm] - 1]!r}")
        seen[norm] = k
    return cells


def check_not_input(out, inputs, field: str) -> None:
    """Refuse ``out`` (a file or folder to write) when it is, or holds, one of the ``inputs`` files."""
    out = Path(out).resolve()
    for src in inputs:
        if src is None:
            continue
        src = Path(src).resolve()
        same = out.exists() and src.exists() and os.path.samefile(out, src)  # also a hard link
        if same or src == out or out in src.parents:
            raise InputError(field, str(out), "a place other than the input files",
                             f"writing there would replace the input {src.name}")
