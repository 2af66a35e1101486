# The map of the project: `make help` lists every target.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

TOOLS      := go tool -modfile=hack/tools/go.mod
K8S_BIN     = $(shell hack/build-k8s.sh)
GO_TEST    ?= go test -count=1 -timeout=40m
CLUSTER    := .cache/cluster
SOAK_DURATION ?= 10m

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE    ?= $(shell git log -1 --format=%cI 2>/dev/null)
LDFLAGS := -s -w $(foreach v,Version=$(VERSION) Commit=$(COMMIT) Date=$(DATE),-X github.com/driftless-dev/driftless/internal/version.$(v))

.PHONY: build
build: ## Build the manager and the driftless CLI (also as the kubectl plugin bin/kubectl-driftless) into bin/, version-stamped.
	go build -ldflags '$(LDFLAGS)' -o bin/manager ./cmd/manager
	go build -ldflags '$(LDFLAGS)' -o bin/driftless ./cmd/driftless
	ln -sf driftless bin/kubectl-driftless

PLATFORMS ?= linux/amd64 linux/arm64

.PHONY: image
image: ## Build the manager's OCI image (amd64 and arm64 in one index) into bin/image/, no Docker daemon needed.
	@for p in $(PLATFORMS); do \
		echo "go build ./cmd/manager for $$p"; \
		CGO_ENABLED=0 GOOS=$${p%/*} GOARCH=$${p#*/} go build -trimpath -ldflags '$(LDFLAGS)' -o bin/$${p%/*}-$${p#*/}/manager ./cmd/manager; \
	done
	cd hack/image && GOWORK=off go run . -out ../../bin/image -version '$(VERSION)' -created '$(DATE)' \
		$(foreach p,$(PLATFORMS),$(p)=../../bin/$(subst /,-,$(p))/manager)

.PHONY: generate
generate: ## Regenerate deepcopy code, the CRD and RBAC with controller-gen.
	$(TOOLS) controller-gen object paths=./api/...
	$(TOOLS) controller-gen crd paths=./api/... output:crd:artifacts:config=config/crd
	$(TOOLS) controller-gen rbac:roleName=driftless-manager paths=./controllers/... output:rbac:artifacts:config=config/rbac
	go run ./hack/bundle config cmd/driftless/install.yaml charts/driftless

.PHONY: verify
verify: generate ## Fail when a generated file is stale, go.mod is untidy or a large file is tracked.
	go mod tidy -diff
	cd hack/image && GOWORK=off go mod tidy -diff
	cd hack/promtool && GOWORK=off go mod tidy -diff
	@hack/check-large-files.sh
	@if [ -n "$$(git status --porcelain -- api config charts cmd/driftless/install.yaml go.mod go.sum)" ]; then \
		git status --porcelain -- api config charts cmd/driftless/install.yaml go.mod go.sum; git diff -- api config charts cmd/driftless/install.yaml | head -50; \
		echo "generated files are stale: run 'make generate' and commit the result"; exit 1; fi

.PHONY: lint
lint: ## gofmt, go vet and golangci-lint.
	@bad=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$bad" ]; then echo "gofmt needed: $$bad"; exit 1; fi
	go vet ./...
	$(TOOLS) golangci-lint run ./...

.PHONY: k8s-binaries
k8s-binaries: ## Build the local control plane binaries into bin/k8s/ (once per version).
	@hack/build-k8s.sh

.PHONY: test
test: tools ## Every test: unit, end to end on a local control plane (also with a forgetful reconciler), the image builder's.
	DRIFTLESS_K8S_BIN=$(K8S_BIN) $(GO_TEST) ./...
	@# The reconciler's memory only saves work: the suite passes without it.
	DRIFTLESS_FORGETFUL=1 DRIFTLESS_K8S_BIN=$(K8S_BIN) $(GO_TEST) ./test/e2e/
	cd hack/image && GOWORK=off $(GO_TEST) ./...

.PHONY: tools
tools: ## Build the reference CLIs (kustomize, helm, sops) the fidelity tests compare with, once per version.
	@hack/build-tools.sh kustomize helm sops >/dev/null

.PHONY: bench
.PHONY: soak
soak: tools ## L5/L6: commits, a webhook flood and manager kills for $(SOAK_DURATION) (default 10m); not in `make test`.
	SOAK_DURATION=$(SOAK_DURATION) DRIFTLESS_K8S_BIN=$(K8S_BIN) go test -tags soak -count=1 -timeout=3h -run='^TestSoak$$' -v ./test/e2e/

