"""Economics shared by ``decide`` and the policy microsimulation, so that they agree by construction.

* :mod:`.costs`: unit costs of a setting, the cost of a regimen-year, and the injections and
  whole tablets that received doses use (:func:`resources`, priced by :func:`dose_cost`);
* :mod:`.utilities`: the published utility proxies and the utility of a simulated day;
* :mod:`.discounting`: present-value factors over days;
* :mod:`.mortality`: background survival (Gompertz, matched to life tables);
* :mod:`.adherence`: which prescribed doses a person receives.

Days are counted from time zero (today, day 0). Both users weight what happens on day ``t``
(0-based, the simulator's step ``t``) by discount factor x survival: its costs (doses, tests,
visits) at ``t`` days, when they are paid, and its utility at ``t + 1`` days, the end of the day
the simulated state describes.
"""

from b12sim.economics.costs import (COST_ITEMS, TESTS, UnitCosts, annual_regimen_cost, dose_cost, resources,
                                    unit_costs)
from b12sim.economics.discounting import discount_factor
from b12sim.economics.utilities import (Utilities, anaemia_utility, day_utility, neuropathy_utility,
                                        permanent_deficit_utility, utilities)

__all__ = ["COST_ITEMS", "TESTS", "UnitCosts", "Utilities", "anaemia_utility", "annual_regimen_cost", "day_utility",
           "discount_factor", "dose_cost", "neuropathy_utility", "permanent_deficit_utility", "resources",
           "unit_costs", "utilities"]
