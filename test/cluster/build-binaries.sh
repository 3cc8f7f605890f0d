#!/usr/bin/env bash
# Builds the upstream control-plane binaries (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, and a matching kubectl for the tests) from the Go module proxy into a cache outside the repo, keyed by version.
# One step per call, so `cluster up` can show each (build-steps.ts): `build-binaries.sh STEP` with
# STEP one of etcd, k8s-modules, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl;
# no argument builds them all. Idempotent: what is already built is reused. Go's output goes to
# stderr; the cache directory is printed on stdout.
set -euo pipefail
KUBE_VERSION=${KUBE_VERSION:-1.34.4}
ETCD_VERSION=${ETCD_VERSION:-3.6.16}
CACHE=${KRT_CACHE:-$HOME/.cache/kruntimes}
K8S_DIR="$CACHE/k8s-v$KUBE_VERSION"
K8S_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
export GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=${GOTOOLCHAIN:-local}
command -v go >/dev/null || { echo "go is required to build the local cluster (https://go.dev/dl)" >&2; exit 1; }

build_etcd() {
  local dir="$CACHE/etcd-v$ETCD_VERSION"
  if [ -x "$dir/bin/etcd" ]; then return; fi
  mkdir -p "$dir/src" && cd "$dir/src"
  [ -f go.mod ] || go mod init krt.local/etcdbuild >&2
  go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >&2
  go build -trimpath -ldflags "-s -w" -o ../bin.tmp/etcd go.etcd.io/etcd/server/v3 >&2
  rm -rf ../bin && mv ../bin.tmp ../bin
}

# The wrapper module that requires k8s.io/kubernetes; .modules-ready marks a completed `go get`.
k8s_modules() {
  mkdir -p "$K8S_DIR/src" && cd "$K8S_DIR/src"
  if [ -f .modules-ready ]; then return; fi
  [ -f go.mod ] || go mod init krt.local/k8sbuild >&2
  local gomod m
  gomod=$(go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  # k8s.io/kubernetes requires its staging modules at v0.0.0 with local replaces; map each to its published v0.X.Y.
  for m in $(sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\) => \./staging/src/.*#\1#p' "$gomod"); do
    go mod edit -replace="$m=$m@v0.${KUBE_VERSION#1.}"
  done
  local cmds=()
  for m in "${K8S_BINARIES[@]}"; do cmds+=("k8s.io/kubernetes/cmd/$m@v$KUBE_VERSION"); done
  go get "${cmds[@]}" >&2
  touch .modules-ready
}

# One binary of k8s.io/kubernetes/cmd, with upstream's version ldflags; -v names each package compiled.
k8s_binary() {
  local name=$1
  if [ -x "$K8S_DIR/bin/$name" ]; then return; fi
  k8s_modules
  local minor=${KUBE_VERSION#1.} ld="" p
  minor=${minor%%.*}
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=v$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  mkdir -p "$K8S_DIR/bin"
  go build -v -trimpath -tags selinux,notest -ldflags "-s -w $ld" -o "$K8S_DIR/bin/.$name.tmp" "k8s.io/kubernetes/cmd/$name" >&2
  mv "$K8S_DIR/bin/.$name.tmp" "$K8S_DIR/bin/$name"
}

step=${1:-all}
case "$step" in
  etcd) build_etcd ;;
  k8s-modules) k8s_modules ;;
  kube-apiserver|kube-controller-manager|kube-scheduler|kubectl) k8s_binary "$step" ;;
  all) build_etcd; for b in "${K8S_BINARIES[@]}"; do k8s_binary "$b"; done ;;
  *) echo "usage: build-binaries.sh [etcd|k8s-modules|kube-apiserver|kube-controller-manager|kube-scheduler|kubectl]" >&2; exit 2 ;;
esac
echo "$CACHE"
