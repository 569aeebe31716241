"""Packaging: pyproject and environment.yml agree, every subpackage ships, import stays light."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower()


def test_environment_yml_matches_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r): r.replace(" ", "") for r in py["dependencies"]}
    for extra in ("dev", "notebooks"):
        wanted |= {_name(r): r.replace(" ", "") for r in py["optional-dependencies"][extra]}
    conda = {}
    deps = (ROOT / "environment.yml").read_text().split("dependencies:", 1)[1]
    for line in deps.splitlines():
        m = re.match(r"^\s*-\s+([A-Za-z0-9_.\-]+)([<>=!~].*)?$", line)
        if m and m.group(1) not in ("python", "pip"):
            conda[m.group(1).lower()] = (m.group(1) + (m.group(2) or "")).replace(" ", "")
    assert set(conda) == set(wanted), (set(conda) ^ set(wanted))
    for k, spec in wanted.items():
        assert conda[k] == spec, (k, conda[k], spec)
    pyver = re.search(r"python>=([\d.]+)", (ROOT / "environment.yml").read_text()).group(1)
    assert py["requires-python"] == f">={pyver}"
    assert (ROOT / ".python-version").read_text().strip() == pyver


def test_every_subpackage_is_listed():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(cfg["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "b12sim").rglob("__init__.py")}
    assert found <= listed, found - listed
    for pkg, where in cfg["package-dir"].items():
        assert (ROOT / where / "__init__.py").exists(), pkg


def test_import_does_not_load_pymc():
    code = "import sys, b12sim; b12sim.diagnose; print('pymc' in sys.modules, 'pytensor' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
