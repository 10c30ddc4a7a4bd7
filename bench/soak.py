#!/usr/bin/env python3
"""Soak: the exporter at Workato's limits for a long time, its RSS sampled.

  python3 bench/soak.py                     10 minutes' priming, then 30 measured (cargo build --release first)
  python3 bench/soak.py --prime-minutes 0   the measured exporter starts afresh
  python3 bench/soak.py --prime-minutes 0 --minutes 3   a quick look
  python3 bench/soak.py --json out.json

5,000 recipes, 1,000 connections, 500 API endpoints, 600 jobs a simulated
minute played 60 times faster than life (an hour of activity a minute), a
lifted budget, 10 s intervals, `--jobs.state-file` (its journal grows and is
emptied every cycle), `--jobs.window 5m` (a window fills for its own
length), scraped with gzip every second. Every 30 s RSS (`VmRSS`), the
series count, the job error series, the recipes with job series and the
exposition's size are sampled, and that scrape must be valid gzip; RSS is
also read at every scrape. The verdict is on each minute's median RSS after
the first five minutes: flat means their spread is within 10% of the
lowest (single readings, which may fall in the middle of a rendering, are
reported beside it).

Priming: what the exporter holds grows while a workspace's job series
appear, each recipe's when it first runs and its error series when it
first fails. At this load most of that takes the first 16 simulated hours
(16 minutes here): a recipe fails one job in 22 to 200. So a first
exporter runs the same load for `--prime-minutes` and is stopped
(SIGTERM); the measured exporter resumes from its state file, as an
exporter restarted in production does, and the soak measures what it holds
over time at a load whose series have appeared. The series counts in the
samples show how settled the load was.
"""

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the benchmark's helpers: processes, simulator, exporter)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--warmup-minutes", type=float, default=5)
    parser.add_argument("--prime-minutes", type=float, default=10,
                        help="minutes of the same load with a first exporter, whose state file the measured one "
                             "resumes from (0: the measured exporter starts afresh)")
    parser.add_argument("--json", help="write the samples and the verdict here")
    parser.add_argument("--jobs-window", default="5m",
                        help="--jobs.window of the exporter (default 5m: the failure ratio's one-minute buckets "
                             "fill for the window's length in real time, so a longer window is still filling "
                             "after the warm-up)")
    args = parser.parse_args()
    if not os.path.exists(run.BIN):
        sys.exit(f"soak: {run.BIN} is missing; cargo build --release first")
    sizes = argparse.Namespace(recipes=5000, connections=1000, endpoints=500, jobs_per_minute=600)
    procs = run.Processes()
    tmp = tempfile.mkdtemp(prefix="workato-soak-")
    samples = []
    every = []  # (minute, RSS KiB) at every scrape
    broken = []
    try:
        sim_port = run.free_port()
        run.simulate(procs, sim_port, sizes, speed=60, rate_limit=60000)
        run.wait_for(f"http://127.0.0.1:{sim_port}/sim/stats")
        flags = ["--workato.requests-per-minute", "60000", "--poll.interval", "10s",
                 "--jobs.interval", "10s", "--jobs.window", args.jobs_window,
                 "--jobs.state-file", os.path.join(tmp, "jobs.json")]
        if args.prime_minutes > 0:
            prime_port = run.free_port()
            priming = run.exporter(procs, prime_port, sim_port, flags, os.path.join(tmp, "priming.log"))
            run.wait_for(f"http://127.0.0.1:{prime_port}/readyz", deadline=300)
            print(f"  priming for {args.prime_minutes:g} minutes", flush=True)
            time.sleep(args.prime_minutes * 60)
            if priming.poll() is not None:
                sys.exit("soak: the priming exporter exited")
            procs.stop(priming)
        exp_port = run.free_port()
        exp = run.exporter(procs, exp_port, sim_port, flags, os.path.join(tmp, "exporter.log"))
        run.wait_for(f"http://127.0.0.1:{exp_port}/readyz", deadline=300)
        url = f"http://127.0.0.1:{exp_port}/metrics"
        start = time.time()
        next_sample = start
        while time.time() - start < args.minutes * 60:
            _, body = run.get(url, {"Accept-Encoding": "gzip"})
            every.append(((time.time() - start) / 60, run.rss_kib(exp.pid, "VmRSS")))
            if time.time() >= next_sample:
                minute = (time.time() - start) / 60
                rss = run.rss_kib(exp.pid, "VmRSS")
                try:
                    text = gzip.decompress(body)
                except (OSError, EOFError, zlib.error) as error:
                    bad = os.path.join(tmp, f"bad-{len(broken)}.gz")
                    with open(bad, "wb") as f:
                        f.write(body)
                    broken.append(f"minute {minute:.2f}: {error} ({len(body)} bytes, kept in {bad})")
                    print(f"  {minute:6.2f} min  a scrape is not valid gzip: {error}", flush=True)
                    next_sample += 30
                    continue
                series = sum(1 for line in text.splitlines() if line and not line.startswith(b"#"))
                errors = text.count(b"\nworkato_job_errors_total{")
                job_recipes = text.count(b"\nworkato_recipe_jobs_pending{")
                samples.append({"minute": round(minute, 2), "rss_kib": rss, "series": series,
                                "error_series": errors, "recipes_with_job_series": job_recipes,
                                "exposition_bytes": len(text)})
                print(f"  {minute:6.2f} min  RSS {rss / 1024:7.1f} MiB  {series} series ({errors} of errors, "
                      f"{job_recipes} recipes with job series), {len(text) / 1048576:.1f} MiB of text", flush=True)
                next_sample += 30
            time.sleep(1)
        if exp.poll() is not None:
            sys.exit("soak: the exporter exited")
        peak = run.rss_kib(exp.pid, "VmHWM")
        sim = run.stats(sim_port)
    finally:
        procs.stop_all()
    # The verdict is on each minute's median RSS: one reading taken while an
    # exposition is being rendered or a page of recipes decoded is megabytes
    # above the minute's level, and says nothing about a trend.
    minutes = {}
    for minute, rss in every:
        if minute >= args.warmup_minutes:
            minutes.setdefault(int(minute), []).append(rss)
    medians = {m: statistics.median(v) for m, v in sorted(minutes.items()) if len(v) >= 10}
    steady = list(medians.values())
    spread = (max(steady) - min(steady)) / min(steady) if steady else None
    readings = [rss for minute, rss in every if minute >= args.warmup_minutes]
    report = {"minutes": args.minutes, "prime_minutes": args.prime_minutes, "simulated_seconds": sim["simulated_seconds"],
              "jobs_started": sim["jobs_started"], "peak_rss_kib": peak, "samples": samples,
              "minute_median_rss_kib": medians,
              "steady_min_kib": min(steady) if steady else None, "steady_max_kib": max(steady) if steady else None,
              "steady_spread": spread, "flat": spread is not None and spread <= 0.10,
              "readings_after_warmup": {"count": len(readings), "min_kib": min(readings, default=None),
                                        "max_kib": max(readings, default=None)},
              "invalid_gzip_scrapes": broken}
    print(json.dumps({k: v for k, v in report.items() if k != "samples"}, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    if broken:
        sys.exit(f"soak: {len(broken)} sampled scrapes were not valid gzip: {broken}")
    if spread is not None and spread > 0.10:
        sys.exit(f"soak: the minute's median RSS moved {spread:.1%} after the first {args.warmup_minutes} minutes")


if __name__ == "__main__":
    main()
