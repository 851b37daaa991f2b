# monitor443 make targets. `make demo` and `make test` work on a fresh
# Debian machine with Go installed; `make test` installs the Debian
# packages its tests need (as root) and starts the servers it uses.

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS   := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BIN       := bin/monitor443
DEMO_PCAP := testdata/demo.pcap
# Debian packages the tests use: real servers, real clients and reference tools.
DEB_PKGS  := libpcap-dev tcpdump tshark nginx curl openssl hping3 tcpreplay iproute2 pcapfix \
             prometheus prometheus-alertmanager ca-certificates chromium
GOTESTFLAGS ?=
FUZZTIME ?= 10s

.PHONY: all build build-libpcap demo test test-go deps lint vet fuzz bench eval eval-short e2e integration generate check-generate clean bench-replay bench-live bench-smoke fuzz-smoke

all: build

# Live AF_PACKET capture needs cgo; without a C compiler the binary is
# built without it and can still replay files, synthesise captures and
# export dashboards.
CGO := $(shell command -v $${CC:-cc} >/dev/null 2>&1 && echo 1 || echo 0)

build:
	@[ "$(CGO)" = 1 ] || echo "no C compiler found: building without live capture (install gcc for -i)"
	CGO_ENABLED=$(CGO) $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/monitor443

# The portable libpcap capture method (needs libpcap-dev).
build-libpcap:
	CGO_ENABLED=1 $(GO) build -tags libpcap -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/monitor443

# Replays the bundled capture (normal traffic with a SYN flood and an
# egress spike) and prints the alerts and the run summary.
demo: build
	./$(BIN) -r $(DEMO_PCAP) -config.file testdata/demo.yml -output.alerts /tmp/monitor443-demo-alerts.jsonl -output.tls /tmp/monitor443-demo-tls.jsonl -output.report /tmp/monitor443-demo-report.html
	@echo "alert events (JSON Lines): /tmp/monitor443-demo-alerts.jsonl"
	@echo "TLS records (JSON Lines):  /tmp/monitor443-demo-tls.jsonl"
	@echo "HTML report (open it in a browser): /tmp/monitor443-demo-report.html"

# The report's chart library (docs/report.md) is vendored in REPORT_ASSETS.
# report-assets fetches the pinned npm tarball again, checks its integrity
# against the registry's and that the vendored files are its files
# (UPDATE=1 copies them instead, for an upgrade).
UPLOT_VERSION := 1.6.32
UPLOT_INTEGRITY := sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw==
REPORT_ASSETS := cmd/monitor443/internal/report/assets
.PHONY: report-assets report-screenshots
report-assets:
	@set -e; d=$$(mktemp -d); trap 'rm -rf $$d' EXIT; \
	npm pack --silent --pack-destination $$d uplot@$(UPLOT_VERSION) >/dev/null; \
	got="sha512-$$(openssl dgst -sha512 -binary $$d/uplot-$(UPLOT_VERSION).tgz | base64 -w0)"; \
	[ "$$got" = "$(UPLOT_INTEGRITY)" ] || { echo "uplot $(UPLOT_VERSION): integrity $$got, want $(UPLOT_INTEGRITY)"; exit 1; }; \
	[ "$$(npm view uplot@$(UPLOT_VERSION) dist.integrity)" = "$(UPLOT_INTEGRITY)" ] || { echo "uplot $(UPLOT_VERSION): the registry's integrity differs"; exit 1; }; \
	tar -xzf $$d/uplot-$(UPLOT_VERSION).tgz -C $$d; \
	for f in dist/uPlot.iife.min.js dist/uPlot.min.css LICENSE; do \
		v=$(REPORT_ASSETS)/$$(basename $$f); [ $$f = LICENSE ] && v=$(REPORT_ASSETS)/uPlot.LICENSE; \
		if [ -n "$(UPDATE)" ]; then cp $$d/package/$$f $$v; else cmp $$d/package/$$f $$v; fi; \
	done; \
	echo "uplot $(UPLOT_VERSION): tarball integrity checked; $(REPORT_ASSETS) $(if $(UPDATE),updated,matches)"

# Rewrites the README's screenshots (docs/img) from the browser tests.
report-screenshots:
	$(GO) test -count=1 -run 'TestReportBrowser|TestLivePageBrowser' ./cmd/monitor443/ -args -report.screenshots $(CURDIR)/docs/img

