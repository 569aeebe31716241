# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Decision at the bedside: treat now, test first, or not treat?
#
# A teaching notebook. A patient's serum B12 is borderline. Methylmalonic acid (MMA) could settle whether the tissues
# are short of B12, but the result takes days to come back, and B12 deficiency left untreated for more than about
# 3 months may leave permanent spinal cord damage (FDA cyanocobalamin label). **b12sim** links the two: from the
# probability of deficiency (the diagnosis model) and the harm of every day of waiting (the treatment simulator) it
# weighs three choices,
#
# * **treat now** (empirically, with a chosen regimen),
# * **test first** (MMA, holotranscobalamin or a repeat serum B12) and treat if the result says so,
# * **do not treat** (a deficiency, if there is one, is assumed to be found and treated within a year),
#
# and reports for each the expected risk of a permanent nerve deficit, the time to a normal blood count, the cost and
# the quality-adjusted life years (QALYs), combined into a net monetary benefit at a willingness to pay per QALY.
#
# > **b12sim is a research and teaching tool, not medical advice.** The diagnosis model is calibrated to published
# > aggregates; the simulator's kinetics and blood response are calibrated; its **nerve-damage model rests on a few
# > small series** (Martin 1992's cognitive outcomes, the FDA label's 3-month statement, Chodos & Ross 1951) with
# > stated assumptions, and is checked against others it was not fitted to. The willingness to pay
# > (50,000 CAD/QALY), the horizon by which an untreated deficiency is found (1 year) and the price of holoTC in
# > Ontario are assumptions too (`data/evidence/decision.csv`). Teach the reasoning and the shape of the answer,
# > not the exact numbers.
#
# **Units**: serum B12 and holoTC in pmol/L (1 pg/mL = 0.7378 pmol/L), MMA in umol/L, costs in CAD (Ontario, price
# year 2013), time in days. Each `decide()` call simulates every treatment delay for 200 parameter draws in one
# pass and takes one to three seconds; the notebook runs in well under a minute.

# %%
# %matplotlib inline
import time

import matplotlib.pyplot as plt
import pandas as pd
import b12sim
from b12sim import plots
from b12sim.decision import figures

pd.set_option("display.width", 160)
pd.set_option("display.max_colwidth", 90)
plt.rcParams["figure.dpi"] = 90
print(f"b12sim {b12sim.__version__}")
print(b12sim.DISCLAIMER)

# %% [markdown]
# ## 1. The patient
#
# A 72-year-old woman, tired, no neurological symptoms; her serum B12 is 155 pmol/L (210 pg/mL), just above the
# conventional cut-off of 148 pmol/L and inside the "indeterminate" band of most guidelines. Nothing else has been
# measured. `b12sim.decide` answers the three-way question (default regimen: hydroxocobalamin 1 mg IM three times a
# week for two weeks, then every three months, the UK course without neurological involvement; the tests weighed are
# MMA, holoTC and a repeat serum B12, with their usual turnaround times):

# %%
patient = dict(b12=155, age=72, sex="female")
t0 = time.perf_counter()
d = b12sim.decide(patient)
print(f"decide() in {time.perf_counter() - t0:.1f} s\n")
print(d.report())

# %% [markdown]
# Reading the report:
#
# * **P(true deficiency)** is the diagnosis model's answer (the same number `b12sim.diagnose` gives): roughly one in
#   three, with a wide interval because serum B12 alone says little.
# * **If deficient and untreated for a year**, the simulator gives a small chance of a permanent nerve deficit: most
#   deficient people found this way hold steady untreated and a mild deficiency costs the nerves little, but some are
#   losing intrinsic factor and will not stay mild. Treating someone who is not deficient costs a lifetime of
#   injections (a few thousand dollars) but no health, while missing a deep deficiency can cost years of life quality:
#   the treatment threshold weighs the two.
# * **The value of each test** is split into three parts that add up exactly: what its information is worth (how
#   often the result would change the decision, and by how much), minus the cost of waiting for it (harm that accrues
#   meanwhile if the patient is deficient), minus its price. Testing first pays when the net is positive.
#
# The options table behind the report:

# %%
cols = ["p_permanent", "p_permanent_if_deficient", "day_hb_normal", "p_treated", "injections", "cost", "qaly", "nmb"]
d.options[cols].astype(float).round(3)

# %% [markdown]
# `p_permanent` is the expected probability of a permanent deficit (deficient or not); `_if_deficient` the same
# for a deficient patient; `day_hb_normal` the median day from which Hb stays normal if she is deficient; `cost` the
# expected discounted cost (tests, and lifelong treatment once started); `qaly` the expected discounted QALYs lost
# (negative); `nmb` = 50,000 x QALYs - cost. The highest `nmb` is the recommendation.
#
# ## 2. Where the thresholds come from
#
# Expected net benefit is a straight line in the probability of deficiency for *treat now* and *do not treat*; they
# cross at the **treatment threshold**. *Test first* is a bent line: at low probability nearly every result says "do
# not treat" and the test is money spent for nothing; at high probability nearly every result says "treat" and the
# test only delays treatment. In between, where a result can swing the decision, it rises above both lines: that is
# the **test band** (Pauker and Kassirer's threshold model, here with the whole distribution of the test result
# instead of one sensitivity and specificity).

