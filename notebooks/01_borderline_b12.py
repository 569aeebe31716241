# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Borderline serum B12: what does the probability of true deficiency mean?
#
# A worked example for clinical researchers. It shows how **b12sim** turns a set of laboratory
# results into a probability of *true* vitamin B12 deficiency, which result moved that probability,
# how kidney function changes the reading of MMA, how the probability compares with Fedosov's
# combined indicator cB12, and how well calibrated the model is on synthetic people whose status is known.
#
# > **b12sim is a research and teaching tool, not medical advice.** Its numbers are model estimates
# > from published aggregate data; clinical decisions need a clinician and the full picture.
#
# **Units used throughout** (b12sim's canonical units; other units are converted at input):
# serum B12 and holoTC in pmol/L, MMA and total homocysteine (tHcy) in umol/L, folate in nmol/L,
# age in years, eGFR in mL/min/1.73 m², body stores in ug. 1 pg/mL of B12 = 0.738 pmol/L.
#
# The notebook runs in about a minute on two cores: it integrates over 100 posterior draws
# (`draws=100`) and uses 3,000 synthetic people.

# %%
# %matplotlib inline
import json
import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import b12sim
from b12sim import evidence, plots, units
from b12sim.calibration.report import report
from b12sim.errors import UnitWarning
from b12sim.physiology import markers as mk
from b12sim.physiology.population import sample_people

pd.set_option("display.width", 160)
pd.set_option("display.max_colwidth", 70)
plt.rcParams["figure.dpi"] = 90

DRAWS = 100  # posterior draws integrated over in each diagnosis (the package default is 400)
tree = b12sim.load_posterior("markers")  # the shipped calibration (an xarray DataTree)
post = tree["posterior"]
print(f"b12sim {b12sim.__version__}; posterior: {post.sizes['chain']} chains x {post.sizes['draw']} draws")
print(b12sim.DISCLAIMER)

# %% [markdown]
# ## 1. What "true deficiency" means here, and where the numbers come from
#
# b12sim does not define deficiency by a serum B12 cut-off. It models one **latent state**, the body's
# cobalamin store $S$ (ug), and treats every laboratory value as a noisy view of it
# (model definition: `b12sim/physiology/markers.py`):
#
# * **Tissue supply** becomes limiting when stores fall below a threshold $K$. The metabolic deficit
#   $D = \mathrm{softplus}(n(\ln K - \ln S))/n$ is about 0 above $K$ and grows by 1 per unit fall of $\ln S$ below it.
# * **True B12 deficiency is $S < K$**: stores below the point where tissue supply stops keeping MMA and
#   tHcy metabolism normal. Folate deficiency is true serum folate < 7 nmol/L.
# * **Markers** (on the log scale, each with within-person and between-person noise):
#   serum B12 and holoTC track $\ln S$ directly; MMA and tHcy rise with the deficit $D$, and also with age
#   and with reduced kidney function through $r = \max(0, \ln(90/\mathrm{eGFR}))$; tHcy also rises when folate is low.
# * **Population**: most people's stores follow a replete component that shifts with age and diet;
#   a small *depleting* component (malabsorption: pernicious anaemia, ileal disease, surgery) becomes more
#   likely with age or a named risk factor. This sets the pre-test probability.
#
# So a probability from `diagnose` is P(stores below $K$ | these labs, age, eGFR, risk factors),
# averaged over the uncertainty in the calibrated parameters.

# %%
K = np.exp(post["x_k"].values.ravel())  # threshold store, ug
s_med = evidence.value("body_store_median_ug")
print(f"tissue-supply threshold K: median {np.median(K):,.0f} ug "
      f"(95% interval {np.quantile(K, 0.025):,.0f} to {np.quantile(K, 0.975):,.0f} ug)")
print(f"population median store (anchor, from the evidence table): {s_med:,.0f} ug")

# %% [markdown]
# Every literature number lives in the evidence tables `data/evidence/*.csv`, one row per number, with
# its unit, population, citation and a flag: **V** verified in a source excerpt, **S** read on a secondary
# page quoting the primary, **U** unverified background knowledge or an assumption (used only with wide
# uncertainty), **D** derived from V/S rows. The calibration reads them; the code hard-codes none.