# Installs the Debian packages the tests use, if any is missing.
deps:
	@missing=""; for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "run as root (or: sudo apt-get install -y$$missing)"; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# The whole suite: unit, race, conformance, live-capture (network
# namespaces, as root), integration with the real Prometheus and
# Alertmanager, rule tests, and the generated-files check.
test: deps vet lint test-go integration fleet e2e eval-short bench-smoke fuzz-smoke check-generate package-test
	deploy/prometheus/check.sh
	@echo "make test: all passed"

test-go:
	$(GO) test -race -count=1 $(GOTESTFLAGS) ./...
	CGO_ENABLED=1 $(GO) test -race -count=1 -tags libpcap $(GOTESTFLAGS) ./capture/libpcap/ ./cmd/monitor443/
	CGO_ENABLED=0 $(GO) test -count=1 ./detect/... ./alerting/...

# The end-to-end test on a real link in network namespaces (root).
e2e:
	MONITOR443_PROMETHEUS=$$(command -v prometheus) $(GO) test -count=1 -tags e2e -timeout 10m -run 'TestE2E$$' -v $(GOTESTFLAGS) ./cmd/monitor443/

integration:
	MONITOR443_PROMETHEUS=$$(command -v prometheus) MONITOR443_ALERTMANAGER=$$(command -v prometheus-alertmanager) \
	MONITOR443_PROMTOOL=$$(command -v promtool) \
		$(GO) test -count=1 -tags integration -run Integration $(GOTESTFLAGS) ./alerting/ ./cmd/monitor443/

# The fleet of docs/scaling.md on loopback (about 80 s): two sensors
# replaying a capture at its real pace, a Prometheus per sensor with the
# shipped rules, a global Prometheus federating both with the document's
# configuration, and a two-member Alertmanager cluster.
.PHONY: fleet
fleet:
	MONITOR443_PROMETHEUS=$$(command -v prometheus) MONITOR443_ALERTMANAGER=$$(command -v prometheus-alertmanager) \
		$(GO) test -count=1 -tags fleet -timeout 5m -run 'TestFleet$$' -v $(GOTESTFLAGS) ./cmd/monitor443/

vet:
	$(GO) vet ./...
	$(GO) vet -tags libpcap ./capture/libpcap/
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi

lint: vet
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# A short run of every fuzz target.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list 'Fuzz.*' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Every benchmark once, so CI notices a benchmark that no longer runs.
bench-smoke:
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...

# Every fuzz target for a bounded number of inputs. (A count, not a
# duration: a duration that runs out mid-input makes go test report a
# spurious "context deadline exceeded" on a loaded machine.)
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=200x

# The paired replay benchmark of docs/benchmarks.md: monitor443 (1 and 2
# workers) against the decode-and-count floor, tcpdump and tshark on the same
# generated capture, alternated in rounds.
BENCH_PCAP ?= /tmp/monitor443-bench.pcap
FLOOD_PCAP ?= /tmp/monitor443-flood10m.pcap
DECODEFLOOR ?= ../shared/bench/decodefloor
bench-replay: build
	@test -f $(BENCH_PCAP) || ./$(BIN) synth -preset bench -duration 13s -o $(BENCH_PCAP)
	@test -f $(FLOOD_PCAP) || ./$(BIN) synth -preset demo -no-events -duration 101s -rate 1 -event syn_flood@1s+100s:100000 -o $(FLOOD_PCAP)
	cd $(DECODEFLOOR) && $(GO) build -o $(CURDIR)/bin/decodefloor .
	cat $(BENCH_PCAP) > /dev/null
	@for i in 1 2 3; do \
		echo "== round $$i"; \
		/usr/bin/time -f "decodefloor maxrss_kb=%M" bin/decodefloor -mode flow $(BENCH_PCAP); \
		for w in 1 2; do /usr/bin/time -f "monitor443 workers=$$w maxrss_kb=%M" ./$(BIN) -r $(BENCH_PCAP) -workers $$w -progress never -log.level warn 2>&1 | grep -E "frames read|maxrss"; done; \
		/usr/bin/time -f "tcpdump elapsed=%e maxrss_kb=%M" tcpdump -r $(BENCH_PCAP) -w /dev/null 2>&1 | grep maxrss; \
	done
	/usr/bin/time -f "tshark elapsed=%e maxrss_kb=%M" tshark -n -r $(BENCH_PCAP) -Y 'tls.handshake.type == 1' -T fields -e tls.handshake.extensions_server_name -e tls.handshake.ja3 > /dev/null
	/usr/bin/time -f "monitor443 flood10m maxrss_kb=%M" ./$(BIN) -r $(FLOOD_PCAP) -progress never -log.level warn 2>&1 | grep -E "frames|flows|maxrss"

