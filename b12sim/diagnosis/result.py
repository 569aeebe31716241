"""The diagnosis of one patient: numbers, explanation, and a readable report."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

from b12sim import units
from b12sim.defaults import DISCLAIMER

LABELS = {"b12": "serum B12", "holotc": "holoTC", "mma": "MMA", "hcy": "tHcy", "folate": "folate"}


def times(log_ratio: float) -> str:
    """A natural-log likelihood ratio as the multiplier of the odds it stands for: ``x2.4``, ``x0.3``, ``x12``."""
    lr = math.exp(log_ratio)
    if lr >= 10:
        return f"x{lr:,.0f}"
    return f"x{lr:.1f}" if lr >= 1 else f"x{lr:.2g}"


def html_table(header, rows) -> str:
    """An HTML table (Jupyter display) of ``rows`` (sequences of cells) under ``header``, every cell escaped."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_page(title: str, lines, tables=(), notes=()) -> str:
    """A result's notebook display: bold ``title``, ``lines``, (caption, table HTML) pairs, notes and the disclaimer."""
    out = [f"<p><b>{html.escape(title)}</b><br>" + "<br>".join(html.escape(x) for x in lines) + "</p>"]
    out += [f"<p>{html.escape(caption)}</p>{table}" for caption, table in tables]
    small = [*(f"Note: {n}" for n in notes), DISCLAIMER]
    out.append("<p style='font-size:smaller'>" + "<br>".join(html.escape(x) for x in small) + "</p>")
    return "<div>" + "".join(out) + "</div>"


