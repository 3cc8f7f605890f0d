#!/usr/bin/env bash
# Builds the upstream control-plane binaries (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, and a matching kubectl for the tests) from the Go module proxy into a cache outside the repo, keyed by version.
# Idempotent: a version already built is reused. Prints the bin directory on stdout.
set -euo pipefail
KUBE_VERSION=${KUBE_VERSION:-1.34.4}
ETCD_VERSION=${ETCD_VERSION:-3.6.16}
CACHE=${KRT_CACHE:-$HOME/.cache/kruntimes}
export GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=${GOTOOLCHAIN:-local}
command -v go >/dev/null || { echo "go is required to build the local cluster (https://go.dev/dl)" >&2; exit 1; }

build_k8s() {
  local dir="$CACHE/k8s-v$KUBE_VERSION"
  if [ -x "$dir/bin/kube-apiserver" ] && [ -x "$dir/bin/kube-controller-manager" ] && [ -x "$dir/bin/kube-scheduler" ] && [ -x "$dir/bin/kubectl" ]; then return; fi
  mkdir -p "$dir/src" && cd "$dir/src"
  [ -f go.mod ] || go mod init krt.local/k8sbuild >&2
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  # k8s.io/kubernetes requires its staging modules at v0.0.0 with local replaces; map each to its published v0.X.Y.
  for m in $(sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\) => \./staging/src/.*#\1#p' "$gomod"); do
    go mod edit -replace="$m=$m@v0.${KUBE_VERSION#1.}"
  done
  go get "k8s.io/kubernetes/cmd/kube-apiserver@v$KUBE_VERSION" \
         "k8s.io/kubernetes/cmd/kube-controller-manager@v$KUBE_VERSION" \
         "k8s.io/kubernetes/cmd/kube-scheduler@v$KUBE_VERSION" \
         "k8s.io/kubernetes/cmd/kubectl@v$KUBE_VERSION" >&2
  local minor=${KUBE_VERSION#1.}; minor=${minor%%.*} ld=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=v$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  mkdir -p ../bin.tmp
  go build -trimpath -tags selinux,notest -ldflags "-s -w $ld" -o ../bin.tmp/ \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubectl >&2
  rm -rf ../bin && mv ../bin.tmp ../bin
}

build_etcd() {
  local dir="$CACHE/etcd-v$ETCD_VERSION"
  if [ -x "$dir/bin/etcd" ]; then return; fi
  mkdir -p "$dir/src" && cd "$dir/src"
  [ -f go.mod ] || go mod init krt.local/etcdbuild >&2
  go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >&2
  go build -trimpath -ldflags "-s -w" -o ../bin.tmp/etcd go.etcd.io/etcd/server/v3 >&2
  rm -rf ../bin && mv ../bin.tmp ../bin
}

build_etcd
build_k8s
echo "$CACHE"
