"""Treatment simulation: the latent B12 state over time under a regimen and a delay."""

from b12sim.simulation.simulate import delay_curve, simulate, summarise, summary_table

__all__ = ["delay_curve", "simulate", "summarise", "summary_table"]