# %%
ev = evidence.table()
print(f"{len(ev)} evidence rows")
display(pd.crosstab(ev["table"], ev["flag"], margins=True, margins_name="total"))

# %%
examples = ["body_store_median_ug", "nhanes_b12_cut_low", "nhanes_mma_median_b12_low",
            "renal_mma_increase", "within_cv_mma", "folate_deficiency_cutoff",
            "cb12_cut_probable_possible", "cb12_age_term_amplitude"]
ev.loc[examples, ["value", "unit", "population", "citation", "flag"]]

# %% [markdown]
# ## 2. One borderline patient
#
# A 72-year-old with serum B12 180 pg/mL (133 pmol/L, the grey zone of most laboratories), a mildly raised
# MMA of 0.42 umol/L, normal folate (12 nmol/L) and moderately reduced kidney function (eGFR 55).
# Strings carry their unit; plain numbers are read in the canonical unit.

# %%
d = b12sim.diagnose(b12="180 pg/mL", mma="0.42 umol/L", folate=12, age=72, egfr=55, draws=DRAWS)
print(d.report())

# %% [markdown]
# The same result as a JSON-ready dictionary (what `b12sim diagnose --json` prints). Inputs are in
# canonical units, listed under `units`; `contributions` are natural-log likelihood ratios.

# %%
print(json.dumps(d.to_dict(), indent=2))

# %% [markdown]
# **Contributions** split the change from the pre-test log-odds to the final log-odds among the markers
# (a Shapley split over all subsets of the given markers); they are the *combined* column of the report and the
# solid bars of the figure, labelled as odds multipliers (x2.7 is a log likelihood ratio of +1); the combined
# multipliers multiply up to the posterior odds over the prior odds. The *alone* column, the pale bars, is each
# marker's likelihood ratio by itself. Where the two differ, the markers interact: two results that say the same
# thing share the credit (each combined bar is shorter than its alone bar), and a result that is abnormal but less
# so than the others imply can point towards deficiency alone and away from it in combination.

# %%
ax = plots.contributions(diagnosis=d)
ax.figure.set_size_inches(6, 2.6)
plt.show()
print(f"sum of contributions {sum(d.contributions.values()):+.2f} = "
      f"logit(P) - logit(prior) {np.log(d.p_deficient / (1 - d.p_deficient)) - np.log(d.p_prior / (1 - d.p_prior)):+.2f}")

# %% [markdown]
# ### Which result moved it?
#
# The same labs with and without MMA, at eGFR 90 (normal) and 30 (stage 3b–4 chronic kidney disease).
# Kidney function enters the model only through MMA and tHcy, so without MMA the eGFR should make no difference;
# with MMA, the same 0.42 umol/L is stronger evidence of deficiency when the kidneys are normal, because
# reduced clearance alone can raise MMA.

# %%
base = dict(b12="180 pg/mL", folate=12, age=72)
scenarios = {
    "B12 + folate, eGFR 90": dict(base, egfr=90),
    "B12 + folate, eGFR 30": dict(base, egfr=30),
    "B12 + folate + MMA, eGFR 90": dict(base, mma=0.42, egfr=90),
    "B12 + folate + MMA, eGFR 55 (the patient)": dict(base, mma=0.42, egfr=55),
    "B12 + folate + MMA, eGFR 30": dict(base, mma=0.42, egfr=30),
}
results = {name: b12sim.diagnose(**labs, draws=DRAWS) for name, labs in scenarios.items()}
rows = []
for name, r in results.items():
    rows.append({
        "scenario": name,
        "MMA (umol/L)": r.inputs["mma"],
        "eGFR (mL/min/1.73m2)": r.inputs["egfr"],
        "P prior": r.p_prior,
        "P(deficient)": r.p_deficient,
        "95% CrI low": r.interval[0],
        "95% CrI high": r.interval[1],
        "LLR serum B12": r.contributions["b12"],
        "LLR MMA": r.contributions.get("mma", np.nan),
    })
compare = pd.DataFrame(rows).set_index("scenario")
fmt = {"MMA (umol/L)": "{:.2f}", "eGFR (mL/min/1.73m2)": "{:.0f}", "LLR serum B12": "{:+.2f}", "LLR MMA": "{:+.2f}"}
fmt |= {c: "{:.0%}" for c in ["P prior", "P(deficient)", "95% CrI low", "95% CrI high"]}
compare.apply(lambda col: col.map(lambda v: "not given" if pd.isna(v) else fmt[col.name].format(v)))

