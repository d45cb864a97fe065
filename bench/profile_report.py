#!/usr/bin/env python3
"""bench/profile.sh's report: instructions and system calls per request, from the callgrind
and strace output in OUT/raw, written to OUT/profile.md (and printed).

    profile_report.py OUT FERRY_BINARY
"""
import collections
import glob
import json
import os
import re
import sys

# Where an instruction was spent, by object file and function name.
ALLOCATOR = re.compile(r"^(malloc|free|calloc|realloc|cfree|_int_malloc|_int_free|_int_realloc|"
                       r"malloc_consolidate|tcache_\w+|operator new|operator delete)")
MEMORY = re.compile(r"^(__)?(mem|str|wmem)\w*")


def component(obj, fn, ferry_binary):
    base = os.path.basename(obj)
    if obj == ferry_binary or base == os.path.basename(ferry_binary):
        if fn.startswith("llhttp"):
            return "llhttp (HTTP parser)"
        if fn.startswith("ferry::balancer::routing::"):
            return "ferry's routing (route table match)"
        return "ferry's own code"
    if base.startswith("libuv"):
        return "libuv (event loop)"
    if base.startswith("libc.") or base.startswith("libc-"):
        if ALLOCATOR.match(fn):
            return "libc allocator"
        if MEMORY.match(fn):
            return "libc memcpy/memset/str*"
        return "libc (syscall wrappers, other)"
    if base.startswith("libstdc++"):
        return "libstdc++ (operator new, other)"
    if base.startswith("ld-linux"):
        return "dynamic loader"
    if "prometheus" in base:
        return "prometheus-cpp (admin thread)"
    return "other: " + base


def parse_callgrind(path):
    """Self cost (Ir) per (object, function) and the file's total."""
    names = {"ob": {}, "fl": {}, "fn": {}}
    self_cost = collections.Counter()
    total = 0
    ob = fn = "?"
    skip_next_cost = False

    def resolve(kind, value):
        m = re.match(r"^\((\d+)\)(?: (.*))?$", value)
        if not m:
            return value
        key, name = m.group(1), m.group(2)
        if name is not None:
            names[kind][key] = name
            return name
        return names[kind].get(key, "?")

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                if skip_next_cost:
                    skip_next_cost = False
                    continue
                parts = line.split()
                if len(parts) >= 2:
                    self_cost[(ob, fn)] += int(parts[1])
                continue
            key, _, value = line.partition("=")
            if key == "ob":
                ob = resolve("ob", value)
            elif key in ("fl", "fi", "fe", "cfi", "cfl"):
                resolve("fl", value)
            elif key == "fn":
                fn = resolve("fn", value)
            elif key == "cob":
                resolve("ob", value)
            elif key == "cfn":
                resolve("fn", value)
            elif key == "calls":
                skip_next_cost = True
            elif line.startswith("summary:") or line.startswith("totals:"):
                total = max(total, int(line.split(":", 1)[1].split()[0]))
    return self_cost, total


# ferry's configs in the routes scenarios: scenario -> (what its config is, the route expected to
# serve the window's requests), in the order the table shows them.
ROUTE_SCENARIOS = {
    "keepalive-noroutes": ("no routes (the config before routes100)", "default"),
    "keepalive": ("100 routes; the first matches (one listener condition)", "bench-listeners"),
    "routes100": ("100 routes; the 100th matches (every route tried)", "last"),
}


def route_share(run, expected):
    """Share of the window's requests ferry_route_requests_total counted on route `expected`."""
    routes = run.get("route_requests") or {}
    before, after = routes.get("before"), routes.get("after")
    if not isinstance(before, dict) or not isinstance(after, dict):
        return None
    delta = {r: after[r] - before.get(r, 0) for r in after}
    total = sum(v for v in delta.values() if v > 0)
    return delta.get(expected, 0) / total if total else None


def parse_strace(path):
    calls = collections.Counter()
    if not os.path.exists(path):
        return calls
    with open(path) as f:
        for line in f:
            parts = line.split()
            # % time  seconds  usecs/call  calls  [errors]  syscall
            if len(parts) >= 5 and re.match(r"^\d", parts[0]) and parts[-1] != "total":
                calls[parts[-1]] += int(parts[3])
    return calls


COPY_SYMBOL = re.compile(r"copy_(to|from)_user|copy_user|rep_movs|memcpy|memmove|_copy_to_iter|_copy_from_iter")


def parse_perf(path):
    """perf report --sort dso,sym lines -> [(share %, dso, symbol, kernel?)]."""
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for line in f:
            m = re.match(r"^\s*([\d.]+)%\s+(\S+)\s+\[([k.])\]\s+(.*\S)", line)
            if m:
                rows.append((float(m.group(1)), m.group(2), m.group(4), m.group(3) == "k"))
    return rows