# %%
fig = d.plot_threshold(test="mma")
plt.show()
th = d.thresholds
print(f"treat rather than not above {th['treat']:.1%} (95% over parameter draws {th['treat_interval'][0]:.1%} to "
      f"{th['treat_interval'][1]:.1%})")
for t, b in th["tests"].items():
    print(f"{d.tests.loc[t, 'label']:>17} first (result in {b['turnaround_days']:>2} days): test band "
          f"{b['band'][0]:.1%} to {b['band'][1]:.1%}")
print(f"this patient: P(deficient) = {d.p_deficient:.1%}")

# %% [markdown]
# The axis is on the log-odds scale, so that small and large probabilities are both visible (a test result moves a
# patient along it by its log likelihood ratio). The error bars are 95% intervals over the parameter draws: the
# thresholds are uncertain mostly because the nerve-damage risk is.
#
# What a result would have to be to change the decision (the cut-off of each test at which the best action switches):

# %%
d.tests[["label", "turnaround_days", "price", "value_of_information", "cost_of_waiting", "net_value", "p_change",
         "cutoff", "treat_if", "unit"]].round(3)

# %% [markdown]
# ## 3. The cost of waiting
#
# Left: the risk of a permanent deficit, *if she is deficient*, when treatment starts after a delay. Nerve damage
# needs a deep deficiency lasting months: for her, a deficiency would most likely be mild, so the risk stays close to
# zero over weeks and rises only slowly, in the draws where she is losing intrinsic factor and her stores keep
# falling (the clearly deficient patient of section 5 is another matter). Right: the net value of testing first as a
# function of how long the result takes. Where the curve crosses zero, waiting for the test starts to cost more than
# the test can save.

# %%
fig = d.plot_waiting()
plt.show()
cols = ["delay_days", "p_permanent_if_deficient", "p_permanent_lo", "p_permanent_hi", "cost_of_waiting", "net_value_mma"]
d.waiting[cols].round(3).set_index("delay_days").T

# %% [markdown]
# ## 4. Thresholds against turnaround and regimen
#
# The same patient, the MMA test taking anything from 3 days to 10 months: the test band narrows as the turnaround
# grows and closes onto the treatment threshold when waiting costs more than any result could save. The treatment
# threshold itself does not depend on the test.

# %%
tab = d.threshold_table[d.threshold_table["test"] == "mma"]
fig, ax = plt.subplots(figsize=(8, 4))
ax.fill_between(tab["turnaround_days"], tab["p_test_lo"], tab["p_test_hi"], color="#fdd49e", label="test first (MMA)")
ax.plot(tab["turnaround_days"], tab["p_treat"], color="k", lw=1.5, label="treatment threshold")
ax.axhline(d.p_deficient, color="C3", ls="--", label=f"this patient ({d.p_deficient:.0%})")
ax.set_yscale("logit")
ax.set_ylim(0.005, 0.5)
ax.set_xlabel("MMA turnaround (days)")
ax.set_ylabel("P(deficiency)")
ax.legend(fontsize=8)
ax.set_title("Below the band: do not treat; inside: test first; above: treat now")
plt.show()
tab[["turnaround_days", "p_treat", "p_test_lo", "p_test_hi", "p_test_hi_lo", "p_test_hi_hi", "p_band_nonempty"]].round(3)

# %% [markdown]
# The regimen matters through its cost and its speed. Oral cyanocobalamin 1 mg daily costs a few tens of dollars a
# year, so treating someone who turns out not to be deficient is cheap and the treatment threshold drops; the
# alternate-day injections recommended with neurological involvement cost more and raise it:

# %%
rows = {}
for reg in ("oral_1mg_daily", "uk_im_hydroxo_no_neuro", "uk_im_hydroxo_neuro"):
    r = d if reg == d.regimen else b12sim.decide(patient, regimen=reg)
    rows[reg] = {"treat threshold": r.thresholds["treat"],
                 "MMA band low": r.thresholds["tests"]["mma"]["band"][0],
                 "MMA band high": r.thresholds["tests"]["mma"]["band"][1],
                 "recommendation": r.describe(r.recommendation)}
pd.DataFrame(rows).T

# %% [markdown]
# ## 5. Three patients
#
# A clearly deficient profile, a clearly replete one, and the borderline patient above (MMA as the candidate test, with
# its usual 10-day turnaround):

