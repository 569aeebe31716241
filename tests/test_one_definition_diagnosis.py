"""One definition of each equation in the diagnosis: the kernels call the marker equations by
name, read parameters by name, the latent grid has one home, and each rearranged form of an
equation agrees with the form it rearranges."""

import ast
import math
from pathlib import Path

import numpy as np
import pytest

import b12sim
from b12sim.physiology import backend, grids
from b12sim.physiology import markers as mk

PACKAGE = Path(b12sim.__file__).parent
DIAGNOSIS = sorted((PACKAGE / "diagnosis").glob("*.py"))
# the marker model's equations as the kernels must call them: mixture prior, deficit, MMA and tHcy,
# and the conjugate update of the store prior by B12 and holoTC
KERNEL_EQUATIONS = {"store_mean", "depleting_base_logit", "cause_free", "depleting_logit", "component_log_weights",
                    "deficit", "log_mma", "mma_between_sd", "mma_log_lik", "total_sd", "log_hcy", "posterior_mean",
                    "log_evidence"}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


@pytest.mark.parametrize("path", DIAGNOSIS, ids=lambda p: p.name)
def test_no_positional_index_tables(path):
    """No module-level index constants such as ``XK, NH, SX = range(3)``: kernels read parameters by name."""
    for node in _tree(path).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                and getattr(node.value.func, "id", None) == "range":
            raise AssertionError(f"{path.name}:{node.lineno}: index constants unpacked from range(...)")


