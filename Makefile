# The two commands of the README:  make lab  and  make test.
# Every target is idempotent: .venv is created and filled only when missing or stale.
# .venv gets llmlab (editable) with its [course] extra (JupyterLab, nbgrader) and [test] tools;
# the library alone (pip install .) needs neither.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.llmlab-installed
# Extra arguments for `make lab`, e.g. LAB_ARGS="--no-browser --port=8899".
LAB_ARGS ?=
# Where `make lab` puts the learner's own copy of course/ (git-ignored; never overwritten).
WORKSPACE ?= $(CURDIR)/workspace
PYTEST_ARGS ?=
# `make test` runs the suite in this many processes (pytest-xdist; each test file stays in one
# process). Timed checks run with nothing beside them (tests/conftest.py). 0: one process.
TEST_WORKERS ?= 2
# PyTorch's CPU-only wheel index. `make lab` (learners) installs torch from it: about 200 MB
# instead of the several GB of CUDA libraries a plain PyPI install of torch pulls on a laptop.
# `make lab LAB_TORCH_INDEX=` uses the default index only. `make install`/`make test` use the
# default index only (TORCH_INDEX empty), so they work where that is the only index reachable.
LAB_TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=

.PHONY: install lab test test-fast course clean-venv hub-proxy

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(if $(TORCH_INDEX),$(PY) -m pip install --quiet --extra-index-url $(TORCH_INDEX) torch==2.13.0)
	$(PY) -m pip install --quiet -e '.[course,test]'
	@touch $(STAMP)

install: $(STAMP)

# course/ stays as released (the tests compare it with solutions/); learners work in a copy.
# JupyterLab refuses to run as root unless told to: as root (a container, say) we add the flag.
lab: TORCH_INDEX = $(LAB_TORCH_INDEX)
lab: $(STAMP)
	@$(PY) tools/course.py workspace --dir "$(WORKSPACE)"
	@if [ "$$(id -u)" = 0 ]; then echo "running as root: starting JupyterLab with --allow-root"; fi
	HF_HUB_OFFLINE=1 $(VENV)/bin/jupyter lab --ServerApp.root_dir="$(WORKSPACE)" \
		--LabApp.default_url=/lab/tree/00_loading/00_loading.ipynb \
		$$( [ "$$(id -u)" = 0 ] && echo --allow-root ) $(LAB_ARGS)

test: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MPLBACKEND=Agg $(PY) -m pytest \
		-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15 $(PYTEST_ARGS)

# The fast tier for contributors: unit tests and doctests, no notebooks, servers or browser.
test-fast: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MPLBACKEND=Agg $(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

# JupyterHub's proxy for tests/test_hub.py and deploy/ (from npm, into git-ignored
# deploy/node_modules/; the hub config finds it there).
CHP := deploy/node_modules/.bin/configurable-http-proxy
$(CHP):
	npm install --no-save --no-package-lock --no-audit --no-fund --prefix deploy \
		configurable-http-proxy@5

hub-proxy: $(CHP)

course: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) tools/course.py generate

clean-venv:
	rm -rf $(VENV)
