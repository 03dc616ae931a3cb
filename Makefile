# Two commands on a fresh machine: `make demo` and `make test`. Both set up .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CS330 := $(VENV)/bin/cs330

.PHONY: setup sandbox-tools demo test build check bench clean image

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . \
	  || $(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# bubblewrap gives student code a private view of the filesystem and no network. Optional:
# without it (or without root) grading still runs, with the protections results.json reports.
sandbox-tools:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap) >/dev/null 2>&1 \
	      || echo "note: could not install bubblewrap; grading uses the fallback sandbox" >&2; \
	  else echo "note: bubblewrap not found; grading uses the fallback sandbox (see README)" >&2; fi; }

setup: $(VENV)/.installed sandbox-tools

demo: setup
	$(CS330) demo

test: setup
	$(PY) -m pytest -q

build: setup
	$(CS330) build

check: setup
	$(CS330) check $(HW)

bench: setup
	$(PY) bench/grading_overhead.py

# The Gradescope image of one assignment, built locally with podman on a Debian base (root; installs
# podman, runc and debootstrap when missing): make image HW=hw4_protonet. See docker/build_image.sh.
image: setup
	bash docker/build_image.sh $(or $(HW),hw4_protonet)

clean:
	rm -rf $(VENV) dist build
