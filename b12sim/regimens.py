"""Treatment regimens as dose events: presets, files, daily schedules, adherence.

A regimen is a list of phases that run one after another. A phase gives one dose
(``dose_ug`` for hydroxo-/cyanocobalamin, ``dose_mg`` for folic acid), a ``route``
(``"oral"`` or ``"im"``), a ``form`` and a schedule, either

* ``days = [0, 2, 4]``: days counted from the phase start; ``for_days`` optionally
  sets the phase length (default: last listed day + 1), or
* ``every_days = N`` with one of ``for_days = D`` (doses on days 0, N, 2N, ... < D),
  ``times = K`` (K doses; the phase lasts K*N days), ``until_day = X`` (absolute day,
  exclusive) or none of them: open-ended, "for life" (to the horizon), last phase only.

Day 0 is the first treatment day, so a trial's "day 1" is day 0 here. A phase
starts where the previous one ends (the day its next dose would have been due), or
at an absolute ``start_day`` that is not earlier. Presets write a month as 30 days.

Adherence is per regimen (:class:`Adherence`): ``p_take`` is the probability that each dose
day is kept (tablet taken, injection attended) and ``p_stop_per_year`` the hazard (1/year) of
stopping treatment altogether; :mod:`b12sim.economics.adherence` adds a person's own shares.

Doses come out per day on four channels: ``oral_ug`` (any oral cobalamin),
``im_hydroxo_ug``, ``im_cyano_ug`` and ``folic_acid_mg``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from b12sim.defaults import DAYS_PER_YEAR
from b12sim.errors import InputError, did_you_mean
from b12sim.validation import number, whole

CHANNELS = ("oral_ug", "im_hydroxo_ug", "im_cyano_ug", "folic_acid_mg")
ROUTES = ("oral", "im")
FORMS = ("hydroxocobalamin", "cyanocobalamin", "folic_acid")
FLAGS = ("V", "S", "U", "D")  # as in b12sim.evidence
MAX_DAY = 36_525  # 100 years
_MAX_DOSE = {"dose_ug": 100_000.0, "dose_mg": 100.0}
_PHASE_KEYS = ("dose_ug", "dose_mg", "route", "form", "days", "every_days",
               "for_days", "times", "until_day", "start_day")
_REGIMEN_KEYS = ("name", "description", "phases", "adherence", "source", "flag", "note")
_ADHERENCE_KEYS = ("p_take", "p_stop_per_year")


def _check_keys(d: dict, allowed: tuple[str, ...], where: str) -> None:
    for k in d:
        if k not in allowed:
            raise InputError(f"{where}{k}", d[k], "keys " + ", ".join(allowed), did_you_mean(k, allowed))


def _prefixed(e: InputError, prefix: str) -> InputError:
    return InputError(prefix + e.field, e.value, e.allowed, e.hint)


def _plain(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


@dataclass(frozen=True)
class Phase:
    """One dose (ug, or mg for folic acid), route and form on one schedule (days)."""

    route: str | None = None
    form: str | None = None
    dose_ug: float | None = None
    dose_mg: float | None = None
    days: tuple[int, ...] | None = None
    every_days: int | None = None
    for_days: int | None = None
    times: int | None = None
    until_day: int | None = None
    start_day: int | None = None

    def __post_init__(self):
        put = functools.partial(object.__setattr__, self)
        route = self.route.strip().lower() if isinstance(self.route, str) else self.route
        form = self.form.strip().lower() if isinstance(self.form, str) else self.form
        if route not in ROUTES:
            raise InputError("route", self.route, " or ".join(ROUTES))
        if form not in FORMS:
            raise InputError("form", self.form, ", ".join(FORMS))
        if form == "folic_acid" and route == "im":
            raise InputError("route", self.route, "oral (folic acid is modelled as oral only)")
        put("route", route)
        put("form", form)
        unit, other = ("dose_mg", "dose_ug") if form == "folic_acid" else ("dose_ug", "dose_mg")
        if getattr(self, other) is not None:
            raise InputError(other, getattr(self, other), f"{unit} for {form}",
                             "folic acid in mg, cobalamins in ug; 1 mg = 1000 ug")
        hi = _MAX_DOSE[unit]
        put(unit, number(unit, getattr(self, unit), 0, hi, f"> 0 and <= {hi:g} {unit[5:]}",
                          open_lo=True))

        if (self.days is None) == (self.every_days is None):
            raise InputError("every_days", self.every_days,
                             "exactly one schedule: days = [...] or every_days = N")
        if self.days is not None:
            if not isinstance(self.days, (list, tuple)) or not self.days:
                raise InputError("days", self.days, "a non-empty list of whole days >= 0")
            days = tuple(whole(f"days[{j}]", d, 0, MAX_DAY) for j, d in enumerate(self.days))
            if any(b <= a for a, b in zip(days, days[1:])):
                raise InputError("days", list(days), "strictly increasing days")
            for k in ("times", "until_day"):
                if getattr(self, k) is not None:
                    raise InputError(k, getattr(self, k), "only with every_days "
                                     "(for_days sets the length of a days phase)")
            put("days", days)
            if self.for_days is not None:
                put("for_days", whole("for_days", self.for_days, days[-1] + 1, MAX_DAY))
        else:
            put("every_days", whole("every_days", self.every_days, 1, 3650))
            ends = [k for k in ("for_days", "times", "until_day") if getattr(self, k) is not None]
            if len(ends) > 1:
                raise InputError(ends[1], getattr(self, ends[1]),
                                 "one of for_days, times, until_day (or none: for life)")
            for k in ends:
                put(k, whole(k, getattr(self, k), 1, MAX_DAY))
        if self.start_day is not None:
            put("start_day", whole("start_day", self.start_day, 0, MAX_DAY))

    @property
    def channel(self) -> str:
        """Output channel of this phase's doses (one of :data:`CHANNELS`)."""
        if self.form == "folic_acid":
            return "folic_acid_mg"
        if self.route == "oral":
            return "oral_ug"
        return "im_hydroxo_ug" if self.form == "hydroxocobalamin" else "im_cyano_ug"

    @property
    def dose(self) -> float:
        """Dose per dose day, in the unit of :attr:`channel` (ug, or mg for folic acid)."""
        return self.dose_mg if self.form == "folic_acid" else self.dose_ug

    def end(self, start: int) -> int | None:
        """Absolute day this phase ends if it starts on ``start`` (None: open-ended)."""
        if self.days is not None:
            return start + (self.for_days or self.days[-1] + 1)
        if self.for_days is not None:
            return start + self.for_days
        if self.times is not None:
            return start + self.times * self.every_days
        return self.until_day

    def dose_days(self, start: int, horizon_days: int) -> np.ndarray:
        """Absolute dose days (< horizon) of this phase if it starts on ``start``."""
        end = self.end(start)
        stop = horizon_days if end is None else min(end, horizon_days)
        if self.days is not None:
            d = start + np.asarray(self.days)
            return d[d < stop]
        return np.arange(start, stop, self.every_days)

    def to_dict(self) -> dict:
        """The phase as written in a regimen file (unset keys left out)."""
        d = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        for k in ("dose_ug", "dose_mg"):
            if k in d:
                d[k] = _plain(d[k])
        if "days" in d:
            d["days"] = list(d["days"])
        return d

    def describe(self, start: int) -> str:
        """One clause, e.g. ``"cyanocobalamin 1000 ug IM every 7 days from day 10, 4 doses"``."""
        unit = "mg" if self.form == "folic_acid" else "ug"
        what = (f"{self.form.replace('_', ' ')} {_plain(self.dose):g} {unit} "
                f"{'IM' if self.route == 'im' else 'oral'}")
        if self.days is not None:
            return f"{what} on days " + ", ".join(str(start + d) for d in self.days)
        text = what + (" daily" if self.every_days == 1 else f" every {self.every_days} days")
        text += f" from day {start}"
        if self.for_days is not None:
            return text + f" for {self.for_days} days"
        if self.times is not None:
            return text + f", {self.times} doses"
        if self.until_day is not None:
            return text + f" before day {self.until_day}"
        return text + " for life (to the horizon)"


