"""Fit the marker model to a user's own unlabeled cohort, then score with that posterior.

There is no gold standard in a cohort of lab results, so the fit starts from the
shipped calibration: each parameter's prior is the shipped posterior, summarised as
an independent normal on its unconstrained scale and widened by ``prior_scale``.
The cohort then updates what it can inform: its latent-state distribution, the
levels and noise of its assays, the folate distribution. Each person's latent
stores are integrated out on a grid, so NUTS samples only the ~33 parameters.

    model = CohortModel().fit(df)        # PyMC + nutpie; returns self
    model.posterior                      # DataTree, same layout as the shipped one
    model.diagnose(df)                   # scores with the cohort posterior

The fit checks itself: it warns (:class:`ConvergenceWarning`) and records in
``model.posterior.attrs`` (``converged``, ``problems``) when the largest R-hat exceeds
1.01, the smallest bulk ESS is below 400 or any transition diverged (the thresholds of
Vehtari et al. 2021, Bayesian Analysis 16:667). The tree keeps ArviZ's groups
``sample_stats``, ``observed_data`` and ``posterior_predictive``, so ``az.plot_energy``,
``az.plot_ppc`` and friends work on ``model.posterior``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import xarray as xr

from b12sim.diagnosis import inputs
from b12sim.errors import InputError
from b12sim.physiology import backend, grids
from b12sim.physiology import markers as mk

POSITIVE = {"sigma_x", "sigma_d", "n_hinge", "kappa_t", "a_m", "a_h", "c_f", "sigma_y",
            "s_b", "s_t", "s_m", "s_h", "s_f"}
PROBABILITY = {f"p_{k}" for k in mk.RISKS_DEPLETING}
# what an unlabeled cohort can inform: its store distribution, assay levels and noise, folate.
# The deficiency threshold, marker slopes and risk effects keep the calibration's prior
# (widening them only lets the correlated hinge parameters wander); so does the folate
# assay noise s_f, which one folate measurement per person cannot tell from sigma_y.
COHORT_LEVEL = {"sigma_x", "gamma_age", "mu_d", "sigma_d", "pi0", "pi_age", "b0", "t0", "m0", "h0",
                "bm_age", "bh_age", "s_b", "s_t", "s_m", "s_h", "mu_y", "sigma_y"}
GH_T, _gh_w = np.polynomial.hermite.hermgauss(6)
GH_LOGW = np.log(_gh_w / math.sqrt(math.pi))  # E[f(y)], y ~ N(m, s): sum w f(m + sqrt(2) s t)

#: Convergence checks of a fit: largest R-hat, smallest bulk ESS.
MAX_R_HAT, MIN_ESS_BULK = 1.01, 400.0
PREDICTIVE_DRAWS = 250  # posterior predictive draws kept per chain

_COMPILED: dict = {}  # (n_people, tHcy rows, priors) -> compiled nutpie model, reused across fits


def _to_free(name, v):
    if name in POSITIVE:
        return np.log(np.maximum(v, 1e-6))
    if name in PROBABILITY:
        v = np.clip(v, 1e-6, 1 - 1e-6)
        return np.log(v) - np.log1p(-v)
    return v


def prior_from(post: xr.Dataset, prior_scale: float = 1.0) -> dict[str, tuple[float, float]]:
    """Normal (mean, sd) on the unconstrained scale of each parameter, from posterior draws.

    ``prior_scale`` widens the parameters in :data:`COHORT_LEVEL` only.
    """
    out = {}
    for k in mk.PARAMS:
        z = _to_free(k, post[k].to_numpy().ravel())
        out[k] = (float(z.mean()), float(z.std(ddof=1)) * (prior_scale if k in COHORT_LEVEL else 1.0))
    return out


class ConvergenceWarning(UserWarning):
    """A cohort fit failed a convergence check (R-hat, bulk ESS or divergences)."""


def convergence_problems(max_r_hat: float, min_ess_bulk: float, divergences: int) -> list[str]:
    """The checks a fit fails: R-hat above :data:`MAX_R_HAT`, bulk ESS below :data:`MIN_ESS_BULK`,
    any divergent transition; empty when it passes."""
    out = []
    if not max_r_hat <= MAX_R_HAT:
        out.append(f"largest R-hat {max_r_hat:.3f} > {MAX_R_HAT}")
    if not min_ess_bulk >= MIN_ESS_BULK:
        out.append(f"smallest bulk ESS {min_ess_bulk:.0f} < {MIN_ESS_BULK:.0f}")
    if divergences:
        out.append(f"{divergences} divergent transitions")
    return out


def predictive(post: xr.Dataset, data: dict[str, np.ndarray], *, draws: int = PREDICTIVE_DRAWS,
               seed: int = 0) -> tuple[xr.Dataset, xr.Dataset]:
    """Posterior predictive and observed log marker values (log canonical units) of a cohort.

    For ``draws`` evenly spaced draws per chain of ``post`` (over chain, draw), each person's
    latent stores come from the store prior given their covariates (the depleting component
    with its probability, else the main one), true folate from its population distribution, and
    each marker from its observation equation with its total noise, as in :meth:`CohortModel.build`.
    Variables ``log_<marker>`` over ``(chain, draw, <marker>_person)``, only people with that
    marker (as in the observed data); ``data``: the arrays of :func:`_data_arrays`."""
    c = mk.Constants.load()
    keep = np.unique(np.linspace(0, post.sizes["draw"] - 1, min(draws, post.sizes["draw"])).round().astype(int))
    sub = post.isel(draw=keep)
    p = {k: sub[k].transpose("chain", "draw").to_numpy()[..., None] for k in mk.PARAMS}
    a, r = data["a"], data["r"]
    rd = {k: data["risks"][:, j] for j, k in enumerate(mk.RISKS)}
    rng = np.random.default_rng(seed)
    shape = p["b0"].shape[:2] + (len(a),)
    z = rng.standard_normal(shape)
    depleting = rng.random(shape) < mk.depleting_prob(a, rd, p)
    x = np.where(depleting, p["mu_d"] + p["sigma_d"] * z, mk.main_mean(a, rd, p, c) + p["sigma_x"] * z)
    y = p["mu_y"] + p["sigma_y"] * rng.standard_normal(shape)
    d = mk.deficit(x, p["x_k"], p["n_hinge"])
    means = {"b12": mk.log_b12(x, p["b0"], c.ln_s_med), "holotc": mk.log_holotc(x, p["t0"], p["kappa_t"], c.ln_s_med),
             "mma": mk.log_mma(d, a, r, p["m0"], p["bm_age"], p["bm_renal"], p["a_m"]),
             "hcy": mk.log_hcy(d, mk.folate_deficit(y, c.ln_fol_hinge), a, r, p["h0"], p["bh_age"], p["bh_renal"],
                               p["a_h"], p["c_f"]),
             "folate": y}
    sds = mk.log_sds(p, c, a, r)  # MMA's per person (its between-person SD depends on age and eGFR)
    pp, obs = {}, {}
    for j, m in enumerate(mk.MARKERS):
        have = data["has"][:, j] > 0
        dim, units = f"{m}_person", {"units": f"log of {m} in canonical units"}
        pp[f"log_{m}"] = (("chain", "draw", dim), (means[m] + sds[m] * rng.standard_normal(shape))[..., have], units)
        obs[f"log_{m}"] = ((dim,), data["obs"][have, j], units)
    coords = {"chain": sub["chain"].values, "draw": sub["draw"].values}
    return xr.Dataset(pp, coords=coords), xr.Dataset(obs)


def _data_arrays(canon: pd.DataFrame) -> dict[str, np.ndarray]:
    obs, a, r, risks = inputs.arrays(canon)
    has = ~np.isnan(obs)
    return {"obs": np.where(has, obs, 0.0), "has": has.astype(float), "a": a, "r": r, "risks": risks}


class CohortModel:
    """Estimator for a cohort fit of the latent B12-status model.

    Parameters
    ----------
    prior : DataTree or None
        Calibration to start from (default: the shipped one).
    prior_scale : float
        Multiplies the prior SD of the parameters a cohort can inform
        (:data:`COHORT_LEVEL`; 1 = trust the calibration as is, >1 = let the cohort
        move them further).
    """

    def __init__(self, prior=None, prior_scale: float = 1.0):
        if not (isinstance(prior_scale, (int, float)) and 0.1 <= prior_scale <= 100):
            raise InputError("prior_scale", prior_scale, "a number from 0.1 to 100")
        if prior is None:
            from b12sim.posterior import load_posterior

            prior = load_posterior("markers")
        if not (isinstance(prior, xr.DataTree) and "posterior" in prior.children
                and set(mk.PARAMS) <= set(prior["posterior"].data_vars)):
            raise InputError("prior", type(prior).__name__,
                             "None (the shipped calibration) or a calibration DataTree with a posterior group")
        self.prior_tree = prior
        self.prior_scale = float(prior_scale)
        self.priors = prior_from(prior["posterior"].to_dataset(), self.prior_scale)
        self.posterior: xr.DataTree | None = None
        self.errors: pd.Series | None = None

    # -- model ---------------------------------------------------------------
    def build(self, data: dict[str, np.ndarray]):
        """The PyMC model for cohort arrays ``data`` (see :func:`_data_arrays`)."""
        import pymc as pm
        import pytensor.tensor as pt

        c = mk.Constants.load()
        hcy_rows = np.flatnonzero(data["has"][:, 3] > 0)
        with pm.Model() as model:
            obs = pm.Data("obs", data["obs"])
            has = pm.Data("has", data["has"])
            a = pm.Data("a", data["a"])
            r = pm.Data("r", data["r"])
            risks = pm.Data("risks", data["risks"])
            p = {}
            for k in mk.PARAMS:
                mu, sd = self.priors[k]
                z = pm.Normal(f"{k}_free", mu, sd)
                if k in POSITIVE:
                    p[k] = pm.Deterministic(k, pt.exp(z))
                elif k in PROBABILITY:
                    p[k] = pm.Deterministic(k, pt.sigmoid(z))
                else:
                    p[k] = pm.Deterministic(k, z)
            x = grids.store_nodes(grids.COHORT_NODES)[None, :]  # ln ug
            rd = {k: risks[:, j] for j, k in enumerate(mk.RISKS)}
            eq = backend.pytensor()
            lw = eq.store_log_prior(x, eq.depleting_log_odds(a, rd, p)[:, None], eq.main_mean(a, rd, p, c)[:, None],
                                    p["sigma_x"], p["mu_d"], p["sigma_d"])
            lw = lw - pt.logsumexp(lw, axis=1, keepdims=True)  # normalised prior on the grid
            sds = eq.log_sds(p, c, a[:, None], r[:, None])  # MMA's per person (N, 1): age and eGFR
            dfx = eq.deficit(x, p["x_k"], p["n_hinge"])

            def normal_ll(k, mu):
                return has[:, k][:, None] * eq.normal_log_density(obs[:, k][:, None], mu, sds[mk.MARKERS[k]])

            ll = lw + normal_ll(0, eq.log_b12(x, p["b0"], c.ln_s_med))
            ll = ll + normal_ll(1, eq.log_holotc(x, p["t0"], p["kappa_t"], c.ln_s_med))
            ll = ll + normal_ll(2, eq.log_mma(dfx, a[:, None], r[:, None], p["m0"], p["bm_age"], p["bm_renal"],
                                              p["a_m"]))
            # folate: p(F, H | x) = p(F) * integral p(y | F) p(H | x, y) dy; the y integral
            # uses Gauss-Hermite nodes of the normal p(y | F)
            sd_f = sds["folate"]
            tot_f = pt.sqrt(p["sigma_y"] ** 2 + sd_f**2)
            total = (has[:, 4] * eq.normal_log_density(obs[:, 4], p["mu_y"], tot_f)).sum()
            plain = np.flatnonzero(data["has"][:, 3] == 0)
            if plain.size:
                total = total + pt.logsumexp(ll[plain], axis=1).sum()
            if hcy_rows.size:
                h = hcy_rows
                prec = has[h, 4] / sd_f**2  # of the folate result about y (0 without one)
                v_y = eq.posterior_variance(p["sigma_y"], prec)
                m_y = eq.posterior_mean(p["mu_y"], prec * obs[h, 4], prec, v_y)
                y = m_y[:, None, None] + math.sqrt(2.0) * pt.sqrt(v_y)[:, None, None] * GH_T[None, None, :]
                mu_h = eq.log_hcy(dfx[:, :, None], eq.folate_deficit(y, c.ln_fol_hinge), a[h][:, None, None],
                                  r[h][:, None, None], p["h0"], p["bh_age"], p["bh_renal"], p["a_h"], p["c_f"])
                lh = eq.normal_log_density(obs[h, 3][:, None, None], mu_h, sds["hcy"]) + GH_LOGW[None, None, :]
                total = total + pt.logsumexp(ll[h] + pt.logsumexp(lh, axis=2), axis=1).sum()
            pm.Potential("cohort_loglik", total)
        return model

    # -- fitting ---------------------------------------------------------------
    def fit(self, df: pd.DataFrame, *, draws: int = 500, tune: int = 500, chains: int = 2,
            seed: int = 1, target_accept: float = 0.95, progress: bool = True) -> CohortModel:
        """Sample the cohort posterior for table ``df`` (one row per person); returns self.

        ``target_accept``: NUTS step-size adaptation target (higher: smaller steps,
        fewer divergences on the funnel-like hinge parameters, slower sampling).

        Rows that fail input checks are left out and listed in ``self.errors``. A fit that
        fails a convergence check (:func:`convergence_problems`) warns with
        :class:`ConvergenceWarning` and says so in ``self.posterior.attrs["problems"]``
        (``converged`` 0); more ``draws`` and ``tune`` usually cure it.
        """
        import nutpie

        for k, v in (("draws", draws), ("tune", tune), ("chains", chains)):
            if not (isinstance(v, int) and v >= 1):
                raise InputError(k, v, "a positive integer")
        canon, errors, _ = inputs.from_frame(df)
        ok = (errors == "").to_numpy()
        if ok.sum() < 20:
            raise InputError("df", f"{ok.sum()} usable rows", "at least 20 people with age and one marker")
        self.errors = errors[errors != ""]
        data = _data_arrays(canon[ok])
        # the rows with tHcy are part of the graph's structure; values come in as data
        key = (len(data["a"]), data["has"][:, 3].tobytes(), tuple(sorted(self.priors.items())))
        if key not in _COMPILED:
            _COMPILED.clear()  # keep one compiled model; shapes differ between cohorts
            _COMPILED[key] = nutpie.compile_pymc_model(self.build(data))
        compiled = _COMPILED[key].with_data(**data)
        if not (isinstance(target_accept, float) and 0.5 <= target_accept < 1):
            raise InputError("target_accept", target_accept, "a number from 0.5 to below 1")
        trace = nutpie.sample(compiled, draws=draws, tune=tune, chains=chains, seed=seed,
                              target_accept=target_accept, progress_bar=progress)
        post = trace["posterior"].to_dataset()[list(mk.PARAMS)]
        import arviz as az

        summ = az.summary(trace, var_names=list(mk.PARAMS), kind="diagnostics")
        stats = trace["sample_stats"].to_dataset()
        divergences = int(stats["diverging"].sum())
        checks = {"max_r_hat": float(summ["r_hat"].max()), "min_ess_bulk": float(summ["ess_bulk"].min())}
        problems = convergence_problems(checks["max_r_hat"], checks["min_ess_bulk"], divergences)
        verdict = {"converged": int(not problems), "problems": "; ".join(problems)}
        diag = xr.Dataset(
            {col: ("parameter", summ[col].to_numpy(dtype=float)) for col in ("r_hat", "ess_bulk", "ess_tail")},
            coords={"parameter": list(summ.index)},
            attrs={"divergences": divergences, "draws": draws, "tune": tune, "chains": chains, "seed": seed,
                   **checks, **verdict, "n_people": int(ok.sum()), "prior_scale": self.prior_scale},
        )
        pp, observed = predictive(post, data, seed=seed)
        numeric = [v for v in stats.data_vars if stats[v].dtype.kind in "biuf"]  # netCDF keeps numbers only
        self.posterior = xr.DataTree.from_dict({"posterior": post, "diagnostics": diag,
                                                "sample_stats": stats[numeric], "observed_data": observed,
                                                "posterior_predictive": pp})
        self.posterior.attrs.update(model="b12sim marker model, cohort fit", **verdict)
        if problems:
            warnings.warn(f"the cohort fit did not pass its convergence checks ({'; '.join(problems)}): "
                          f"its posterior may be unreliable; refit with more draws and tune (e.g. draws=1000, "
                          f"tune=1000) or a higher target_accept, and see model.diagnostics()",
                          ConvergenceWarning, stacklevel=2)
        return self

    def diagnostics(self) -> pd.DataFrame:
        """R-hat and ESS per parameter of the cohort fit (divergences in ``.attrs``)."""
        self._need_fit()
        ds = self.posterior["diagnostics"].to_dataset()
        out = ds.to_dataframe()
        out.attrs.update(ds.attrs)
        return out

    def diagnose(self, table: pd.DataFrame | None = None, **labs):
        """:func:`b12sim.diagnose` with this cohort's posterior."""
        from b12sim.diagnosis import diagnose

        self._need_fit()
        return diagnose(table, posterior=self.posterior, **labs)

    def save(self, path, *, overwrite: bool = False):
        """Write the cohort posterior (netCDF DataTree), atomically."""
        from b12sim.posterior import write

        self._need_fit()
        return write(self.posterior, path, overwrite=overwrite)

    @classmethod
    def load(cls, path) -> CohortModel:
        """A fitted model from :meth:`save` output (scores without refitting)."""
        from b12sim.posterior import read

        tree = read(path)
        obj = cls.__new__(cls)
        obj.prior_tree, obj.prior_scale = None, float(tree["diagnostics"].attrs.get("prior_scale", 1.0))
        obj.priors, obj.posterior, obj.errors = {}, tree, None
        return obj

    def _need_fit(self):
        if self.posterior is None:
            raise RuntimeError("CohortModel is not fitted yet: call .fit(df) first")
