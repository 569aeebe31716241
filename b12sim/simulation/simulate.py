"""``simulate``: a patient or cohort, a regimen and a delay in; trajectories out."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from b12sim import evidence
from b12sim.defaults import DISCLAIMER, DRAWS, MAX_SEED, SEED, STATUS
from b12sim.deprecation import renamed
from b12sim.errors import InputError
from b12sim.regimens import CHANNELS, MAX_DAY, Regimen, load_regimen
from b12sim.simulation import engine, parameters
from b12sim.simulation import people as ppl
from b12sim.validation import whole

MAX_DRAWS = 4000
MAX_RESULT_BYTES = 4 * 2**30


def _doses(regimen: Regimen, n: int, start_day: int, days: int, seed) -> dict[str, np.ndarray]:
    """Received doses (people, days): nothing before ``start_day``, then the regimen."""
    out = {c: np.zeros((n, days)) for c in CHANNELS}
    if start_day < days:
        got = regimen.sample(days - start_day, n, seed)
        for c in CHANNELS:
            out[c][:, start_day:] = got[c]
    return out


def _run(people, regimens, starts, days, draws, seed, substeps, progress, outputs=tuple(engine.OUTPUTS), ids=None):
    """Shared runner: person ``i`` gets ``regimens[i]`` from ``starts[i]``; day-0 state and days 1..days.
    ``ids``: who each person is (copies of one person share their draws of intake and intrinsic factor)."""
    root = np.random.SeedSequence(seed)
    s_param, s_dose = root.spawn(2)
    p = parameters.draw(draws, s_param)
    arr = ppl.arrays(people, p, seed=ppl.stream(s_param), ids=ids)
    doses = {c: np.zeros((len(people), days)) for c in CHANNELS}
    for i, (reg, start) in enumerate(zip(regimens, starts)):
        one = _doses(reg, 1, start, days, np.random.SeedSequence(s_dose.entropy, spawn_key=(*s_dose.spawn_key, i)))
        for c in CHANNELS:
            doses[c][i] = one[c][0]
    prog = None
    if progress:
        from tqdm.auto import tqdm

        prog = lambda it: tqdm(it, unit="day", desc=f"simulating {len(people)} x {draws} draws")  # noqa: E731
    c = engine.mk.Constants.load()
    q = engine.person_params(p, arr)
    day0 = engine.observe(engine.initial_state(q, arr, c), q, arr, c)
    out = engine.run(p, arr, doses, days, substeps=substeps, outputs=outputs, progress=prog)
    return s_dose, day0, out, arr


@renamed(start_day="delay_days", days="horizon_days")
def simulate(patient=None, regimen="no_treatment", *, delay_days: int = 0, horizon_days: int = 180,
             draws: int = DRAWS["simulate"], seed=SEED, substeps: int = engine.SUBSTEPS,
             outputs=tuple(engine.OUTPUTS), progress: bool = False, **values) -> xr.Dataset:
    """Project B12 stores, markers, blood count and nerve outcomes under a regimen.

    ``patient``: a dict of lab values (as for :func:`b12sim.diagnose`, plus ``hb``,
    ``mcv``, ``neuro_days`` = days of neurological symptoms so far, ``sex``), a
    :class:`~b12sim.Diagnosis`, or a DataFrame with one person per row; or give the
    values as keywords (added to a dict or Diagnosis, e.g. ``simulate(dx, hb=90)``). ``regimen``: a preset name, a file path or a
    :class:`~b12sim.regimens.Regimen`. Treatment starts after ``delay_days``; the
    simulation runs to ``horizon_days`` (the names ``start_day`` and ``days`` are deprecated).

    Returns an ``xarray.Dataset`` with dims (draw, person, day), day 0 = today, one
    variable per output with its unit in ``attrs``; ``summarise`` reads it. For large
    cohorts, ``outputs`` keeps only the named variables (results above
    :data:`MAX_RESULT_BYTES` are refused with a suggestion).
    """
    patient = ppl.merge(patient, values)
    reg = regimen if isinstance(regimen, Regimen) else load_regimen(regimen)
    days = whole("horizon_days", horizon_days, 1, MAX_DAY)
    start_day = whole("delay_days", delay_days, 0, MAX_DAY)
    if start_day >= days:
        raise InputError("delay_days", delay_days, f"fewer days than horizon_days ({days})",
                         "treatment would never start within the horizon")
    draws = whole("draws", draws, 1, MAX_DRAWS)
    seed = whole("seed", seed, 0, MAX_SEED)
    substeps = whole("substeps", substeps, 1, 96)
    outputs = tuple(outputs)
    unknown = [o for o in outputs if o not in engine.OUTPUTS]
    if unknown or not outputs:
        raise InputError("outputs", unknown or outputs, "one or more of " + ", ".join(engine.OUTPUTS))
    people = ppl.from_patient(patient)
    size = 8 * draws * len(people) * (days + 1) * len(outputs)
    if size > MAX_RESULT_BYTES:
        raise InputError("draws x people x days", f"{draws} x {len(people)} x {days + 1} ({size / 2**30:.1f} GiB)",
                         f"a result under {MAX_RESULT_BYTES / 2**30:.0f} GiB",
                         "use fewer draws or outputs=(...), or split the cohort")
    _, day0, out, arr = _run(people, [reg] * len(people), [start_day] * len(people),
                             days, draws, seed, substeps, progress, outputs=outputs)
    data = {k: (("draw", "person", "day"), np.concatenate([day0[k][..., None], v], axis=-1),
                {"units": engine.OUTPUTS[k]}) for k, v in out.items()}
    ds = xr.Dataset(data, coords={"draw": np.arange(draws), "person": np.arange(len(people)),
                                  "day": np.arange(days + 1)})
    ds["day"].attrs["units"] = "days from today"
    ds["hb_normal"] = ("person", np.where(arr["female"], evidence.value("hb_normal_female"),
                                          evidence.value("hb_normal_male")), {"units": "g/L"})
    ds.attrs.update(regimen=reg.name, regimen_schedule=reg.summary(), start_day=start_day, days=days,
                    seed=str(seed), calibration=STATUS, disclaimer=DISCLAIMER)
    return ds


def _first_day(mask: xr.DataArray) -> xr.DataArray:
    """First day on which ``mask`` holds and keeps holding to the horizon (NaN if never)."""
    rev = mask.isel(day=slice(None, None, -1)).cumprod("day").isel(day=slice(None, None, -1))
    held = rev.any("day")
    first = rev.argmax("day").astype(float)
    return first.where(held)


def summarise(ds: xr.Dataset) -> dict:
    """Headline numbers of a simulation: medians and 95% intervals over draws and people.

    ``p_permanent_damage`` (mean at the horizon) with ``_interval`` (over draws), and the same for
    ``p_residual_severe`` (a moderate-severe permanent deficit) when simulated;
    ``day_hb_normal``, ``day_mma_normal``, ``day_b12_normal``: first day from which
    Hb stays in the normal range, MMA below the upper reference limit, serum B12 at
    least the conventional cut-off (median over the draws that get there, with
    ``_interval`` and ``p_..._reached``, the share that does); ``hb_at_day_42`` (g/L).
    """
    def band(da):
        v = np.asarray(da).ravel()
        v = v[np.isfinite(v)]
        if v.size == 0:
            return None, [None, None]
        lo, med, hi = np.quantile(v, [0.025, 0.5, 0.975])
        return float(med), [float(lo), float(hi)]

    if "hb" not in ds or "mma" not in ds or "b12" not in ds or "p_permanent" not in ds:
        raise InputError("ds", sorted(ds.data_vars), "a simulation with hb, mma, b12 and p_permanent")
    out = {"p_permanent_damage": float(ds["p_permanent"].isel(day=-1).mean())}
    out["p_permanent_damage_interval"] = band(ds["p_permanent"].isel(day=-1).mean("person"))[1]
    if "p_residual_severe" in ds:
        out["p_residual_severe"] = float(ds["p_residual_severe"].isel(day=-1).mean())
        out["p_residual_severe_interval"] = band(ds["p_residual_severe"].isel(day=-1).mean("person"))[1]
    for name, mask in (("hb", ds["hb"] >= ds["hb_normal"]),
                       ("mma", ds["mma"] <= evidence.value("ref_mma_high")),
                       ("b12", ds["b12"] >= evidence.value("low_b12_cut"))):
        first = _first_day(mask)
        out[f"day_{name}_normal"], out[f"day_{name}_normal_interval"] = band(first)
        out[f"p_{name}_normal_reached"] = float(np.isfinite(first.values).mean())
    if ds.sizes["day"] > 42:
        out["hb_at_day_42"], out["hb_at_day_42_interval"] = band(ds["hb"].isel(day=42))
    return out


SUMMARY_ROWS = {  # summarise() key -> (what it is, unit)
    "p_permanent_damage": ("P(permanent nerve deficit) at the horizon, mean", "probability"),
    "p_residual_severe": ("P(moderate-severe permanent nerve deficit) at the horizon, mean", "probability"),
    "day_hb_normal": ("first day from which Hb stays in the normal range, median", "day"),
    "day_mma_normal": ("first day from which MMA stays below the upper reference limit, median", "day"),
    "day_b12_normal": ("first day from which serum B12 stays at or above the cut-off, median", "day"),
    "hb_at_day_42": ("Hb at day 42, median", "g/L"),
}


def summary_table(ds) -> pd.DataFrame:
    """:func:`summarise` as a table: one row per headline number.

    Columns ``value``, its 95% interval ``lo``/``hi`` over draws, ``p_reached`` (share of
    draws that reach the day; NaN for the other rows), ``unit`` and ``description``;
    a row is NaN where no draw gets there. ``ds``: one simulation, or a mapping of names
    to simulations (the names become the outer level of the index, ``run``).
    """
    if isinstance(ds, Mapping) and not isinstance(ds, xr.Dataset):
        return pd.concat({name: summary_table(one) for name, one in ds.items()}, names=["run"])
    s = summarise(ds)
    rows = []
    for key, (description, unit) in SUMMARY_ROWS.items():
        if key not in s:
            continue
        lo, hi = s[f"{key}_interval"]
        reached = s.get(f"p_{key[4:]}_reached") if key.startswith("day_") else None
        rows.append({"quantity": key, "value": s[key], "lo": lo, "hi": hi, "p_reached": reached, "unit": unit,
                     "description": description})
    out = pd.DataFrame(rows).set_index("quantity")
    out[["value", "lo", "hi", "p_reached"]] = out[["value", "lo", "hi", "p_reached"]].astype(float)
    return out


def per_day(ds: xr.Dataset, person: int = 0) -> dict:
    """Per-day median and 95% interval over draws of every output, for one person (lists)."""
    out = {}
    for k in engine.OUTPUTS:
        da = ds[k].isel(person=person)
        lo, med, hi = (np.round(da.quantile(q, "draw").values, 6).tolist() for q in (0.025, 0.5, 0.975))
        out[k] = {"units": ds[k].attrs["units"], "median": med, "lo": lo, "hi": hi}
    return out


@renamed(horizon="horizon_days")
def delay_curve(patient, regimens=("uk_im_hydroxo_neuro", "oral_2mg_daily", "folic_acid_alone", "no_treatment"),
                delays=(0, 14, 30, 60, 90, 120, 180, 270, 365), *, horizon_days: int = 730,
                draws: int = DRAWS["delay_curve"], seed=SEED):
    """Probability of a permanent nerve deficit by ``horizon_days`` against treatment delay.

    One patient (as for :func:`simulate`); every delay of a regimen runs in one
    vectorized pass with the same parameter draws. Returns a DataFrame with
    ``regimen``, ``delay_days``, ``p_permanent`` (any permanent deficit; mean over draws) and its 95%
    interval ``lo``/``hi``, and ``p_residual_severe`` (moderate-severe) with ``severe_lo``/``severe_hi``.
    """
    person = ppl.from_patient(patient)
    if len(person) != 1:
        raise InputError("patient", f"{len(person)} people", "one patient")
    horizon = whole("horizon_days", horizon_days, 1, MAX_DAY)
    draws = whole("draws", draws, 1, MAX_DRAWS)
    seed = whole("seed", seed, 0, MAX_SEED)
    delays = [whole("delays", d, 0, horizon) for d in delays]
    regs = [r if isinstance(r, Regimen) else load_regimen(r) for r in regimens]
    rows = []
    for reg in regs:
        _, _, out, _ = _run(person * len(delays), [reg] * len(delays), delays, horizon, draws, seed,
                            engine.SUBSTEPS, False, outputs=("p_permanent", "p_residual_severe"),
                            ids=[0] * len(delays))
        pp, ps = out["p_permanent"][:, :, -1], out["p_residual_severe"][:, :, -1]  # (draws, delays)
        for j, d in enumerate(delays):
            lo, hi = np.quantile(pp[:, j], [0.025, 0.975])
            slo, shi = np.quantile(ps[:, j], [0.025, 0.975])
            rows.append({"regimen": reg.name, "delay_days": d, "p_permanent": float(pp[:, j].mean()),
                         "lo": float(lo), "hi": float(hi), "p_residual_severe": float(ps[:, j].mean()),
                         "severe_lo": float(slo), "severe_hi": float(shi)})
    return pd.DataFrame(rows)
