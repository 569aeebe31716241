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
