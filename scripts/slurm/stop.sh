#!/usr/bin/env bash
# Stop the daemons scripts/slurm/start.sh started (by the pids it recorded in
# its state dir; a munged that was already running is left alone). Jobs still
# in the queue are lost with slurmctld's state only if you delete the state dir.
# Idempotent: nothing to stop is fine.
#
# Environment: RLGRID_SLURM_STATE  state dir (default /var/lib/rlgrid-slurm)
set -uo pipefail

STATE=${RLGRID_SLURM_STATE:-/var/lib/rlgrid-slurm}
say() { echo "slurm-stop: $*"; }

stop_pid() { # name pidfile
  local name=$1 file=$2 pid
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      say "killed $name (pid $pid) after 10 s"
    else
      say "stopped $name (pid $pid)"
    fi
  fi
  rm -f "$file"
}

stop_pid slurmd "$STATE/slurmd.pid"
stop_pid slurmctld "$STATE/slurmctld.pid"
stop_pid munged "$STATE/munged.pid"
exit 0
