"""Health-state utilities: the published proxies and the utility of a simulated day.

Numbers come from ``data/evidence/economics.csv``: anaemia by haemoglobin (Lloyd 2008, linear
between two Hb anchors, constant outside), peripheral neuropathy by severity (Currie 2006,
linear between "no symptoms" and "severe"), and the decrement of a permanent myelopathic
deficit (Matza 2014). None is specific to B12 deficiency: they are proxies, on their sources'
scales (see each function). The clinical nerve severities of the simulator take one each
(:func:`nerve_utilities`); :func:`day_utility` combines them with anaemia for ``decide`` and the
policy microsimulation alike.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from b12sim import evidence
from b12sim.errors import InputError, did_you_mean
from b12sim.validation import number


@dataclass(frozen=True)
class Utilities:
    """Health-state utility inputs (0 = dead, 1 = full health; decrements as positive numbers).

    ``anaemia_low`` / ``anaemia_high``: utility at Hb ``hb_low_g_l`` / ``hb_high_g_l``
    (Lloyd 2008 societal standard gamble, cancer-related anaemia); ``neuropathy_none`` /
    ``neuropathy_severe``: EQ-5D index without / with severe neuropathic symptoms (Currie
    2006, diabetes); ``neuropathy_mild_ratio``: utility of mild neuropathy relative to none
    (median standard gamble of the mildest diabetic-neuropathy state, PharmacoEconomics 2002);
    ``myelopathy`` / ``myelopathy_paralysis``: utility decrement of spinal cord compression
    without / with paralysis (Matza 2014).
    """

    anaemia_low: float
    anaemia_high: float
    hb_low_g_l: float
    hb_high_g_l: float
    neuropathy_none: float
    neuropathy_severe: float
    neuropathy_mild_ratio: float
    myelopathy: float
    myelopathy_paralysis: float

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name.startswith("hb_"):
                x = number(f"utilities.{f.name}", v, 30.0, 200.0, "a haemoglobin from 30 to 200 g/L")
            else:
                x = number(f"utilities.{f.name}", v, 0.0, 1.0, "a number from 0 to 1")
            object.__setattr__(self, f.name, x)
        if not self.hb_low_g_l < self.hb_high_g_l:
            raise InputError("utilities.hb_high_g_l", self.hb_high_g_l,
                             f"above hb_low_g_l ({self.hb_low_g_l:g} g/L)")


_UTILITY_EVIDENCE = {
    "anaemia_low": "utility_anaemia_hb_7_8",
    "anaemia_high": "utility_anaemia_hb_12plus",
    "hb_low_g_l": "utility_anaemia_hb_low_g_l",
    "hb_high_g_l": "utility_anaemia_hb_high_g_l",
    "neuropathy_none": "utility_neuropathy_none",
    "neuropathy_severe": "utility_neuropathy_severe",
    "neuropathy_mild_ratio": "utility_neuropathy_mild_ratio",
    "myelopathy": "disutility_myelopathy",
    "myelopathy_paralysis": "disutility_myelopathy_paralysis",
}


def utilities(**overrides: float) -> Utilities:
    """The published utility inputs of ``economics.csv``, with any field replaced by keyword.

    Utilities and decrements must lie in [0, 1]; Hb anchors in 30-200 g/L, low below high.
    """
    for k, v in overrides.items():
        if k not in _UTILITY_EVIDENCE:
            raise InputError(f"utilities.{k}", v, "fields " + ", ".join(_UTILITY_EVIDENCE),
                             did_you_mean(k, _UTILITY_EVIDENCE))
    values = {k: evidence.value(q) for k, q in _UTILITY_EVIDENCE.items()} | overrides
    return Utilities(**values)


def check_array(field: str, x, lo: float, hi: float, allowed: str):
    """``x`` if all its values are finite and in [lo, hi] (lists become arrays; xarray stays xarray)."""
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise InputError(field, x, allowed) from None
    if a.size == 0 or not np.all(np.isfinite(a)) or a.min() < lo or a.max() > hi:
        shown = x if a.size <= 5 else f"array with min {np.nanmin(a):g}, max {np.nanmax(a):g}"
        raise InputError(field, shown, allowed)
    return x if isinstance(x, (int, float, np.ndarray)) or hasattr(x, "dims") else a


def _anaemia(hb_g_l, u: Utilities, low, high):
    return low + (high - low) * np.clip((hb_g_l - u.hb_low_g_l) / (u.hb_high_g_l - u.hb_low_g_l), 0.0, 1.0)


def _neuropathy(severity, u: Utilities):
    return u.neuropathy_none + (u.neuropathy_severe - u.neuropathy_none) * severity


def anaemia_utility(hb_g_l, u: Utilities | None = None):
    """Utility at haemoglobin ``hb_g_l`` (g/L; scalar, numpy or xarray).

    Linear in Hb from ``u.anaemia_low`` at ``u.hb_low_g_l`` (75 g/L, middle of Lloyd's
    7-8 g/dL state) to ``u.anaemia_high`` at ``u.hb_high_g_l`` (120 g/L, start of the
    12+ g/dL state), constant outside. On Lloyd's scale even Hb >= 120 g/L is 0.708 (cancer
    patients); ``anaemia_utility(hb) - u.anaemia_high`` is the anaemia decrement (<= 0).
    """
    u = utilities() if u is None else u
    return _anaemia(check_array("hb", hb_g_l, 0.0, 300.0, "haemoglobin from 0 to 300 g/L"), u, u.anaemia_low,
                    u.anaemia_high)


def neuropathy_utility(severity, u: Utilities | None = None):
    """EQ-5D utility at neuropathy ``severity`` (0 none to 1 severe; scalar, numpy or xarray).

    Linear between Currie 2006's "no symptoms" (0.81) and "severe" (0.25) groups; the linear
    shape is an assumption (the mild and moderate group values were not retrieved).
    ``neuropathy_utility(s) - u.neuropathy_none`` is the neuropathy decrement.
    """
    u = utilities() if u is None else u
    return _neuropathy(check_array("severity", severity, 0.0, 1.0, "a severity from 0 (none) to 1 (severe)"), u)


def permanent_deficit_utility(baseline, paralysis: bool = False, u: Utilities | None = None):
    """Utility with a permanent myelopathic deficit: ``baseline`` minus Matza 2014's decrement
    for spinal cord compression (0.22, or 0.32 with paralysis), floored at 0.

    ``baseline`` is the utility without the deficit (0-1; scalar, numpy or xarray).
    """
    u = utilities() if u is None else u
    baseline = check_array("baseline", baseline, 0.0, 1.0, "a utility from 0 to 1")
    if not isinstance(paralysis, (bool, np.bool_)):
        raise InputError("paralysis", paralysis, "True or False")
    return np.maximum(baseline - (u.myelopathy_paralysis if paralysis else u.myelopathy), 0.0)


def nerve_utilities(u: Utilities) -> dict[str, float]:
    """Utility of each clinical nerve severity (:data:`b12sim.physiology.neurology.LEVELS`): none as Currie's
    "no symptoms", mild that times ``neuropathy_mild_ratio``, moderate and severe less Matza's decrement of
    spinal cord compression without and with paralysis (the severe value, 0.49 with the shipped numbers,
    matches the EQ-5D-5L of people living with spinal cord injury: row ``utility_sci_eq5d5l``)."""
    none = u.neuropathy_none
    return {"none": none, "mild": none * u.neuropathy_mild_ratio, "moderate": max(none - u.myelopathy, 0.0),
            "severe": max(none - u.myelopathy_paralysis, 0.0)}


def day_utility(hb_g_l, mild, moderate, severe, u: Utilities, anaemia_low=None, anaemia_high=None):
    """Utility of a simulated day (arrays broadcast; unchecked, for simulator output).

    The expected nerve utility over the probabilities of mild, moderate and severe involvement
    (:func:`nerve_utilities`; the rest is none) times the anaemia utility at ``hb_g_l`` (g/L) relative to
    its top, floored at 0; the multiplicative combination of proxies is an assumption. ``anaemia_low`` /
    ``anaemia_high`` replace ``u``'s anchors (e.g. one per draw).
    """
    low = u.anaemia_low if anaemia_low is None else anaemia_low
    high = u.anaemia_high if anaemia_high is None else anaemia_high
    v = nerve_utilities(u)
    nerve = v["none"] + mild * (v["mild"] - v["none"]) + moderate * (v["moderate"] - v["none"]) \
        + severe * (v["severe"] - v["none"])
    return np.maximum(nerve * _anaemia(hb_g_l, u, low, high) / high, 0.0)


def residual_decrement(p_residual, p_residual_severe, u: Utilities):
    """Expected yearly utility lost to a permanent nerve deficit: mild residual signs (``p_residual`` less
    ``p_residual_severe``) at the mild level, moderate-severe residual disability at the moderate one
    (where a treated severe myelopathy settles)."""
    v = nerve_utilities(u)
    return (p_residual - p_residual_severe) * (v["none"] - v["mild"]) + p_residual_severe * (v["none"] - v["moderate"])
