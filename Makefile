# gokafka: `make run` starts a single-node broker on localhost:9092,
# `make test` runs the whole suite. See README.md.

SHELL     := bash
GO        ?= go
BIN       := bin
UNIT_PKGS := ./protocol/... ./auth/... ./properties/... ./config/... ./log/... ./coordinator/... ./group/... ./txn/... ./replica/... \
	./broker/... ./console/... ./cmd/... ./clock/... ./internal/...
# The test build's fault injection (disk faults and clock skew, never in a
# release) is vetted, unit-tested and fuzzed with its tag.
FAULT_PKGS := ./clock/... ./cmd/gokafka-server/...
FUZZTIME  ?= 30s
# Debian packages the tests drive: librdkafka's kcat and the two Python
# clients (importable by /usr/bin/python3), and Prometheus, which evaluates
# the dashboards' queries against a live cluster, systemd-analyze, which
# verifies the unit file, docker-compose, which checks compose.yaml without
# an engine, iproute2, whose network namespaces give the multi-host tests a
# host per node (and tc, which slows a link), nftables, which cuts links one
# way, Maven with a JDK for the Java client suite and Apache Kafka's own
# tools, and Chromium, in which the web console's test clicks.
TEST_DEBS := kcat python3-kafka python3-confluent-kafka prometheus systemd docker-compose iproute2 nftables \
	python3-venv maven openjdk-17-jdk-headless chromium
# The newest Python clients from PyPI (test/python/requirements.txt), in a
# virtual environment outside the checkout, refreshed once a day.
VENV      ?= $(HOME)/.cache/gokafka-test/venv

.PHONY: all build run test test-deps test-venv lint unit integration bench bench-scale chaos fuzz clean docker docker-prometheus

all: build

# The shipped binaries, static, no cgo: the server and the operator CLI.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/gokafka-server ./cmd/gokafka-server
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/gokafka ./cmd/gokafka

# A single node with the embedded default config, data under ./data.
run: build
	./$(BIN)/gokafka-server

test: test-deps test-venv lint unit integration
	$(MAKE) fuzz FUZZTIME=5s

# Installs only the packages that are missing (none on a machine that has
# them, so it needs neither root nor the network), without recommended
# packages, and leaves none of their services running or enabled: see
# test/install-deps.sh.
test-deps:
	@test/install-deps.sh $(TEST_DEBS)

test-venv:
	@if [ ! -x $(VENV)/bin/python ]; then /usr/bin/python3 -m venv $(VENV); fi
	@if [ -z "$$(find $(VENV)/.installed -newer test/python/requirements.txt -mmin -1440 2>/dev/null)" ]; then \
		echo "installing the newest Python clients into $(VENV)"; \
		$(VENV)/bin/pip install -q --disable-pip-version-check --upgrade -r test/python/requirements.txt && touch $(VENV)/.installed; \
	fi

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags faultfs $(FAULT_PKGS)

unit:
	$(GO) test -race -count=1 $(UNIT_PKGS)
	$(GO) test -race -count=1 -tags faultfs $(FAULT_PKGS)

# The integration tests run a race-enabled server, so that a data race hit
# by real clients fails the test that provoked it (exit status 66); the
# hostile-input probes, which bound the process's memory, run the shipped
# build. test/progress prints each test as it starts and ends, with the
# whole output of a failed one, so that packages running for minutes show
# where they are. Every test picks free ports (a node of `make run` on
# :9092 is no obstacle).
integration:
	$(GO) build -race -o $(BIN)/gokafka-server-race ./cmd/gokafka-server
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/gokafka-server ./cmd/gokafka-server
	$(GO) build -race -tags faultfs -o $(BIN)/gokafka-server-race-faultfs ./cmd/gokafka-server
	$(GO) build -o $(BIN)/progress ./test/progress
	set -o pipefail; GOKAFKA_BIN=$(CURDIR)/$(BIN)/gokafka-server-race GOKAFKA_SHIPPED_BIN=$(CURDIR)/$(BIN)/gokafka-server \
	GOKAFKA_FAULTFS_BIN=$(CURDIR)/$(BIN)/gokafka-server-race-faultfs GOKAFKA_VENV=$(VENV) $(GO) test -json -count=1 -timeout 20m ./test/... | ./$(BIN)/progress

# Images for deploy/docker/compose.yaml, built locally: FROM scratch around
# the static binaries, and Prometheus from the host's Debian package.
docker: build
	docker build -q -t gokafka:latest -f deploy/docker/Dockerfile .
	$(MAKE) -s docker-prometheus