bench: tools ## Benchmarks, each beside its baseline from the same run.
	DRIFTLESS_K8S_BIN=$(K8S_BIN) go test -count=1 -timeout=60m -run='^$$' -bench=. -benchmem $$(go list ./... | grep -v /test/e2e)
	@# End-to-end latencies are percentiles over 100 commits: a fixed count, not a time.
	DRIFTLESS_K8S_BIN=$(K8S_BIN) go test -count=1 -timeout=60m -run='^$$' -bench=. -skip='ManyAppSources|Shards|Failover|Peers|LargeRelease' -benchtime=100x ./test/e2e/
	@# 500 Deployments and 500 Services released whole, beside a plain apply: about a minute a release.
	DRIFTLESS_K8S_BIN=$(K8S_BIN) go test -count=1 -timeout=60m -run='^$$' -bench=LargeRelease -benchtime=5x ./test/e2e/
	@# Medians over 10 SIGKILLed leaders, each waiting for a Lease to expire.
	DRIFTLESS_K8S_BIN=$(K8S_BIN) go test -count=1 -timeout=30m -run='^$$' -bench=Failover -benchtime=10x ./test/e2e/
	@# 500 and 2,000 AppSources: each revision takes from half a minute to minutes.
	DRIFTLESS_K8S_BIN=$(K8S_BIN) go test -count=1 -timeout=60m -run='^$$' -bench='ManyAppSources|Shards' -benchtime=3x ./test/e2e/

.PHONY: bench-peers
bench-peers: tools ## Driftless beside Flux and Argo Rollouts, built from the Go module proxy, in one run.
	@hack/build-peers.sh >/dev/null
	@# 100 releases of the small app and blue-green switches (so that p99 is a percentile), 5 of the large app.
	DRIFTLESS_K8S_BIN=$(K8S_BIN) go test -count=1 -timeout=60m -run='^$$' -bench='PeersFlux/objects=20$$' -benchtime=100x ./test/e2e/
	DRIFTLESS_K8S_BIN=$(K8S_BIN) go test -count=1 -timeout=60m -run='^$$' -bench='PeersArgoRollouts' -benchtime=100x ./test/e2e/
	DRIFTLESS_K8S_BIN=$(K8S_BIN) go test -count=1 -timeout=60m -run='^$$' -bench='PeersFlux/objects=1000$$' -benchtime=5x ./test/e2e/

FUZZTIME ?= 1m

.PHONY: fuzz
fuzz: ## Run every fuzzer for FUZZTIME each (their seeds run in make test too).
	@for pkg in $$(go list ./...); do \
		for f in $$(go test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "$$pkg $$f"; go test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; done

.PHONY: run
run: build ## Start a local control plane and the manager, apply the samples, show them.
	go build -o bin/devenv ./hack/devenv
	DRIFTLESS_K8S_BIN=$(K8S_BIN) bin/devenv -dir=.cache/run -manager=bin/manager -example

.PHONY: cluster-up
cluster-up: ## Start a local control plane alone, in the background.
	@if [ -f $(CLUSTER).pid ] && kill -0 $$(cat $(CLUSTER).pid) 2>/dev/null; then echo "already running"; exit 0; fi
	@mkdir -p .cache && go build -o bin/devenv ./hack/devenv
	@DRIFTLESS_K8S_BIN=$(K8S_BIN) nohup bin/devenv -dir=$(CLUSTER) > $(CLUSTER).log 2>&1 & echo $$! > $(CLUSTER).pid
	@for i in $$(seq 600); do [ -f $(CLUSTER)/ready ] && break; kill -0 $$(cat $(CLUSTER).pid) 2>/dev/null || { cat $(CLUSTER).log; exit 1; }; sleep 0.2; done
	@grep -A4 'to look around' $(CLUSTER).log; echo "make cluster-down stops it."

.PHONY: cluster-down
cluster-down: ## Stop the control plane of cluster-up.
	@if [ -f $(CLUSTER).pid ]; then pid=$$(cat $(CLUSTER).pid); kill $$pid 2>/dev/null || true; \
		while kill -0 $$pid 2>/dev/null; do sleep 0.2; done; rm -f $(CLUSTER).pid; echo stopped; fi