# %%
keys = ["B12 + folate, eGFR 90", "B12 + folate, eGFR 30",
        "B12 + folate + MMA, eGFR 90", "B12 + folate + MMA, eGFR 30"]
fig, axes = plt.subplots(2, 2, figsize=(11, 4.8), sharex=True)
for ax, k in zip(axes.ravel(), keys):
    r = results[k]
    plots.contributions(ax, r, title=f"{k}: P = {r.p_deficient:.0%} (prior {r.p_prior:.0%})")
    ax.title.set_fontsize(9)
fig.tight_layout()
plt.show()

# %% [markdown]
# Read the table and bars together: serum B12 carries most of the evidence; without MMA, eGFR changes nothing.
# With normal kidneys an MMA of 0.42 umol/L adds about as much as the low B12; as eGFR falls its weight shrinks,
# and at eGFR 30 the same value points slightly *away* from deficiency, since reduced clearance alone is expected
# to raise MMA that far. The wide credible interval shows that with a borderline B12 the answer
# depends strongly on parameters the published data pin down only loosely, which is itself a finding.

# %% [markdown]
# ## 3. The probability surface over serum B12 × MMA
#
# Each panel is P(true deficiency) for a 72-year-old over serum B12 (pmol/L) and MMA (umol/L, log axis),
# with no other markers; the black line is P = 0.5 and the star is our patient. The right panel is the
# same grid at eGFR 35: the contours move up, so a higher MMA is needed for the same probability.

# %%
patient_b12 = units.parse("b12", "180 pg/mL")  # pmol/L
fig, axes = plt.subplots(1, 2, figsize=(13, 4.6))
for ax, egfr in zip(axes, (90, 35)):
    plots.probability_surface(ax, age=72, egfr=egfr, draws=DRAWS, n=50)
    ax.plot(patient_b12, 0.42, marker="*", color="k", ms=14, mec="w")
fig.tight_layout()
plt.show()

# %% [markdown]
# The same effect as curves: P(true deficiency) against MMA at the patient's serum B12 (133 pmol/L),
# one curve per eGFR, with 95% credible bands over parameter draws.

# %%
ax = plots.egfr_effect(b12=round(patient_b12), age=72, egfrs=(90, 60, 30), draws=DRAWS)
ax.figure.set_size_inches(7, 4.2)
ax.axvline(0.42, color="k", lw=0.8, ls=":")
plt.show()

# %% [markdown]
# ## 4. Our probability against the cB12 categories
#
# Fedosov's cB12 combines four markers, $\log_{10}[(\mathrm{holoTC}\cdot\mathrm{B12})/(\mathrm{MMA}\cdot\mathrm{tHcy})]$
# minus an age term, and reports categories (probable deficiency < −2.5, possible −2.5 to −1.5, low −1.5 to −0.5,
# adequate −0.5 to 1.5, elevated > 1.5). To compare, we draw **synthetic people** from the marker model with the
# posterior-mean parameters, so that each person's true status is known, and diagnose them from their labs.
#
# The synthetic people are 50–90 years old with eGFR 30–110 mL/min/1.73 m² (uniform), no named risk factors,
# and all five markers measured. Note that the age constants of cB12 are flagged **U** (unverified) in
# `data/evidence/cb12.csv`, so the cB12 side of this comparison is itself uncertain.

# %%
params = {k: float(post[k].mean()) for k in mk.PARAMS}  # posterior means
people = sample_people(3000, params, seed=20240601, age=(50.0, 90.0), egfr=(30.0, 110.0))
print(f"{len(people):,} synthetic people; true deficiency (stores below K) in {people['deficient'].mean():.1%}")

# the labs as a laboratory would report them, with units in the headers
lab_cols = {"b12": "b12 (pmol/L)", "holotc": "holotc (pmol/L)", "mma": "mma (umol/L)",
            "hcy": "hcy (umol/L)", "folate": "folate (nmol/L)", "age": "age (years)",
            "egfr": "egfr (mL/min/1.73m2)"}
