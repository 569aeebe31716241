# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The model against published studies
#
# A worked example for researchers. A disease model is judged first by its validation: which published results it
# reproduces without having been fitted to them. `b12sim.validate()` runs the model through a table of published
# studies (`data/validation/studies.csv`): for each it draws a synthetic population the way the study enrolled
# people (on *measured* labs, with their noise), gives it the study's arms with the simulator, measures the outcome
# as the study defined it, and compares the model's 95% interval (parameter uncertainty plus the sampling error of
# a study of the published size) with the published value.
#
# Rows marked `calibration` were used to fit the model; the model should reproduce them. Rows marked `validation`
# were kept aside: they test it. A miss is a finding about the model, not a failure of the report.
#
# > **b12sim is a research and teaching tool, not medical advice.**

# %%
import numpy as np
import matplotlib.pyplot as plt
import pandas as pd
import b12sim

pd.set_option("display.width", 160)
pd.set_option("display.max_colwidth", 48)
v = b12sim.validate(draws=12, people=120)
v

# %% [markdown]
# The counts first: every calibration row should be inside; the validation rows tell where the model stands.
# The table gives each published value (with its interval or size) and the model's median and 95% interval.

# %%
v.table().drop(columns=["id"])

# %% [markdown]
# ## The forest plot
#
# Each row is one published result, placed at zero; the bar is the model's 95% interval relative to it,
# `(model - published) / |published|` (grey: calibration rows; green: validation rows inside; red: outside).

# %%
fig = v.plot()
plt.show()

# %% [markdown]
# Reading the misses by area:
#
# * **Natural history.** The speed of depletion without intrinsic factor is the one calibrated (Hu 2013); the
#   Adachi series it was not fitted to falls inside. People who eat less (vegetarians, new
#   vegans) deplete further and faster in the model than in the studies.
# * **Diagnosis.** Serum B12 and holoTC separate raised from normal MMA almost perfectly in the model (AUC near 1,
#   positive likelihood ratio near 12), against AUC 0.76 and 0.85 and LR+ 2.7 in the studies; and low serum B12 is
#   about twice as common in the model as in the surveys. This is the diagnostic-accuracy work still to do (serum B12
#   as holoTC plus haptocorrin-bound B12).
# * **Treatment.** Serum B12 rises as the trials report under daily treatment; weekly maintenance and the Bolaman
#   oral arm fall short, because in the model every deep deficiency is a loss of intrinsic factor, while many people
#   in these trials absorbed crystalline B12 normally.
# * **Nerves.** The model gives a small but real nerve risk to a year of mild, untreated deficiency (the OPEN trial
#   saw none) and too much complete recovery after subacute combined degeneration: the nerve model is still the
#   simple one.
# * **Costs.** Monthly injections at a physician visit cost more at 2013 Ontario fees than van Walraven's 1995-96
#   average (a different price year and practice).

# %% [markdown]
# ## One study in detail: after total gastrectomy
#
# Without intrinsic factor the stores run down. Hu 2013 (176 patients) found a median of 15 months to serum B12
# below 200 pg/mL (148 pmol/L); the kinetics were calibrated to it. Adachi 2000 followed 10 patients with a result
# every 6 months. Here 150 people aged 45-75 at the steady state of their diet, with stores from the marker
# model's replete component, lose intrinsic factor on day 0:

# %%
rng = np.random.default_rng(1)
age = rng.uniform(45, 75, 150)
stores = 2500 * np.exp(0.33 * rng.standard_normal(150))
people = pd.DataFrame({"age": age, "stores_ug": stores, "b12": 349 * stores / 2500, "intrinsic_factor": "absent"})
ds = b12sim.simulate(people, "no_treatment", horizon_days=4 * 365, draws=40, seed=1, outputs=("b12",))
b12 = ds["b12"].values  # (draws, people, days): expected serum B12, pmol/L
below = (b12 < 148).mean(axis=1)  # share below the cut-off, per draw and day
days = np.arange(b12.shape[2])
lo, mid, hi = np.quantile(below, [0.025, 0.5, 0.975], axis=0)

fig, ax = plt.subplots(figsize=(7, 4))
ax.fill_between(days / 365, lo, hi, alpha=0.3, label="model, 95% over parameter draws")
ax.plot(days / 365, mid, label="model, median")
ax.plot([1, 2, 3], [0.2, 0.6, 0.9], "ks", label="Adachi 2000 (10 patients)")
ax.axvline(456 / 365, ls=":", color="grey", label="Hu 2013 median (15 months)")
ax.set_xlabel("years after total gastrectomy")
ax.set_ylabel("share with serum B12 < 148 pmol/L")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# The model's curve is the expected serum B12 without measurement noise, so it rises more steeply than a
# curve of measured results would; the validation runner adds that noise and the 6-monthly schedule (rows
# `adachi_gastrectomy_*`).
#
# ## Using your own studies
#
# A study table is a CSV with the columns of `data/validation/studies.csv`: who was enrolled (`select`, e.g.
# `age 65-90; b12 < 156`), what they received (`arm`, a regimen preset or `none`; `comparator` for contrasts), what
# was measured (`outcome`, e.g. `share b12 >= 156`, `change_diff mma`, `auc holotc for mma > 0.75`) at `day`, and
# the published `value`, `lo`, `hi`, `n`. `b12sim.validate(studies=["my_studies.csv"])` or
# `b12sim validate --studies my_studies.csv --out results/` runs it; a malformed row is refused with the file, row
# and field named.
#
# *Research and teaching tool; not medical advice.*
