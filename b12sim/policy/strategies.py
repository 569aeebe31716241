"""Treatment strategies: who gets which regimen, test steps, switching, monitoring.

A :class:`Strategy` maps each person (cause, nerve involvement) to a regimen
preset or file, optionally confirms with MMA before treating, optionally switches
oral non-responders to IM, and counts yearly monitoring. Presets live in
``b12sim/presets/strategies.toml``; a user can pass a name, a TOML/JSON file or a
dict with the same keys.
"""

from __future__ import annotations

import functools
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from b12sim.errors import InputError, did_you_mean
from b12sim.economics import TESTS
from b12sim.policy.population import CAUSES
from b12sim.regimens import Regimen, load_regimen, read_file
from b12sim.validation import number, whole

KEYS = ("description", "source", "flag", "note", "regimen", "neuro_regimen", "by_cause", "confirm_test",
        "treat_threshold", "test_turnaround_days", "delay_days", "switch_to", "switch_check_day", "monitoring")
CONFIRM_TESTS = ("none", "mma")
MAX_DAYS = 3650


@dataclass(frozen=True)
class Strategy:
    """One strategy (see the module doc and ``strategies.toml`` for the keys)."""

    name: str
    regimen: Regimen
    neuro_regimen: Regimen
    by_cause: dict[str, Regimen] = field(default_factory=dict)
    confirm_test: str = "none"
    treat_threshold: float = 0.5
    test_turnaround_days: int = 0
    delay_days: int = 0
    switch_to: Regimen | None = None
    switch_check_day: int = 90
    monitoring: dict[str, float] = field(default_factory=dict)
    description: str = ""
    source: str = ""
    flag: str = "U"
    note: str = ""

    @classmethod
    def from_dict(cls, d: dict, name: str) -> Strategy:
        """A strategy from its file form (regimens by preset name or file path)."""
        if not isinstance(d, dict):
            raise InputError(f"strategy {name}", d, "a table with keys " + ", ".join(KEYS))
        unknown = [k for k in d if k not in KEYS]
        if unknown:
            raise InputError(f"strategy {name}: {unknown[0]}", d[unknown[0]], "keys " + ", ".join(KEYS),
                             did_you_mean(unknown[0], KEYS))
        if "regimen" not in d:
            raise InputError(f"strategy {name}: regimen", None, "a regimen preset name or file")

        def reg(key, v):
            try:
                return load_regimen(v)
            except InputError as e:
                raise InputError(f"strategy {name}: {key}", e.value, e.allowed, e.hint) from None

        base = reg("regimen", d["regimen"])
        by_cause = d.get("by_cause", {})
        if not isinstance(by_cause, dict):
            raise InputError(f"strategy {name}: by_cause", by_cause, "a table cause -> regimen")
        for c in by_cause:
            if c not in CAUSES:
                raise InputError(f"strategy {name}: by_cause.{c}", by_cause[c], "causes " + ", ".join(CAUSES))
        confirm = d.get("confirm_test", "none")
        if confirm not in CONFIRM_TESTS:
            raise InputError(f"strategy {name}: confirm_test", confirm, ", ".join(CONFIRM_TESTS))
        thr = number(f"strategy {name}: treat_threshold", d.get("treat_threshold", 0.5), 0.0,
                     math.nextafter(1.0, 0.0), "a probability above 0 and below 1", open_lo=True)
        mon = d.get("monitoring", {})
        if not isinstance(mon, dict):
            raise InputError(f"strategy {name}: monitoring", mon, "a table test or physician_visits -> count per year")
        for k, v in mon.items():
            if k not in (*TESTS, "physician_visits"):
                raise InputError(f"strategy {name}: monitoring.{k}", v, "tests " + ", ".join(TESTS) + " or physician_visits")
            number(f"strategy {name}: monitoring.{k}", v, 0.0, 365.0, "a count per year from 0 to 365")
        switch = d.get("switch_to")
        try:
            days = {k: whole(k, d.get(k, dflt), lo, MAX_DAYS) for k, dflt, lo in
                    (("test_turnaround_days", 0, 0), ("delay_days", 0, 0), ("switch_check_day", 90, 1))}
        except InputError as e:
            raise InputError(f"strategy {name}: {e.field}", e.value, e.allowed) from None
        return cls(name=name, regimen=base, neuro_regimen=reg("neuro_regimen", d["neuro_regimen"])
                   if "neuro_regimen" in d else base,
                   by_cause={c: reg(f"by_cause.{c}", v) for c, v in by_cause.items()},
                   confirm_test=confirm, treat_threshold=thr,
                   switch_to=reg("switch_to", switch) if switch else None,
                   monitoring={k: float(v) for k, v in mon.items()}, description=str(d.get("description", "")),
                   source=str(d.get("source", "")), flag=str(d.get("flag", "U")), note=str(d.get("note", "")),
                   **days)

    def regimen_for(self, cause: str, neuro: bool) -> Regimen:
        """The regimen a person with ``cause`` and nerve involvement ``neuro`` receives."""
        if neuro:
            return self.neuro_regimen
        return self.by_cause.get(cause, self.regimen)

    def summary(self) -> str:
        """One line: regimens and steps."""
        parts = [f"{self.regimen.name}"]
        if self.neuro_regimen is not self.regimen:
            parts.append(f"nerve involvement: {self.neuro_regimen.name}")
        parts += [f"{c}: {r.name}" for c, r in self.by_cause.items()]
        if self.confirm_test != "none":
            parts.append(f"confirm with {self.confirm_test.upper()} (treat if P >= {self.treat_threshold:g}, "
                         f"result after {self.test_turnaround_days} d)")
        if self.delay_days:
            parts.append(f"first dose after {self.delay_days} d")
        if self.switch_to is not None:
            parts.append(f"switch to {self.switch_to.name} if serum B12 still low on day {self.switch_check_day}")
        return "; ".join(parts)


@functools.cache
def _presets() -> dict[str, dict]:
    text = (resources.files("b12sim") / "presets" / "strategies.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def presets() -> tuple[str, ...]:
    """Names of the shipped strategy presets."""
    return tuple(_presets())


def load_strategy(spec) -> Strategy:
    """A :class:`Strategy` from a preset name, a ``.toml``/``.json`` file, a dict (with ``name``) or itself."""
    if isinstance(spec, Strategy):
        return spec
    if isinstance(spec, dict):
        d = dict(spec)
        name = d.pop("name", None)
        if not isinstance(name, str) or not name.strip():
            raise InputError("strategy name", name, "a non-empty name in the dict's 'name' key")
        return Strategy.from_dict(d, name)
    if isinstance(spec, str) and spec in _presets():
        return Strategy.from_dict(_presets()[spec], spec)
    if isinstance(spec, (str, Path)) and str(spec).lower().endswith((".toml", ".json")):
        return Strategy.from_dict(read_file(Path(spec), "strategy"), Path(spec).stem)
    raise InputError("strategy", spec, "a preset (" + ", ".join(presets()) + "), a .toml/.json file or a dict",
                     did_you_mean(spec, presets()))
