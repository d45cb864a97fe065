# shellcheck shell=bash
# Small helpers shared by bench/run.sh: logging, ports, HTTP readiness, process accounting.
# Sourced, never executed.

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  printf 'bench: %s\n' "$*" >&2
  exit 1
}

# port_in_use PORT: true when something listens on 127.0.0.1:PORT (or the wildcard).
port_in_use() {
  ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}

# http_status URL: prints the status code (000 when nothing answers); never fails. For https
# URLs the bench's self-signed certificate is accepted (-k).
http_status() {
  curl -s -k -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true
}

# wait_http URL SECONDS: wait until URL answers 200.
wait_http() {
  local url=$1 limit=$2 i
  for ((i = 0; i < limit * 10; i++)); do
    [[ $(http_status "$url") == 200 ]] && return 0
    sleep 0.1
  done
  return 1
}

# pid_tree PID: PID and its children (nginx master + workers; a single pid otherwise).
pid_tree() {
  local pid=$1
  [[ -d /proc/$pid ]] || return 0
  printf '%s\n' "$pid"
  pgrep -P "$pid" 2>/dev/null || true
}

# cpu_ticks_split PID...: "user system" clock ticks (all threads), summed over the processes.
# Fields 14 and 15 of /proc/PID/stat; the comm field may hold spaces, so cut after ')'.
cpu_ticks_split() {
  local pid user=0 sys=0 rest u s
  for pid in "$@"; do
    rest=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
    # After ") ", field 1 is the state (field 3 overall): utime is 12, stime 13.
    read -r u s < <(awk '{print $12, $13}' <<<"$rest")
    user=$((user + u))
    sys=$((sys + s))
  done
  printf '%s %s\n' "$user" "$sys"
}

# cpu_ticks PID...: utime+stime (clock ticks, all threads) summed over the processes.
cpu_ticks() {
  local user sys
  read -r user sys < <(cpu_ticks_split "$@")
  printf '%s\n' $((user + sys))
}

# status_kb FIELD PID...: a /proc/PID/status field (VmRSS, VmHWM) in kB, summed.
status_kb() {
  local field=$1 pid total=0 v
  shift
  for pid in "$@"; do
    v=$(awk -v f="$field:" '$1 == f {print $2}' "/proc/$pid/status" 2>/dev/null) || continue
    total=$((total + ${v:-0}))
  done
  printf '%s\n' "$total"
}

# reset_hwm PID...: make VmHWM start again from the current RSS (clear_refs 5).
reset_hwm() {
  local pid
  for pid in "$@"; do
    echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true
  done
}

# stop_pid PID NAME: SIGTERM, wait up to 15 s, then SIGKILL (and say so). Only for our pids.
stop_pid() {
  local pid=$1 name=$2 i
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || {
      wait "$pid" 2>/dev/null || true
      return 0
    }
    sleep 0.1
  done
  log "WARNING: $name (pid $pid) still running 15 s after SIGTERM; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# json_str STRING: STRING as a JSON string literal (quotes and backslashes escaped).
json_str() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/ }
  printf '"%s"' "$s"
}

# machine_ticks: "busy total steal" clock ticks summed over all CPUs (/proc/stat "cpu" line).
# busy = user + nice + system + irq + softirq; total adds idle, iowait and steal.
machine_ticks() {
  awk '$1 == "cpu" {
    busy = $2 + $3 + $4 + $7 + $8
    print busy, busy + $5 + $6 + $9, $9
    exit
  }' /proc/stat
}

# children_ticks: user+system ticks of this shell's waited-for children (cutime + cstime),
# i.e. everything it ran to completion, wrk included. Fields 16 and 17 of /proc/PID/stat.
children_ticks() {
  local s
  read -r s <"/proc/$$/stat"
  s=${s##*) }
  awk '{print $14 + $15}' <<<"$s"
}

# wait_quiet MAX_SECONDS PCT: wait (at most MAX_SECONDS) until, over one second, the machine
# is busy with less than PCT percent of its CPU capacity; the bench itself is idle between
# runs, so this is other work on the machine (builds, tests). Prints the last sample (%).
wait_quiet() {
  local max=$1 pct=$2 i b0 t0 s0 b1 t1 s1 busy=0
  for ((i = 0; i <= max; i++)); do
    read -r b0 t0 s0 < <(machine_ticks)
    sleep 1
    read -r b1 t1 s1 < <(machine_ticks)
    busy=$(((b1 - b0 + s1 - s0) * 100 / (t1 - t0 > 0 ? t1 - t0 : 1)))
    ((busy < pct)) && break
  done
  printf '%s\n' "$busy"
}

# cpu_list LIST: the CPUs of a taskset-style list ("0", "0,2", "1-3"), one a line.
cpu_list() {
  local part a b
  for part in ${1//,/ }; do
    if [[ $part =~ ^([0-9]+)-([0-9]+)$ ]]; then
      for ((a = BASH_REMATCH[1], b = BASH_REMATCH[2]; a <= b; a++)); do printf '%s\n' "$a"; done
    elif [[ $part =~ ^[0-9]+$ ]]; then
      printf '%s\n' "$part"
    fi
  done
}
