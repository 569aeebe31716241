"""Decision support: treat now, test first, or not treat, with the value of a further test.

See :func:`decide`. Built on the diagnosis posterior (P(deficient), what a test could
show) and the treatment simulator (the harm of waiting); nothing here imports PyMC.
"""

from b12sim.decision.decide import decide
from b12sim.decision.result import Decision

__all__ = ["Decision", "decide"]
