#!/usr/bin/python3
"""bench/report.py's verdicts on who set a run's pace and on the kernel floor.

A pinned run whose load side (wrk and the backends) was full says nothing about the proxies'
speed; the report must say so, and must not say it of a run the proxies paced. The kernel
floor (ferry's kernel CPU over the peer's whole CPU) must come from the right counters.
Synthetic run records, built as bench/lib/scenarios.sh writes them.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import report  # noqa: E402  (the path above first)

CLK = 100
SPAN = 420  # machine ticks over a run: 2 CPUs, 2.1 s


def record(target, rnd, *, proxy=0.5, load=0.98, sys_share=0.7, requests=20000, scenario="keepalive"):
    """One run: the proxy busy `proxy` cores, the load side (one CPU) busy `load`."""
    half = SPAN / 2
    cpu = round(proxy * half)
    rec = {
        "round": rnd, "scenario": scenario, "target": target, "alive": True,
        "wrk": {"requests": requests, "duration_us": 2_100_000, "bytes": requests * 200,
                "errors": {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0},
                "latency_us": {"p50": 1000, "p99": 3000}},
        "cpu_ticks": cpu, "clk_tck": CLK, "peak_rss_kb": 16000, "rss_kb": 16000,
        "backend_accepts": 1, "backend_requests": requests, "backend_checks": 0,
        "other_cpu_pct": 0.0, "steal_pct": 0.0, "busy_before_pct": 0, "cpus": 2,
        "machine_ticks": SPAN, "idle_ticks": 0,
        "backend_cpu_ticks": round(load * half / 2), "wrk_cpu_ticks": round(load * half / 2),
        "route_requests": {"before": None, "after": None}, "raw": "r.txt",
    }
    if sys_share is not None:
        rec["cpu_sys_ticks"] = round(cpu * sys_share)
    return rec


def pinned(cap=None):
    return {"pin": {"proxy_cpus": "0", "load_cpus": "1", "proxy_cap_pct": cap},
            "scenarios": ["keepalive"]}


class Pace(unittest.TestCase):
    def scenario(self, meta, ferry, nginx):
        recs = [record("ferry", 1, **ferry), record("nginx", 1, **nginx)]
        return report.aggregate(recs, meta)["scenarios"]["keepalive"]

    def test_load_side_full_and_proxies_not_is_load_bound(self):
        s = self.scenario(pinned(), {"proxy": 0.80, "load": 1.0}, {"proxy": 0.90, "load": 0.99})
        self.assertEqual(report.pace(pinned(), s, "nginx"), "load side")

    def test_proxies_at_their_cap_set_the_pace(self):
        meta = pinned(cap=50)
        s = self.scenario(meta, {"proxy": 0.50, "load": 0.70}, {"proxy": 0.49, "load": 0.60})
        self.assertEqual(report.pace(meta, s, "nginx"), "proxies")

    def test_the_same_busy_share_without_a_cap_is_not_full(self):
        # 0.50 of a whole pinned core is half idle: nobody was full
        s = self.scenario(pinned(), {"proxy": 0.50, "load": 0.70}, {"proxy": 0.49, "load": 0.60})
        self.assertEqual(report.pace(pinned(), s, "nginx"), "mixed")

    def test_one_proxy_full_and_the_other_load_bound_is_mixed(self):
        s = self.scenario(pinned(), {"proxy": 0.80, "load": 0.99}, {"proxy": 0.99, "load": 0.80})
        self.assertEqual(report.pace(pinned(), s, "nginx"), "mixed")

    def test_not_pinned_has_no_verdict(self):
        meta = {"scenarios": ["keepalive"]}
        s = self.scenario(meta, {}, {})
        self.assertIsNone(report.pace(meta, s, "nginx"))

    def test_capacities(self):
        self.assertEqual(report.capacities(pinned(cap=50)), (0.5, 1))
        self.assertEqual(report.capacities({"pin": {"proxy_cpus": "0,1", "load_cpus": "2,3,4"}}),
                         (2, 3))
        self.assertIsNone(report.capacities({}))

    def test_req_s_targets_carry_the_pace_and_cpu_targets_do_not(self):
        meta = pinned()
        recs = [record("ferry", 1, proxy=0.80, load=1.0), record("nginx", 1, proxy=0.90, load=1.0),
                record("haproxy", 1, proxy=0.90, load=1.0)]
        scens = report.aggregate(recs, meta)["scenarios"]
        rows = {r[0]: r for r in report.target_rows(scens, meta)}
        self.assertEqual(rows["keep-alive req/s vs nginx"][4], "load side")
        self.assertEqual(rows["keep-alive CPU per request vs nginx"][4], "–")


class KernelFloor(unittest.TestCase):
    def test_ferry_kernel_time_over_the_peer_whole_time(self):
        # ferry: 100 ticks, 60 in the kernel; nginx: 150 ticks; the same requests
        recs = [record("ferry", 1, proxy=100 / 210, sys_share=0.6),
                record("nginx", 1, proxy=150 / 210, sys_share=0.5)]
        s = report.aggregate(recs, pinned())["scenarios"]["keepalive"]
        self.assertAlmostEqual(s["ratios"]["nginx"]["kernel_floor"]["median"], 60 / 150, places=6)
        self.assertAlmostEqual(s["ratios"]["nginx"]["cpu_per_1k"]["median"], 100 / 150, places=6)
        self.assertAlmostEqual(s["targets"]["ferry"]["median"]["kernel_share"], 0.6, places=6)

    def test_runs_without_the_split_have_no_floor(self):
        recs = [record("ferry", 1, sys_share=None), record("nginx", 1, sys_share=None)]
        s = report.aggregate(recs, pinned())["scenarios"]["keepalive"]
        self.assertNotIn("kernel_floor", s["ratios"]["nginx"])

    def test_floor_is_the_median_of_per_round_ratios(self):
        # per round 0.60, 0.67 and 0.17: median 0.60; the ratio of the medians would be 0.33
        recs = [record("ferry", 1, proxy=0.4, sys_share=0.75), record("nginx", 1, proxy=0.5),
                record("ferry", 2, proxy=0.8, sys_share=0.75), record("nginx", 2, proxy=0.9),
                record("ferry", 3, proxy=0.2, sys_share=0.75), record("nginx", 3, proxy=0.9)]
        s = report.aggregate(recs, pinned())["scenarios"]["keepalive"]
        self.assertAlmostEqual(s["ratios"]["nginx"]["kernel_floor"]["median"], 0.6, places=2)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    ran, bad = result.testsRun, len(result.failures) + len(result.errors)
    print(f"{ran - bad} passed, {bad} failed")
    sys.exit(1 if bad or not ran else 0)
