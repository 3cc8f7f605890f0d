#!/usr/bin/env bash
# Builds the `helm` CLI from the Go module proxy into the same cache as the control plane
# (~/.cache/kruntimes/helm-v<version>/bin/helm, override the root with KRT_CACHE), for the chart
# tests. Idempotent: a version already built is reused. Prints the bin directory on stdout.
set -euo pipefail
HELM_VERSION=${HELM_VERSION:-3.22.0}
CACHE=${KRT_CACHE:-$HOME/.cache/kruntimes}
export GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=${GOTOOLCHAIN:-local}
command -v go >/dev/null || { echo "go is required to build helm (https://go.dev/dl)" >&2; exit 1; }

dir="$CACHE/helm-v$HELM_VERSION"
if [ ! -x "$dir/bin/helm" ]; then
  mkdir -p "$dir/src" && cd "$dir/src"
  [ -f go.mod ] || go mod init krt.local/helmbuild >&2
  go get "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION" >&2
  # helm reports its version from these variables (the release Makefile sets them the same way).
  ld="-X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  go build -trimpath -ldflags "-s -w $ld" -o ../bin.tmp/helm helm.sh/helm/v3/cmd/helm >&2
  rm -rf ../bin && mv ../bin.tmp ../bin
fi
echo "$dir/bin"
