#!/usr/bin/python3
"""Turn bench/run.sh's runs.jsonl into results.json, results.md and chart.png.

    report.py line < RECORD          one-line progress summary of one run record
    report.py report OUT_DIR         the full report from OUT_DIR/runs.jsonl and meta.json

Standard library only (Debian's /usr/bin/python3); the chart is drawn by gnuplot.
"""

import json
import os
import statistics
import subprocess
import sys

PEERS = ("nginx", "haproxy")
TARGET_ORDER = ("ferry", "nginx", "haproxy", "direct", "baseline")
TARGET_LABEL = {
    "ferry": "ferry",
    "baseline": "ferry (baseline)",
    "nginx": "nginx",
    "haproxy": "HAProxy",
    "direct": "direct (ceiling)",
}
# Scenarios only ferry runs (nginx and HAProxy have no equivalent config in the bench), each
# compared with ferry in another scenario of the same run, round by round:
# scenario -> (baseline scenario, the route expected to serve the scenario's requests).
FERRY_ONLY = {"routes100": ("keepalive", "last")}
# The route expected to serve the requests of a baseline scenario (ferry.yaml's first route).
BASELINE_ROUTE = {"keepalive": "bench-listeners"}
# ferry-only scenario vs its baseline: metric -> True when higher is better
VS_BASELINE_METRICS = {"rps": True, "cpu_per_1k": False, "p99_ms": False}


# --- per-run metrics -------------------------------------------------------------------


def metrics(rec):
    """Derived numbers of one run record (None where they cannot be computed)."""
    m = {"alive": rec.get("alive", True)}
    cpu_ms = rec["cpu_ticks"] * 1000.0 / rec["clk_tck"]
    m["cpu_ms"] = cpu_ms
    m["peak_rss_mib"] = rec["peak_rss_kb"] / 1024.0
    m["other_cpu_pct"] = rec.get("other_cpu_pct")
    # ferry: which route served the run's requests (ferry_route_requests_total, before and
    # after the measured run); runs from before the bench recorded it have none.
    routes = rec.get("route_requests") or {}
    before, after = routes.get("before"), routes.get("after")
    if isinstance(before, dict) and isinstance(after, dict):
        delta = {r: after[r] - before.get(r, 0) for r in after if after[r] - before.get(r, 0) > 0}
        total = sum(delta.values())
        if total:
            top = max(delta, key=delta.get)
            m["route_requests"] = delta
            m["top_route"] = top
            m["top_route_share"] = delta[top] / total
    m["steal_pct"] = rec.get("steal_pct")
    m["busy_before_pct"] = rec.get("busy_before_pct")
    # Where the machine's CPUs went during the run, in cores (1.00 = one CPU all the time):
    # a single-threaded process near 1.00 is the bottleneck; idle means nobody was.
    span = rec.get("machine_ticks")
    if span:
        cores = rec.get("cpus", 1) / span
        m["proxy_cores"] = rec["cpu_ticks"] * cores
        # Busy cores while loaded: the proxy's CPU over the load's own length (the window
        # above also covers starting wrk and reading the counters, seconds on a busy host).
        load_us = (rec.get("wrk") or {}).get("duration_us")
        if load_us:
            m["proxy_cores"] = cpu_ms / (load_us / 1000.0)
        m["backend_cores"] = rec["backend_cpu_ticks"] * cores if rec["target"] != "direct" else None
        m["wrk_cores"] = rec["wrk_cpu_ticks"] * cores
        m["idle_cores"] = rec["idle_ticks"] * cores
        # The load side: wrk and the backends, which --pin puts on the other CPUs.
        m["load_cores"] = (rec["backend_cpu_ticks"] + rec["wrk_cpu_ticks"]) * cores
    if "idle" in rec:
        idle = rec["idle"]
        m["open"] = idle["open"]
        m["failed"] = idle["failed"]
        m["still_open"] = idle["still_open"]
        m["open_seconds"] = idle["open_seconds"]
        m["rss_before_mib"] = idle["rss_before_kb"] / 1024.0
        m["rss_after_mib"] = idle["rss_after_kb"] / 1024.0
        m["bytes_per_conn"] = (
            (idle["rss_after_kb"] - idle["rss_before_kb"]) * 1024.0 / idle["open"]
            if idle["open"] else None)
        # The second half's RSS over its connections: one more idle connection's cost, apart
        # from what the proxy sized once for the opening burst (runs before it: none).
        half_open, rss_half = idle.get("half_open", 0), idle.get("rss_half_kb", 0)
        m["bytes_per_conn_added"] = (
            (idle["rss_after_kb"] - rss_half) * 1024.0 / (idle["open"] - half_open)
            if half_open and rss_half and idle["open"] > half_open else None)
        m["errors"] = idle["failed"] + max(0, idle["open"] - idle["still_open"])
        return m
    w = rec.get("wrk")
    if not w or not w.get("requests"):
        m.update(rps=None, p50_ms=None, p99_ms=None, cpu_per_1k=None, be_conns_per_1k=None,
                 be_req_per_req=None, non2xx=(w or {}).get("errors", {}).get("status", 0),
                 socket_errors=None, requests=0)
        if w:
            e = w["errors"]
            m["socket_errors"] = e["connect"] + e["read"] + e["write"] + e["timeout"]
        m["errors"] = (m["non2xx"] or 0) + (m["socket_errors"] or 0)
        return m
    req = w["requests"]
    e = w["errors"]
    m["requests"] = req
    m["rps"] = req / (w["duration_us"] / 1e6)
    # the handshake scenarios' client (openssl s_time) measures no latencies
    lat = w.get("latency_us")
    m["p50_ms"] = lat["p50"] / 1000.0 if lat else None
    m["p99_ms"] = lat["p99"] / 1000.0 if lat else None
    hs = w.get("handshakes")
    if hs:
        m["resumed_pct"] = 100.0 * hs["resumed"] / req
        m["handshakes"] = hs
    m["non2xx"] = e["status"]
    m["socket_errors"] = e["connect"] + e["read"] + e["write"] + e["timeout"]
    m["socket_detail"] = {k: e[k] for k in ("connect", "read", "write", "timeout")}
    m["errors"] = m["non2xx"] + m["socket_errors"]
    m["cpu_per_1k"] = cpu_ms / (req / 1000.0)
    # The kernel's part of it (runs from before the bench split it have none).
    if "cpu_sys_ticks" in rec:
        m["sys_per_1k"] = rec["cpu_sys_ticks"] * 1000.0 / rec["clk_tck"] / (req / 1000.0)
        m["kernel_share"] = rec["cpu_sys_ticks"] / rec["cpu_ticks"] if rec["cpu_ticks"] else None
    # Health checks (a connection and a /health request each) are the proxy's checker, not
    # its pool: counted apart. Runs from before the bench counted them have none.
    checks = rec.get("backend_checks", 0)
    m["be_checks"] = checks
    m["be_conns_per_1k"] = max(rec["backend_accepts"] - checks, 0) / (req / 1000.0)
    m["be_req_per_req"] = max(rec["backend_requests"] - checks, 0) / req
    return m