# Live capture: trafgen (netsniff-ng) at increasing rates over a veth into the
# AF_PACKET source with 1 and 2 workers, next to tcpdump, until drops (root;
# the bench capture supplies the TLS ClientHello).
bench-live: build
	@test -f $(BENCH_PCAP) || ./$(BIN) synth -preset bench -duration 13s -o $(BENCH_PCAP)
	sh capture/afpacket/testdata/livebench.sh $(BIN) $(BENCH_PCAP)

# The labelled detection evaluation (docs/detection.md): realistic traffic
# from capture/synth (presets eval-small: three days at 0.5 new connections/s;
# eval-large: 2 h 45 min of a large network;
# eval-cold and eval-cold-large: a flood 10 s after the start), replayed
# through the real binary with the shipped defaults (no configuration file),
# scored by monitor443 eval. On the 2-core development machine eval-small
# takes about 75 s a seed and eval-large (2 h 45 min at about 500 new
# connections/s, some 420 million frames) about 6 minutes, so the whole run
# of three seeds takes about half an hour. The summary goes to
# docs/detection.md between the eval markers. EVAL_BIN replays with another
# build (for example the detectors of an older commit).
EVAL_SEEDS   ?= 1 2 3
EVAL_PRESETS ?= eval-small eval-large eval-cold eval-cold-large
EVAL_DIR     ?= /tmp/monitor443-eval
EVAL_BIN     ?= ./$(BIN)
EVAL_TARGETS ?= -targets
EVAL_DOC     ?= docs/detection.md
EVAL_SYNTH_FLAGS ?=
eval: build
	@mkdir -p $(EVAL_DIR)
	@set -e; for p in $(EVAL_PRESETS); do for s in $(EVAL_SEEDS); do \
		n=$$p-seed$$s; echo "== $$n: generate and replay"; \
		./$(BIN) synth -preset $$p -seed $$s $(EVAL_SYNTH_FLAGS) -o - -truth $(EVAL_DIR)/$$n.truth.json | \
			$(EVAL_BIN) -r - -progress never -log.level error -output.alerts $(EVAL_DIR)/$$n.alerts.jsonl > $(EVAL_DIR)/$$n.summary.txt 2>&1; \
		./$(BIN) eval -name $$n -truth $(EVAL_DIR)/$$n.truth.json -alerts $(EVAL_DIR)/$$n.alerts.jsonl \
			-json $(EVAL_DIR)/$$n.json -markdown $(EVAL_DIR)/$$n.md; \
	done; done
	./$(BIN) eval -merge -markdown.summary -markdown $(EVAL_DIR)/table.md $(EVAL_DIR)/*-seed*.json
	@awk -v t=$(EVAL_DIR)/table.md '/<!-- eval:begin -->/{print; while((getline l < t)>0) print l; skip=1; next} /<!-- eval:end -->/{skip=0} !skip' $(EVAL_DOC) > $(EVAL_DIR)/doc.md && cp $(EVAL_DIR)/doc.md $(EVAL_DOC)
	@cat $(EVAL_DIR)/table.md
	./$(BIN) eval -merge $(EVAL_TARGETS) -markdown /dev/null $(EVAL_DIR)/*-seed*.json

# The reduced evaluation that make test runs: one seed of eval-short (six
# hours of the small network) and the cold start, through the same path
# (generate, replay with the defaults, score). It reports the targets but
# does not enforce them yet: the detectors do not meet them on realistic
# traffic (docs/detection.md, Evaluation).
eval-short:
	@$(MAKE) --no-print-directory eval EVAL_SEEDS=1 EVAL_PRESETS="eval-short eval-cold" EVAL_DIR=/tmp/monitor443-eval-short EVAL_DOC=/dev/null EVAL_TARGETS=

generate:
	$(GO) generate ./...

# CI fails when generated files (dashboards) are stale.
check-generate: generate
	@git diff --exit-code -- deploy/grafana || (echo "generated files are stale: run make generate and commit"; exit 1)

# Release artefacts (docs/deployment.md): for each of PKG_ARCHES a .deb and a
# .tar.gz with the same files, and SHA256SUMS, in $(DIST). The binaries are
# built with cgo (AF_PACKET) and linked statically, as for the container
# image; arm64 is cross-compiled with Debian's gcc-aarch64-linux-gnu. The
# build is reproducible: -trimpath, no VCS stamp or build ID, and every file
# time is the commit time (SOURCE_DATE_EPOCH). deploy/package/nfpm drives
# goreleaser's nfpm library.
DIST        ?= bin/dist
PKG_ARCHES  ?= amd64 arm64
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
# Read once, so that every step (and the second build) uses the same values.
PKG_VERSION := $(VERSION)
PKG_COMMIT  := $(COMMIT)
PKG_EPOCH   := $(SOURCE_DATE_EPOCH)
PKG_LDFLAGS := -s -w -buildid= $(LDFLAGS) -linkmode external -extldflags -static
PKG_DEB_PKGS := gcc libc6-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross help2man libcap2-bin adduser
DEB_PKGS    += $(PKG_DEB_PKGS)
.PHONY: package package-test

package:
	@for t in help2man $(foreach a,$(PKG_ARCHES),$(if $(filter arm64,$(a)),aarch64,x86_64)-linux-gnu-gcc); do \
		command -v $$t >/dev/null || { echo "package: no $$t; install (as root): apt-get install -y $(PKG_DEB_PKGS)"; exit 1; }; \
	done
	rm -rf $(DIST) && mkdir -p $(DIST)/build
	@set -e; for a in $(PKG_ARCHES); do \
		case $$a in amd64) cc=x86_64-linux-gnu-gcc;; arm64) cc=aarch64-linux-gnu-gcc;; *) echo "no C compiler known for linux/$$a"; exit 1;; esac; \
		echo "build linux/$$a (CC=$$cc)"; \
		CGO_ENABLED=1 GOOS=linux GOARCH=$$a CC=$$cc $(GO) build -trimpath -buildvcs=false -tags netgo,osusergo \
			-ldflags "$(PKG_LDFLAGS)" -o $(DIST)/build/linux_$$a/monitor443 ./cmd/monitor443; \
	done
	LC_ALL=C SOURCE_DATE_EPOCH=$(PKG_EPOCH) help2man --no-info --no-discard-stderr --version-string "$(PKG_VERSION)" \
		--name "passive HTTPS traffic anomaly monitor" --output $(DIST)/build/monitor443.1 \
		$(DIST)/build/linux_$$($(GO) env GOHOSTARCH)/monitor443
	$(GO) -C deploy/package/nfpm build -trimpath -o $(abspath $(DIST))/build/nfpm .
	@set -e; for a in $(PKG_ARCHES); do \
		$(DIST)/build/nfpm -arch $$a -bin $(DIST)/build/linux_$$a/monitor443 -man $(DIST)/build/monitor443.1 \
			-version "$(PKG_VERSION)" -epoch $(PKG_EPOCH) -out $(DIST); \
	done
	cd $(DIST) && ls | grep -E '\.(deb|tar\.gz)$$' | LC_ALL=C sort | xargs sha256sum > SHA256SUMS
	cat $(DIST)/SHA256SUMS

# Installs this machine's .deb, checks it, upgrades it to a newer build,
# removes and purges it, leaving the machine as it was (root); and checks
# that a second build gives byte-identical artefacts.
package-test: package
	$(GO) -C deploy/package/nfpm test -count=1 ./...
	$(MAKE) --no-print-directory package DIST=$(DIST)-repro VERSION="$(PKG_VERSION)" COMMIT=$(PKG_COMMIT) SOURCE_DATE_EPOCH=$(PKG_EPOCH) >/dev/null
	@cmp $(DIST)/SHA256SUMS $(DIST)-repro/SHA256SUMS || { diff $(DIST)/SHA256SUMS $(DIST)-repro/SHA256SUMS; echo "package: a second build differs"; exit 1; }
	@echo "package: a second build is byte-identical"
	VERSION="$(PKG_VERSION)" SOURCE_DATE_EPOCH=$(PKG_EPOCH) sh deploy/package/test.sh $(DIST)

clean:
	rm -rf bin
