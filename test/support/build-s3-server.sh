#!/usr/bin/env bash
# Builds versitygw (an S3-compatible gateway; its posix backend stores objects as files) from the
# Go module proxy into the same cache as the local cluster, keyed by version. The artifact e2e
# tests start it on the host. Idempotent; prints the binary's path on stdout.
set -euo pipefail
VERSITYGW_VERSION=${VERSITYGW_VERSION:-1.8.0}
CACHE=${KRT_CACHE:-$HOME/.cache/kruntimes}
export GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=${GOTOOLCHAIN:-local}
command -v go >/dev/null || { echo "go is required to build the S3 test server (https://go.dev/dl)" >&2; exit 1; }
dir="$CACHE/versitygw-v$VERSITYGW_VERSION"
if [ ! -x "$dir/bin/versitygw" ]; then
  mkdir -p "$dir/src" && cd "$dir/src"
  [ -f go.mod ] || go mod init krt.local/versitygwbuild >&2
  go get "github.com/versity/versitygw/cmd/versitygw@v$VERSITYGW_VERSION" >&2
  mkdir -p ../bin.tmp
  go build -trimpath -ldflags "-s -w" -o ../bin.tmp/versitygw github.com/versity/versitygw/cmd/versitygw >&2
  rm -rf ../bin && mv ../bin.tmp ../bin
fi
echo "$dir/bin/versitygw"
