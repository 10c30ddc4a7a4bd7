#!/usr/bin/env python3
"""Soak: the exporter at Workato's limits for a long time, its RSS sampled.

  python3 bench/soak.py                 30 minutes (cargo build --release first)
  python3 bench/soak.py --minutes 3     a quick look
  python3 bench/soak.py --json out.json

5,000 recipes, 1,000 connections, 500 API endpoints, 600 jobs a simulated
minute played 60 times faster than life (an hour of activity a minute), a
lifted budget, 10 s intervals, `--jobs.state-file` (its journal grows and is
emptied every cycle), scraped with gzip every second. RSS (`VmRSS`) is
sampled every 30 s; the verdict compares the samples after the first five
minutes: flat means their spread is within 10% of their lowest.
"""

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the benchmark's helpers: processes, simulator, exporter)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--warmup-minutes", type=float, default=5)
    parser.add_argument("--json", help="write the samples and the verdict here")
    args = parser.parse_args()
    if not os.path.exists(run.BIN):
        sys.exit(f"soak: {run.BIN} is missing; cargo build --release first")
    sizes = argparse.Namespace(recipes=5000, connections=1000, endpoints=500, jobs_per_minute=600)
    procs = run.Processes()
    tmp = tempfile.mkdtemp(prefix="workato-soak-")
    samples = []
    try:
        sim_port, exp_port = run.free_port(), run.free_port()
        run.simulate(procs, sim_port, sizes, speed=60, rate_limit=60000)
        run.wait_for(f"http://127.0.0.1:{sim_port}/sim/stats")
        exp = run.exporter(procs, exp_port, sim_port,
                           ["--workato.requests-per-minute", "60000", "--poll.interval", "10s",
                            "--jobs.interval", "10s", "--jobs.state-file", os.path.join(tmp, "jobs.json")],
                           os.path.join(tmp, "exporter.log"))
        run.wait_for(f"http://127.0.0.1:{exp_port}/readyz", deadline=300)
        url = f"http://127.0.0.1:{exp_port}/metrics"
        start = time.time()
        next_sample = start
        while time.time() - start < args.minutes * 60:
            run.get(url, {"Accept-Encoding": "gzip"})
            if time.time() >= next_sample:
                minute = (time.time() - start) / 60
                rss = run.rss_kib(exp.pid, "VmRSS")
                samples.append({"minute": round(minute, 2), "rss_kib": rss})
                print(f"  {minute:6.2f} min  RSS {rss / 1024:7.1f} MiB", flush=True)
                next_sample += 30
            time.sleep(1)
        if exp.poll() is not None:
            sys.exit("soak: the exporter exited")
        peak = run.rss_kib(exp.pid, "VmHWM")
        sim = run.stats(sim_port)
    finally:
        procs.stop_all()
    steady = [s["rss_kib"] for s in samples if s["minute"] >= args.warmup_minutes]
    spread = (max(steady) - min(steady)) / min(steady) if steady else None
    report = {"minutes": args.minutes, "simulated_seconds": sim["simulated_seconds"],
              "jobs_started": sim["jobs_started"], "peak_rss_kib": peak, "samples": samples,
              "steady_min_kib": min(steady) if steady else None, "steady_max_kib": max(steady) if steady else None,
              "steady_spread": spread, "flat": spread is not None and spread <= 0.10}
    print(json.dumps({k: v for k, v in report.items() if k != "samples"}, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    if spread is not None and spread > 0.10:
        sys.exit(f"soak: RSS moved {spread:.1%} after the first {args.warmup_minutes} minutes")


if __name__ == "__main__":
    main()
