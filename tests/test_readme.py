"""README's console examples show what the commands print today (the issue asks for real output)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_readme_console_examples_are_current():
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    res = subprocess.run([sys.executable, "tools/readme_examples.py", "--check"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, (f"{res.stdout}{res.stderr}\nrefresh them with "
                                 "`python tools/readme_examples.py` and review the diff")


def test_readme_quick_start_is_the_two_make_targets():
    text = (ROOT / "README.md").read_text()
    quick = text[text.index("```sh"):]
    quick = quick[:quick.index("```", 5)]
    assert "make demo" in quick and "make test" in quick
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.slow
def test_readme_python_blocks_run(monkeypatch):
    """Every ```python block of the README runs as written, in order, from the project folder."""
    text = (ROOT / "README.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    assert len(blocks) >= 2
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - the README's own examples
    assert namespace["table"].shape[0] == 10 and 0 <= namespace["d"].p_deficient <= 1


def test_the_demo_ends_with_next_steps_that_exist():
    """Every command the demo's closing lines suggest parses, and the make target it names exists."""
    import shlex

    from b12sim.cli_options import parser as _parser
    from b12sim.demo import NEXT_STEPS

    lines = [ln.strip().split("  ")[0] for ln in NEXT_STEPS.splitlines() if ln.strip().startswith("b12sim ")]
    assert len(lines) >= 2
    for ln in lines:
        args = _parser().parse_args(shlex.split(ln)[1:])
        assert args.command in ln
    assert "\nlab:" in (ROOT / "Makefile").read_text() and "make lab" in NEXT_STEPS
    assert "## Start here" in (ROOT / "README.md").read_text()