@dataclass(frozen=True)
class Adherence:
    """Which prescribed dose days are received: the one adherence model.

    A dose day ``d`` days after the regimen starts is received when that day's uniform is
    below ``p_take x share`` and the person has not stopped; stopping comes once, at an
    exponential time with hazard ``p_stop_per_year`` (1/year) drawn from a second uniform.
    ``share`` is the person's own share for the dose's route (1 without one; see
    :mod:`b12sim.economics.adherence`). In expectation a dose day is received with
    probability ``p_take x share x exp(-p_stop_per_year x d / 365.25)``.
    """

    p_take: float = 1.0
    p_stop_per_year: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "p_take", number("adherence.p_take", self.p_take, 0, 1, "a probability from 0 to 1"))
        object.__setattr__(self, "p_stop_per_year", number(
            "adherence.p_stop_per_year", self.p_stop_per_year, 0, DAYS_PER_YEAR,
            f"a hazard from 0 to {DAYS_PER_YEAR:g} per year"))

    def received(self, days, u, u_stop, share=1.0) -> np.ndarray:
        """Whether dose days ``days`` after the start are received, given each day's uniform ``u`` and the
        stopping uniform ``u_stop`` (arrays broadcast)."""
        rate = self.p_stop_per_year / DAYS_PER_YEAR
        stop = -np.log1p(-np.asarray(u_stop, float)) / rate if rate > 0 else np.inf
        return (u < self.p_take * share) & (days < stop)

    def expected(self, days, share=1.0) -> np.ndarray:
        """Probability that a dose day ``days`` after the start is received."""
        return self.p_take * share * np.exp(-self.p_stop_per_year * np.asarray(days) / DAYS_PER_YEAR)


