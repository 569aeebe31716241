"""Policy modelling: unit costs, utilities and discounting (``economics``) and
cost-effectiveness analysis of outcomes indexed by (strategy, draw) (``analysis``)."""
