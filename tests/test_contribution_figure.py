"""The contribution figure (issue 17 item 5): combined and alone side by side, as odds multipliers."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import b12sim  # noqa: E402
from b12sim import plots  # noqa: E402
from b12sim.diagnosis.result import times  # noqa: E402


def test_contribution_figure_shows_combined_and_alone_side_by_side():
    """Two bars per marker: the combined (Shapley) and the alone log likelihood ratio, with the odds multipliers
    written beside them; the axis ticks read as multipliers (x1 at 0)."""
    d = b12sim.diagnose(b12=180, mma=0.45, holotc=30, hcy=14, age=72)
    fig, ax = plt.subplots()
    plots.contributions(ax, d)
    widths = sorted(round(p.get_width(), 9) for p in ax.patches)
    expected = sorted(round(v, 9) for v in [*d.contributions.values(), *d.alone.values()])
    assert widths == expected and len(widths) == 2 * len(d.contributions)
    texts = {t.get_text() for t in ax.texts}
    assert {times(v) for v in d.contributions.values()} <= texts and {times(v) for v in d.alone.values()} <= texts
    assert "x1" in [t.get_text() for t in ax.get_xticklabels()]
    plt.close(fig)
