#!/usr/bin/env bash
# Start a single-node Slurm on this machine for rlgrid's tests and CI
# (docs/slurm.md). Debian packages, as root, no systemd:
#   - installs slurm-wlm + munge with apt-get when root and they are missing,
#   - writes a munge key and /etc/slurm/slurm.conf (one node = this machine,
#     one default partition "rlgrid", no cgroups, no accounting, KillWait=5,
#     OverTimeLimit=0),
#   - starts munged, slurmctld and slurmd, records their pids in the state dir,
#   - waits until sinfo shows the node idle.
# Idempotent: when Slurm already answers (ours or a real cluster's), it only
# says so. scripts/slurm/stop.sh stops what this script started, by pid.
#
# Environment: RLGRID_SLURM_STATE  state dir (default /var/lib/rlgrid-slurm)
#              RLGRID_SLURM_WAIT   seconds to wait for the node (default 60)
set -euo pipefail

STATE=${RLGRID_SLURM_STATE:-/var/lib/rlgrid-slurm}
WAIT=${RLGRID_SLURM_WAIT:-60}
CONF=/etc/slurm/slurm.conf
MARK='# written by rlgrid scripts/slurm/start.sh'
say() { echo "slurm-start: $*"; }
die() { echo "slurm-start: error: $*" >&2; exit 1; }

node_state() { timeout 10 sinfo -h -N -o '%T' 2>/dev/null | head -n 1 || true; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_of() { [ -s "$1" ] && cat "$1" || true; }

# Already up? (ours from an earlier call, or a real cluster's)
if command -v sinfo >/dev/null 2>&1; then
  st=$(node_state)
  case "$st" in
    idle*|mixed*|alloc*|completing*)
      say "Slurm is already running (node $st)"; exit 0 ;;
  esac
fi

if [ "$(id -u)" != 0 ]; then
  die "Slurm is not reachable and starting a local one needs root (run as root, or point SLURM_CONF at a cluster)"
fi

# 1. install
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v slurmd >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || die "slurm-wlm/munge are not installed and there is no apt-get"
  say "installing slurm-wlm and munge (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq slurm-wlm munge >/dev/null || die "apt-get install slurm-wlm munge failed"
fi

mkdir -p "$STATE" "$STATE/ctld" "$STATE/spool" /etc/slurm
chmod 755 "$STATE"

# 2. munge: key, directories, daemon
mkdir -p /etc/munge /var/log/munge /run/munge /var/lib/munge
if [ ! -s /etc/munge/munge.key ] || [ "$(stat -c %s /etc/munge/munge.key)" -lt 32 ]; then
  say "writing a munge key"
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge /etc/munge/munge.key /var/log/munge /run/munge /var/lib/munge
chmod 700 /etc/munge /var/log/munge /var/lib/munge
chmod 755 /run/munge
chmod 400 /etc/munge/munge.key
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  say "munged is already running"
else
  rm -f /run/munge/munged.pid
  runuser -u munge -- /usr/sbin/munged || die "munged did not start (see /var/log/munge/munged.log)"
  for _ in $(seq 50); do [ -s /run/munge/munged.pid ] && break; sleep 0.1; done
  pid_of /run/munge/munged.pid > "$STATE/munged.pid"
  say "started munged (pid $(cat "$STATE/munged.pid"))"
fi
munge -n | unmunge | grep -q 'STATUS: *Success' || die "munge does not work (munge -n | unmunge)"

# 3. slurm.conf (never overwrite one we did not write)
host=$(hostname -s)
cpus=$(nproc)
mem_total=$(free -m | awk '/^Mem:/ {print $2}')
margin=$(( mem_total / 20 > 512 ? mem_total / 20 : 512 ))
mem=$(( mem_total - margin ))
[ "$mem" -gt 0 ] || mem=$mem_total
if [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
  die "$CONF exists and was not written by this script; leaving it alone (is it a real cluster? sinfo says: $(node_state))"
fi
cat > "$CONF.tmp" <<CONF
$MARK
# A single-node Slurm for tests: no cgroups, no accounting (sacct says so).
ClusterName=rlgrid
SlurmctldHost=$host
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
# quick kills and exact time limits (the tests exercise both)
KillWait=5
OverTimeLimit=0
MinJobAge=300
InactiveLimit=0
SchedulerType=sched/backfill
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=rlgrid Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
mv "$CONF.tmp" "$CONF"
chmod 644 "$CONF"

# 4. daemons
if alive "$(pid_of "$STATE/slurmctld.pid")"; then
  say "slurmctld is already running"
else
  slurmctld -L "$STATE/slurmctld.log" || die "slurmctld did not start (see $STATE/slurmctld.log)"
  for _ in $(seq 50); do [ -s "$STATE/slurmctld.pid" ] && break; sleep 0.1; done
  say "started slurmctld (pid $(pid_of "$STATE/slurmctld.pid"))"
fi
if alive "$(pid_of "$STATE/slurmd.pid")"; then
  say "slurmd is already running"
else
  slurmd -L "$STATE/slurmd.log" || die "slurmd did not start (see $STATE/slurmd.log)"
  for _ in $(seq 50); do [ -s "$STATE/slurmd.pid" ] && break; sleep 0.1; done
  say "started slurmd (pid $(pid_of "$STATE/slurmd.pid"))"
fi

# 5. wait for the node
deadline=$(( $(date +%s) + WAIT ))
resumed=0
while :; do
  st=$(node_state)
  case "$st" in
    idle*|mixed*|alloc*|completing*) break ;;
    down*|drain*)
      if [ "$resumed" = 0 ]; then scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true; resumed=1; fi ;;
  esac
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "--- slurmctld.log (tail)" >&2; tail -n 20 "$STATE/slurmctld.log" >&2 || true
    echo "--- slurmd.log (tail)" >&2; tail -n 20 "$STATE/slurmd.log" >&2 || true
    die "node $host is not idle after ${WAIT}s (sinfo says: ${st:-nothing})"
  fi
  sleep 0.5
done
say "Slurm is up: node $host ($cpus CPUs, ${mem} MB), partition rlgrid; state in $STATE"
