"""Cross-checks of the cost-effectiveness analysis (``b12sim.policy.analysis``) against published
worked examples, fed in through the external-PSA route (a DataFrame of strategy, draw, cost, qaly).

* ICERs and dominance, textbook example of the US Department of Veterans Affairs Health Economics
  Resource Center (HERC, herc.research.va.gov, "Cost-effectiveness analysis"), as used by the
  test suite of the R package dampack (DARTH-git/dampack, tests/testthat/test_calculate_icers.R).
* ICERs of HIV screening: Paltiel AD et al. Expanded HIV screening in the United States. Ann Intern
  Med 2006;145:797-806, Table 4 (high-risk population), as re-analysed in dampack's vignette
  "Basic Cost Effectiveness Analysis" (vignettes/basic_cea.Rmd).
* ICERs with strong and extended dominance among 11 strategies for Clostridioides difficile
  (Rajasingham R et al. Clin Infect Dis 2020;70:754-762): the mean costs and QALYs of the PSA and
  the published table of dampack's vignette (vignettes/cdiff_icers.csv).
* EVPI and CEAC of two strategies whose incremental net benefit is normal, N(mu, sigma^2): the
  CEAC is Phi(mu / sigma) and the EVPI is sigma x L(|mu| / sigma), L(z) = phi(z) - z (1 - Phi(z)),
  the unit normal linear loss integral (Raiffa H, Schlaifer R. Applied Statistical Decision Theory,
  1961; the closed form of EVPI for a normal net benefit used e.g. by Claxton K, Posnett J, Health
  Econ 1996;5:513-524, and Willan AR, Pinto EM, Stat Med 2005;24:1791-1806).
"""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from b12sim.policy import analysis


def _one_draw(strategies, cost, qaly) -> pd.DataFrame:
    """Mean costs and effects as an external PSA table with one draw."""
    return pd.DataFrame({"strategy": strategies, "draw": 0, "cost": cost, "qaly": qaly})


def test_herc_textbook_example():
    t = analysis.icer_table(_one_draw(["E", "D", "C", "B", "A", "UC"], [55000, 35000, 25000, 10000, 12000, 5000],
                                      [5, 4, 3, 2, 1.5, 1]))
    frontier = t[t["status"] == "frontier"]
    assert list(frontier.index) == ["UC", "B", "D", "E"]
    np.testing.assert_allclose(frontier["icer"].iloc[1:], [5000, 12500, 20000])
    np.testing.assert_allclose(frontier["incremental_cost"].iloc[1:], [5000, 25000, 20000])
    np.testing.assert_allclose(frontier["incremental_qaly"].iloc[1:], [1, 2, 1])
    assert t.loc["C", "status"] == "extendedly dominated" and t.loc["A", "status"] == "dominated"


def test_paltiel_2006_hiv_screening():
    """Costs (USD) and quality-adjusted life months (/12 for QALYs) of Table 4; the annual screen
    is dominated (costlier, fewer QALYs than 3- or 5-yearly screening), as the paper reports; ICERs from the rounded published
    means: 1000 / (0.32 / 12), 1020 / (0.21 / 12), 420 / (0.05 / 12)."""
    names = ["status quo", "one time", "5yr", "3yr", "annual"]
    t = analysis.icer_table(_one_draw(names, [26000, 27000, 28020, 28440, 29440],
                                      np.array([277.25, 277.57, 277.78, 277.83, 277.76]) / 12))
    assert t.loc["annual", "status"] == "dominated"  # by 5-yearly and 3-yearly screening alike
    frontier = t[t["status"] == "frontier"]
    assert list(frontier.index) == names[:4]
    np.testing.assert_allclose(frontier["icer"].iloc[1:], [37_500, 58_285.714285714, 100_800], rtol=1e-9)


CDIFF = """strategy,cost,qaly,inc_cost,inc_qaly,icer,status
s3,57336.0059896538,12.9399639202408,,,,ND
s27,57541.2526373815,13.0140640696275,205.246647727639,0.0741001493866911,2769.85470915263,ND
s33,57642.2587507842,13.0389116321918,101.006113402713,0.0248475625643216,4065.03105249231,ND
s31,57934.0743411241,13.0966257932217,291.815590339931,0.0577141610298533,5056.2216470406,ND
s43,58072.1137208494,13.11285766912,138.039379725262,0.0162318758983169,8504.2160616553,ND
s44,58665.7823044647,13.1283328397025,593.668583615326,0.0154751705825014,38362.6519947134,ND
s39,57814.6470919581,13.0462790163185,,,,ED
s4,57887.481549326,12.9970657153765,,,,D
s13,58018.6252420203,13.0650412387992,,,,D
s37,58081.7947984323,13.1029711156978,,,,D
s20,58634.2026441398,13.1100568867995,,,,D
"""


def test_clostridioides_difficile_strategies_match_the_published_table():
    from io import StringIO

    pub = pd.read_csv(StringIO(CDIFF)).set_index("strategy")
    t = analysis.icer_table(_one_draw(list(pub.index), pub["cost"], pub["qaly"]))
    status = {"frontier": "ND", "extendedly dominated": "ED", "dominated": "D"}
    assert t["status"].map(status).to_dict() == pub["status"].to_dict()
    nd = pub[pub["status"] == "ND"].index[1:]
    np.testing.assert_allclose(t.loc[nd, "icer"], pub.loc[nd, "icer"], rtol=1e-9)
    np.testing.assert_allclose(t.loc[nd, "incremental_cost"], pub.loc[nd, "inc_cost"], rtol=1e-9)


@pytest.mark.parametrize("mu, sigma", [(1000.0, 2000.0), (-500.0, 1500.0), (0.0, 800.0), (3000.0, 500.0)])
def test_evpi_and_ceac_of_a_normal_net_benefit(mu, sigma):
    """20,000 draws at the normal quantiles (i - 1/2) / n of N(mu, sigma^2) for B's incremental NMB
    at wtp 50,000 (A: cost 0, QALYs 0; B: cost 100, QALYs (NMB + 100) / 50,000)."""
    n, wtp = 20_000, 50_000.0
    inb = mu + sigma * stats.norm.ppf((np.arange(n) + 0.5) / n)
    df = pd.concat([pd.DataFrame({"strategy": "A", "draw": np.arange(n), "cost": 0.0, "qaly": 0.0}),
                    pd.DataFrame({"strategy": "B", "draw": np.arange(n), "cost": 100.0, "qaly": (inb + 100) / wtp})])
    z = abs(mu) / sigma
    loss = stats.norm.pdf(z) - z * stats.norm.sf(z)
    assert analysis.evpi(df, wtp)["evpi"].iloc[0] == pytest.approx(sigma * loss, rel=2e-3, abs=1e-3)
    assert analysis.ceac(df, wtp).loc[wtp, "B"] == pytest.approx(stats.norm.cdf(mu / sigma), abs=1e-4)