def main():
    out, ferry_binary = sys.argv[1], os.path.realpath(sys.argv[2])
    runs = [json.loads(line) for line in open(os.path.join(out, "runs.jsonl")) if line.strip()]
    scenarios = list(dict.fromkeys(r["scenario"] for r in runs))
    targets = list(dict.fromkeys(r["target"] for r in runs))
    ir = {}            # (scenario, target) -> Ir per request
    breakdown = {}     # scenario -> Counter(component -> Ir per request) for ferry
    top = {}           # scenario -> [(function, Ir per request)]
    syscalls = {}      # (scenario, target) -> (total per request, Counter per request)
    cpu = {}           # (scenario, target) -> (user, kernel) microseconds per request
    perf = {}          # (scenario, target) -> [(share %, dso, symbol, kernel?)]
    shares = {}        # scenario -> share of the callgrind window's requests on the expected route
    for r in runs:
        n = r["requests"]
        if n <= 0:
            continue
        key = (r["scenario"], r["target"])
        if r["tool"] == "callgrind":
            # Part 1 of each process: from the zeroing to the dump, i.e. the measured window.
            files = glob.glob(os.path.join(out, "raw", "cg.%s.*.1" % r["tag"]))
            merged = collections.Counter()
            total = 0
            for path in files:
                costs, t = parse_callgrind(path)
                merged.update(costs)
                total += t or sum(costs.values())
            ir[key] = total / n
            if r["target"] == "ferry" and r["scenario"] in ROUTE_SCENARIOS:
                shares[r["scenario"]] = route_share(r, ROUTE_SCENARIOS[r["scenario"]][1])
            if r["target"] == "ferry":
                comp = collections.Counter()
                for (obj, fn), cost in merged.items():
                    comp[component(obj, fn, ferry_binary)] += cost / n
                breakdown[r["scenario"]] = comp
                top[r["scenario"]] = [(fn, cost / n) for (obj, fn), cost in merged.most_common(15)]
        elif r["tool"] == "perf":
            perf[key] = parse_perf(os.path.join(out, "raw", "perf.%s.txt" % r["tag"]))
        elif r["tool"] == "cpu":
            us_per_tick = 1e6 / r["clk_tck"]
            cpu[key] = (r["user_ticks"] * us_per_tick / n, r["sys_ticks"] * us_per_tick / n)
        else:
            calls = parse_strace(os.path.join(out, "raw", "strace.%s.txt" % r["tag"]))
            per = collections.Counter({k: v / n for k, v in calls.items()})
            syscalls[key] = (sum(per.values()), per)

    lines = ["# Where the CPU per request goes", ""]
    lines.append("One worker per proxy, the bench's backend pair and wrk command lines. "
                 "Instructions are user space only (valgrind --tool=callgrind); the kernel's "
                 "share follows the system calls (strace -c). Both are counts, stable on a "
                 "shared machine. The user/kernel split of CPU time (a plain run) shows how "
                 "much of each proxy's CPU is the kernel's.")
    lines.append("")
    lines.append("## User-space instructions per request")
    lines.append("")
    columns = ["scenario"] + targets + ["ferry/" + t for t in targets if t != "ferry"]
    lines.append("| " + " | ".join(columns) + " |")
    lines.append("|" + "---|" * len(columns))
    for s in scenarios:
        row = [s] + ["{:,.0f}".format(ir[(s, t)]) if (s, t) in ir else "-" for t in targets]
        for t in targets:
            if t == "ferry":
                continue
            if (s, "ferry") in ir and (s, t) in ir and ir[(s, t)] > 0:
                row.append("{:.2f}x".format(ir[(s, "ferry")] / ir[(s, t)]))
            else:
                row.append("-")
        lines.append("| " + " | ".join(row) + " |")
    routed = [s for s in ROUTE_SCENARIOS if (s, "ferry") in ir]
    if len(routed) >= 2 or "routes100" in routed:
        lines += ["", "## ferry: the cost of routes", ""]
        lines.append("ferry's config in `keepalive` has 100 routes: the first matches the plain "
                     "and TLS listeners, 98 have host and path conditions no bench request fits, "
                     "the last has none. `routes100` is the same load on a third listener, so its "
                     "requests try all 100 routes; `keepalive-noroutes` is `keepalive` on the "
                     "config without routes. Each ratio is against the row above it.")
        lines.append("")
        lines.append("| scenario | ferry's config | Ir/request | ratio to the row above | "
                     "difference | of which routing | served by the expected route |")
        lines.append("|---|---|---|---|---|---|---|")
        prev = None
        for s in routed:
            what, expected = ROUTE_SCENARIOS[s]
            value = ir[(s, "ferry")]
            routing = breakdown.get(s, {}).get("ferry's routing (route table match)", 0)
            share = shares.get(s)
            lines.append("| {} | {} | {:,.0f} | {} | {} | {:,.0f} | {} |".format(
                s, what, value,
                "-" if prev is None else "{:.3f}".format(value / prev),
                "-" if prev is None else "{:+,.0f}".format(value - prev),
                routing,
                "-" if share is None else "{}: {:.1%}".format(expected, share)))
            prev = value
        lines.append("")
        lines.append("`of which routing`: self cost of ferry's `ferry::balancer::routing::` "
                     "functions (RouteTable::match, the compiled conditions, wildcards) per "
                     "request; what routes add elsewhere (the per-route request counter, the "
                     "pool lookup) is in the difference but not in this column.")

    def per_target_table(values, cell):
        """A scenario x target table of cell(values[(scenario, target)]), "-" where missing."""
        out = ["| scenario | " + " | ".join(targets) + " |", "|" + "---|" * (1 + len(targets))]
        for s in scenarios:
            row = [s] + [cell(values[(s, t)]) if (s, t) in values else "-" for t in targets]
            out.append("| " + " | ".join(row) + " |")
        return out

    def syscall_cell(value):
        total, per = value
        main_calls = ", ".join("{} {:.2f}".format(k, v) for k, v in per.most_common(6) if v >= 0.05)
        return "{:.1f} ({})".format(total, main_calls)

    def cpu_cell(value):
        user, kernel = value
        share = kernel / (user + kernel) if user + kernel > 0 else 0
        return "{:.1f} + {:.1f} µs ({:.0%} kernel)".format(user, kernel, share)

    if syscalls:
        lines += ["", "## System calls per request", ""]
        lines += per_target_table(syscalls, syscall_cell)
    if cpu:
        lines += ["", "## CPU time per request: user and kernel", ""]
        lines.append("A plain run (no tool attached), from /proc/PID/stat: microseconds of CPU per "
                     "request in user space + in the kernel, and the kernel's share. Times drift "
                     "with the machine's other load; the split is what to read.")
        lines.append("")
        lines += per_target_table(cpu, cpu_cell)
    if perf:
        lines += ["", "## Where the CPU time goes, kernel included (sampled)", ""]
        lines.append("perf's cpu-clock samples of each proxy's processes over the window, as "
                     "shares of its samples: the kernel's share, the share spent copying bytes "
                     "between user and kernel memory (copy_to/from_user, rep movs, memcpy), and "
                     "the top symbols. Shares, not times, so they hold on a shared machine. On this "
                     "paravirtual host samples taken with interrupts off land on the symbol that "
                     "turns them back on (e.g. pvm_irq_enable).")
        for s in scenarios:
            for t in targets:
                rows = perf.get((s, t))
                if not rows:
                    continue
                kernel = sum(r[0] for r in rows if r[3])
                copying = sum(r[0] for r in rows if COPY_SYMBOL.search(r[2]))
                lines += ["", "**%s, %s**: kernel %.0f%%, copying %.1f%%" % (s, t, kernel, copying), ""]
                lines += ["| share | where | symbol |", "|---|---|---|"]
                for share, dso, sym, is_kernel in rows[:10]:
                    lines.append("| {:.1f}% | {} | `{}` |".format(share, "kernel" if is_kernel else dso,
                                                                  sym.replace("|", "\\|")[:80]))
    for s in scenarios:
        if s not in breakdown:
            continue
        total = sum(breakdown[s].values())
        lines += ["", "## ferry, %s: instructions per request by component" % s, ""]
        lines.append("| component | Ir/request | share |")
        lines.append("|---|---|---|")
        for name, cost in breakdown[s].most_common():
            if cost / total < 0.005:
                continue
            lines.append("| {} | {:,.0f} | {:.1f}% |".format(name, cost, 100 * cost / total))
        lines += ["", "Top functions (self):", "", "| function | Ir/request |", "|---|---|"]
        for fn, cost in top[s]:
            lines.append("| `{}` | {:,.0f} |".format(fn.replace("|", "\\|")[:90], cost))
    # The per-request counts alone, for bench/report.py (run.sh --counts puts them beside the
    # ratios): scenario -> target -> {"ir", "syscalls"}.
    counts = {}
    for (s, t), v in ir.items():
        counts.setdefault(s, {}).setdefault(t, {})["ir"] = v
    for (s, t), (total, _) in syscalls.items():
        counts.setdefault(s, {}).setdefault(t, {})["syscalls"] = total
    with open(os.path.join(out, "counts.json"), "w") as f:
        json.dump(counts, f, indent=1, sort_keys=True)
        f.write("\n")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out, "profile.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
