# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Oral or IM? Comparing B12 treatment strategies across a population
#
# A worked example for health-policy modelers. **b12sim** draws a synthetic population of older adults found by a
# low serum B12, treats each person under several strategies with the calibrated simulator, and values the results
# with Ontario unit costs and published utility proxies, over posterior draws of every uncertain parameter. The
# output is the usual cost-effectiveness toolkit: ICER table with dominance, cost-effectiveness plane, acceptability
# curves, expected value of (partial) perfect information, subgroups, deterministic sensitivity analysis (tornado),
# budget impact. `docs/policy.md` describes each tool and how to feed your own PSA table to the same functions.
#
# > **b12sim is a research and teaching tool, not medical advice.** The costs are Ontario 2013 fees and prices
# > (CAD; Masucci & Goeree 2013, Health Quality Ontario 2013); the utilities are proxies from anaemia, neuropathy and
# > spinal-cord studies (Lloyd 2008, Currie 2006, Matza 2014), combined multiplicatively (an assumption); the
# > simulator's nerve-damage model rests on a few small series (Martin 1992, the FDA label, Chodos & Ross 1951)
# > and stated assumptions. See
# > `data/evidence/economics.csv` and `population.csv`: every number has a source or is flagged as an assumption.
#
# This notebook runs in about a minute: 256 people x 100 posterior draws per strategy. Real analyses need more of
# both (section 7).

# %%
# %matplotlib inline
import warnings

import matplotlib.pyplot as plt
import pandas as pd

import b12sim
from b12sim.policy import sensitivity
from b12sim.policy.strategies import load_strategy

warnings.simplefilter("ignore")  # synthetic tails trip the unit mix-up warning by design
pd.set_option("display.width", 160)
pd.set_option("display.precision", 3)
SEED = 20261125

# %% [markdown]
# ## 1. The population
#
# People aged 60-90 are generated from the calibrated marker model with the risk-factor prevalences of the
# evidence table (pernicious anaemia 1.9%, Carmel 1996; the rest assumptions) and kept when their serum B12 is
# below 148 pmol/L. So the cohort is what testing finds: most are truly deficient, some have a low B12 without
# a tissue deficiency. Each person's cause is their strongest risk factor; nerve involvement, symptom duration
# and adherence traits (share of tablets taken, of injections received) are drawn per person.

# %%
cohort = b12sim.synthetic_cohort(256, seed=SEED)
causes = cohort.groupby("cause").agg(people=("age", "size"), truly_deficient=("deficient", "mean"),
                                     nerve_involvement=("neuro_days", lambda d: (d > 0).mean()))
print(f"{len(cohort)} people; truly deficient {cohort['deficient'].mean():.0%}; "
      f"median age {cohort['age'].median():.0f}")
causes

# %% [markdown]
# ## 2. The strategies
#
# Each strategy chooses a regimen per person as the clinical summary prescribes (IM hydroxocobalamin on alternate
# days when nerves are involved; monthly after ileal resection; every 3 months after bariatric surgery), then
# adds its own rules. The oral strategies switch people whose serum B12 is still low at 3 months to IM.

# %%
STRATEGIES = ["no_treatment", "oral_1mg", "im_loading_then_oral", "uk_im_hydroxo", "us_im_cyano_monthly",
              "confirm_mma_uk_im"]
for s in STRATEGIES:
    print(f"{s:<22} {load_strategy(s).summary()}")

# %% [markdown]
# ## 3. Run the comparison
#
# `compare_strategies` runs every strategy on the same people and the same parameter draws (common random
# numbers: a person takes the same doses on the same days whatever the strategy prescribes), over one year,
# discounting costs and QALYs at 1.5% (CADTH; `discount_costs=` and `discount_qalys=` set them apart). Each draw
# carries one value of every uncertain input: the simulator's parameters, every unit cost (with the uncertainty of
# its evidence row) and the utilities. `subgroups=True` also keeps results by cause, age band and nerve
# involvement. It runs in this process; `scheduler="local:2"` or a Dask scheduler address spreads the chunks over
# workers with identical results.

# %%
res = b12sim.compare_strategies(cohort, STRATEGIES, draws=100, horizon_days=365, seed=SEED, subgroups=True,
                                progress=False)
summary = res.summary()
summary[["cost", "qaly", "p_permanent", "hb_normal_day56", "injections", "tablets", "treated", "switched"]]

# %% [markdown]
# Costs are CAD per person in the first year (2013 prices), QALYs per person over that year. `p_permanent` is the
# mean probability of a permanent nerve deficit at one year; `hb_normal_day56` the share with a normal Hb on day 56.
# Each mean has a Monte Carlo standard error in `summary` (`*_mcse` columns) and a 95% interval over draws.
#
# ## 4. Incremental analysis

# %%
icers = res.icers(reference="no_treatment")
icers[["cost", "qaly", "status", "dominated_by", "compared_with", "icer", "quadrant"]]

# %%
fig, axes = plt.subplots(1, 2, figsize=(14, 4.8))
res.plot_ce_plane(axes[0], reference="uk_im_hydroxo")
res.plot_ceac(axes[1])
fig.tight_layout()
plt.show()