PROM_STAGE := $(BIN)/prometheus-image
docker-prometheus:
	@command -v prometheus >/dev/null || { echo "docker-prometheus: needs Debian's prometheus package (apt-get install prometheus)"; exit 1; }
	rm -rf $(PROM_STAGE)
	mkdir -p $(PROM_STAGE)/rootfs/usr/bin $(PROM_STAGE)/rootfs/etc/prometheus $(PROM_STAGE)/data
	touch $(PROM_STAGE)/data/.keep
	cp "$$(command -v prometheus)" $(PROM_STAGE)/rootfs/usr/bin/prometheus
	for lib in $$(ldd "$$(command -v prometheus)" | grep -o '/[^ ]*'); do \
		mkdir -p $(PROM_STAGE)/rootfs$$(dirname $$lib) && cp -L $$lib $(PROM_STAGE)/rootfs$$lib; done
	cp deploy/prometheus/prometheus.yml deploy/prometheus/alerts.yml $(PROM_STAGE)/rootfs/etc/prometheus/
	docker build -q -t gokafka-prometheus:latest -f deploy/docker/Dockerfile.prometheus $(PROM_STAGE)

# A mixed fault schedule of about 10 minutes on three nodes (network
# namespaces and a tmpfs per node: needs root) with the race-enabled server
# built with -tags faultfs (disk faults and clock skew on its http.listener;
# a release never has them); prints a table per nemesis and fails on any
# anomaly, committed offsets or high watermarks going backwards included.
# `make test` runs a 2-minute schedule, with 2 s more on the timing bounds
# that -chaos.strict holds exactly.
SEED ?= 1
chaos:
	$(GO) build -race -tags faultfs -o $(BIN)/gokafka-server-race-faultfs ./cmd/gokafka-server
	GOKAFKA_FAULTFS_BIN=$(CURDIR)/$(BIN)/gokafka-server-race-faultfs $(GO) test -count=1 -v -timeout 40m \
		-run '^TestChaos$$' ./test/chaos -chaos.duration=10m -chaos.seed=$(SEED) -chaos.strict

# gokafka beside Apache Kafka (fetched once by test/kafka/kafka.sh; one node
# and three, RF 3) and franz-go's kfake, taking turns; about 8 minutes here.
# BENCHFLAGS=-skip-3n leaves out the three-node cases; go run ./test/bench -h
# lists the rest.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./log/... ./protocol/...
	$(GO) test -run '^$$' -bench 'FetchResponseWrite' -benchmem ./broker/
	$(GO) test -run '^$$' -bench 'Purgatory' -benchmem ./replica/
	GOKAFKA_BIN=$(CURDIR)/$(BIN)/gokafka-server $(GO) test -run '^$$' -bench ParkedFetch -benchtime 40x ./test/bench/
	$(GO) run ./test/bench $(BENCHFLAGS)

# Three nodes, 3,000 partitions RF 3 (500 topics x 6): create, SIGKILL a
# node (BENCHSCALEFLAGS=-kill-controller for the controller), restart it;
# prints create time, leaderships moved, time to every ISR full, failed
# heartbeats, fenced brokers, refused ISR changes, RSS and descriptors per
# node. -topics and -partitions scale it; go run ./test/benchscale -h.
bench-scale: build
	$(GO) run ./test/benchscale -bin $(CURDIR)/$(BIN)/gokafka-server $(BENCHSCALEFLAGS)

# Each fuzz target for FUZZTIME (go test fuzzes one target at a time);
# make test runs them for 5s each, on top of their seed corpora. The Go
# fuzzer sometimes reports "context deadline exceeded" when its time runs
# out in the middle of minimising an input; that run is repeated once, and
# any other failure (a crasher, written to testdata/fuzz) fails at once.
# Every fuzz target in the tree, as ./pkg:FuzzName, found rather than
# listed, so that a new parser's target cannot be left out; built with the
# faultfs tag, so that the test build's own parsers are fuzzed too.
FUZZ_TARGETS := $(shell grep -rH --include='*_test.go' '^func Fuzz' . | \
	sed -E 's|^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*).*|\1:\2|' | sort -u)

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		for try in 1 2; do \
			echo "fuzz $$fn ($$pkg) for $(FUZZTIME)"; \
			out=$$($(GO) test -tags faultfs -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg 2>&1) && break; \
			echo "$$out" | tail -20; \
			if [ $$try = 2 ] || ! echo "$$out" | grep -q "context deadline exceeded"; then exit 1; fi; \
			echo "fuzz $$fn: the fuzzer's own deadline race; running it again"; \
		done; \
	done

clean:
	rm -rf $(BIN)
