"""``decide``: treat now, test first, or not treat? Expected outcomes, thresholds and the value of a test."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from b12sim import economics, evidence
from b12sim.decision import information, outcomes, value
from b12sim.decision.result import Decision
from b12sim.defaults import DRAWS, MAX_SEED, SEED, STATUS
from b12sim.stats import mcse
from b12sim.diagnosis.draws import Draws
from b12sim.errors import InputError
from b12sim.physiology import markers as mk
from b12sim.regimens import Regimen, load_regimen
from b12sim.simulation import parameters
from b12sim.simulation import people as ppl
from b12sim.validation import number, whole

DEFAULT_REGIMEN = "uk_im_hydroxo_no_neuro"
MAX_DRAWS = 4000
HORIZON_RANGE = (30, 3650)  # days
WAIT_GRID = (0, 3, 7, 14, 21, 30, 45, 60, 90, 120, 150, 180, 240, 300)  # days; delays tabled for thresholds and figures
MAX_WTP = 1e7  # currency per QALY


def _person(patient, values: dict) -> dict:
    """One checked patient (labs as for ``diagnose`` plus ``hb``, ``mcv``, ``neuro_days``, ``sex``)."""
    people = ppl.from_patient(ppl.merge(patient, values))
    if len(people) != 1:
        raise InputError("patient", f"{len(people)} people", "one patient (a dict, a Diagnosis or a one-row table)")
    person = people[0]
    if not math.isnan(person["stores_ug"]):
        raise InputError("stores_ug", person["stores_ug"], "not given: decide() infers the stores from the labs")
    return person


def _tests(tests) -> tuple[str, ...]:
    allowed = "one or more of " + ", ".join(information.TESTS)
    names = (tests,) if isinstance(tests, str) else tests
    try:
        names = tuple(names)
    except TypeError:
        raise InputError("tests", tests, allowed) from None
    if not names or any(t not in information.TESTS for t in names) or len(set(names)) < len(names):
        raise InputError("tests", tests, allowed + ", each once",
                         "tHcy is not offered: its result also depends on folate")
    return names


def _turnarounds(turnaround, tests, horizon: int) -> dict[str, int]:
    """Days from sample to result per test: evidence defaults, one number for all, or a mapping."""
    hi = horizon - 1
    if turnaround is None:
        return {t: whole(f"turnaround_{t}_days", round(evidence.value(f"turnaround_{t}_days")), 0, hi) for t in tests}
    if isinstance(turnaround, Mapping):
        unknown = [k for k in turnaround if k not in tests]
        if unknown:
            raise InputError("turnaround", dict(turnaround), f"days for tests among {', '.join(tests)}")
        out = {t: round(evidence.value(f"turnaround_{t}_days")) for t in tests}
        out.update({k: whole(f"turnaround[{k!r}]", v, 0, hi) for k, v in turnaround.items()})
        return {t: whole(f"turnaround_{t}_days", d, 0, hi) for t, d in out.items()}
    days = whole("turnaround", turnaround, 0, hi)
    return {t: days for t in tests}


def _prices(tests, costs: economics.UnitCosts, test_costs) -> dict[str, float]:
    """Price of each test: the test plus one blood collection (holoTC: evidence row, no fee code)."""
    if test_costs is not None and not isinstance(test_costs, Mapping):
        raise InputError("test_costs", test_costs, "a mapping {test: price including the blood draw}")
    given = dict(test_costs or {})
    for k in given:
        if k not in tests:
            raise InputError(f"test_costs[{k!r}]", given[k], f"a price for one of {', '.join(tests)}")
    out = {}
    for t in tests:
        if t in given:
            out[t] = number(f"test_costs[{t!r}]", given[t], 0.0, 1e6, "a price >= 0 (currency units)")
        else:
            lab = evidence.value("cost_holotc_test") if t == "holotc" else costs.cost(f"test_{t}")
            out[t] = lab + costs.cost("blood_collection")
    return out


def _weighted_median(x: np.ndarray, w: np.ndarray):
    """Weighted median of ``x`` with NaN read as "beyond the horizon" (None if the median is there)."""
    if w.sum() <= 0:
        return None
    xs = np.where(np.isnan(x), np.inf, x)
    order = np.argsort(xs)
    cw = np.cumsum(w[order])
    med = xs[order][np.searchsorted(cw, 0.5 * cw[-1])]
    return float(med) if np.isfinite(med) else None


def _if_deficient(x: np.ndarray, p: np.ndarray) -> float:
    """Mean of a deficient-world quantity over draws, weighted by P(deficient) (plain mean if all 0)."""
    return float(np.average(x, weights=p) if p.sum() > 0 else x.mean())


@dataclass(frozen=True)
class _Analysis:
    """Per-draw P(deficient) and NMB tables of one patient, with scenario ``j_of[start day]``."""

    p: np.ndarray
    worlds: outcomes.Worlds
    nmb_def: np.ndarray
    nmb_rep: np.ndarray
    j_of: dict

    def scenario(self, s: int) -> value.Mixture:
        """The regimen from day ``s`` in both worlds (day = horizon: no treatment within it)."""
        return value.one_scenario(self.j_of.get(s, 0), *self.nmb_def.shape)

    def enmb(self, mix: value.Mixture) -> float:
        return float(value.expected_nmb(self.p, self.nmb_def, self.nmb_rep, mix).mean())

    def best(self, s: int) -> float:
        """Best expected NMB without a test when acting on day ``s``: treat then, or not at all."""
        return max(self.enmb(self.scenario(self.worlds.horizon)), self.enmb(self.scenario(s)))

    def test_first(self, rm: information.ResultModel, s: int, price: float):
        return value.test_first(self.p, self.nmb_def, self.nmb_rep, self.j_of.get(s, 0), rm.p_bin_def,
                                rm.p_bin_rep, price)

    def lines(self, rm: information.ResultModel, s: int, price: float) -> value.Lines:
        now, wait = self.j_of[0], self.j_of[s]
        return value.Lines(none=self.nmb_def[:, 0], now_def=self.nmb_def[:, now], now_rep=float(self.nmb_rep[now]),
                           wait_def=self.nmb_def[:, wait], wait_rep=float(self.nmb_rep[wait]),
                           p_bin_def=rm.p_bin_def, p_bin_rep=rm.p_bin_rep, price=price)

    def option(self, label: str, mix: value.Mixture) -> dict:
        """Expected outcomes of one option (see :class:`Decision` for the keys)."""
        p, w = self.p, self.worlds
        per_draw_pp = (mix.w_def * w.p_permanent).sum(axis=1)
        nmb = value.expected_nmb(p, self.nmb_def, self.nmb_rep, mix)
        hb_w = p[:, None] * mix.w_def
        burden = lambda a: float((p * (mix.w_def @ a) + (1 - p) * (mix.w_rep @ a)).mean())  # noqa: E731
        return {
            "label": label,
            "p_permanent": float((p * per_draw_pp).mean()),
            "p_permanent_if_deficient": _if_deficient(per_draw_pp, p),
            "p_permanent_if_deficient_interval": [float(q) for q in np.quantile(per_draw_pp, [0.025, 0.975])],
            "day_hb_normal": _weighted_median(w.day_hb_normal.ravel(), hb_w.ravel()),
            "p_hb_normal": float((hb_w * np.isfinite(w.day_hb_normal)).sum() / hb_w.sum()) if hb_w.sum() > 0 else None,
            "p_treated": float((p * (1 - mix.w_def[:, 0]) + (1 - p) * (1 - mix.w_rep[:, 0])).mean()),
            "injections": burden(w.injections),
            "tablets": burden(w.tablets),
            "cost": float((p * (mix.w_def * w.cost_def).sum(axis=1)
                           + (1 - p) * (mix.w_rep * w.cost_rep).sum(axis=1)).mean() + mix.price),
            "qaly": float(-(p * (mix.w_def * w.qaly_loss).sum(axis=1)).mean()),
            "nmb": float(nmb.mean()),
            "nmb_mcse": float(mcse(nmb)),
            "nmb_interval": [float(q) for q in np.quantile(nmb, [0.025, 0.975])],
        }

    def margin(self, best: value.Mixture, other: value.Mixture) -> tuple[float, float]:
        """Expected NMB of ``best`` minus ``other`` and its Monte Carlo standard error (currency)."""
        diff = (value.expected_nmb(self.p, self.nmb_def, self.nmb_rep, best)
                - value.expected_nmb(self.p, self.nmb_def, self.nmb_rep, other))
        return float(diff.mean()), float(mcse(diff))


def _threshold_rows(an: _Analysis, t: str, rm: information.ResultModel, days, price: float) -> list[dict]:
    """Headline thresholds and their 2.5/97.5% quantiles over draws, per turnaround in ``days``."""
    rows = []
    for s in days:
        ln = an.lines(rm, s, price)
        per = value.per_draw_thresholds(ln)
        row = {"test": t, "turnaround_days": s, **value.pooled_thresholds(an.p, ln)}
        for k, v in per.items():
            row[f"{k}_lo"], row[f"{k}_hi"] = (float(q) for q in np.quantile(v, [0.025, 0.975]))
        row["p_band_nonempty"] = float((per["p_test_hi"] > per["p_test_lo"]).mean())
        rows.append(row)
    return rows


def _waiting_rows(an: _Analysis, models: dict, prices: dict) -> list[dict]:
    """Per treatment delay (the simulated start days and the horizon): nerve risk, cost of waiting, tests' net value."""
    rows = []
    for s in (*an.worlds.starts, an.worlds.horizon):
        pp = an.worlds.p_permanent[:, an.j_of.get(s, 0)]
        row = {"delay_days": s, "p_permanent_if_deficient": _if_deficient(pp, an.p),
               "p_permanent_lo": float(np.quantile(pp, 0.025)), "p_permanent_hi": float(np.quantile(pp, 0.975)),
               "nmb_treat": an.enmb(an.scenario(s)), "cost_of_waiting": an.best(0) - an.best(s)}
        for t, rm in models.items():
            info = an.test_first(rm, s, prices[t])[2]
            row[f"net_value_{t}"] = info["value_of_information"] - row["cost_of_waiting"] - prices[t]
        rows.append(row)
    return rows


