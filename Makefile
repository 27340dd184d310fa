# The project's commands. `make demo` and `make test` work on a fresh machine:
# both run scripts/setup.sh first, which installs whatever is missing.
.PHONY: setup demo demo-video test bench clean

VENV ?= .venv
PY := $(VENV)/bin/python

setup:
	@bash scripts/setup.sh

demo: setup
	$(PY) -m hosts.web --demo --db sqlite:///var/demo.db

demo-video: setup
	$(PY) examples/synthetic_session/render.py

test: setup
	@bash scripts/test.sh

bench: setup
	@bash scripts/bench.sh

clean:
	rm -rf $(VENV) zhanye_sdk_native/target zhanye_sdk/_native*.so