@dataclass(frozen=True)
class Regimen:
    """A named treatment regimen: phases run one after another, adherence, provenance.

    ``starts`` holds the absolute start day of each phase (computed).
    """

    name: str
    description: str = ""
    phases: tuple[Phase, ...] = ()
    adherence: Adherence = Adherence()
    source: str = ""
    flag: str = "U"
    note: str = ""
    starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise InputError("name", self.name, "a non-empty string")
        for k in ("description", "source", "note"):
            if not isinstance(getattr(self, k), str):
                raise InputError(k, getattr(self, k), "a string")
        if self.flag not in FLAGS:
            raise InputError("flag", self.flag, ", ".join(FLAGS))
        if not isinstance(self.adherence, Adherence):
            raise InputError("adherence", self.adherence, "an Adherence")
        phases = tuple(self.phases)
        for i, p in enumerate(phases):
            if not isinstance(p, Phase):
                raise InputError(f"phases[{i}]", p, "a Phase")
        object.__setattr__(self, "phases", phases)
        starts, prev_end = [], 0
        for i, p in enumerate(phases):
            if prev_end is None:
                raise InputError(f"phases[{i - 1}]", "open-ended", "an open-ended phase (every_days"
                                 " without for_days, times or until_day) only last")
            start = prev_end if p.start_day is None else p.start_day
            if start < prev_end:
                raise InputError(f"phases[{i}].start_day", p.start_day,
                                 f">= {prev_end}, the end of phases[{i - 1}] (no overlap)")
            end = p.end(start)
            if end is not None and end <= start:
                raise InputError(f"phases[{i}].until_day", p.until_day,
                                 f"> {start}, the start day of this phase")
            starts.append(start)
            prev_end = end
        object.__setattr__(self, "starts", tuple(starts))

    @classmethod
    def from_dict(cls, d: dict, name: str | None = None) -> Regimen:
        """A regimen from its file form; ``name`` is used when ``d`` has none."""
        if not isinstance(d, dict):
            raise InputError("regimen", d, "a table with keys " + ", ".join(_REGIMEN_KEYS))
        _check_keys(d, _REGIMEN_KEYS, "")
        if "phases" not in d or not isinstance(d["phases"], list):
            raise InputError("phases", d.get("phases"), "a list of phase tables ([] for none)")
        phases = []
        for i, p in enumerate(d["phases"]):
            where = f"phases[{i}]"
            if not isinstance(p, dict):
                raise InputError(where, p, "a table with dose, route, form and schedule")
            _check_keys(p, _PHASE_KEYS, where + ".")
            try:
                phases.append(Phase(**p))
            except InputError as e:
                raise _prefixed(e, where + ".") from None
        adh = d.get("adherence", {})
        if not isinstance(adh, dict):
            raise InputError("adherence", adh, "a table with keys " + ", ".join(_ADHERENCE_KEYS))
        _check_keys(adh, _ADHERENCE_KEYS, "adherence.")
        return cls(name=d.get("name", name), description=d.get("description", ""),
                   phases=tuple(phases), adherence=Adherence(**adh),
                   source=d.get("source", ""), flag=d.get("flag", "U"), note=d.get("note", ""))

    def to_dict(self) -> dict:
        """The regimen as written in a file (inverse of :meth:`from_dict`)."""
        d = {"name": self.name, "description": self.description, "source": self.source,
             "flag": self.flag, "note": self.note,
             "adherence": {k: _plain(v) for k, v in dataclasses.asdict(self.adherence).items()},
             "phases": [p.to_dict() for p in self.phases]}
        return {k: v for k, v in d.items() if v != ""}

    def to_toml(self) -> str:
        """The regimen as TOML text that :func:`load_regimen` reads back."""
        d = self.to_dict()
        phases = d.pop("phases")
        lines = [f"{k} = {_toml(v)}" for k, v in d.items()]
        lines += ["phases = ["] + [f"  {_toml(p)}," for p in phases] + ["]"]
        return "\n".join(lines) + "\n"

    def with_adherence(self, p_take: float | None = None,
                       p_stop_per_year: float | None = None) -> Regimen:
        """A copy with new adherence (unset arguments keep their current value)."""
        a = self.adherence
        return dataclasses.replace(self, adherence=Adherence(
            a.p_take if p_take is None else p_take,
            a.p_stop_per_year if p_stop_per_year is None else p_stop_per_year))

    def schedule(self, horizon_days: int) -> dict[str, np.ndarray]:
        """Prescribed dose per day, days 0..horizon-1, per channel (ug; folic acid mg)."""
        h = whole("horizon_days", horizon_days, 1, MAX_DAY)
        out = {c: np.zeros(h) for c in CHANNELS}
        for p, start in zip(self.phases, self.starts):
            out[p.channel][p.dose_days(start, h)] = p.dose
        return out

    def sample(self, horizon_days: int, n_people: int,
               seed: int | np.random.SeedSequence) -> dict[str, np.ndarray]:
        """Doses actually received (:class:`Adherence`), per channel, shape (n_people, horizon_days).

        Person ``i`` draws from the ``i``-th spawned child of ``seed`` (first the stopping
        uniform, then one per dose day), so their doses depend neither on ``n_people`` nor
        (for days already inside it) on ``horizon_days``.
        """
        sched = self.schedule(horizon_days)
        n = whole("n_people", n_people, 1, 10**8)
        root = _seed_sequence(seed)
        dose_days = np.flatnonzero(np.any([a > 0 for a in sched.values()], axis=0))
        kept = np.zeros((n, len(sched["oral_ug"])), dtype=bool)
        for i in range(n):
            child = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, i),
                                           pool_size=root.pool_size)
            u = np.random.default_rng(child).random(1 + dose_days.size)
            kept[i, dose_days[self.adherence.received(dose_days, u[1:], u[0])]] = True
        return {c: np.where(kept, a, 0.0) for c, a in sched.items()}

    def summary(self) -> str:
        """The schedule in one line."""
        parts = [p.describe(s) for p, s in zip(self.phases, self.starts)]
        return "; then ".join(parts) if parts else "no doses"

    def describe(self) -> str:
        """A one-paragraph human-readable description."""
        a = self.adherence
        adherence = ("every dose taken, no stopping" if (a.p_take, a.p_stop_per_year) == (1, 0)
                     else f"each dose day kept with probability {a.p_take:g}, "
                          f"stopping hazard {a.p_stop_per_year:g} per year")
        text = (f"{self.name}: {self.description.rstrip('.') or 'custom regimen'}. "
                f"Schedule (day 0 = first treatment day): {self.summary()}. "
                f"Adherence: {adherence}. Source: {self.source or 'not given'} "
                f"(flag {self.flag}).")
        return text + (f" Note: {self.note}" if self.note else "")


