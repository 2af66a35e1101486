#!/usr/bin/env bash
# Builds the local control plane binaries into bin/k8s/<kubernetes>-<kwok>/,
# once per version pair: a folder that already holds every binary is reused.
# Prints the folder on stdout. Usage: hack/build-k8s.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# version MODULE GOMOD: the required version, in a require block or on one line.
version() { awk -v m="$1" '$1 == m {print $2} $1 == "require" && $2 == m {print $3}' "$2" | head -n1; }
k8s_version=$(version k8s.io/kubernetes "$root/hack/k8s/go.mod")
kwok_version=$(version sigs.k8s.io/kwok "$root/hack/kwok/go.mod")
out="$root/bin/k8s/$k8s_version-kwok$kwok_version"
binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok)

complete() {
	for b in "${binaries[@]}"; do [ -x "$out/$b" ] || return 1; done
}

if ! complete; then
	mkdir -p "$out"
	start=$(date +%s)
	echo "building the local control plane ($k8s_version, kwok $kwok_version) into $out; the first build takes about 10 minutes" >&2
	# Without the version stamp the API server reports v0.0.0-master, which
	# Helm's .Capabilities and kubectl's version skew check would both see.
	minor=$(echo "$k8s_version" | cut -d. -f2)
	stamp=""
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		stamp+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
		stamp+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
	done
	build() { # module-dir binary package
		[ -x "$out/$2" ] && return 0
		echo "  go build $3" >&2
		(cd "$root/hack/$1" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w $stamp" -o "$out/$2.tmp" "$3")
		mv "$out/$2.tmp" "$out/$2"
	}
	build k8s etcd go.etcd.io/etcd/server/v3
	build k8s kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
	build k8s kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
	build k8s kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler
	build k8s kubectl k8s.io/kubernetes/cmd/kubectl
	build kwok kwok sigs.k8s.io/kwok/cmd/kwok
	echo "built in $(( $(date +%s) - start ))s" >&2
fi
echo "$out"