def fmt(v, spec=".1f", none="–"):
    return none if v is None else format(v, spec)


def cpu_split(m):
    """'0.98 / 0.45 / 0.50 / 0.05': the run's CPU per process and idle, in cores."""
    keys = ("proxy_cores", "backend_cores", "wrk_cores", "idle_cores")
    if all(m.get(k) is None for k in keys):
        return "–"  # runs from before the bench recorded it
    return " / ".join(fmt(m.get(k), ".2f") for k in keys)


def line(rec):
    m = metrics(rec)
    dead = "" if m["alive"] else "  TARGET DIED"
    if m.get("top_route") and (rec["scenario"] in FERRY_ONLY or rec["scenario"] in BASELINE_ROUTE):
        dead = f"  route {m['top_route']} {100 * m['top_route_share']:.1f}%" + dead
    if "idle" in rec:
        return (f"open {m['open']} (failed {m['failed']}, still open {m['still_open']})  "
                f"RSS {m['rss_before_mib']:.1f} -> {m['rss_after_mib']:.1f} MiB  "
                f"{fmt(m['bytes_per_conn'], '.0f')} B/conn{dead}")
    resumed = ("" if m.get("resumed_pct") is None
               else f"  resumed {m['resumed_pct']:.1f}%")
    return (f"{fmt(m['rps'], ',.0f'):>9} req/s  p50 {fmt(m['p50_ms'], '.2f')} ms  "
            f"p99 {fmt(m['p99_ms'], '.2f')} ms  err {m['errors']}  "
            f"cpu {fmt(m['cpu_per_1k'], '.1f')} ms/1k  peak {m['peak_rss_mib']:.1f} MiB  "
            f"be-conns {fmt(m['be_conns_per_1k'], '.2f')}/1k  "
            f"other load {fmt(m['other_cpu_pct'], '.0f')}%{resumed}{dead}")


# --- aggregation -----------------------------------------------------------------------


def median(values):
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def quartiles(values):
    """(first quartile, median, third quartile) of the values, None where there are none."""
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return (None, None, None)
    if len(vals) == 1:
        return (vals[0], vals[0], vals[0])
    q1, q2, q3 = statistics.quantiles(vals, n=4, method="inclusive")
    return (q1, q2, q3)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


HTTP_KEYS = ("rps", "p50_ms", "p99_ms", "cpu_per_1k", "peak_rss_mib", "be_conns_per_1k",
             "be_req_per_req", "other_cpu_pct", "proxy_cores", "backend_cores", "wrk_cores",
             "idle_cores", "load_cores", "sys_per_1k", "kernel_share", "resumed_pct")
IDLE_KEYS = ("bytes_per_conn", "bytes_per_conn_added", "rss_before_mib", "rss_after_mib", "peak_rss_mib", "open",
             "still_open", "open_seconds")
# metric -> True when higher is better (ratios read "ferry / peer")
RATIO_METRICS = {
    "rps": True,
    "p99_ms": False,
    "cpu_per_1k": False,
    "peak_rss_mib": False,
    "bytes_per_conn": False,
    "bytes_per_conn_added": False,
}


