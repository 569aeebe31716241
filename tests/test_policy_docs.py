"""docs/policy.md: every Python block runs, in order, in one namespace (as a reader would paste them)."""

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "policy.md"


@pytest.mark.filterwarnings("ignore::b12sim.errors.UnitWarning")
def test_policy_doc_python_blocks_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 5
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"{DOC.name} block {i + 1}", "exec"), namespace)  # noqa: S102
    # the external-PSA example: the new drug costs 3000 more for 0.2 x E[p_cure] = 0.12 more QALYs
    table = namespace["table"]
    assert table.loc["new drug", "icer"] == pytest.approx(3000 / 0.12, rel=0.05)
    assert namespace["partial"]["evppi"].iloc[0] <= namespace["partial"]["evpi"].iloc[0]
    assert set(namespace["tornado"].index) == {"oral_tablet_cost", "cost_physician_visit", "neurology",
                                               "discount_rate"}
