#!/usr/bin/env bash
# Builds the peer controllers that `make bench-peers` measures Driftless
# against, from the Go module proxy, into bin/peers/<name>-<version>/<name>
# with the CRDs of its module in crds/ beside it, once per version: a binary
# that already exists is reused. Prints bin/peers on stdout. Each peer has
# its own module under hack/peers, pinned by version.
# Usage: hack/build-peers.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/bin/peers"
version() { awk -v m="$1" '$1 == "require" && $2 == m {print $3}' "$2" | head -n1; }

build() { # module-dir module package binary crd-dir [env...]
	local dir="$root/hack/peers/$1" v
	v=$(version "$2" "$dir/go.mod")
	local bin="$out/$4-$v/$4"
	[ -x "$bin" ] && return 0
	mkdir -p "$out/$4-$v/crds"
	echo "building $4 $v into $bin (Flux's two controllers take about 13 minutes on 2 cores the first time)" >&2
	(cd "$dir" && env "${@:6}" CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$bin.tmp" "$3")
	local src
	src=$(cd "$dir" && env "${@:6}" go list -m -f '{{.Dir}}' "$2")
	cp "$src/$5"/*.yaml "$out/$4-$v/crds/"
	rm -f "$out/$4-$v/crds/kustomization.yaml"
	mv "$bin.tmp" "$bin"
}

build flux-source github.com/fluxcd/source-controller github.com/fluxcd/source-controller source-controller config/crd/bases
build flux-kustomize github.com/fluxcd/kustomize-controller github.com/fluxcd/kustomize-controller kustomize-controller config/crd/bases
# Argo Rollouts v1.10.2 needs Go 1.26.10 or newer; the Go module proxy serves
# go1.27.3, the approved version.
build argo-rollouts github.com/argoproj/argo-rollouts github.com/argoproj/argo-rollouts/cmd/rollouts-controller rollouts-controller manifests/crds GOTOOLCHAIN=go1.27.3
echo "$out"
