"""Study outcomes: what a study measured, computed the way it defined it.

An ``outcome`` text names a statistic at the row's ``day``. Laboratory markers (``b12``,
``holotc``, ``mma``, ``hcy``; canonical units) are *measured* results, with their noise;
simulator outputs (``hb`` g/L, ``mcv`` fL, ``p_permanent``, ``p_residual_severe``, ``nerve_severity``) are
taken as they are. A condition is ``<marker> <op> <cut>`` (``<``, ``<=``, ``>``, ``>=``).

* ``share b12 < 148`` (or ``share b12 < 148 and hcy > 10``): the share meeting it;
* ``mean b12``, ``median mma``: the mean or median;
* ``change_diff mma``: the mean change from day 0 in the arm less that in the comparator;
* ``diff_mean p_permanent``: the arm's mean less the comparator's;
* ``ratio_mean b12``: the arm's mean over the comparator's; ``ratio_start b12``: the mean
  over the mean at day 0 (the same people);
* ``first_day_median b12 < 148 every 182``, ``first_day_share b12 < 148 every 182``: with
  results every 182 days, the median first day the condition is met (never counts as
  later than any day), or the share who met it by ``day``;
* ``recovered``: the share without a permanent nerve deficit (mean of ``1 - p_permanent``);
* ``onset_share hb >= 120`` (``and`` more conditions): among the onsets of clinical nerve involvement up to
  ``day`` (each day's rise of P(any involvement), summed over people), the share at which the condition
  holds: what a series of patients presenting with nerve symptoms would show;
* ``auc b12 for mma > 0.75``: the area under the ROC curve of a low result of the first
  marker for the condition; ``lr_pos b12 < 148 for mma > 0.271`` (``lr_neg``): the
  likelihood ratio of a positive (negative) test for the condition;
* ``steady_ratio vegan``: serum B12 at the steady state of a diet over that of the median
  omnivore diet (no simulation: the kinetics' steady state);
* ``annual_cost``: the undiscounted cost of the arm's regimen over the year from ``day``
  (Ontario unit costs, the economics layer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from b12sim.errors import InputError

LABS = ("b12", "holotc", "mma", "hcy")
OUTPUTS = ("hb", "mcv", "p_permanent", "p_residual_severe", "nerve_severity")
OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}
DIETS = ("vegetarian", "vegan", "low_intake")
NERVE_LEVELS = ("nerve_mild", "nerve_moderate", "nerve_severe")
_C = rf"({'|'.join(LABS + OUTPUTS)})\s*(<=|>=|<|>)\s*(-?[0-9.]+)"
_M = rf"({'|'.join(LABS + OUTPUTS)})"
FORMS = ("share|onset_share <condition> [and <condition>]", "mean|median|change_diff|diff_mean|ratio_mean|ratio_start <marker>",
         "first_day_median|first_day_share <condition> every <days>", "recovered", "auc <marker> for <condition>",
         "lr_pos|lr_neg <condition> for <condition>", "steady_ratio " + "|".join(DIETS), "annual_cost")


@dataclass(frozen=True)
class Outcome:
    """A parsed ``outcome`` text: its kind, conditions ``(marker, op, cut)``, marker, interval and diet."""

    kind: str
    conditions: tuple = ()
    marker: str | None = None
    every: int | None = None
    diet: str | None = None

    @property
    def contrast(self) -> bool:
        """Whether the outcome compares the arm with a comparator."""
        return self.kind in ("change_diff", "diff_mean", "ratio_mean")

    @property
    def markers(self) -> tuple[str, ...]:
        """The markers and outputs the outcome reads."""
        names = [c[0] for c in self.conditions] + ([self.marker] if self.marker else [])
        if self.kind == "recovered":
            names.append("p_permanent")
        if self.kind == "onset_share":
            names += list(NERVE_LEVELS)
        return tuple(dict.fromkeys(names))

    def value(self, arm: dict, comparator: dict | None, day: int) -> float:
        """The statistic from results ``{marker: (people, days + 1)}`` of the arm (and comparator)."""
        k, m = self.kind, self.marker

        def met(c, values, at):
            return OPS[c[1]](values[c[0]][:, at], c[2])

        if k == "share":
            return float(np.logical_and.reduce([met(c, arm, day) for c in self.conditions]).mean())
        if k == "onset_share":
            involved = sum(arm[lv][:, : day + 1] for lv in NERVE_LEVELS)
            onset = np.maximum(np.diff(involved, axis=1), 0.0)  # (people, days): the rise over each day
            held = np.logical_and.reduce([OPS[c[1]](arm[c[0]][:, 1: day + 1], c[2]) for c in self.conditions])
            return float((onset * held).sum() / onset.sum()) if onset.sum() > 0 else float("nan")
        if k == "mean":
            return float(arm[m][:, day].mean())
        if k == "median":
            return float(np.median(arm[m][:, day]))
        if k == "recovered":
            return float(1.0 - arm["p_permanent"][:, day].mean())
        if k == "change_diff":
            return float((arm[m][:, day] - arm[m][:, 0]).mean() - (comparator[m][:, day] - comparator[m][:, 0]).mean())
        if k == "diff_mean":
            return float(arm[m][:, day].mean() - comparator[m][:, day].mean())
        if k == "ratio_mean":
            return float(arm[m][:, day].mean() / comparator[m][:, day].mean())
        if k == "ratio_start":
            return float(arm[m][:, day].mean() / arm[m][:, 0].mean())
        if k == "auc":
            return _auc(-arm[m][:, day], met(self.conditions[0], arm, day))
        if k in ("lr_pos", "lr_neg"):
            test, truth = met(self.conditions[0], arm, day), met(self.conditions[1], arm, day)
            sens, spec = test[truth].mean(), (~test[~truth]).mean()
            num, den = (sens, 1 - spec) if k == "lr_pos" else (1 - sens, spec)
            return float(num / den) if den > 0 else np.inf
        c = self.conditions[0]
        days = np.arange(self.every, arm[c[0]].shape[1], self.every)
        hit = OPS[c[1]](arm[c[0]][:, days], c[2])
        first = np.where(hit.any(axis=1), days[hit.argmax(axis=1)], np.inf)
        return float(np.median(first)) if k == "first_day_median" else float((first <= day).mean())


def _auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` for ``positive`` (Mann-Whitney, ties counted half)."""
    from scipy.stats import rankdata

    n1, n0 = int(positive.sum()), int((~positive).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _condition(text: str):
    m = re.fullmatch(_C, text.strip())
    return (m.group(1), m.group(2), float(m.group(3))) if m else None


def parse(text: str) -> Outcome:
    """The :class:`Outcome` of an ``outcome`` text (see the module doc)."""
    t = " ".join(str(text).strip().lower().split())
    kind, _, rest = t.partition(" ")
    if kind in ("share", "onset_share"):
        conds = [_condition(part) for part in rest.split(" and ")]
        if all(conds):
            return Outcome(kind, tuple(conds))
    elif kind in ("mean", "median", "change_diff", "diff_mean", "ratio_mean", "ratio_start") and rest in LABS + OUTPUTS:
        return Outcome(kind, marker=rest)
    elif kind in ("first_day_median", "first_day_share") and (m := re.fullmatch(_C + r"\s+every\s+(\d+)", rest)):
        if int(m.group(4)) >= 1:
            return Outcome(kind, ((m.group(1), m.group(2), float(m.group(3))),), every=int(m.group(4)))
    elif kind == "auc" and (m := re.fullmatch(_M + r"\s+for\s+(.+)", rest)) and (c := _condition(m.group(2))):
        return Outcome(kind, (c,), marker=m.group(1))
    elif kind in ("lr_pos", "lr_neg") and len(parts := rest.split(" for ")) == 2:
        conds = tuple(_condition(p) for p in parts)
        if all(conds):
            return Outcome(kind, conds)
    elif kind == "steady_ratio" and rest in DIETS:
        return Outcome(kind, diet=rest)
    elif kind in ("recovered", "annual_cost") and not rest:
        return Outcome(kind)
    raise InputError("outcome", text, "one of: " + "; ".join(FORMS) + f" (markers {', '.join(LABS + OUTPUTS)})")
