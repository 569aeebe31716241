"""The policy toolkit's README figures: a tornado and the value of information of a synthetic cohort."""

from __future__ import annotations

from pathlib import Path

from b12sim.defaults import SEED
from b12sim.io import save_figure
from b12sim.policy import sensitivity
from b12sim.policy.compare import compare_strategies
from b12sim.policy.population import synthetic_cohort


#: Strategies of :func:`toolkit_figures`.
TOOLKIT_STRATEGIES = ("no_treatment", "oral_1mg", "im_loading_then_oral", "uk_im_hydroxo")


def toolkit_figures(folder="figures", *, people: int = 384, draws: int = 150, seed: int | None = None,
                    wtp: float = 50_000.0) -> list[Path]:
    """Write ``policy_tornado.png`` (one-way sensitivity of the best strategy against its closest
    rival at ``wtp``) and ``policy_voi.png`` (EVPI and EVPPI by parameter group over willingness to
    pay) into ``folder`` for a synthetic cohort of ``people`` under :data:`TOOLKIT_STRATEGIES`,
    ``draws`` posterior draws for the value of information; returns the paths."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    seed = SEED if seed is None else seed
    cohort = synthetic_cohort(people, seed=seed)
    res = compare_strategies(cohort, TOOLKIT_STRATEGIES, draws=draws, seed=seed, progress=False)
    sa = sensitivity.one_way(cohort, TOOLKIT_STRATEGIES, seed=seed, progress=False)
    out = []
    fig, ax = plt.subplots(figsize=(9, 5.5))
    sa.plot_tornado(ax, wtp=wtp)
    fig.tight_layout()
    out.append(save_figure(fig, Path(folder) / "policy_tornado.png", dpi=120))
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    res.plot_evpi(axes[0])
    res.plot_evppi(axes[1])
    fig.tight_layout()
    out.append(save_figure(fig, Path(folder) / "policy_voi.png", dpi=120))
    plt.close("all")
    return out
