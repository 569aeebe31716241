"""Parameter draws for the simulator: shipped posteriors plus evidence priors.

Draw ``i`` pairs the ``i``-th of ``n`` evenly spaced draws of the shipped marker
posterior (so a diagnosed patient's draw and their simulated course share one
parameter set) with evenly spaced draws of the calibrated kinetic
(``treatment.nc``), blood-response (``haematology.nc``) and permanent-deficit
(nerve onset, progression and fixation: ``neurology.nc``) posteriors and with prior draws of everything else. Priors come
from the evidence rows (``data/evidence/treatment.csv``, ``kinetics.csv``): normal
for ``sd`` rows, log-normal for ``log_sd`` rows, kept inside physiological bounds
(see :data:`b12sim.defaults.STATUS`, which ``attrs["calibration"]`` of every result repeats).
"""

from __future__ import annotations

import numpy as np

from b12sim import evidence
from b12sim import posterior as shipped
from b12sim.physiology import kinetics as kin
from b12sim.physiology import markers as mk

# b12sim.calibration.treatment.FREE (that module imports PyMC)
KINETIC = ("recent_halflife_days", "spill_ug", "spill_hydroxo_ug", "spill_cyano_ug", "serum_per_ug_recent",
           "loss_per_day", "passive_fraction", "biliary_ug_per_day", "if_fraction", "if_max_ug")
HAEMATOLOGIC = ("marrow_delay_days", "reticulocyte_days", "epo_exponent", "marrow_sensitivity", "rbc_lifespan_days",
                "mcv_normal_fl", "mcv_per_deficit", "marrow_susceptibility_sd")  # b12sim.calibration.haematology.FREE
NEUROLOGIC = ("neuro_onset_days", "neuro_progress_days", "neuro_fixation_days")  # b12sim.calibration.neurology.FREE
CALIBRATED = ({name: "treatment" for name in KINETIC} | {name: "haematology" for name in HAEMATOLOGIC}
              | {name: "neurology" for name in NEUROLOGIC})

# model name -> (evidence row, lower bound, upper bound)
PRIORS = {
    "recent_halflife_days": ("recent_pool_halflife_days", 0.5, 120.0),
    "spill_ug": ("plasma_spill_ug", 1.0, 200.0),
    "spill_hydroxo_ug": ("im_spill_hydroxocobalamin_ug", 10.0, 50000.0),
    "spill_cyano_ug": ("im_spill_cyanocobalamin_ug", 10.0, 50000.0),
    "serum_per_ug_recent": ("serum_b12_per_ug_recent", 0.01, 250.0),
    "marker_halflife_days": ("marker_response_halflife_days", 0.25, 60.0),
    "rbc_lifespan_days": ("rbc_lifespan_days", 60.0, 160.0),
    "marrow_delay_days": ("marrow_delay_days", 1.0, 8.0),
    "reticulocyte_days": ("reticulocyte_days", 0.5, 2.5),
    "epo_exponent": ("epo_exponent", 0.2, 4.0),
    "marrow_sensitivity": ("marrow_deficit_sensitivity", 0.1, 4.0),
    "mcv_normal_fl": ("mcv_normal_fl", 80.0, 100.0),
    "mcv_per_deficit": ("mcv_per_deficit", 0.02, 0.5),
    "marrow_susceptibility_sd": ("marrow_susceptibility_log_sd", 0.05, 2.0),
    "hb_replete_female": ("hb_replete_female", 115.0, 160.0),
    "hb_replete_male": ("hb_replete_male", 125.0, 175.0),
    "folic_acid_halflife_days": ("folic_acid_halflife_days", 0.1, 10.0),
    "folic_acid_bypass": ("folic_acid_marrow_bypass", 0.0, 1.0),
    "neuro_onset_days": ("neuro_onset_days", 20.0, 3650.0),
    "neuro_progress_days": ("neuro_progress_days", 15.0, 3650.0),
    "neuro_fixation_days": ("neuro_fixation_days", 10.0, 3650.0),
    "neuro_susceptibility_sd": ("neuro_susceptibility_log_sd", 0.1, 2.5),
    "neuro_depth_power": ("neuro_depth_power", 1.0, 8.0),
    "neuro_recovery_halflife_days": ("neuro_recovery_halflife_days", 5.0, 730.0),
    "if_fraction": ("if_fraction_small_dose", 0.2, 0.9),
    "if_max_ug": ("if_saturation_ug", 0.5, 4.0),
    "passive_fraction": ("passive_absorption_fraction", 0.003, 0.03),
    "loss_per_day": ("store_loss_per_day", 0.0003, 0.004),
    "biliary_ug_per_day": ("biliary_secretion_ug_per_day", 0.2, 15.0),
}


def prior_of(name: str) -> tuple[float, float, bool, float, float]:
    """``(value, sd, log_normal, lower, upper)`` of the evidence prior of ``name``: normal around the
    value for ``sd`` rows, log-normal around it for ``log_sd`` rows, truncated to the bounds.
    :func:`draw` samples it; :func:`b12sim.calibration.priors.evidence_priors` gives it to PyMC."""
    row, lo, hi = PRIORS[name]
    r = evidence.row(row)
    return float(r["value"]), float(r["uncertainty"]), r["uncertainty_type"] == "log_sd", lo, hi


def _prior(rng, name: str, n: int) -> np.ndarray:
    v, u, log_normal, lo, hi = prior_of(name)
    out = np.empty(n)
    todo = np.arange(n)
    while todo.size:  # rejection keeps the shape of the prior inside its bounds
        z = rng.standard_normal(todo.size)
        cand = v * np.exp(u * z) if log_normal else v + u * z
        ok = (cand >= lo) & (cand <= hi)
        out[todo[ok]] = cand[ok]
        todo = todo[~ok]
    return out


def draw(n: int, seed, *, prior: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """``n`` joint parameter draws (arrays of shape (n,)), reproducible from ``seed``.

    Names in ``prior`` keep their evidence prior instead of a calibrated posterior
    (the calibrations use this to sample the parameters they fit).
    """
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    rng = np.random.default_rng(root)
    p = shipped.thin(shipped.load_posterior("markers"), mk.PARAMS, n)
    for name in PRIORS:
        p[name] = _prior(rng, name, n)
    for name, tree in CALIBRATED.items():
        if name not in prior:
            p[name] = shipped.thin(shipped.load_posterior(tree), (name,), n)[name]
    ev = evidence.value
    p["biliary_reabsorbed"] = np.full(n, ev("biliary_reabsorbed_fraction"))
    p["recent_per_day"] = kin.halflife_rate(p["recent_halflife_days"])
    p["meals_per_day"] = np.full(n, ev("meals_per_day"))
    p["folic_acid_threshold_mg"] = np.full(n, ev("folic_acid_threshold_mg"))
    return p

