"""Clinical nerve involvement from low tissue B12: onset, severity, and what remains after treatment.

Exposure accrues at ``e = (max(0, D - D_k) / (D_ref - D_k))^g`` per day, where ``D`` is
the B12 metabolic deficit (:func:`b12sim.physiology.markers.deficit`), ``D_k`` its
value at the deficiency threshold, ``D_ref`` its value at the centre of the depleting
(pernicious-anaemia-like) component and ``g > 1`` the depth power: a day at a typical
clinical deficit adds one exposure-day, a mild biochemical deficit very little, a deep
one more than its depth (nerve injury needs deep tissue deficiency; ``neuro_depth_power``).
Folic acid does not enter: it gives nerves no protection (and no cited evidence shows it
speeds them; see ``docs/research/2026-12-nerves-and-blood.md``).

Each person is in one of :data:`STATES`, pairs ``(a, f)``: the clinical severity ``a`` now
(0 none, 1 mild sensory, 2 moderate, 3 severe myelopathy) and the part of it that has become
permanent ``f`` (0 none, 1 mild signs, 2 moderate-severe disability; ``f <= a``), the level the
person returns to once treated. The
simulator carries the probability of each state. While deficient (hazards per day, ``e`` as
above, ``s`` the person's nerve susceptibility, independent of the marrow's):

* onset ``(0, 0) -> (1, 0)`` at ``e s / onset_days``;
* progression ``(a, f) -> (a + 1, f)`` at ``e / progress_days`` (``a < 3``);
* fixation ``(a, f) -> (a, f + 1)`` at ``e / fixation_days`` (``f < a - 1``): the longer
  untreated clinical deficiency lasts, the more of it stays, one level below the severity
  reached (mild sensory involvement resolves in full; moderate can leave mild signs, severe
  myelopathy moderate-severe disability);
* recovery ``(a, f) -> (a - 1, f)`` at ``ln 2 / recovery_halflife * max(0, 1 - e)``
  (``a - 1 >= f``): as treatment removes the deficit, the part not fixed resolves over months.

So risk rises with the depth and duration of deficiency, treatment stops progression and
fixation at once, and a long-standing severe myelopathy mostly leaves residual signs.
"""

from __future__ import annotations

import math

from b12sim.physiology.kinetics import halflife_rate
from b12sim.physiology.markers import deficit
from b12sim.physiology.primitives import exp, log, maximum, where

STATES = ((0, 0), (1, 0), (1, 1), (2, 0), (2, 1), (2, 2), (3, 0), (3, 1), (3, 2))  # (severity now, fixed part)
N_NERVE = len(STATES)
ONSET = STATES.index((1, 0))  # where clinical involvement starts
OUTPUTS = ("nerve_mild", "nerve_moderate", "nerve_severe", "p_permanent", "p_residual_severe", "nerve_severity")
LEVELS = ("none", "mild", "moderate", "severe")
RESIDUALS = ("complete", "mild", "moderate_severe")  # outcome after treatment: the fixed part


def exposure_anchors(x_k, n_hinge, mu_d):
    """``(D_k, u)``: the B12 deficit at the deficiency threshold ``x_k`` (``ln 2 / n``) and the
    exposure-days per day per unit of deficit above it, ``1 / (D_ref - D_k)`` with ``D_ref`` the deficit
    at the centre ``mu_d`` of the depleting component (ln ug)."""
    d_k = math.log(2.0) / n_hinge
    return d_k, 1.0 / maximum(deficit(mu_d, x_k, n_hinge) - d_k, 1e-3)


def exposure_rate(d, d_k, per_deficit, depth_power):
    """Exposure-days per day at B12 deficit ``d``: the deficit above the threshold relative to a typical
    clinical one (``d_k``, ``per_deficit`` from :func:`exposure_anchors`) to the power ``depth_power``."""
    z = maximum(0.0, d - d_k) * per_deficit
    return where(z > 0.0, exp(depth_power * log(where(z > 0.0, z, 1.0))), 0.0)


def nerve_constants(neuro_onset_days, neuro_progress_days, neuro_fixation_days, neuro_recovery_halflife_days):
    """Rates (1/day) at one exposure-day per day: onset, progression, fixation, and recovery without exposure."""
    return (1.0 / neuro_onset_days, 1.0 / neuro_progress_days, 1.0 / neuro_fixation_days,
            halflife_rate(neuro_recovery_halflife_days))


def nerve_hazards(e, susceptibility, onset_rate, progress_rate, fixation_rate, recovery_rate):
    """``(onset, progress, fixation, recovery)`` hazards (1/day) at exposure rate ``e`` for a person of nerve
    ``susceptibility`` (a multiplier on onset), from the rates of :func:`nerve_constants`."""
    return (e * susceptibility * onset_rate, e * progress_rate, e * fixation_rate,
            maximum(0.0, 1.0 - e) * recovery_rate)


def nerve_flows(p00, p10, p11, p20, p21, p22, p30, p31, p32, onset, progress, fixation, recovery):
    """``(inflows, k)``, each a tuple over :data:`STATES`, of the state probabilities ``p..`` under the
    hazards of :func:`nerve_hazards`: ``dp/dt = inflow - k p`` (see the module doc)."""
    inflow = (recovery * p10,
              onset * p00 + recovery * p20,
              recovery * p21,
              progress * p10 + recovery * p30,
              progress * p11 + fixation * p20 + recovery * p31,
              recovery * p32,
              progress * p20,
              progress * p21 + fixation * p30,
              progress * p22 + fixation * p31)
    k = (onset, progress + recovery, progress, progress + fixation + recovery, progress + recovery, progress,
         fixation + recovery, fixation + recovery, recovery)
    return inflow, k


def nerve_outputs(p00, p10, p11, p20, p21, p22, p30, p31, p32):
    """The simulator outputs :data:`OUTPUTS` of the state probabilities, in that order: the probability of
    each clinical severity now, of a permanent part (any; moderate-severe) and the mean severity on a 0-1
    scale (0 none, 1 severe)."""
    mild, moderate, severe = p10 + p11, p20 + p21 + p22, p30 + p31 + p32
    return (mild, moderate, severe, p11 + p21 + p22 + p31 + p32, p22 + p32,
            (mild + 2.0 * moderate + 3.0 * severe) / 3.0)


def nerve_generator(onset, progress, fixation, recovery):
    """Rows ``Q[i][j]`` of the chain's rate matrix (1/day; ``dp/dt = Q p``) under constant hazards, each
    entry built from :func:`nerve_flows` (nested lists; the caller stacks them for its array library)."""
    rows = [[0.0] * N_NERVE for _ in range(N_NERVE)]
    for j in range(N_NERVE):
        inflow, k = nerve_flows(*[1.0 if i == j else 0.0 for i in range(N_NERVE)], onset, progress, fixation,
                                recovery)
        for i in range(N_NERVE):
            rows[i][j] = inflow[i] - k[i] if i == j else inflow[i]
    return rows
