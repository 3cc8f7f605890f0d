#!/usr/bin/env bash
# Installs what the local cluster needs from Debian's packages when it is missing, and checks Go.
# Idempotent and quiet when everything is present.
set -euo pipefail
need=()
command -v openssl >/dev/null || need+=(openssl)
command -v ip >/dev/null || need+=(iproute2)
command -v nsenter >/dev/null || need+=(util-linux)
command -v unshare >/dev/null || need+=(util-linux)
command -v mount >/dev/null || need+=(mount)
command -v python3 >/dev/null || need+=(python3)
command -v git >/dev/null || need+=(git)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "missing ${need[*]}: install them (apt-get install ${need[*]}) or run as root" >&2; exit 1; fi
  echo "installing ${need[*]} with apt-get" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then export PATH=/usr/local/go/bin:$PATH; fi
command -v go >/dev/null || { echo "Go 1.24+ is needed to build the local Kubernetes (https://go.dev/dl)" >&2; exit 1; }
if [ "$(id -u)" != 0 ]; then echo "the local cluster runs pods in network and mount namespaces: run as root" >&2; exit 1; fi
