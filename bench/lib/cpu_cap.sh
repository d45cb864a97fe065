# shellcheck shell=bash
# A CPU cap for the proxy under test (bench/run.sh --proxy-cap): a cgroup whose CPU bandwidth
# is PCT% of one CPU, so that the proxy, not wrk or the backends, sets the pace. On a 2-CPU
# machine the pinned layout leaves wrk and both backends one CPU, and that CPU fills first:
# req/s then measures the load side. Capped, the proxy's CPU runs out first, and req/s reads
# how many requests it serves per CPU-second. Sourced, never executed.

CAP_DIR=""
# A 10 ms period: the default 100 ms would let a capped proxy run flat out for tens of
# milliseconds and then stall for as long, which shows in p99 as the cap, not the proxy.
CAP_PERIOD_US=10000

# cap_create PCT: makes the cgroup (cgroup v2 with the cpu controller, else v1's cpu
# hierarchy) and sets CAP_DIR. Dies with the reason when neither can be had.
cap_create() {
  local pct=$1 quota
  if ! [[ $pct =~ ^[0-9]+$ ]] || ((pct < 5 || pct > 100)); then
    die "--proxy-cap takes 5..100 (% of one CPU), got '$pct'"
  fi
  quota=$((CAP_PERIOD_US * pct / 100))
  if grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
    grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control ||
      echo +cpu >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null ||
      die "--proxy-cap: cannot enable the cpu controller in /sys/fs/cgroup (needs root)"
    CAP_DIR=/sys/fs/cgroup/ferry-bench-cap.$$
    mkdir "$CAP_DIR" 2>/dev/null || die "--proxy-cap: cannot create $CAP_DIR (needs root)"
    echo "$quota $CAP_PERIOD_US" >"$CAP_DIR/cpu.max"
  elif [[ -d /sys/fs/cgroup/cpu ]]; then
    CAP_DIR=/sys/fs/cgroup/cpu/ferry-bench-cap.$$
    mkdir "$CAP_DIR" 2>/dev/null || die "--proxy-cap: cannot create $CAP_DIR (needs root)"
    echo "$CAP_PERIOD_US" >"$CAP_DIR/cpu.cfs_period_us"
    echo "$quota" >"$CAP_DIR/cpu.cfs_quota_us"
  else
    die "--proxy-cap: no cgroup cpu controller on this machine"
  fi
}

# cap_wrap: the command prefix that starts a process inside the cgroup (it execs, so the pid
# the bench records is the proxy's own; nginx's and HAProxy's workers inherit the cgroup).
cap_wrap() {
  # shellcheck disable=SC2016 # $$, $0 and $@ are the child shell's
  printf '%s\n' sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CAP_DIR"
}

# cap_remove: removes the cgroup once no process is left in it.
cap_remove() {
  [[ -n $CAP_DIR && -d $CAP_DIR ]] || return 0
  rmdir "$CAP_DIR" 2>/dev/null || log "WARNING: could not remove $CAP_DIR (a process is still in it?)"
  CAP_DIR=""
}
