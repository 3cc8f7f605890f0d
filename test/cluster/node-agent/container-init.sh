#!/bin/sh
# The first program of every container, already inside its own mount and UTS namespaces (and the
# pod's network namespace). It joins the container's cgroup, bind-mounts the volumes at their
# mount paths, sets the hostname, changes to the working directory and execs the container's
# command, so the container's main process keeps this pid.
#
# usage: container-init.sh <cgroup dir|-> <hostname|-> <working dir> <n> [<src> <dst> <ro|rw>]×n -- <argv…>
set -eu
cgroup=$1 hostname=$2 workdir=$3 n=$4
shift 4
if [ "$cgroup" != - ]; then echo $$ >"$cgroup/cgroup.procs"; fi
if [ "$hostname" != - ]; then echo "$hostname" >/proc/sys/kernel/hostname; fi
i=0
while [ "$i" -lt "$n" ]; do
  src=$1 dst=$2 mode=$3
  shift 3
  if [ -d "$src" ]; then
    mkdir -p "$dst"
  else
    mkdir -p "$(dirname "$dst")"
    [ -e "$dst" ] || : >"$dst"
  fi
  mount --bind "$src" "$dst"
  if [ "$mode" = ro ]; then mount -o remount,bind,ro "$dst"; fi
  i=$((i + 1))
done
[ "${1:-}" = -- ] && shift
mkdir -p "$workdir"
cd "$workdir"
exec "$@"