class Reported:
    """A result whose ``report()`` text is also its ``str``; ``repr`` is one line, the notebook display HTML."""

    def report(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.report()


@dataclass(frozen=True)
class Diagnosis(Reported):
    """P(true B12 deficiency) for one patient, with its uncertainty and explanation.

    Attributes
    ----------
    p_deficient : posterior probability of true deficiency (stores below the
        tissue-supply threshold), averaged over the calibration posterior.
    interval : 95% credible interval of that probability over parameter draws.
    mcse : Monte Carlo standard error of ``p_deficient`` from averaging over a finite
        number of draws (``draws``; NaN with fewer than 4); more draws (``draws="all"``) shrink it.
    p_prior : pre-test probability from age and risk factors alone.
    p_folate_deficient : probability that true serum folate is below 7 nmol/L.
    contributions : natural-log likelihood ratio attributed to each given marker
        (Shapley split of ``logit(p_deficient) - logit(p_prior)``, so they add up;
        positive points towards deficiency); :attr:`likelihood_ratios` gives them as
        multipliers of the odds (``exp``), which multiply up.
    alone : each marker's log likelihood ratio on its own (the marker against the
        prior, ignoring the others). It differs from ``contributions`` when markers
        disagree: a value that is low but less low than the others imply adds
        evidence on its own yet subtracts in combination.
    stores_ug : posterior median estimate of body cobalamin stores (ug).
    cb12, cb12_category : Fedosov's 4-marker cB12 and its category (None when a
        marker is missing).
    inputs : the values used, in canonical units (NaN = not given).
    notes : assumptions made for this patient (e.g. eGFR not given).
    """

    p_deficient: float
    interval: tuple[float, float]
    mcse: float
    p_prior: float
    p_folate_deficient: float
    contributions: dict[str, float]
    alone: dict[str, float]
    stores_ug: float
    cb12: float | None
    cb12_category: str | None
    inputs: dict[str, float]
    notes: tuple[str, ...] = field(default=())
    draws: int = 0

    @property
    def likelihood_ratios(self) -> dict[str, float]:
        """Each marker's contribution as a likelihood ratio: the factor by which it multiplies the odds of
        deficiency (> 1 towards deficiency; their product is the posterior odds over the prior odds)."""
        return {k: math.exp(v) for k, v in self.contributions.items()}

    def to_dict(self) -> dict:
        """JSON-ready dictionary (the CLI's ``--json`` output)."""
        qs = units.quantities()
        given = {k: v for k, v in self.inputs.items() if k in qs and not math.isnan(v)}
        risks = [k for k, v in self.inputs.items() if k not in qs and v]
        return {
            "p_deficient": round(self.p_deficient, 4),
            "interval": [round(self.interval[0], 4), round(self.interval[1], 4)],
            "mcse": None if math.isnan(self.mcse) else round(self.mcse, 4),
            "p_prior": round(self.p_prior, 4),
            "p_folate_deficient": round(self.p_folate_deficient, 4),
            "contributions": {k: round(v, 3) for k, v in self.contributions.items()},
            "alone": {k: round(v, 3) for k, v in self.alone.items()},
            "likelihood_ratios": {k: float(f"{v:.3g}") for k, v in self.likelihood_ratios.items()},
            "stores_ug": round(self.stores_ug, 1),
            "cb12": None if self.cb12 is None else round(self.cb12, 3),
            "cb12_category": self.cb12_category,
            "inputs": {k: round(v, 4) for k, v in given.items()},
            "units": {k: qs[k].unit for k in given},
            "risk_factors": risks,
            "notes": list(self.notes),
            "draws": self.draws,
            "disclaimer": DISCLAIMER,
        }

    def __repr__(self) -> str:
        markers = ", ".join(f"{k} {times(v)}" for k, v in self.contributions.items())
        return (f"Diagnosis(p_deficient={self.p_deficient:.3f}, interval=({self.interval[0]:.3f}, "
                f"{self.interval[1]:.3f}), p_prior={self.p_prior:.3f}, likelihood ratios: {markers or 'none'}; "
                f"{self.draws} draws)")

    def _repr_html_(self) -> str:
        lo, hi = self.interval
        rows = [(LABELS[k], f"{self.inputs[k]:.4g} {units.quantity(k).unit}", f"{times(v)} ({v:+.2f})",
                 f"{times(self.alone[k])} ({self.alone[k]:+.2f})")
                for k, v in sorted(self.contributions.items(), key=lambda kv: -abs(kv[1]))]
        tables = [("What moved it: likelihood ratio (how many times the odds of deficiency), log in brackets",
                   html_table(("marker", "value", "combined", "alone"), rows))] if rows else []
        cb12 = ("cB12: not computed (needs B12, holoTC, MMA and tHcy)" if self.cb12 is None
                else f"cB12 (Fedosov): {self.cb12:+.2f} {self.cb12_category}")
        return html_page(f"P(true B12 deficiency): {self.p_deficient:.0%} (95% credible interval {lo:.0%} to {hi:.0%})",
                         [f"before the markers: {self.p_prior:.0%}",
                          f"P(folate deficiency): {self.p_folate_deficient:.0%}",
                          f"estimated body B12 stores: {self.stores_ug:,.0f} ug", cb12], tables, self.notes)

    def report(self) -> str:
        """A plain-text report for people."""
        lo, hi = self.interval
        lines = [
            f"P(true B12 deficiency): {self.p_deficient:.0%}  (95% credible interval {lo:.0%} to {hi:.0%})",
            *([] if math.isnan(self.mcse) else
              [f"  Monte Carlo error of that average over {self.draws} posterior draws: +-{100 * self.mcse:.1f} points"]),
            f"  before the markers (age {self.inputs['age']:g}"
            + "".join(f", {k.replace('_', ' ')}" for k, v in self.inputs.items()
                      if k not in units.quantities() and v) + f"): {self.p_prior:.0%}",
            f"P(folate deficiency, serum folate < 7 nmol/L): {self.p_folate_deficient:.0%}",
            f"Estimated body B12 stores: {self.stores_ug:,.0f} ug",
        ]
        if self.contributions:
            lines.append("What moved it (likelihood ratio: how many times the odds of deficiency; log in brackets):")
            lines.append(f"  {'marker':<10} {'value':>9} {'unit':<7} {'combined':>14} {'alone':>14}")
            for k, v in sorted(self.contributions.items(), key=lambda kv: -abs(kv[1])):
                q, a = units.quantity(k), self.alone[k]
                lines.append(f"  {LABELS[k]:<10} {self.inputs[k]:>9.4g} {q.unit:<7} {f'{times(v)} ({v:+.2f})':>14} "
                             f"{f'{times(a)} ({a:+.2f})':>14}")
        if self.cb12 is not None:
            lines.append(f"cB12 (Fedosov, 4 markers): {self.cb12:+.2f}  {self.cb12_category}")
        else:
            lines.append("cB12: not computed (needs B12, holoTC, MMA and tHcy)")
        lines += [f"Note: {n}" for n in self.notes]
        lines.append(DISCLAIMER)
        return "\n".join(lines)

