"""Economics shared by ``decide`` and the policy microsimulation, so that they agree by construction:
unit costs and the resources doses use (:mod:`.costs`), utilities (:mod:`.utilities`), discounting
(:mod:`.discounting`), background mortality (:mod:`.mortality`) and adherence (:mod:`.adherence`).

Both weight what happens on day ``t`` (0 = today; the simulator's step ``t``) by discount factor x
survival: its costs at ``t`` days, when they are paid, its utility at ``t + 1`` days, the end of the
day the simulated state describes.
"""

from b12sim.economics.costs import (COST_ITEMS, ONTARIO_ROWS, TESTS, UnitCosts, annual_quantities, annual_regimen_cost,
                                    cost_draws, dose_cost, price, resources, unit_costs)
from b12sim.economics.discounting import discount_factor
from b12sim.economics.utilities import (Utilities, anaemia_utility, day_utility, nerve_utilities, neuropathy_utility,
                                        permanent_deficit_utility, residual_decrement, utilities)

__all__ = ["COST_ITEMS", "ONTARIO_ROWS", "TESTS", "UnitCosts", "Utilities", "anaemia_utility", "annual_quantities",
           "annual_regimen_cost", "cost_draws", "day_utility", "discount_factor", "dose_cost", "nerve_utilities",
           "neuropathy_utility", "permanent_deficit_utility", "price", "residual_decrement", "resources", "unit_costs",
           "utilities"]
