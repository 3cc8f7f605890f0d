#!/bin/sh
# The first program of every container, already inside its own mount and UTS namespaces (and the
# pod's network namespace). It joins the container's cgroup, bind-mounts the volumes at their
# mount paths (keeping the listed host paths visible through them), sets the hostname, changes to
# the working directory and execs the container's command, so the container's main process keeps
# this pid.
#
# usage: container-init.sh <cgroup dir|-> <hostname|-> <working dir> <keep:paths|-> <n> [<src> <dst> <ro|rw>]×n -- <argv…>
set -eu
cgroup=$1 hostname=$2 workdir=$3 keep=$4 n=$5
shift 5
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
  # A volume mounted over a parent of a kept path (an emptyDir at /tmp with the checkout under
  # /tmp) would hide the program's files: bind the kept path into the volume's source first (in
  # this private namespace only) and bring it along with a recursive bind.
  recursive=
  if [ "$keep" != - ]; then
    ifs=$IFS
    IFS=:
    for k in $keep; do
      case "$k" in
        "$dst"/*)
          mkdir -p "$src/${k#"$dst"/}"
          mount --bind "$k" "$src/${k#"$dst"/}"
          recursive=1
          ;;
      esac
    done
    IFS=$ifs
  fi
  if [ -n "$recursive" ]; then mount --rbind "$src" "$dst"; else mount --bind "$src" "$dst"; fi
  if [ "$mode" = ro ]; then mount -o remount,bind,ro "$dst"; fi
  i=$((i + 1))
done
[ "${1:-}" = -- ] && shift
mkdir -p "$workdir"
cd "$workdir"
exec "$@"