labs = people[list(lab_cols)].rename(columns=lab_cols)
with warnings.catch_warnings():
    # the synthetic tails (e.g. folate < 3 nmol/L) trip the unit-mix-up check; these values are in the
    # stated units by construction
    warnings.simplefilter("ignore", UnitWarning)
    scored = b12sim.diagnose(labs, draws=DRAWS, explain=False)
scored["deficient (truth)"] = people["deficient"]
scored["stores (ug, truth)"] = people["true_stores_ug"]
refused = scored[scored["error"] != ""]
print(f"{len(refused)} synthetic people refused by diagnose (value outside the accepted range):")
for i, msg in refused["error"].items():
    print(f"  row {i}: {msg}")
scored = scored[scored["error"] == ""]
show = [*lab_cols.values(), "p_deficient", "p_deficient_lo", "p_deficient_hi", "cb12", "cb12_category",
        "deficient (truth)", "stores (ug, truth)"]
scored[show].head(8).round(3)

# %%
ax = plots.versus_cb12(table=scored)
ax.figure.set_size_inches(7, 4.2)
truth = scored["deficient (truth)"]
ax.scatter(scored.loc[truth, "cb12"], scored.loc[truth, "p_deficient"], s=10, color="#c0392b",
           label="truly deficient (synthetic truth)")
ax.legend(loc="upper right", fontsize=8)
plt.show()

# %%
print(f"mean P(deficient) {scored['p_deficient'].mean():.1%}; "
      f"true deficiency rate {scored['deficient (truth)'].mean():.1%}")
by_cat = (scored.groupby("cb12_category")
          .agg(**{"people": ("p_deficient", "size"),
                  "median cB12": ("cb12", "median"),
                  "mean P(deficient)": ("p_deficient", "mean"),
                  "true deficiency rate": ("deficient (truth)", "mean")})
          .sort_values("median cB12")  # categories in cB12 order
          .rename_axis("cB12 category"))
by_cat.round({"median cB12": 2, "mean P(deficient)": 3, "true deficiency rate": 3})

# %% [markdown]
# Both columns fall together from "probable deficiency" to "elevated", so cB12 and b12sim rank people alike.
# Two cautions in reading the table:
#
# * The people were drawn from **one** parameter set (the posterior means), but each probability averages over the
#   remaining parameter uncertainty (for example, where exactly the threshold $K$ lies). The true rate at one parameter
#   set need not equal the mean probability; the calibration check in section 5 draws people across the posterior instead.
# * Within one cB12 category the probabilities spread widely (scatter plot above): the category groups people whose
#   chance of true deficiency differs, in part because cB12 ignores kidney function.

# %% [markdown]
# ## 5. Model checks
#
# ### Calibration diagnostics
#
# How the shipped posterior was fitted (NUTS via nutpie), its convergence (R-hat, effective sample size,
# divergences), and whether each published calibration target lies inside the posterior predictive 95% interval.

# %%
print(report(tree))

# %%
ax = plots.predictive_checks(tree=tree)
ax.figure.set_size_inches(7, 6.5)
ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # keep only the decade labels
ax.figure.tight_layout()
plt.show()

# %% [markdown]
# ### Reliability on synthetic people with known status
#
# Among people given a probability of about *p*, a fraction of about *p* should be truly deficient.
# Because each probability averages over parameter uncertainty, the matching test population is drawn
# **across the posterior**: here 30 posterior draws, 100 people from each (3,000 people, same ages, eGFR and markers as above).
# We compare the full model (all five markers, age, eGFR) with **serum B12 alone** (the same model given only
# serum B12, age and eGFR). Both should be calibrated, since both are posterior probabilities under the model;
# the full set of markers should separate people better, which shows as a lower Brier score. Expected calibration error (ECE) is the bin-size-weighted mean gap between
# predicted and observed in 10 equal-width bins (as in the plot). The base-rate row predicts the prevalence for everyone.

# %%
flat = post.to_dataset().stack(sample=("chain", "draw"))
picks = np.linspace(0, flat.sizes["sample"] - 1, 30).astype(int)
cohort = pd.concat([
    sample_people(100, {k: float(flat[k].isel(sample=s)) for k in mk.PARAMS}, seed=5000 + j,
                  age=(50.0, 90.0), egfr=(30.0, 110.0))
    for j, s in enumerate(picks)], ignore_index=True)