def aggregate(records, meta):
    scen_order = meta.get("scenarios") or sorted({r["scenario"] for r in records})
    out = {"meta": meta, "scenarios": {}}
    for scen in scen_order:
        recs = [r for r in records if r["scenario"] == scen]
        if not recs:
            continue
        idle = any("idle" in r for r in recs)  # idle10k, tls-idle10k
        keys = IDLE_KEYS if idle else HTTP_KEYS
        targets = [t for t in TARGET_ORDER if any(r["target"] == t for r in recs)]
        rounds = sorted({r["round"] for r in recs})
        per = {}  # target -> round -> metrics
        for r in recs:
            per.setdefault(r["target"], {})[r["round"]] = metrics(r)
        # tls-full, tls-resumed: the client (openssl s_time) measures no latencies
        no_latency = any((r.get("wrk") or {}).get("handshakes") for r in recs)
        s = {"idle": idle, "rounds": rounds, "targets": {}, "ratios": {}}
        for t in targets:
            runs = per[t]
            entry = {
                "median": {k: median(runs[rd].get(k) for rd in runs) for k in keys},
                "errors_total": sum(runs[rd]["errors"] or 0 for rd in runs),
                "died": sum(1 for rd in runs if not runs[rd]["alive"]),
                "per_round": {str(rd): runs[rd] for rd in sorted(runs)},
            }
            if not idle:
                entry["non2xx_total"] = sum(runs[rd]["non2xx"] or 0 for rd in runs)
                entry["socket_errors_total"] = sum(runs[rd]["socket_errors"] or 0 for rd in runs)
            s["targets"][t] = entry
        # ferry / peer, round by round (the peers ran right after ferry in the same round),
        # and the median of those per-round ratios (drift cancels).
        if "ferry" in per:
            for peer in [p for p in targets if p != "ferry"]:
                for key in RATIO_METRICS:
                    # direct's CPU and memory are the backend's: only its rate compares
                    if key not in keys or (peer == "direct" and key != "rps"):
                        continue
                    if no_latency and key == "p99_ms":
                        continue
                    by_round = {}
                    for rd in rounds:
                        if rd in per["ferry"] and rd in per[peer]:
                            by_round[str(rd)] = ratio(per["ferry"][rd].get(key),
                                                      per[peer][rd].get(key))
                    s["ratios"].setdefault(peer, {})[key] = {
                        "per_round": by_round,
                        "median": median(by_round.values()),
                    }
                # The kernel floor: ferry's kernel CPU per request over the peer's whole CPU
                # per request, round by round. It is the CPU ratio ferry would read if its
                # user-space work cost nothing: no target below it can be met in user space.
                if peer != "direct" and not idle:
                    floor = {str(rd): ratio(per["ferry"][rd].get("sys_per_1k"),
                                            per[peer][rd].get("cpu_per_1k"))
                             for rd in rounds if rd in per["ferry"] and rd in per[peer]}
                    if any(v is not None for v in floor.values()):
                        s["ratios"].setdefault(peer, {})["kernel_floor"] = {
                            "per_round": floor, "median": median(floor.values())}
        # a ferry-only scenario against ferry in its baseline scenario of the same run, round
        # by round (both ran in the same round, a few seconds apart), then the median
        base = FERRY_ONLY.get(scen, (None,))[0]
        base_recs = [r for r in records if r["scenario"] == base and r["target"] == "ferry"]
        if "ferry" in per and base_recs:
            base_per = {r["round"]: metrics(r) for r in base_recs}
            s["baseline"] = base
            s["baseline_median"] = {k: median(base_per[rd].get(k) for rd in base_per)
                                    for k in HTTP_KEYS}
            s["baseline_per_round"] = {str(rd): base_per[rd] for rd in sorted(base_per)}
            s["vs_baseline"] = {}
            for key in VS_BASELINE_METRICS:
                by_round = {str(rd): ratio(per["ferry"][rd].get(key), base_per[rd].get(key))
                            for rd in rounds if rd in per["ferry"] and rd in base_per}
                s["vs_baseline"][key] = {"per_round": by_round,
                                         "median": median(by_round.values())}
        # every target's throughput relative to nginx, per round then median (the chart)
        if not idle and "nginx" in per:
            s["vs_nginx"] = {}
            for t in targets:
                vals = [ratio(per[t][rd].get("rps"), per["nginx"][rd].get("rps"))
                        for rd in rounds if rd in per[t] and rd in per["nginx"]]
                cpu = [ratio(per[t][rd].get("cpu_per_1k"), per["nginx"][rd].get("cpu_per_1k"))
                       for rd in rounds if rd in per[t] and rd in per["nginx"]]
                s["vs_nginx"][t] = {"rps": median(vals), "cpu_per_1k": median(cpu)}
        out["scenarios"][scen] = s
    return out


# --- markdown --------------------------------------------------------------------------


def load_counts(out_dir):
    """bench/profile.sh's counts per request (run.sh --counts), or {}: scenario -> target ->
    {"ir": instructions, "syscalls": system calls}."""
    path = os.path.join(out_dir, "profile", "counts.json")
    if not os.path.exists(path):
        return {}
    try:
        with open(path) as f:
            return json.load(f)
    except ValueError:
        return {}


def iqr_cell(q):
    q1, q2, q3 = q
    return "–" if q2 is None else f"{q2:.2f} ({q1:.2f}–{q3:.2f})"


# A side is full at this share of its capacity (CPU time over the run, medians over rounds).
FULL = 0.95


def capacities(meta):
    """(the proxy's capacity, the load side's), in cores, when pinned; None otherwise."""
    pin = meta.get("pin")
    if not pin:
        return None
    n_proxy = len(str(pin["proxy_cpus"]).split(","))
    cap = pin.get("proxy_cap_pct")
    return (cap / 100.0 if cap else n_proxy, len(str(pin["load_cpus"]).split(",")))


def pace(meta, s, peer):
    """Which side was full in the runs of ferry and peer: 'proxies' (each proxy at its
    capacity: req/s reads the proxies), 'load side' (wrk and the backends full, a proxy not:
    req/s reads the load side, whatever the proxies cost), 'mixed' or None (not pinned)."""
    cap = capacities(meta)
    if cap is None:
        return None
    medians = [s["targets"][t]["median"] for t in ("ferry", peer) if t in s["targets"]]
    proxy_full = [(m.get("proxy_cores") or 0) >= FULL * cap[0] for m in medians]
    load_full = [(m.get("load_cores") or 0) >= FULL * cap[1] for m in medians]
    if all(proxy_full):
        return "proxies"
    if all(load_full):  # and a proxy below its capacity
        return "load side"
    return "mixed"


