"""Benchmarks of b12sim: speed and memory as ratios against baselines measured in the same run.

Run ``python -m benchmarks`` from the repository root (``--help`` for options). These
time things; the test suite never does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Row:
    """One measurement; ``ratio`` is ``value`` over the ``baseline`` measured in the same run."""

    metric: str
    value: float | str
    unit: str = ""
    ratio: float | None = None
    baseline: str = ""
    target: str = ""
    ok: bool | None = None


@dataclass
class Result:
    """The rows of one benchmark and the settings it ran with."""

    name: str
    settings: dict
    rows: list[Row] = field(default_factory=list)

