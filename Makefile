PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# torch first, pinned (an unpinned torch pulls the newest, multi-GB CUDA build). Where pip's
# configured index has no CPU wheel, TORCH_INDEX=https://download.pytorch.org/whl/cpu gets one.
TORCH := torch==2.13.0
TORCH_INDEX ?=
TORCH_FROM := $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))

.PHONY: run test lint venv clean

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	touch $@

$(VENV)/.installed: $(VENV)/.created pyproject.toml
	$(PIP) install --quiet $(TORCH_FROM) $(TORCH)
	$(PIP) install --quiet -e .
	touch $@

# dev: pytest, pytest-xdist, ruff and XGBoost (CPU build; the predictor benchmark's test uses it).
$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(PIP) install --quiet $(TORCH_FROM) $(TORCH)
	$(PIP) install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

run: $(VENV)/.installed
	$(PY) -m search.run

# two test processes (pytest-xdist): the suite is mostly single-threaded start-ups and small
# models, so two cores run it in about half the time
test: $(VENV)/.installed-dev
	$(PY) -m pytest -q -n 2

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