def spread_section(agg):
    """Per-round ratios ferry ÷ peer: median and interquartile range, the proxies' busy cores,
    and (with --counts) instructions and system calls per request beside them."""
    scens = agg["scenarios"]
    counts = agg.get("counts") or {}
    o = ["## Per-round ratios: median and interquartile range", ""]
    pin = agg["meta"].get("pin")
    where = (f"pinned: each proxy alone on CPU {pin['proxy_cpus']}, wrk and the backends on "
             f"CPU {pin['load_cpus']}" if pin else "not pinned: all processes share all CPUs")
    o.append(f"Each cell: the median of the per-round ratios ferry ÷ peer, and in brackets the "
             f"first and third quartiles (half the rounds fall inside); n = rounds. {where}. "
             f"**busy cores**: the proxy's CPU time over the run's length (median over rounds); "
             f"a proxy that sets the pace is near its pinned core count. Counts per request "
             f"(instructions in user space under callgrind, system calls under strace -c) do "
             f"not drift with the machine: they are the stable evidence beside the ratios.")
    o.append("")
    cap = capacities(agg["meta"])
    if cap is not None:
        capped = agg["meta"]["pin"].get("proxy_cap_pct")
        o.append(f"**load side busy**: wrk's and the backends' CPU over the run, as a share of "
                 f"the {cap[1]} CPU(s) they were given, in ferry's runs and the peer's. "
                 f"**pace**: which side was full (≥ {FULL:.2f} of its capacity; the proxy's is "
                 + (f"its cap, {capped}% of one CPU" if capped else "its pinned cores")
                 + "). Where the load side was full and a proxy was not, req/s measures wrk and "
                 "the backends: the ratio reads near 1 whatever the proxies cost, and only CPU "
                 "per request tells them apart. `bench/run.sh --proxy-cap PCT` caps the proxy "
                 "so that it is the full side.")
        o.append("")
    header = ["scenario", "peer", "n", "req/s ferry ÷ peer", "CPU/req ferry ÷ peer",
              "busy cores ferry / peer"]
    if cap is not None:
        header += ["load side busy ferry / peer", "pace"]
    floors = any("kernel_floor" in r for sc in scens.values() for r in sc["ratios"].values())
    if floors:
        header += ["kernel share ferry / peer", "kernel floor"]
    if counts:
        header += ["Ir/req ferry / peer", "syscalls/req ferry / peer"]
    rows = []
    for name, s in scens.items():
        if s["idle"] or "ferry" not in s["targets"]:
            continue
        ferry = s["targets"]["ferry"]
        for peer in ("nginx", "haproxy", "baseline"):
            if peer not in s["targets"]:
                continue
            r = s["ratios"].get(peer, {})
            rps = list((r.get("rps") or {}).get("per_round", {}).values())
            cpu = list((r.get("cpu_per_1k") or {}).get("per_round", {}).values())
            busy_f = ferry["median"].get("proxy_cores")
            busy_p = s["targets"][peer]["median"].get("proxy_cores")
            row = [name, TARGET_LABEL[peer], str(len([v for v in rps if v is not None])),
                   iqr_cell(quartiles(rps)), iqr_cell(quartiles(cpu)),
                   f"{fmt(busy_f, '.2f')} / {fmt(busy_p, '.2f')}"]
            if cap is not None:
                load_f = ferry["median"].get("load_cores")
                load_p = s["targets"][peer]["median"].get("load_cores")
                row.append(f"{fmt(load_f and load_f / cap[1], '.2f')} / "
                           f"{fmt(load_p and load_p / cap[1], '.2f')}")
                row.append(pace(agg["meta"], s, peer) or "–")
            if floors:
                ks_f = ferry["median"].get("kernel_share")
                ks_p = s["targets"][peer]["median"].get("kernel_share")
                row.append(f"{fmt(ks_f, '.2f')} / {fmt(ks_p, '.2f')}")
                row.append(iqr_cell(quartiles(list(r.get("kernel_floor", {})
                                                   .get("per_round", {}).values()))))
            if counts:
                c = counts.get(name, {})
                cf, cp = c.get("ferry", {}), c.get(peer, {})
                row.append(f"{fmt(cf.get('ir'), ',.0f')} / {fmt(cp.get('ir'), ',.0f')}")
                row.append(f"{fmt(cf.get('syscalls'), '.1f')} / {fmt(cp.get('syscalls'), '.1f')}")
            rows.append(row)
    if not rows:
        return []
    o.append(md_table(header, rows))
    o.append("")
    if floors:
        o.append("**kernel share**: the part of each proxy's CPU time spent in the kernel "
                 "(median over rounds). **kernel floor**: ferry's kernel CPU per request over "
                 "the peer's whole CPU per request, per round: the CPU ratio ferry would read "
                 "if its own code cost nothing. A CPU target below it cannot be met in user "
                 "space; only fewer or cheaper system calls and segments move it.")
        o.append("")
    if counts:
        o.append("Counts: `profile/profile.md` (bench/profile.sh, run after the rounds).")
        o.append("")
    return o


# The speed targets ferry is held to (bench issue), each a median over rounds of a per-round
# ratio, except idle memory (bytes) and pool reuse (ferry's median against nginx's).
# (label, scenario, kind, key, peer, limit, higher_is_better)
TARGETS = [
    ("keep-alive req/s vs nginx", "keepalive", "ratio", "rps", "nginx", 1.15, True),
    ("keep-alive req/s vs HAProxy", "keepalive", "ratio", "rps", "haproxy", 1.15, True),
    ("keep-alive CPU per request vs nginx", "keepalive", "ratio", "cpu_per_1k", "nginx", 0.70, False),
    ("keep-alive p99 vs nginx", "keepalive", "ratio", "p99_ms", "nginx", 1.0, False),
    ("keep-alive p99 vs HAProxy", "keepalive", "ratio", "p99_ms", "haproxy", 1.0, False),
    ("new connection per request: req/s vs nginx", "close", "ratio", "rps", "nginx", 1.05, True),
    ("new connection per request: CPU per request vs nginx", "close", "ratio", "cpu_per_1k", "nginx",
     0.85, False),
    ("64 KiB responses: req/s vs nginx", "64k", "ratio", "rps", "nginx", 1.05, True),
    ("64 KiB responses: CPU per request vs nginx", "64k", "ratio", "cpu_per_1k", "nginx", 0.75, False),
    ("64 KiB responses: req/s vs the better peer", "64k", "best", "rps", None, 1.10, True),
    ("4 KiB POSTs: req/s vs nginx", "post4k", "ratio", "rps", "nginx", 1.10, True),
    ("4 KiB POSTs: req/s vs the better peer", "post4k", "best", "rps", None, 1.10, True),
    ("1,000 connections: req/s vs nginx", "c1000", "ratio", "rps", "nginx", 1.15, True),
    ("1,000 connections: req/s vs the better peer", "c1000", "best", "rps", None, 1.10, True),
    ("1,000 connections: p99 vs nginx", "c1000", "ratio", "p99_ms", "nginx", 1.0, False),
    ("1,000 connections: p99 vs HAProxy", "c1000", "ratio", "p99_ms", "haproxy", 1.0, False),
    ("idle connections: bytes of RSS each", "idle10k", "absolute", "bytes_per_conn", None, 409, False),
    ("idle connections: bytes of RSS each of the second 5,000 vs nginx's", "idle10k", "compare",
     "bytes_per_conn_added", "nginx", None, False),
    ("keep-alive: new backend connections per 1,000 requests vs nginx's", "keepalive", "compare",
     "be_conns_per_1k", "nginx", None, False),
    # HTTPS at the edge: the same certificate, suites and OpenSSL for all three
    ("keep-alive TLS req/s vs nginx", "tls-keepalive", "ratio", "rps", "nginx", 1.10, True),
    ("keep-alive TLS CPU per request vs nginx", "tls-keepalive", "ratio", "cpu_per_1k", "nginx",
     0.90, False),
    ("full TLS handshakes/s vs nginx", "tls-full", "ratio", "rps", "nginx", 1.0, True),
    ("resumed TLS handshakes/s vs nginx", "tls-resumed", "ratio", "rps", "nginx", 1.0, True),
    ("idle TLS connections: bytes of RSS each vs nginx", "tls-idle10k", "ratio",
     "bytes_per_conn", "nginx", 0.80, False),
    # ferry alone: 100 routes, the last one matching, against keep-alive in the same run
    ("100 routes, the last one matching: CPU per request vs keep-alive (ferry, same run)",
     "routes100", "baseline", "cpu_per_1k", "keepalive", 1.05, False),
]