check_labs = cohort[list(lab_cols)].rename(columns=lab_cols)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UnitWarning)  # synthetic tails, see section 4
    full = b12sim.diagnose(check_labs, draws=DRAWS, explain=False)
    b12_only = b12sim.diagnose(check_labs[["b12 (pmol/L)", "age (years)", "egfr (mL/min/1.73m2)"]],
                               draws=DRAWS, explain=False)
ok = (full["error"] == "").to_numpy()
print(f"{len(cohort):,} people, {int((~ok).sum())} refused by diagnose; "
      f"true deficiency in {cohort['deficient'][ok].mean():.1%}")
y = cohort["deficient"].to_numpy(float)[ok]


def ece(p, y, bins=10):
    idx = np.clip(np.digitize(p, np.linspace(0, 1, bins + 1)) - 1, 0, bins - 1)
    return sum(abs(p[idx == b].mean() - y[idx == b].mean()) * (idx == b).mean()
               for b in range(bins) if (idx == b).any())


preds = {"all five markers": full["p_deficient"].to_numpy()[ok],
         "serum B12 alone": b12_only["p_deficient"].to_numpy()[ok],
         "base rate only": np.full(len(y), y.mean())}
pd.DataFrame({name: {"Brier score": np.mean((p - y) ** 2), "ECE": ece(p, y),
                     "mean P(deficient)": p.mean(), "observed rate": y.mean()}
              for name, p in preds.items()}).T.round(4)

# %%
fig, ax = plt.subplots(figsize=(5.5, 5))
plots.reliability(ax, preds["all five markers"], y, label="all five markers")
plots.reliability(ax, preds["serum B12 alone"], y, label="serum B12 alone")
ax.set_aspect("equal")
plt.show()

# %% [markdown]
# Most synthetic people sit in the lowest bin (few are deficient), so the upper bins rest on fewer people;
# scatter there is sampling noise as much as miscalibration.
#
# ## 6. Diagnostic accuracy in the epidemiologist's terms
#
# `b12sim.accuracy` computes what a diagnostic-accuracy study reports (sensitivity, specificity, PPV, NPV,
# likelihood ratios, prevalence of the reference condition and the AUC) for one marker and cut-off against a
# reference standard in a population, each with a 95% interval over posterior draws. Here serum B12 < 148 pmol/L
# and holoTC < 35 pmol/L against MMA > 0.271 umol/L (a common published reference) in older people
# (65-90 years, eGFR 40-110). Clarke 2007 found holoTC the better discriminator in older people (AUC 0.85 against
# 0.76 for serum B12, MMA > 0.75); the model's AUCs and what it fails to reproduce are in
# `docs/research/2026-12-diagnostic-accuracy.md`.

# %%
acc_b12 = b12sim.accuracy("b12", 148, reference="mma>0.271", population="older", draws=100)
acc_holotc = b12sim.accuracy("holotc", 35, reference="mma>0.271", population="older", draws=100)
pd.concat({"serum B12 < 148": acc_b12.summary, "holoTC < 35": acc_holotc.summary}, axis=1).round(3)

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 4.5))
acc_b12.plot_roc(axes[0])
acc_holotc.plot_roc(axes[1])
fig.tight_layout()
plt.show()

# %% [markdown]
# The same function takes `reference="deficient"` (the model's latent deficiency, which no study can observe) and
# a population as a mapping of age and eGFR ranges; `b12sim accuracy` does the same from the command line.
#
# ## Summary
#
# * "True deficiency" in b12sim is a statement about body stores (below the tissue-supply threshold $K$), not a cut-off
#   on any one marker; every probability is conditional on age, kidney function and risk factors.
# * For a borderline serum B12, MMA can move the probability a long way, but its weight depends on eGFR:
#   reduced kidney function alone raises MMA.
# * On synthetic people drawn across the posterior, the probabilities are calibrated and sharper than serum B12 alone. These checks test the model
#   against itself; agreement with real patients rests on the published targets in section 5, whose sources and
#   flags are in `data/evidence/`.
#
# *Research and teaching tool; not medical advice.*