# %%
patients = {
    "clearly deficient (B12 95 pmol/L, MMA 1.8, tHcy 32)": dict(b12=95, mma=1.8, hcy=32, age=68),
    "clearly replete (B12 420, holoTC 95, MMA 0.15)": dict(b12=420, holotc=95, mma=0.15, age=45),
    "borderline (B12 200 alone)": patient,
}
rows = {}
for name, labs in patients.items():
    r = b12sim.decide(labs, tests="mma")
    o = r.options.loc[r.recommendation]
    rows[name] = {"P(deficient)": f"{r.p_deficient:.1%}", "treat above": f"{r.thresholds['treat']:.1%}",
                  "MMA band": "{:.1%} to {:.1%}".format(*r.thresholds["tests"]["mma"]["band"]),
                  "value of MMA": f"{r.tests.loc['mma', 'value_of_information']:,.0f}",
                  "net of MMA first": f"{r.tests.loc['mma', 'net_value']:+,.0f}",
                  "recommendation": r.describe(r.recommendation),
                  "P(permanent) if deficient": f"{o['p_permanent_if_deficient']:.1%}"}
pd.DataFrame(rows).T


# %% [markdown]
# For the clearly deficient patient no MMA result could change the decision, so the information is worth exactly
# nothing and testing first only costs the wait and the price. For the replete patient the test would also be money
# for nothing. Only in between does the result carry value.
#
# ## 6. Try it
#
# Move the lab values and the turnaround and watch the probability, the thresholds and the projected harm change (each
# change reruns `decide()` with 100 draws, a second or two). The static figure below is drawn for the sliders'
# starting values; in a live notebook the sliders under it redraw it (on a static page such as GitHub only the figure
# shows).

# %%
def explore(b12=155.0, mma_measured=False, mma=0.30, age=72, turnaround=10, regimen="uk_im_hydroxo_no_neuro"):
    labs = dict(b12=b12, age=age) | ({"mma": mma} if mma_measured else {})
    r = b12sim.decide(labs, regimen=regimen, turnaround=turnaround, draws=100)
    r.plot_threshold()  # for the test with the highest net value
    plt.show()
    row = r.tests.loc[r.best_test]
    print(f"P(deficient) {r.p_deficient:.1%}; treat above {r.thresholds['treat']:.1%}; {row['label']} in {turnaround} "
          f"days: value {row['value_of_information']:,.0f} - waiting {row['cost_of_waiting']:,.0f} - price "
          f"{row['price']:,.0f} = {row['net_value']:+,.0f} CAD")
    print(f"if deficient and untreated for {r.horizon_days} days: P(permanent deficit) "
          f"{r.p_permanent_untreated_if_deficient:.0%}")
    print("recommendation:", r.describe(r.recommendation))


explore()

# %%
w = plots.widgets()  # None, with a one-line hint, where ipywidgets is not installed
if w:
    w.interact(explore,
               b12=w.FloatLogSlider(value=155, base=10, min=1.7, max=2.85, step=0.01, description="B12 pmol/L",
                                    continuous_update=False),
               mma_measured=w.Checkbox(value=False, description="MMA measured"),
               mma=w.FloatLogSlider(value=0.3, base=10, min=-1.2, max=0.7, step=0.01, description="MMA umol/L",
                                    continuous_update=False),
               age=w.IntSlider(value=72, min=30, max=95, description="age", continuous_update=False),
               turnaround=w.IntSlider(value=10, min=0, max=180, step=1, description="turnaround d",
                                      continuous_update=False),
               regimen=w.Dropdown(options=["uk_im_hydroxo_no_neuro", "uk_im_hydroxo_neuro", "oral_1mg_daily"],
                                  value="uk_im_hydroxo_no_neuro", description="regimen"))
# a short pause: headless runners (nbclient) can otherwise miss this cell's reply while they sync
# the sliders' output and wait out their timeout (jupyter/nbclient#312); harmless in a live notebook
time.sleep(1)

# %% [markdown]
# ## 7. Figures for slides
#
# `figures.write(folder, decision)` draws the two figures of a decision; here for the borderline patient, with MMA as
# the test and its result in 7 days (the figures in the README, drawn there by `make demo`), here into a folder of
# your own (`slides/`, beside the notebook), never over the project's tracked `figures/`:

# %%
example = b12sim.decide(figures.EXAMPLE, turnaround=figures.EXAMPLE_TURNAROUND)
for path in figures.write("slides", example):
    print("written:", path.name)

# %% [markdown]
# ## Summary
#
# * The decision is about three numbers on one axis: the probability of deficiency, the treatment threshold, and
#   the test band around it. Outside the band, act; inside, test.
# * The treatment threshold is low when treatment is cheap and harmless and the harm of a missed deficiency is large;
#   for this borderline patient, whose deficiency if any would be mild, it is high (lifelong injections for a small
#   expected harm), and much lower for cheap oral treatment and for deeper profiles.
# * A test is worth ordering only when its result could change what you do, and only if it comes back before waiting
#   costs more than the result is worth: the longer the turnaround, the narrower the band.
# * The numbers rest on a thinly calibrated nerve-damage model and on a willingness to pay; change them
#   (`decide(wtp=..., horizon_days=..., regimen=..., test_costs=...)`) and see how the answer moves.
#
# *Research and teaching tool; not medical advice.*