def target_rows(scens, meta):
    rows = []
    for label, scen, kind, key, peer, limit, higher in TARGETS:
        s = scens.get(scen)
        if s is None or "ferry" not in s["targets"]:
            continue
        ferry = s["targets"]["ferry"]
        if kind == "ratio":
            measured = s["ratios"].get(peer, {}).get(key, {}).get("median")
            wanted = ("≥ " if higher else "≤ ") + f"{limit:.2f}"
        elif kind == "baseline":  # ferry ÷ ferry in another scenario of the run (peer)
            measured = (s.get("vs_baseline", {}).get(key, {}).get("median")
                        if s.get("baseline") == peer else None)
            wanted = ("≥ " if higher else "≤ ") + f"{limit:.2f}"
        elif kind == "best":
            # per round, ferry against whichever peer did better in that round
            per_round = []
            for rd, m in ferry["per_round"].items():
                peers = [s["targets"][p]["per_round"].get(rd, {}).get(key)
                         for p in ("nginx", "haproxy") if p in s["targets"]]
                peers = [v for v in peers if v]
                if m.get(key) and peers:
                    per_round.append(m[key] / max(peers))
            measured = median(per_round)
            wanted = f"≥ {limit:.2f}"
        elif kind == "absolute":
            measured = ferry["median"].get(key)
            wanted = f"≤ {limit}"
        else:  # compare: ferry's median against the peer's median
            theirs = s["targets"].get(peer, {}).get("median", {}).get(key)
            measured = ferry["median"].get(key)
            limit = theirs
            wanted = "≤ " + ("–" if theirs is None else f"{theirs:.2f} ({TARGET_LABEL[peer]})")
        # req/s targets: which side set the pace in ferry's and the peer's runs
        who = "–"
        if key == "rps" and kind in ("ratio", "best"):
            peers = [peer] if peer else [p for p in ("nginx", "haproxy") if p in s["targets"]]
            who = ", ".join(sorted({pace(meta, s, p) or "–" for p in peers}))
        if measured is None or limit is None:
            rows.append([label, wanted, "–", "–", who])
            continue
        met = measured >= limit if higher else measured <= limit
        shown = f"{measured:,.0f}" if kind == "absolute" else f"{measured:.2f}"
        if kind != "absolute" and shown == f"{limit:.2f}" and not met:
            shown = f"{measured:.3f}"  # 1.096 against 1.10: two decimals would hide the miss
        rows.append([label, wanted, shown, "yes" if met else "**no**", who])
    return rows


def md_table(header, rows, align=None):
    align = align or ["l"] + ["r"] * (len(header) - 1)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def fr(v):
    """A ratio, to two decimals."""
    return "–" if v is None else f"{v:.2f}"


def spread(values):
    vals = [v for v in values if v is not None]
    return f"{min(vals):.2f}–{max(vals):.2f}" if vals else "–"


def served_by(per_round, expected):
    """'last: 100.0% in every round': the share of requests the expected route served."""
    shares = [m.get("route_requests", {}).get(expected, 0) / sum(m["route_requests"].values())
              for m in per_round.values() if m.get("route_requests")]
    if not shares:
        return "–"
    lo, hi = f"{100 * min(shares):.1f}%", f"{100 * max(shares):.1f}%"
    if len(shares) == 1:
        return f"{expected}: {lo}"
    return f"{expected}: {lo} in every round" if lo == hi else f"{expected}: {lo}–{hi} by round"


