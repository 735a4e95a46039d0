# Aurora EDR: `make run` and `make test` each install everything they need, idempotently.
#   make run    - install, build, then start collector + console + local sensor (embedded store)
#   make test   - install, build, then lint, type-check and run the whole test suite
# Other targets: setup, apt, venv, proto, bpf, lint, typecheck, pytest, bench, clean,
#   windows-wheelhouse (the Windows sensor's wheels, see docs/sensor-windows.md).

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps
STATE_DIR ?= $(CURDIR)/var

# Debian packages the project needs. Keep in sync with docs/install.md.
APT_PACKAGES := clang llvm libbpf-dev libbpf1 bpftool nftables iproute2 libelf1 zlib1g postgresql \
	chromium curl wget util-linux openssh-server openssh-client sshpass rsyslog sudo gdb systemd \
	binutils

PROTO_SRC := $(wildcard proto/aurora/v1/*.proto)
PROTO_OUT := $(patsubst proto/%.proto,src/%_pb2.py,$(PROTO_SRC))

.PHONY: all setup apt venv proto bpf run test lint typecheck pytest bench clean windows-wheelhouse

all: setup

setup: apt venv proto bpf

apt: $(STAMPS)/apt
$(STAMPS)/apt: Makefile
	@mkdir -p $(STAMPS)
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "apt: installing $$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "apt: run as root to install: $$missing" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@touch $@

venv: $(STAMPS)/venv
$(STAMPS)/venv: requirements.lock pyproject.toml
	@mkdir -p $(STAMPS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

proto: $(PROTO_OUT) src/aurora/v1/__init__.py
src/aurora/v1/__init__.py:
	@mkdir -p $(@D) && touch $@
src/aurora/v1/%_pb2.py: proto/aurora/v1/%.proto $(STAMPS)/venv
	$(PY) -m grpc_tools.protoc -Iproto --python_out=src --pyi_out=src --grpc_python_out=src $<

bpf: $(STAMPS)/apt
	$(MAKE) -C bpf

run: setup
	$(VENV)/bin/aurora run --state-dir $(STATE_DIR)

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: setup
	$(VENV)/bin/mypy

pytest: setup
	$(PY) -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: setup
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

windows-wheelhouse: venv
	PYTHON=$(PY) scripts/windows-wheelhouse $(WHEELHOUSE)

clean:
	rm -rf $(STAMPS) build src/*.egg-info src/aurora/v1
	-$(MAKE) -C bpf clean
