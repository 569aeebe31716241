"""Adherence: a regimen's (:class:`b12sim.regimens.Adherence`, the one model) with a person's own shares.

A person's share for a dose's route (:data:`TRAITS`; the policy cohorts carry them, a single
patient has 1) multiplies the regimen's ``p_take``. A regimen switched to (the microsimulation's
oral non-responders) is a new prescription: its stopping clock starts on the switch day, with
the person's same stopping uniform.
"""

from __future__ import annotations

import numpy as np

from b12sim.economics.costs import IM_CHANNELS
from b12sim.regimens import CHANNELS

TRAITS = {"oral": "oral_adherence", "im": "im_attendance"}  # route -> a person's share (0-1); default: "<name>_mean"


def received(prescriptions, u: np.ndarray, u_stop: np.ndarray, shares: dict[str, np.ndarray],
             horizon: int) -> dict[str, np.ndarray]:
    """Doses received per channel, (people, days 0..horizon-1).

    ``prescriptions[j]``: person ``j``'s regimens as ``(regimen, first day, end day)``;
    ``u`` (people, horizon): each day's uniform; ``u_stop`` (people,): each person's
    stopping uniform; ``shares``: route (``"oral"``, ``"im"``) -> share per person.
    """
    out = {c: np.zeros((len(prescriptions), horizon)) for c in CHANNELS}
    given = {}  # (regimen, days) -> the channels it doses and their schedules
    for j, segments in enumerate(prescriptions):
        for reg, a, b in segments:
            key = (id(reg), b - a)
            if key not in given:
                given[key] = {c: d for c, d in reg.schedule(b - a).items() if d.any()}
            days = np.arange(b - a)
            for c, dose in given[key].items():
                share = shares["im" if c in IM_CHANNELS else "oral"][j]
                out[c][j, a:b] = np.where(reg.adherence.received(days, u[j, a:b], u_stop[j], share), dose, 0.0)
    return out