def baseline_section(name, s):
    """routes100 beside ferry's keepalive from the same run: medians, per-round ratios, target."""
    o = []
    base = s.get("baseline")
    expected = FERRY_ONLY[name][1]
    o.append(f"## {name}: 100 routes, the last one matching (ferry only)")
    o.append("")
    o.append(f"ferry in `{name}` (keepalive's load on ferry's third listener, whose requests "
             "fail the first route's listener condition and 98 routes' host and path "
             "conditions, and match the 100th, which has none) beside ferry in "
             f"`{base or 'keepalive'}` (whose requests match the first route) from the same "
             "run. nginx and HAProxy are not run: the bench has no equivalent routes config "
             "for them. Ratios are computed per round, then the median.")
    o.append("")
    if not base or "ferry" not in s["targets"]:
        o.append(f"Not computed: this run has no ferry `{FERRY_ONLY[name][0]}` runs to compare "
                 f"with (run `--scenarios {FERRY_ONLY[name][0]},{name}`).")
        o.append("")
        return o
    mine = s["targets"]["ferry"]["median"]
    theirs = s["baseline_median"]
    vs = s["vs_baseline"]
    base_route = BASELINE_ROUTE.get(base, "?")
    rows = [
        [f"{base} (the first route matches)", fmt(theirs["rps"], ",.0f"),
         fmt(theirs["cpu_per_1k"], ".1f"), fmt(theirs["p99_ms"], ".2f"),
         served_by(s["baseline_per_round"], base_route), fmt(theirs["other_cpu_pct"], ".0f")],
        [f"{name} (the 100th route matches)", fmt(mine["rps"], ",.0f"),
         fmt(mine["cpu_per_1k"], ".1f"), fmt(mine["p99_ms"], ".2f"),
         served_by(s["targets"]["ferry"]["per_round"], expected),
         fmt(mine["other_cpu_pct"], ".0f")],
        [f"{name} ÷ {base} (median of per-round ratios)", fr(vs["rps"]["median"]),
         fr(vs["cpu_per_1k"]["median"]), fr(vs["p99_ms"]["median"]), "", ""],
    ]
    o.append(md_table(["ferry", "req/s", "CPU ms per 1k req", "p99 ms",
                       "requests served by the expected route", "other load %"], rows))
    o.append("")
    label = {"rps": "req/s", "cpu_per_1k": "CPU per request", "p99_ms": "p99"}
    rrows = [[f"{label[k]} {name} ÷ {base}"]
             + [fr(d["per_round"].get(str(rd))) for rd in s["rounds"]]
             + [fr(d["median"]), spread(d["per_round"].values())]
             for k, d in vs.items()]
    o.append(md_table(["ratio"] + [f"round {rd}" for rd in s["rounds"]] + ["median", "spread"],
                      rrows))
    o.append("")
    measured = vs["cpu_per_1k"]["median"]
    if measured is not None:
        met = measured <= 1.05
        o.append(f"Target: CPU per request within 5% of {base}'s (routes100 ÷ {base} ≤ 1.05): "
                 f"{measured:.2f}, " + ("met." if met else "**not met**."))
        o.append("")
    return o


