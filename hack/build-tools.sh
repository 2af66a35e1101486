#!/usr/bin/env bash
# Builds the reference CLIs that the fidelity tests and benchmarks compare
# with, from the Go module proxy, into bin/tools/<name>-<version>, once per
# version: a binary that is already there is reused. kustomize and helm are
# built in their own modules under hack/<name>/ (own go.mod and go.sum), with
# the version stamps of the projects' release builds, so they behave like the
# published binaries; sops is built in its own module, at the version the
# project's go.mod requires; promtool (which checks the alert rules) in
# hack/promtool. Prints the path of every binary asked for, one a line.
#
# Usage: hack/build-tools.sh kustomize|helm|sops|promtool [...]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# version MODULE GOMOD: the required version, in a require block or on one line.
version() { awk -v m="$1" '$1 == m {print $2} $1 == "require" && $2 == m {print $3}' "$2" | head -n1; }

# build NAME VERSION PACKAGE LDFLAGS [DIR]: go build in DIR (default hack/NAME),
# renamed into place so a concurrent test process never runs half a binary.
build() {
	local out="$root/bin/tools/$1-$2"
	mkdir -p "$root/bin/tools"
	# Test processes of several packages may ask at once: build once.
	exec 9>"$root/bin/tools/.$1.lock"
	command -v flock >/dev/null && flock 9
	if [ ! -x "$out" ]; then
		echo "building $3 $2 into $out (the first build takes a few minutes)" >&2
		local tmp="$out.tmp-$$"
		(cd "${5:-$root/hack/$1}" && GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags="-s -w $4" -o "$tmp" "$3")
		mv "$tmp" "$out"
	fi
	echo "$out"
}

for name in "$@"; do
	case "$name" in
	kustomize)
		v=$(version sigs.k8s.io/kustomize/kustomize/v5 "$root/hack/kustomize/go.mod")
		build kustomize "$v" sigs.k8s.io/kustomize/kustomize/v5 \
			"-X sigs.k8s.io/kustomize/api/provenance.version=$v -X sigs.k8s.io/kustomize/api/provenance.buildDate=1970-01-01T00:00:00Z"
		;;
	helm)
		v=$(version helm.sh/helm/v4 "$root/hack/helm/go.mod")
		# As Helm's Makefile stamps a release build. The default Kubernetes
		# version of `helm template` comes from the client-go module the
		# binary is built with (v0.37.x gives 1.37).
		flags="-X helm.sh/helm/v4/internal/version.version=$v -X helm.sh/helm/v4/internal/version.metadata="
		flags+=" -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
		build helm "$v" helm.sh/helm/v4/cmd/helm "$flags"
		;;
	sops)
		v=$(version github.com/getsops/sops/v3 "$root/go.mod")
		dir=$(cd "$root" && go list -m -f '{{.Dir}}' github.com/getsops/sops/v3)
		build sops "$v" ./cmd/sops "" "$dir"
		;;
	promtool)
		v=$(version github.com/prometheus/prometheus "$root/hack/promtool/go.mod")
		build promtool "$v" github.com/prometheus/prometheus/cmd/promtool \
			"-X github.com/prometheus/common/version.Version=$v"
		;;
	*)
		echo "unknown tool $name: want kustomize, helm, sops or promtool" >&2
		exit 2
		;;
	esac
done