# %% [markdown]
# In this run, IM loading followed by daily oral 1 mg sits on the frontier and dominates 3-monthly UK IM maintenance:
# after the loading course, daily tablets absorbed passively (about 1% of 1 mg, about 12 ug a day) keep the stores
# higher than 1 mg IM every 3 months (about 8 ug a day retained), and cost less in year one. Oral 1 mg alone is the
# cheapest treatment but refills the stores of people without intrinsic factor more slowly, so against UK IM it
# sits in the south-west quadrant (left): cheaper and a little worse. The US monthly cyanocobalamin course costs more
# (weekly, then monthly visits) for about the same health. Confirming with MMA first saves little and leaves some
# truly deficient people untreated for a while, so it is dominated. These are the model's conclusions under its
# stated assumptions (a one-year horizon, Ontario fees, proxy utilities), not recommendations.
#
# ## 5. Value of information
#
# The expected value of perfect information (EVPI) is what resolving every parameter uncertainty of the run would
# be worth per person: the mean over draws of the best net benefit in each draw, minus the net benefit of the
# strategy that is best on average. The expected value of partial perfect information (EVPPI) is the same for one
# group of parameters, estimated by regressing each draw's net benefits on the group's values (Strong et al. 2014);
# a linear fit needs about ten draws per parameter, so with 100 draws the plot shows the groups it can estimate
# (kinetics, haematology and the eleven unit costs need more draws).

# %%
fig, axes = plt.subplots(1, 2, figsize=(14, 4.5))
res.plot_evpi(axes[0])
res.plot_evppi(axes[1])  # the groups these draws can estimate
fig.tight_layout()
plt.show()
evpi = res.evpi()
peak = evpi["evpi"].idxmax()
print(f"EVPI peaks at {peak:,.0f} CAD per QALY: {evpi.loc[peak, 'evpi']:.1f} CAD per person "
      f"(MCSE {evpi.loc[peak, 'mcse']:.1f})")
print("ICERs along the frontier:", icers.loc[icers["status"] == "frontier", "icer"].dropna().round(0).tolist())
res.ceaf([peak, 20_000, 50_000])

# %% [markdown]
# The EVPI is largest near a willingness to pay where two frontier strategies trade places (an ICER of the table in
# section 4): there the draws disagree about which is best, and better evidence could change the choice. Far from
# those thresholds one strategy wins in almost every draw and the EVPI falls towards zero. A run with few draws can
# show exact zeros simply because it holds no draw in which the decision changes; this is why the notebook uses
# 100 draws, and a real analysis several hundred. The EVPPI panel says which group of parameters that value of
# information sits in.
#
# ## 6. Subgroups, sensitivity and budget impact
#
# `subgroups=True` kept cost, QALYs and P(permanent deficit) per subgroup: by cause, age band and nerve involvement.
# Every analysis method takes `subgroup=`, e.g. `res.icers(subgroup="nerves=no")`.

# %%
res.subgroups().loc["nerves=yes", ["people", "cost", "qaly", "p_permanent"]]

# %% [markdown]
# People with nerve involvement get IM hydroxocobalamin on alternate days under most strategies (the clinical
# summary's rule), so the strategies differ mainly for the people without it.
#
# A one-way sensitivity analysis holds every input at its central value and moves one at a time over its range (the
# 2.5% and 97.5% quantiles of its draws; 0-3% for the discount rates): the tornado shows how far each moves the
# incremental net benefit of the best strategy against its closest rival at 50,000 CAD per QALY. Where `best_low`
# or `best_high` differs from the base case's best strategy, that input alone can change the decision.

# %%
sa = sensitivity.one_way(cohort, ["oral_1mg", "im_loading_then_oral", "uk_im_hydroxo"], seed=SEED, progress=False)
fig, ax = plt.subplots(figsize=(10, 5.5))
sa.plot_tornado(ax, wtp=50_000)
fig.tight_layout()
plt.show()
sa.tornado(50_000).head(8)[["low", "high", "inmb_low", "inmb_high", "best_low", "best_high"]]

# %%
budget = res.budget_impact(population=10_000)
(budget / 1e6).round(2).rename(columns=lambda c: c + " (CAD million)")

# %% [markdown]
# The budget impact gives the undiscounted cost of each year of the horizon for 10,000 people starting together
# (expected over survival: background mortality from Canadian life tables); with a one-year horizon that is the
# first year, loading courses included. Run `horizon_days=5 * 365` for five years.
#
# ## 7. For a real analysis
#
# * Use more draws (`draws=500` or more) and people (10,000 or more); the run is chunked, so memory follows the
#   chunk size, not the population.
# * Spread it over cores or machines: `compare_strategies(..., scheduler="local:2")` or
#   `scheduler="tcp://scheduler:8786"`; the CLI is `b12sim compare --strategies a,b,c --people N --draws M`.
# * Use your own population (`compare_strategies(df, ...)` with `age` and `cause` columns and any labs), your own unit
#   costs (`costs=` a dict or CSV, with currency and price year) and your own strategies (TOML or JSON files with
#   the keys of `b12sim/presets/strategies.toml`).
# * `res.save("results/")` writes the tables (CSV), the figures (PNG) and the outcomes DataTree (netCDF).
#
# *Research and teaching tool; not medical advice.*