def render_md(agg, micro):
    meta = agg["meta"]
    o = []
    o.append("# ferry vs nginx vs HAProxy")
    o.append("")
    o.append(f"Started {meta.get('started')}, ferry git {meta.get('git')}. "
             f"{meta.get('rounds')} round(s), {meta.get('duration_s')} s per run "
             f"(+{meta.get('warmup_s')} s warm-up), {meta.get('workers')} worker(s) per proxy, "
             f"backend nginx with {meta.get('backend_workers')} worker(s)."
             + (f" Pinned: proxy on CPU {meta['pin']['proxy_cpus']}, wrk and backends on CPU "
                f"{meta['pin']['load_cpus']}." if meta.get("pin") else " Not pinned.")
             + (f" Capped: each proxy at {meta['pin']['proxy_cap_pct']}% of one CPU (a cgroup)."
                if (meta.get("pin") or {}).get("proxy_cap_pct") else "")
             + (f" Load average at the start: {meta['load_at_start']}."
                if meta.get("load_at_start") else ""))
    mach = meta.get("machine", {})
    o.append(f"Machine: {mach.get('cpus')} CPUs ({mach.get('cpu_model')}), "
             f"kernel {mach.get('kernel')}. Everything on 127.0.0.1.")
    v = meta.get("versions", {})
    o.append(f"Versions: {v.get('ferry')}; {v.get('nginx')}; {v.get('haproxy')}; {v.get('wrk')}"
             + (f"; {v['openssl']}" if v.get("openssl") else "") + ".")
    o.append("")

    scens = agg["scenarios"]
    others = [m.get("other_cpu_pct") for s in scens.values() for e in s["targets"].values()
              for m in e["per_round"].values() if m.get("other_cpu_pct") is not None]
    if others:
        noisy = sum(1 for x in others if x >= 10)
        o.append(f"Other load on the machine during the measured runs (CPU not used by the "
                 f"proxy, the backend or wrk, as % of all CPUs): median "
                 f"{statistics.median(others):.0f}%, max {max(others):.0f}%; {noisy} of "
                 f"{len(others)} runs at 10% or more."
                 + (" Treat the numbers with care: other work competed with the bench."
                    if noisy > len(others) / 4 else ""))
        o.append("")
    # summary
    o.append("## Summary: ferry relative to each peer")
    o.append("")
    o.append("Median over rounds of the per-round ratio ferry ÷ peer. Throughput: above 1 "
             "means ferry is faster. CPU per request, p99 latency, memory: below 1 means "
             "ferry uses less. `direct` is wrk straight to one backend, the ceiling.")
    o.append("")
    rows = []
    for name, s in scens.items():
        if name in FERRY_ONLY:  # no peer ran it: see its own section
            continue
        r = s["ratios"]
        if s["idle"]:
            rows.append([name, "–", "–", "–", "–", "–", "–",
                         fr(r.get("nginx", {}).get("bytes_per_conn", {}).get("median")),
                         fr(r.get("haproxy", {}).get("bytes_per_conn", {}).get("median")), "–"])
            continue

        def g(peer, key):
            return fr(r.get(peer, {}).get(key, {}).get("median"))

        rows.append([name, g("nginx", "rps"), g("haproxy", "rps"),
                     g("nginx", "cpu_per_1k"), g("haproxy", "cpu_per_1k"),
                     g("nginx", "p99_ms"), g("haproxy", "p99_ms"), "–", "–", g("direct", "rps")])
    o.append(md_table(["scenario", "req/s vs nginx", "req/s vs HAProxy", "CPU/req vs nginx",
                       "CPU/req vs HAProxy", "p99 vs nginx", "p99 vs HAProxy",
                       "bytes/idle conn vs nginx", "bytes/idle conn vs HAProxy",
                       "req/s vs ceiling"], rows))
    o.append("")
    if os.path.exists(agg.get("_chart", "")):
        o.append("![requests/s relative to nginx](chart.png)")
        o.append("")
    o += spread_section(agg)
    targets = target_rows(scens, agg["meta"])
    if targets:
        o.append("## Targets")
        o.append("")
        o.append("The speed targets ferry is held to, against this run's medians (ratios are "
                 "ferry ÷ peer, per round, then the median). **pace**, for req/s targets in a "
                 "pinned run: which side was full (see above); a req/s target read where the "
                 "load side set the pace says how fast wrk and the backends were, not ferry.")
        o.append("")
        o.append(md_table(["target", "wanted", "measured", "met", "pace"], targets,
                          ["l", "l", "r", "l", "l"]))
        o.append("")
    for name, s in scens.items():
        if name in FERRY_ONLY:
            o += baseline_section(name, s)

    # details
    o.append("## Results per scenario (medians over rounds)")
    o.append("")
    for name, s in scens.items():
        o.append(f"### {name}")
        o.append("")
        text = meta.get("scenario_text", {}).get(name)
        if text:
            o.append(text + ".")
            o.append("")
        rows = []
        for t, e in s["targets"].items():
            m = e["median"]
            died = f" **died {e['died']}x**" if e["died"] else ""
            if s["idle"]:
                rows.append([TARGET_LABEL[t] + died, fmt(m["open"], ".0f"),
                             fmt(m["still_open"], ".0f"), fmt(m["open_seconds"], ".1f"),
                             fmt(m["rss_before_mib"], ".1f"), fmt(m["rss_after_mib"], ".1f"),
                             fmt(m["bytes_per_conn"], ",.0f"), fmt(m.get("bytes_per_conn_added"), ",.0f"),
                             fmt(m["peak_rss_mib"], ".1f")])
            else:
                rows.append([TARGET_LABEL[t] + died, fmt(m["rps"], ",.0f"),
                             fmt(m["p50_ms"], ".2f"), fmt(m["p99_ms"], ".2f"),
                             f"{e['non2xx_total']} / {e['socket_errors_total']}",
                             fmt(m["cpu_per_1k"], ".1f"), fmt(m["peak_rss_mib"], ".1f"),
                             fmt(m["be_conns_per_1k"], ".2f"), fmt(m["be_req_per_req"], ".3f"),
                             cpu_split(m), fmt(m["other_cpu_pct"], ".0f")])
        if s["idle"]:
            o.append(md_table(["target", "open", "still open at measure", "seconds to open",
                               "RSS before MiB", "RSS with conns MiB", "bytes per conn",
                               "bytes per conn, second half", "peak RSS MiB"], rows))
        else:
            o.append(md_table(["target", "req/s", "p50 ms", "p99 ms",
                               "errors non-2xx / socket (all rounds)", "CPU ms per 1k req",
                               "peak RSS MiB", "new backend conns per 1k req",
                               "backend req per req", "cores: proxy / backend / wrk / idle",
                               "other load %"], rows))
        o.append("")
        resumed = [(t, e["median"].get("resumed_pct")) for t, e in s["targets"].items()
                   if e["median"].get("resumed_pct") is not None]
        if resumed:
            o.append("One TLS handshake per request: req/s = handshakes/s. The client is "
                     "`openssl s_time` (the `wrk` cores are its processes), which measures no "
                     "latencies. Handshakes that resumed a session, as s_time counts them: "
                     + ", ".join(f"{TARGET_LABEL[t]} {v:.1f}%" for t, v in resumed) + ".")
            o.append("")
        # per-round ratios
        rrows = []
        for peer, by_key in s["ratios"].items():
            for key, d in by_key.items():
                rrows.append([f"{key} ferry ÷ {TARGET_LABEL[peer]}"]
                             + [fr(d["per_round"].get(str(rd))) for rd in s["rounds"]]
                             + [fr(d["median"])])
        if rrows:
            o.append(md_table(["ratio"] + [f"round {rd}" for rd in s["rounds"]] + ["median"],
                              rrows))
            o.append("")

    if micro:
        o.append("## Micro-benchmarks (ferry_micro_bench)")
        o.append("")
        rows = []
        for b in micro.get("benchmarks", []):
            extra = ""
            if "items_per_second" in b:
                extra = f"{b['items_per_second']:,.0f} items/s"
            elif "bytes_per_second" in b:
                extra = f"{b['bytes_per_second'] / 2**20:,.1f} MiB/s"
            rows.append([b.get("name"), f"{b.get('real_time', 0):,.1f} {b.get('time_unit', '')}",
                         f"{b.get('cpu_time', 0):,.1f} {b.get('time_unit', '')}",
                         f"{b.get('iterations', 0):,}", extra])
        o.append(md_table(["benchmark", "time", "CPU", "iterations", "rate"], rows))
        o.append("")
        o.append("Full output: `micro.txt`, `micro.json`.")
        o.append("")

    o.append("## How to read this")
    o.append("")
    o.append(
        "- Every proxy is started fresh for each run, warmed up, then measured; the proxies "
        "take turns within a round (ferry, nginx, HAProxy, direct, then the next scenario; "
        "each round starts one target further on), "
        "so a ratio compares runs a few seconds apart and machine drift mostly cancels. The "
        "median over rounds is the figure to quote; the per-round ratios show how noisy it is.\n"
        "- **CPU ms per 1k req**: the proxy's user+system CPU time (all threads; nginx: master "
        "+ workers) during the measured run, per 1,000 completed requests. For `direct` it is "
        "the backend nginx's own CPU.\n"
        "- **peak RSS**: VmHWM during the measured run (reset after warm-up; nginx: master + "
        "workers summed, which counts shared pages twice).\n"
        "- **new backend conns per 1k req**: connections the backend pair accepted (nginx "
        "stub_status `accepts`) per 1,000 requests, less the proxy's health checks (ferry and "
        "HAProxy open a connection per check; the backend logs each /health request, which "
        "wrk never asks for): 0 means the proxy's keep-alive pool was reused throughout. "
        "**backend req per req** (health checks left out too) should be 1.000.\n"
        "- **errors**: non-2xx responses / socket errors (connect, read, write, timeout) as wrk "
        "counts them, summed over rounds. In `close`, wrk also counts as read errors any "
        "connection the server closes before wrk has read a response.\n"
        "- **idle10k**: RSS with the connections open minus RSS before, divided by the "
        "connections open. Each connection made one GET and then sat idle. **tls-idle10k** "
        "the same over TLS (a full handshake each, then the GET).\n"
        "- **TLS scenarios** (`tls-*`): each proxy's TLS listener (same process as its plain "
        "one), the same ECDSA P-256 certificate, TLS 1.2/1.3 suites, groups and OpenSSL for all three, "
        "session tickets on. `tls-full` and `tls-resumed` make one handshake per request "
        "with `openssl s_time` (`-new`, `-reuse`), so their req/s is handshakes/s and their "
        "CPU per 1k requests includes the handshakes; `direct` is not run (the backends are "
        "plain HTTP).\n"
        "- **cores: proxy / backend / wrk / idle**: where the machine's CPUs went during the "
        "run, in cores (1.00 = one CPU the whole run; with other load and stolen time they "
        "add up to the machine's CPUs). For `direct` the proxy column is the backend itself. "
        "wrk's one thread (two in c1000), one backend worker and one proxy worker can each "
        "use at most one core: one at 1.00 set the pace. Idle CPU with nobody at 1.00 means "
        "the run waited on round trips between the three processes; a proxy that leaves "
        "idle CPU behind gains less req/s from its lower CPU per request than the saving "
        "suggests.\n"
        "- **other load %**: CPU time the rest of the machine used during the run (busy CPU "
        "from /proc/stat minus the proxy, the backend and wrk), as % of all CPUs. Runs with "
        "high other load are noisy; compare their per-round ratios with the rest.\n"
        "- On a small shared machine wrk, the backend and the proxy compete for the same cores: "
        "absolute numbers are low and noisy; the ratios are what this measures.")
    if any(name in FERRY_ONLY for name in scens):
        o.append(
            "- **routes100**: ferry's config has 100 routes, all forwarding to the one pool: the "
            "first matches the plain and TLS listeners every other scenario uses (so their "
            "requests pay for one listener condition), 98 have host and path conditions no "
            "request of the bench fits, and the last has none. routes100's requests, on a third "
            "listener, walk all 100. **requests served by the expected route** is from ferry's "
            "`ferry_route_requests_total` before and after each measured run.")
    o.append("")
    return "\n".join(o)