def _toml(v: object) -> str:
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return repr(v)


def _seed_sequence(seed: object) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError("seed", seed, "a whole number >= 0 or a numpy SeedSequence")
    return np.random.SeedSequence(int(seed))


def _parse(text: str, path: Path) -> object:
    """Parsed TOML or JSON text; syntax errors name the file and line."""
    is_toml = path.suffix.lower() == ".toml"
    try:
        return tomllib.loads(text) if is_toml else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        m = re.search(r"line (\d+)", str(e))
        line = getattr(e, "lineno", None) or (int(m[1]) if m else None)
        lines = text.splitlines()
        where = f"{path}, line {line}" if line else str(path)
        got = lines[line - 1].strip() if line and line <= len(lines) else text[:40]
        raise InputError(where, got, "valid TOML" if is_toml else "valid JSON", str(e)) from None


def read_file(path: Path, field: str = "path") -> object:
    """The parsed ``.toml`` or ``.json`` file ``path`` (a regimen or a strategy); refusals name ``field``."""
    if path.suffix.lower() not in (".toml", ".json"):
        raise InputError(field, str(path), "a .toml or .json file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(field, str(path), "a readable UTF-8 .toml or .json file",
                         getattr(e, "strerror", None) or str(e)) from None
    return _parse(text, path)


