#!/usr/bin/env bash
# Builds Krew's own `krew` (installed as kubectl-krew) and `validate-krew-manifest` from the Go module
# proxy into a cache outside the repository, keyed by version, so the Krew manifest is checked by the
# same code the krew-index CI runs. Idempotent: a version already built is reused.
# Prints the bin directory on stdout.
set -euo pipefail
# v0.4.4: the newest release the Go module proxy serves here (v0.4.5 answers 403).
KREW_VERSION=${KREW_VERSION:-0.4.4}
CACHE=${KRT_CACHE:-$HOME/.cache/kruntimes}
dir="$CACHE/krew-v$KREW_VERSION"
export GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=${GOTOOLCHAIN:-local}
command -v go >/dev/null || { echo "go is required to build Krew's validator (https://go.dev/dl)" >&2; exit 1; }
if [ ! -x "$dir/bin/kubectl-krew" ] || [ ! -x "$dir/bin/validate-krew-manifest" ]; then
  mkdir -p "$dir/src" && cd "$dir/src"
  [ -f go.mod ] || go mod init krt.local/krewbuild >&2
  go get "sigs.k8s.io/krew@v$KREW_VERSION" >&2
  rm -rf ../bin.tmp && mkdir -p ../bin.tmp
  go build -trimpath -ldflags "-s -w -X sigs.k8s.io/krew/internal/version.gitTag=v$KREW_VERSION" \
    -o ../bin.tmp/kubectl-krew sigs.k8s.io/krew/cmd/krew >&2
  go build -trimpath -ldflags "-s -w" -o ../bin.tmp/validate-krew-manifest sigs.k8s.io/krew/cmd/validate-krew-manifest >&2
  rm -rf ../bin && mv ../bin.tmp ../bin
fi
echo "$dir/bin"