# --- chart -----------------------------------------------------------------------------


def chart(agg, out_dir):
    rows = [(n, s) for n, s in agg["scenarios"].items() if s.get("vs_nginx")]
    if not rows:
        return None
    targets = [t for t in TARGET_ORDER if any(t in s["vs_nginx"] for _, s in rows)]
    dat = os.path.join(out_dir, "chart.dat")
    with open(dat, "w") as f:
        f.write("# scenario " + " ".join(targets) + " " + " ".join(f"cpu_{t}" for t in targets)
                + "\n")
        for name, s in rows:
            vals = [s["vs_nginx"].get(t, {}).get("rps") for t in targets]
            cpus = [s["vs_nginx"].get(t, {}).get("cpu_per_1k") for t in targets]
            f.write(name + " " + " ".join("NaN" if x is None else f"{x:.4f}" for x in vals)
                    + " " + " ".join("NaN" if x is None else f"{x:.4f}" for x in cpus) + "\n")
    colors = {"ferry": "#d95f02", "nginx": "#1b9e77", "haproxy": "#7570b3", "direct": "#bbbbbb",
              "baseline": "#fdb863"}
    n = len(targets)
    plots_rps = ", ".join(
        f"'chart.dat' using {i + 2}:xtic(1) title '{TARGET_LABEL[t]}' lc rgb '{colors[t]}'"
        for i, t in enumerate(targets))
    proxies = [t for t in targets if t != "direct"]
    plots_cpu = ", ".join(
        f"'chart.dat' using {targets.index(t) + 2 + n}:xtic(1) title '{TARGET_LABEL[t]}' "
        f"lc rgb '{colors[t]}'" for t in proxies)
    gp = f"""set terminal pngcairo size 1100,900 font 'sans,10'
set output 'chart.png'
set multiplot layout 2,1 title 'ferry vs nginx vs HAProxy (medians of per-round ratios, nginx = 1.0)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set boxwidth 0.9
set grid ytics
set yrange [0:*]
set xrange [-0.6:{len(rows) - 0.4}]
set lmargin 8
set rmargin 22
set key outside right top
set title 'requests/s relative to nginx (higher is better)'
plot {plots_rps}, 1 notitle dt 2 lc rgb 'black'
set title 'proxy CPU time per request relative to nginx (lower is better)'
plot {plots_cpu}, 1 notitle dt 2 lc rgb 'black'
unset multiplot
"""
    gp_path = os.path.join(out_dir, "chart.gp")
    with open(gp_path, "w") as f:
        f.write(gp)
    res = subprocess.run(["gnuplot", "chart.gp"], cwd=out_dir, capture_output=True, text=True)
    if res.returncode != 0:
        sys.stderr.write("report: gnuplot failed:\n" + res.stderr)
        return None
    return os.path.join(out_dir, "chart.png")


# --- main ------------------------------------------------------------------------------


def report(out_dir):
    with open(os.path.join(out_dir, "runs.jsonl")) as f:
        records = [json.loads(x) for x in f if x.strip()]
    meta_path = os.path.join(out_dir, "meta.json")
    meta = {}
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
    micro = None
    micro_path = os.path.join(out_dir, "micro.json")
    if os.path.exists(micro_path):
        try:
            with open(micro_path) as f:
                micro = json.load(f)
        except ValueError:
            micro = None
    agg = aggregate(records, meta)
    agg["counts"] = load_counts(out_dir)
    agg["_chart"] = chart(agg, out_dir) or ""
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(render_md(agg, micro))
    agg["runs"] = records
    if micro:
        agg["micro"] = micro
    agg.pop("_chart")
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(agg, f, indent=1, sort_keys=False)
        f.write("\n")
    sys.stdout.write(open(os.path.join(out_dir, "results.md")).read().split("## Results per")[0])


def main(argv):
    if len(argv) >= 2 and argv[1] == "line":
        print(line(json.loads(sys.stdin.read())))
        return 0
    if len(argv) == 3 and argv[1] == "report":
        report(argv[2])
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
