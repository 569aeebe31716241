"""The result of :func:`b12sim.decide`: options, thresholds, the value of each test, and a report."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from b12sim import units
from b12sim.decision import figures
from b12sim.defaults import DISCLAIMER
from b12sim.diagnosis.result import Reported, html_page, html_table
from b12sim.physiology.markers import RISKS


def _round(v, nd: int = 4):
    """JSON-ready value: floats rounded, NaN/None as None, lists and dicts recursively."""
    if isinstance(v, dict):
        return {k: _round(x, nd) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_round(x, nd) for x in v]
    if v is None or (isinstance(v, (float, np.floating)) and not math.isfinite(v)):
        return None
    if isinstance(v, (float, np.floating)):
        return round(float(v), nd)
    if isinstance(v, (np.integer, np.bool_)):
        return v.item()
    return v


@dataclass(frozen=True)
class Decision(Reported):
    """Treat now, test first, or not treat, for one patient (see :func:`b12sim.decide`).

    Attributes
    ----------
    p_deficient, interval : P(true B12 deficiency) and its 95% interval over draws
        (the same numbers as :func:`b12sim.diagnose` with the same draws).
    recommendation : key of the option with the highest expected net monetary benefit.
    runner_up, margin, margin_mcse : the next best option, how far the recommendation's
        expected net benefit is ahead of it (currency) and the Monte Carlo standard error
        of that margin over the draws (batch means in draw order); a margin within about
        two errors is too close to call with this many draws.
    options : one row per option (``no_treatment``, ``treat_now``, ``test_first:<test>``):
        ``p_permanent`` (expected P(permanent nerve deficit) by the horizon),
        ``p_permanent_if_deficient`` (and its 95% interval over draws), ``day_hb_normal``
        (median day from which Hb stays normal if deficient; None when that is beyond the
        horizon in most draws) and ``p_hb_normal`` (share within the horizon), ``p_treated``, ``injections`` and ``tablets``
        within the horizon, ``cost`` (currency, discounted), ``qaly`` (discounted QALYs
        relative to a replete person, <= 0), ``nmb`` = wtp x qaly - cost (and its
        95% interval over draws) with ``nmb_mcse``, the Monte Carlo error of its mean.
    tests : one row per test: ``turnaround_days``, ``price``, ``value_of_information``
        (>= 0; 0 when no result changes the action), ``p_change``, ``p_positive``,
        ``cost_of_waiting``, ``net_value`` (= value - waiting - price; > 0 means testing
        first beats acting now), ``cutoff`` and ``treat_if`` (the result value where the
        action switches, in ``unit``).
    threshold_table : per test and turnaround: ``p_treat`` (treat rather than not above
        it), ``p_test_lo``/``p_test_hi`` (test first between them; equal to ``p_treat``
        when testing never pays), each with 2.5/97.5% quantiles over draws
        (``_lo``/``_hi`` suffixes), and ``p_band_nonempty`` (share of draws where
        testing can pay).
    waiting : per treatment delay: P(permanent | deficient) (mean, 2.5/97.5%), the
        expected NMB of treating then, the cost of waiting, and each test's net value
        with that turnaround.
    curves : per test, expected NMB of the three options along the probability axis.
    """

    p_deficient: float
    interval: tuple[float, float]
    recommendation: str
    runner_up: str
    margin: float
    margin_mcse: float
    options: pd.DataFrame
    tests: pd.DataFrame
    threshold_table: pd.DataFrame
    waiting: pd.DataFrame
    curves: dict
    p_permanent_untreated_if_deficient: float
    regimen: str
    regimen_schedule: str
    horizon_days: int
    wtp: float
    currency: str
    price_year: int
    inputs: dict
    notes: tuple[str, ...] = field(default=())
    draws: int = 0
    seed: int = 0

    @property
    def thresholds(self) -> dict:
        """Headline thresholds: ``treat`` (with ``treat_interval``) and, per test at its turnaround, ``band``."""
        tab = self.threshold_table.set_index(["test", "turnaround_days"])
        tests = {}
        for t, days in self.tests["turnaround_days"].items():
            r = tab.loc[(t, days)]
            tests[t] = {"turnaround_days": int(days), "band": [r["p_test_lo"], r["p_test_hi"]],
                        "band_lo_interval": [r["p_test_lo_lo"], r["p_test_lo_hi"]],
                        "band_hi_interval": [r["p_test_hi_lo"], r["p_test_hi_hi"]],
                        "p_band_nonempty": r["p_band_nonempty"]}
        first = tab.iloc[0]  # the treatment threshold does not depend on the test or its turnaround
        return {"regimen": self.regimen, "treat": first["p_treat"],
                "treat_interval": [first["p_treat_lo"], first["p_treat_hi"]], "tests": tests}

    @property
    def too_close(self) -> bool:
        """Whether the recommendation's lead over the runner-up is within two Monte Carlo errors."""
        return bool(self.margin < 2.0 * self.margin_mcse)

    @property
    def best_test(self) -> str:
        """The test whose net value (testing first against acting now) is highest."""
        return str(self.tests["net_value"].astype(float).idxmax())

    def describe(self, option: str) -> str:
        """Plain words for an option key."""
        return str(self.options.loc[option, "label"])

    def to_dict(self) -> dict:
        """JSON-ready dictionary (the CLI's ``--json`` output)."""
        qs = units.quantities()
        given = {k: v for k, v in self.inputs.items() if k in qs and isinstance(v, float) and not math.isnan(v)}
        return _round({
            "recommendation": self.recommendation,
            "recommendation_text": self.describe(self.recommendation),
            "runner_up": self.runner_up, "margin": self.margin, "margin_mcse": self.margin_mcse,
            "too_close_to_call": self.too_close,
            "p_deficient": self.p_deficient,
            "interval": list(self.interval),
            "thresholds": self.thresholds,
            "options": {k: dict(row) for k, row in self.options.iterrows()},
            "value_of_test": {k: dict(row) for k, row in self.tests.iterrows()},
            "p_permanent_untreated_if_deficient": self.p_permanent_untreated_if_deficient,
            "threshold_table": self.threshold_table.to_dict(orient="records"),
            "waiting": self.waiting.to_dict(orient="records"),
            "regimen": self.regimen, "regimen_schedule": self.regimen_schedule,
            "horizon_days": self.horizon_days, "wtp_per_qaly": self.wtp,
            "currency": f"{self.currency} (price year {self.price_year})",
            "inputs": given, "units": {k: qs[k].unit for k in given},
            "neuro_days": self.inputs.get("neuro_days"), "sex": self.inputs.get("sex"),
            "risk_factors": [k for k in RISKS if self.inputs.get(k)],
            "notes": list(self.notes), "draws": self.draws, "seed": self.seed, "disclaimer": DISCLAIMER,
        })

    def __repr__(self) -> str:
        return (f"Decision(recommendation={self.recommendation!r}, p_deficient={self.p_deficient:.3f}, "
                f"runner_up={self.runner_up!r}, margin={self.margin:,.0f} {self.currency} "
                f"(MCSE {self.margin_mcse:,.0f}), regimen={self.regimen!r}, horizon_days={self.horizon_days}; "
                f"{self.draws} draws)")

    def _repr_html_(self) -> str:
        cur, lo, hi = self.currency, *self.interval
        options = [(k + (" (recommended)" if k == self.recommendation else ""), f"{o['p_permanent']:.1%}",
                    f"{o['p_permanent_if_deficient']:.1%}",
                    "n/a" if o["day_hb_normal"] is None else f"day {o['day_hb_normal']:.0f}",
                    f"{o['cost']:,.0f}", f"{o['qaly']:.3f}", f"{o['nmb']:,.0f}") for k, o in self.options.iterrows()]
        tests = [(r["label"], r["turnaround_days"], f"{r['value_of_information']:,.0f}", f"{r['cost_of_waiting']:,.0f}",
                  f"{r['price']:,.0f}", f"{r['net_value']:+,.0f}", f"{r['p_change']:.0%}") for _, r in self.tests.iterrows()]
        lines = [f"P(true B12 deficiency) {self.p_deficient:.0%} (95% interval {lo:.0%} to {hi:.0%}); treat rather "
                 f"than not above {self.thresholds['treat']:.1%}",
                 f"ahead of {self.describe(self.runner_up)} by {self.margin:,.0f} {cur} (Monte Carlo error "
                 f"{self.margin_mcse:,.0f}; {self.draws} draws)" + ("; too close to call" if self.too_close else ""),
                 f"regimen {self.regimen}; harm counted to day {self.horizon_days}; willingness to pay "
                 f"{self.wtp:,.0f} {cur}/QALY"]
        return html_page(
            f"Recommendation: {self.describe(self.recommendation)}", lines,
            [(f"Options (expected per patient; {cur} {self.price_year}, discounted)",
              html_table(("option", "P(permanent)", "if deficient", "Hb normal", "cost", "QALYs", "net benefit"),
                         options)),
             (f"Value of each test ({cur}): information - cost of waiting - price = net",
              html_table(("test", "turnaround (days)", "information", "waiting", "price", "net",
                          "P(changes the decision)"), tests))],
            self.notes)

    def report(self) -> str:
        """A plain-text report for people."""
        cur = self.currency
        lo, hi = self.interval
        th = self.thresholds
        lines = [
            f"b12sim decision: treat now, test first, or not treat? (regimen {self.regimen}; harm counted to day "
            f"{self.horizon_days}, permanent deficit for life; {self.draws} draws)",
            f"P(true B12 deficiency): {self.p_deficient:.0%}  (95% interval {lo:.0%} to {hi:.0%})",
            f"If deficient and left untreated to day {self.horizon_days}: P(permanent nerve deficit) "
            f"{self.p_permanent_untreated_if_deficient:.0%}",
            f"Thresholds on P(deficiency) (95% interval over parameter draws; willingness to pay {self.wtp:,.0f} "
            f"{cur}/QALY):",
            f"  treat rather than not treat above {th['treat']:.1%} ({th['treat_interval'][0]:.1%} to "
            f"{th['treat_interval'][1]:.1%})",
        ]
        for t, b in th["tests"].items():
            label = self.tests.loc[t, "label"]
            lo_b, hi_b = b["band"]
            if hi_b > lo_b:
                lines.append(f"  {label} first (result in {b['turnaround_days']} days) between {lo_b:.1%} and "
                             f"{hi_b:.1%} (lower edge {b['band_lo_interval'][0]:.1%}-{b['band_lo_interval'][1]:.1%}, "
                             f"upper {b['band_hi_interval'][0]:.1%}-{b['band_hi_interval'][1]:.1%})")
            else:
                lines.append(f"  {label} first (result in {b['turnaround_days']} days): never better "
                             f"(pays in {b['p_band_nonempty']:.0%} of draws)")
        lines.append(f"Options (expected per patient; cost in {cur} {self.price_year}, discounted):")
        lines.append(f"  {'option':<26} {'P(perm.)':>8} {'if def.':>8} {'Hb normal':>10} {'cost':>8} "
                     f"{'QALYs':>7} {'net benefit':>12}")
        for k, o in self.options.iterrows():
            day = "n/a" if o["day_hb_normal"] is None else f"day {o['day_hb_normal']:.0f}"
            mark = " <-" if k == self.recommendation else ""
            lines.append(f"  {k:<26} {o['p_permanent']:>8.1%} {o['p_permanent_if_deficient']:>8.1%} {day:>10} "
                         f"{o['cost']:>8,.0f} {o['qaly']:>7.3f} {o['nmb']:>12,.0f}{mark}")
        lines.append("Value of each test (information - cost of waiting - price = net):")
        for t, r in self.tests.iterrows():
            cut = ("no result would change the decision" if r["cutoff"] is None or pd.isna(r["cutoff"])
                   else f"treat if {r['label']} is {r['treat_if']} {r['cutoff']:.3g} {r['unit']}")
            lines.append(f"  {r['label']:<17} {r['value_of_information']:>8,.0f} - {r['cost_of_waiting']:>7,.0f} - "
                         f"{r['price']:>5,.0f} = {r['net_value']:>+8,.0f} {cur}; changes the decision with "
                         f"probability {r['p_change']:.0%}; {cut}")
        lines.append(f"Recommendation (highest expected net benefit): {self.describe(self.recommendation)}")
        err = (f"Monte Carlo error +-{self.margin_mcse:,.0f} over {self.draws} draws" if math.isfinite(self.margin_mcse)
               else f"Monte Carlo error not estimable from {self.draws} draw{'s' if self.draws != 1 else ''}")
        lines.append(f"  ahead of {self.describe(self.runner_up)} by {self.margin:,.0f} {cur} ({err})")
        if self.too_close:
            lines.append(f"  Too close to call with {self.draws} draws: the two options are within Monte Carlo error; "
                         "run again with more draws (draws=..., --draws) to separate them.")
        lines += [f"Note: {n}" for n in self.notes]
        lines.append(DISCLAIMER)
        return "\n".join(lines)

    def plot_threshold(self, ax=None, test: str | None = None):
        """The probability axis: options' expected NMB, thresholds and this patient (see :mod:`.figures`)."""
        return figures.threshold(ax, self, test=test)

    def plot_waiting(self, axes=None):
        """Harm against waiting time and each test's net value against its turnaround (see :mod:`.figures`)."""
        return figures.waiting(axes, self)