def _load_file(path: Path) -> Regimen:
    data = read_file(path)
    try:
        return Regimen.from_dict(data, name=path.stem)
    except InputError as e:
        raise _prefixed(e, f"{path}: ") from None


@functools.cache
def _presets() -> dict[str, Regimen]:
    res = resources.files("b12sim") / "presets" / "regimens.toml"
    data = _parse(res.read_text(encoding="utf-8"), Path("b12sim/presets/regimens.toml"))
    out = {}
    for name, d in data.items():
        try:
            out[name] = Regimen.from_dict(d, name=name)
        except InputError as e:
            raise _prefixed(e, f"b12sim/presets/regimens.toml: {name}.") from None
    return out


def presets() -> tuple[str, ...]:
    """Names of the shipped regimen presets, in file order."""
    return tuple(_presets())


def load_regimen(path_or_name: str | Path) -> Regimen:
    """A preset by name, or the one regimen in a ``.toml`` / ``.json`` file.

    A file holds the keys of :meth:`Regimen.from_dict`; ``name`` defaults to the file stem.
    """
    if isinstance(path_or_name, str) and path_or_name in _presets():
        return _presets()[path_or_name]
    is_file_name = isinstance(path_or_name, str) and path_or_name.lower().endswith((".toml", ".json"))
    if isinstance(path_or_name, Path) or is_file_name:
        return _load_file(Path(path_or_name))
    raise InputError("regimen", path_or_name, "a preset (" + ", ".join(presets()) + ") or a .toml/.json file",
                     did_you_mean(path_or_name, presets()))


def preset_table():
    """The presets as a pandas DataFrame: name, route, form, summary, source, flag."""
    import pandas as pd

    rows = [{"name": r.name,
             "route": "+".join(dict.fromkeys(p.route for p in r.phases)) or "none",
             "form": "+".join(dict.fromkeys(p.form for p in r.phases)) or "none",
             "summary": r.summary(), "source": r.source, "flag": r.flag}
            for r in _presets().values()]
    return pd.DataFrame(rows, columns=["name", "route", "form", "summary", "source", "flag"])
