"""Policy modelling: cohorts, strategies, the microsimulation (on :mod:`b12sim.economics`) and
cost-effectiveness analysis of outcomes indexed by (strategy, draw) (``analysis``)."""