def test_kernels_call_the_shared_equations():
    """The numba kernels call the marker equations through ``EQ`` (the numba build of
    :mod:`b12sim.physiology.markers`), compile through :func:`backend.kernel`, and do not
    write the deficit's or the mixture's softplus themselves."""
    tree = _tree(PACKAGE / "diagnosis" / "kernels.py")
    called = {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
              and getattr(n.func.value, "id", None) == "EQ"}
    assert KERNEL_EQUATIONS <= called, KERNEL_EQUATIONS - called
    assert called <= set(vars(backend.numpy())), called - set(vars(backend.numpy()))
    attrs = {(getattr(n.value, "id", None), n.attr) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert ("backend", "kernel") in attrs
    for path in (PACKAGE / "diagnosis" / "kernels.py", PACKAGE / "diagnosis" / "scoring.py"):
        names = {n.attr for n in ast.walk(_tree(path)) if isinstance(n, ast.Attribute)}
        assert not names & {"logaddexp", "log1p"}, (path.name, names & {"logaddexp", "log1p"})


def _is_store_bound(node) -> bool:
    """``log(5.0)``, ``math.log(40_000)`` and the like, or a literal equal to ln 5 or ln 40000."""
    bounds = (5.0, 40_000.0)
    if isinstance(node, ast.Call) and (getattr(node.func, "attr", None) == "log" or getattr(node.func, "id", None)
                                       == "log") and len(node.args) == 1 and isinstance(node.args[0], ast.Constant):
        return node.args[0].value in bounds
    return isinstance(node, ast.Constant) and isinstance(node.value, float) \
        and any(abs(node.value - math.log(b)) < 1e-9 for b in bounds)


def test_latent_store_range_has_one_home():
    """Only :mod:`b12sim.physiology.grids` writes the latent store range."""
    home = PACKAGE / "physiology" / "grids.py"
    assert any(_is_store_bound(n) for n in ast.walk(_tree(home)))
    found = [f"{p.relative_to(PACKAGE)}:{n.lineno}" for p in sorted(PACKAGE.rglob("*.py")) if p != home
             for n in ast.walk(_tree(p)) if _is_store_bound(n)]
    assert not found, found


def test_grids_span_the_one_range():
    """The diagnosis, cohort and calibration nodes all cover the store range of the grid module
    (the diagnosis' spaced H_X and aligned on each draw's x_k)."""
    from b12sim.calibration import targets
    from b12sim.diagnosis import scoring
    from b12sim.diagnosis.draws import from_posterior
    from b12sim.posterior import load_posterior

    for nodes in (targets.X_GRID, grids.store_nodes(grids.COHORT_NODES)):
        assert (nodes[0], nodes[-1]) == (grids.X_MIN, grids.X_MAX)
    dr = from_posterior(load_posterior("markers"), 20)
    x = scoring.posterior_grid(np.array([math.log(200.0)] + [np.nan] * 4), 1.0, 0.0, np.zeros(6), dr)[0]
    j = (x - dr["x_k"][:, None]) / grids.H_X
    np.testing.assert_allclose(j, np.round(j), atol=1e-9)
    np.testing.assert_allclose(np.diff(x, axis=1), grids.H_X, rtol=1e-9)
    assert np.all(x.min(axis=1) <= grids.X_MIN) and np.all(x.max(axis=1) >= grids.X_MAX)


RNG = np.random.default_rng(16)
P = dict(pi0=RNG.normal(-3, 1, 50), pi_age=RNG.normal(0.3, 0.2, 50), p_pernicious_anaemia=RNG.uniform(0, 0.9, 50),
         p_ileal_resection=RNG.uniform(0, 0.9, 50), p_bariatric=RNG.uniform(0, 0.9, 50))


@pytest.mark.parametrize("flags", [(0, 0, 0), (1, 0, 0), (0, 1, 1), (1, 1, 1)])
def test_depleting_log_odds_is_the_share_rearranged(flags):
    a = RNG.normal(0, 2, 50)
    probs = tuple(P[f"p_{k}"] for k in mk.RISKS_DEPLETING)
    pi = mk.depleting_share(a, *flags, P["pi0"], P["pi_age"], *probs)
    lo = mk.depleting_logit(mk.depleting_base_logit(a, P["pi0"], P["pi_age"]), mk.cause_free(*flags, *probs))
    np.testing.assert_allclose(lo, np.log(pi) - np.log1p(-pi), rtol=1e-12, atol=1e-12)
    lw = mk.component_log_weights(lo)
    np.testing.assert_allclose(lw, (np.log1p(-pi), np.log(pi)), rtol=1e-12, atol=1e-12)
    x = np.linspace(0.0, 12.0, 7)[:, None]
    mu, sx, mu_d, sd = 7.5, 0.6, 5.0, 0.5
    dens = ((1 - pi) * np.exp(-0.5 * ((x - mu) / sx) ** 2) / sx + pi * np.exp(-0.5 * ((x - mu_d) / sd) ** 2) / sd) \
        / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(mk.store_log_prior(x, lo, mu, sx, mu_d, sd), np.log(dens), rtol=1e-12)


def test_conjugate_update_is_the_prior_times_the_likelihood():
    """Posterior mean and variance, and the difference of two priors' log evidence, against
    quadrature of prior x likelihood of a B12 and a holoTC result (slopes 1 and 0.8)."""
    x = np.linspace(-10.0, 25.0, 350_001)
    obs, slope, x0, sd = np.array([4.9, 3.1]), np.array([1.0, 0.8]), np.array([-2.0, -3.0]), np.array([0.3, 0.45])
    prec = (slope**2 / sd**2).sum()
    h = (slope * (obs - x0) / sd**2).sum()
    loglik = sum(-0.5 * ((o - c - s * x) / e) ** 2 for o, c, s, e in zip(obs, x0, slope, sd))
    ev = []
    for m0, s0 in ((7.6, 0.7), (5.1, 0.45)):
        g = np.exp(-0.5 * ((x - m0) / s0) ** 2 + loglik) / (s0 * math.sqrt(2 * math.pi))
        z = np.trapezoid(g, x)
        mean = np.trapezoid(x * g, x) / z
        v = mk.posterior_variance(s0, prec)
        assert mk.posterior_mean(m0, h, prec, v) == pytest.approx(mean, rel=1e-10)
        assert v == pytest.approx(np.trapezoid((x - mean) ** 2 * g, x) / z, rel=1e-8)
        ev.append((mk.log_evidence(m0, h, prec, *mk.evidence_terms(s0, prec)), math.log(z)))
    assert ev[1][0] - ev[0][0] == pytest.approx(ev[1][1] - ev[0][1], abs=1e-10)
