# The project's commands. `make demo` and `make test` work on a fresh machine:
# both run scripts/setup.sh first, which installs whatever is missing.
.PHONY: setup demo demo-video kiosk test bench clean

VENV ?= .venv
PY := $(VENV)/bin/python

setup:
	@bash scripts/setup.sh

demo: setup
	$(PY) -m hosts.web --demo --db sqlite:///var/demo.db

kiosk: setup
	$(PY) -m hosts.kiosk --demo

demo-video: setup
	$(PY) examples/synthetic_session/render.py

test: setup
	@bash scripts/test.sh

bench: setup
	@bash scripts/bench.sh

clean:
	rm -rf $(VENV) zhanye_sdk_native/target zhanye_sdk/_native*.so
