# b12sim: two commands on a fresh machine.
#   make demo   create .venv, install b12sim, diagnose the example patients, write figures/
#   make test   create .venv, install b12sim with test tools, run the whole test suite
VENV   ?= .venv
PYBIN  := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast bench calibrate validate notebooks lab clean

$(STAMP): pyproject.toml
	@PY=$$(sh tools/find-python.sh) && echo "using $$PY" && $$PY -m venv $(VENV)
	$(PYBIN) -m pip install --quiet --upgrade pip
	$(PYBIN) -m pip install --quiet -e ".[dev,notebooks]"
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/b12sim demo

test: $(STAMP)
	$(PYBIN) -m pytest -q -n auto --dist worksteal

test-fast: $(STAMP)
	$(PYBIN) -m pytest -q -n auto --dist worksteal -m "not slow"

bench: $(STAMP)
	$(PYBIN) -m benchmarks

# each notebooks/NN_name.ipynb from its NN_name.py (jupytext pair), executed; NB=03 for those named *03*
notebooks: $(STAMP)
	$(PYBIN) tools/execute_notebooks.py $(NB)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

calibrate: $(STAMP)
	$(VENV)/bin/b12sim calibrate

validate: $(STAMP)
	$(VENV)/bin/b12sim validate --out figures/validation --force

clean:
	rm -rf $(VENV) build *.egg-info