def _cutoff(rm: information.ResultModel, treat: np.ndarray, p, relevant: float = 1e-9):
    """Result value where the post-test action switches, and on which side treatment lies."""
    p_bin = (p[:, None] * rm.p_bin_def + (1 - p)[:, None] * rm.p_bin_rep).mean(axis=0)
    idx = np.flatnonzero(p_bin > relevant)
    act = treat[idx]
    switch = np.flatnonzero(act[1:] != act[:-1])
    if switch.size == 0:
        return None, None
    k = idx[switch[0]] + 1  # first bin of the new action; its lower edge is the cut-off
    return float(rm.edges[k]), "above" if act[switch[0] + 1] else "below"


def decide(patient=None, *, regimen: str | Regimen = DEFAULT_REGIMEN, tests=information.TESTS,
           turnaround: int | Mapping[str, int] | None = None, horizon_days: int | None = None,
           wtp: float | None = None, costs: economics.UnitCosts | None = None,
           test_costs: Mapping[str, float] | None = None, draws: int = DRAWS["decide"],
           seed: int = SEED, **values) -> Decision:
    """Treat now, test first, or not treat: expected outcomes for one patient.

    ``patient``: lab values as for :func:`b12sim.diagnose` (plus ``hb``, ``mcv``,
    ``neuro_days``, ``sex`` as for :func:`b12sim.simulate`), a ``Diagnosis``, or keywords.
    ``regimen``: the treatment (preset name, file or ``Regimen``; default the UK
    hydroxocobalamin course without neurological involvement; pass
    ``"uk_im_hydroxo_neuro"`` with nerve symptoms, ``"oral_1mg_daily"`` for oral).
    ``tests``: further tests to weigh, among ``"mma"``, ``"holotc"``, ``"b12"`` (a marker
    already measured is a repeat). ``turnaround``: days from sample to result, one number
    for all tests or ``{test: days}`` (default: evidence rows ``turnaround_*_days``).
    ``horizon_days``: the time by which an untreated deficiency is assumed found and
    treated (default ``decision_horizon_days``, 365). ``wtp``: currency per QALY (default
    ``wtp_per_qaly``, 50,000 CAD). ``costs``: ``economics.unit_costs(...)`` (default
    Ontario); ``test_costs``: ``{test: price}`` including the blood draw. ``draws``
    parameter draws (shared by diagnosis and simulator), ``seed`` for reproducibility.

    Returns a :class:`Decision` (``.report()``, ``.to_dict()``, ``.plot_threshold()``,
    ``.plot_waiting()``). Research and teaching only: not medical advice.
    """
    person = _person(patient, values)
    reg = regimen if isinstance(regimen, Regimen) else load_regimen(regimen)
    if not any(ph.form != "folic_acid" for ph in reg.phases):
        raise InputError("regimen", reg.name, "a regimen that gives vitamin B12 (the option of not treating is "
                         "always weighed)")
    names = _tests(tests)
    horizon = whole("horizon_days", evidence.value("decision_horizon_days") if horizon_days is None else horizon_days,
                     *HORIZON_RANGE)
    waits = _turnarounds(turnaround, names, horizon)
    wtp = number("wtp", evidence.value("wtp_per_qaly") if wtp is None else wtp, 0.0, MAX_WTP,
                  f"a willingness to pay from 0 to {MAX_WTP:g} per QALY")
    uc = economics.unit_costs("ontario") if costs is None else costs
    if not isinstance(uc, economics.UnitCosts):
        raise InputError("costs", type(uc).__name__, "a UnitCosts from b12sim.economics.unit_costs()")
    prices = _prices(names, uc, test_costs)
    draws = whole("draws", draws, 1, MAX_DRAWS)
    seed = whole("seed", seed, 0, MAX_SEED)

    s_param, s_dose = np.random.SeedSequence(seed).spawn(2)  # as b12sim.simulate: the same draws for one seed
    params = parameters.draw(draws, s_param)
    dr = Draws({k: np.asarray(params[k]) for k in mk.PARAMS}, mk.Constants.load())
    post = information.posterior(person, dr)
    starts = tuple(sorted({s for s in WAIT_GRID if s < horizon} | set(waits.values())))
    w = outcomes.worlds(person, post.mean_if_deficient(params["x_k"]), params, reg, starts, horizon, s_dose,
                        ppl.stream(s_param), uc, economics.utilities())
    an = _Analysis(post.p, w, -wtp * w.qaly_loss - w.cost_def[None, :], -w.cost_rep,
                   {s: j for j, s in enumerate(starts, start=1)})

    mixes = {"no_treatment": ("no treatment", an.scenario(horizon)),
             "treat_now": (f"treat now ({reg.name})", an.scenario(0))}
    models, test_rows, table = {}, [], []
    for t in names:
        rm = models[t] = information.result_model(t, post, person, dr)
        mix, treat, info = an.test_first(rm, waits[t], prices[t])
        mixes[f"test_first:{t}"] = (f"{rm.label} first (result in {waits[t]} days), treat if it says so", mix)
        cut, side = _cutoff(rm, treat, an.p)
        waiting = an.best(0) - an.best(waits[t])
        test_rows.append({"test": t, "label": rm.label, "unit": rm.unit, "turnaround_days": waits[t],
                          "price": prices[t], **info, "cost_of_waiting": waiting,
                          "net_value": info["value_of_information"] - waiting - prices[t],
                          "cutoff": cut, "treat_if": side})
        table += _threshold_rows(an, t, rm, sorted({s for s in starts if s > 0} | {waits[t]}), prices[t])
    options = pd.DataFrame({k: an.option(lab, mix) for k, (lab, mix) in mixes.items()}).T
    options.index.name = "option"
    numeric = [c for c in options.columns if c not in ("label", "day_hb_normal", "p_hb_normal")
               and not c.endswith("_interval")]
    options[numeric] = options[numeric].astype(float)
    best, runner_up = options["nmb"].sort_values(ascending=False).index[:2]
    margin, margin_mcse = an.margin(mixes[best][1], mixes[runner_up][1])
    notes = [
        f"an untreated deficiency is assumed found and treated with {reg.name} by day {horizon} (the horizon); "
        "a permanent deficit present then is counted for the remaining life",
        "treatment, once started, is assumed to continue for life, also in a person who is not deficient",
        STATUS,
    ]
    if math.isnan(person["egfr"]):
        notes.insert(0, "eGFR not given: normal kidney function assumed")
    return Decision(
        p_deficient=float(an.p.mean()), interval=tuple(float(q) for q in np.quantile(an.p, [0.025, 0.975])),
        recommendation=str(best), runner_up=str(runner_up), margin=margin, margin_mcse=margin_mcse, options=options,
        tests=pd.DataFrame(test_rows).set_index("test"), threshold_table=pd.DataFrame(table),
        waiting=pd.DataFrame(_waiting_rows(an, models, prices)),
        curves={t: value.curves(an.p, an.lines(rm, waits[t], prices[t])) for t, rm in models.items()},
        p_permanent_untreated_if_deficient=_if_deficient(w.p_permanent[:, 0], an.p),
        regimen=reg.name, regimen_schedule=reg.summary(), horizon_days=horizon, wtp=wtp, currency=uc.currency,
        price_year=uc.price_year, inputs=dict(person), notes=tuple(notes), draws=draws, seed=seed,
    )
