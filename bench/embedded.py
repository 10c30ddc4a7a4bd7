"""Phase E of bench/run.py: an Embedded partner in one process.

The simulator serves an Embed admin workspace of many customers (full: 200
customers of 250 recipes, 50,000 recipes, 4 jobs a minute each: 800 moves
a minute against 1,000 jobs calls a minute) at Workato's Embedded quotas; the
exporter watches them all from one `embedded` entry with a budget of 1,000
requests a minute per group (under every Embedded quota). Measured:

- start-up: time to /readyz, jobs calls spent before it;
- steady cycles: Workato calls per minute against the lower bound (each
  customer's recipes, connections and endpoint pages per poll, one jobs call
  per recipe whose counters moved, the listing of customers), and 429s;
- first activity: for recipes without job metrics at start, the time from
  the first sample showing a job of theirs completed (their lifetime
  counters moved) to the first sample with their job histogram, against two
  jobs intervals, and from the completion itself (its `last_run_at`, which
  the recipes sweep of up to a poll interval later shows); samples a
  quarter of an interval apart, on a fixed grid, so a wait is measured to
  within one sample;
- memory: peak RSS;
- scrapes: gzip scrape load next to nginx serving the same gzip bytes.
"""

import gzip
import os
import re
import time

import run as bench

SERIES = re.compile(
    r'workato_recipe_(jobs_succeeded_total|jobs_failed_total|last_run_timestamp_seconds|last_job_started_timestamp_seconds)'
    r'\{recipe="(?:[^"\\]|\\.)*",recipe_id="(\d+)",workspace="([^"]+)"\} (\S+)')
HISTOGRAM = re.compile(r'workato_job_duration_seconds_count\{recipe="(?:[^"\\]|\\.)*",recipe_id="(\d+)",status="[a-z]+",workspace="([^"]+)"\} (\S+)')
RECIPES = re.compile(r'workato_recipe_running\{recipe="(?:[^"\\]|\\.)*",recipe_id="\d+",workspace="([^"]+)"\}')
ENDPOINTS = re.compile(r'workato_api_endpoint_active\{[^}]*workspace="([^"]+)"\}')


DELAY = re.compile(r'workato_job_ingestion_delay_seconds_bucket\{([^}]*)\} (\S+)')


def delays(text):
    """The exporter's own completion-to-count delays, summed over the
    customers: {le: jobs counted within it}."""
    out = {}
    for m in DELAY.finditer(text):
        le = re.search(r'le="([^"]+)"', m.group(1)).group(1)
        out[le] = out.get(le, 0) + float(m.group(2))
    return out


def read(url):
    """The exposition as Prometheus would fetch it (gzip), decoded."""
    return gzip.decompress(bench.get(url, {"Accept-Encoding": "gzip"}, timeout=120)[1]).decode()


def observe(text):
    """(activity per recipe, recipes with counted jobs, recipes and endpoints per customer)."""
    activity, counted, recipes, endpoints = {}, set(), {}, {}
    for m in SERIES.finditer(text):
        # The counters of completed jobs first, then the two timestamps.
        values = activity.setdefault((m.group(3), m.group(2)), [None] * 4)
        values[["jobs_succeeded_total", "jobs_failed_total", "last_run_timestamp_seconds",
                "last_job_started_timestamp_seconds"].index(m.group(1))] = m.group(4)
    for m in HISTOGRAM.finditer(text):
        if float(m.group(3)) > 0:
            counted.add((m.group(2), m.group(1)))
    for m in RECIPES.finditer(text):
        recipes[m.group(1)] = recipes.get(m.group(1), 0) + 1
    for m in ENDPOINTS.finditer(text):
        endpoints[m.group(1)] = endpoints.get(m.group(1), 0) + 1
    return activity, counted, recipes, endpoints


def phase_e(args, procs, tmp, report):
    sim_port, exp_port = bench.free_port(), bench.free_port()
    procs.start([bench.BIN, "simulate", "--listen", f"127.0.0.1:{sim_port}", "--token", bench.TOKEN,
                 "--recipes", "10", "--connections", "2", "--endpoints", "2",
                 "--embedded-customers", str(args.customers), "--customer-recipes", str(args.customer_recipes),
                 "--customer-jobs-per-minute", str(args.customer_jobs_per_minute),
                 "--rate-limit", "60000" if args.embedded_lifted else "60"],
                log=os.path.join(tmp, "sim-e.log"))
    bench.wait_for(f"http://127.0.0.1:{sim_port}/sim/stats")
    interval = args.embedded_interval
    with open(os.path.join(tmp, "token"), "w") as f:
        f.write(bench.TOKEN)
    config = os.path.join(tmp, "embedded.yml")
    with open(config, "w") as f:
        f.write(f"embedded:\n  - name: partner\n    base_url: http://127.0.0.1:{sim_port}\n"
                f"    token_file: token\n    requests_per_minute: {60000 if args.embedded_lifted else 1000}\n"
                f"    poll_interval: {interval}s\n    jobs_interval: {interval}s\n")
    started = time.time()
    exp = procs.start([bench.BIN, "--config.file", config, "--web.listen-address", f"127.0.0.1:{exp_port}",
                       "--log.level", "warn"], log=os.path.join(tmp, "exporter-e.log"))
    bench.wait_for(f"http://127.0.0.1:{exp_port}/readyz", deadline=900)
    url = f"http://127.0.0.1:{exp_port}/metrics"
    startup = {"ready_s": time.time() - started, "calls": bench.stats(sim_port)["embedded"]["requests"]}
    print(f"  ready after {startup['ready_s']:.1f} s, calls {startup['calls']}", flush=True)

    # Steady state: sample the exposition twice a jobs interval.
    activity, counted, recipes, endpoints = observe(read(url))
    if sum(recipes.values()) != args.customers * args.customer_recipes:
        raise SystemExit(f"bench: {sum(recipes.values())} recipes exposed, not {args.customers * args.customer_recipes}")
    silent = {key for key in activity if key not in counted}
    delays_before = delays(read(url))
    completed_at, finished_at, counted_at, moves = {}, {}, {}, 0
    before = bench.stats(sim_port)
    window_start = time.time()
    period = interval / 4
    sample = 0
    while time.time() - window_start < args.embedded_seconds:
        # On a grid, not a sleep after each read: a read of 50,000 recipes
        # takes a second or two, which would stretch every sample.
        sample += 1
        time.sleep(max(0.0, window_start + sample * period - time.time()))
        now = time.time()
        new_activity, new_counted, _, _ = observe(read(url))
        for key, values in new_activity.items():
            old = activity.get(key)
            if old is not None and old != values:
                moves += 1
                if old[:2] != values[:2]:
                    # A job completed: its metrics are due.
                    completed_at.setdefault(key, now)
                    # When, by Workato's clock (the simulator's runs at the
                    # wall clock's pace): the newest completion it counted.
                    if values[2] is not None:
                        finished_at.setdefault(key, float(values[2]))
        for key in new_counted - counted:
            counted_at.setdefault(key, now)
        activity, counted = new_activity, new_counted
    window = time.time() - window_start
    delays_after = delays(read(url))
    counted_jobs = {le: delays_after.get(le, 0) - delays_before.get(le, 0) for le in delays_after}
    after = bench.stats(sim_port)
    calls = {g: after["embedded"]["requests"][g] - before["embedded"]["requests"][g] for g in after["embedded"]["requests"]}
    cycles = window / interval
    # Paged walks end on an empty page: ceil(N/100) + 1 calls (1 when empty).
    pages = lambda n: -(-n // 100) + 1 if n else 1
    per_cycle = sum(pages(n) for n in recipes.values()) + len(recipes) + sum(pages(endpoints.get(c, 0)) for c in recipes)
    # Collections are read every workspace interval, customers listed too.
    bound = per_cycle * cycles + moves + calls.get("customers", 0)
    waits = {k: counted_at[k] - completed_at[k] for k in silent if k in completed_at and k in counted_at}
    # From the completion itself: the recipes sweep that shows it (every poll
    # interval) comes first, then the jobs read.
    since_completion = sorted(counted_at[k] - finished_at[k] for k in waits if k in finished_at)
    latencies = sorted(waits.values())
    late = [k for k, s in waits.items() if s > 2 * interval]
    # Completed early enough in the window to be due, and still not counted
    # at its end: late too (or never counted, when Workato's counters left
    # every job of theirs in doubt).
    overdue = [k for k in silent if k in completed_at and k not in counted_at and completed_at[k] + 2 * interval < now]
    steady = {"window_s": window, "cycles": cycles, "calls": calls, "calls_total": sum(calls.values()),
              "structural_per_cycle": per_cycle, "moves": moves, "lower_bound": bound,
              "ratio": sum(calls.values()) / bound if bound else None,
              "throttled": after["throttled_total"]}
    def summary(waits):
        """How many, the percentiles and the longest of sorted `waits`, and how many within the bound."""
        at = lambda share: waits[int(len(waits) * share)] if waits else None
        return {"counted": len(waits), "max_s": waits[-1] if waits else None,
                "p50_s": at(0.5), "p90_s": at(0.9), "p99_s": at(0.99),
                "within_bound": sum(1 for s in waits if s <= 2 * interval)}

    first = {"recipes_completing_first_time": sum(1 for k in silent if k in completed_at),
             **summary(latencies), "bound_s": 2 * interval,
             "sample_period_s": period, "overdue_uncounted": len(overdue),
             "from_completion": summary(since_completion),
             # Every job counted in the window, from its completion (Workato's
             # completed_at) to its count, by the exporter's own histogram:
             # exact, where the samples above are 0-15 s late.
             "jobs_counted": {"count": counted_jobs.get("+Inf", 0),
                              "within_bound": counted_jobs.get(f"{float(2 * interval):g}", counted_jobs.get(str(2 * interval))),
                              "within": {le: n for le, n in counted_jobs.items()}},
             # Late reads spread over many customers, or a few customers starved?
             "late_customers": len({workspace for workspace, _ in late}), "customers": len(recipes)}
    print(f"  steady: {steady}", flush=True)
    print(f"  first activity: {first}", flush=True)

    # Scrapes: the exporter's gzip answer next to nginx sending the same bytes.
    gz = bench.get(url, {"Accept-Encoding": "gzip"}, timeout=120)[1]
    www = os.path.join(tmp, "www-embedded")
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(www, "metrics.gz"), "wb") as f:
        f.write(gz)
    for path, mode in ((tmp, 0o755), (www, 0o755), (os.path.join(www, "metrics.gz"), 0o644)):
        os.chmod(path, mode)
    nginx_port = bench.free_port()
    bench.nginx(procs, nginx_port, www, tmp)
    bench.wait_for(f"http://127.0.0.1:{nginx_port}/metrics.gz")
    raw = ["-H", "Accept-Encoding: gzip"]
    load = {}
    for concurrency in (1, 8):
        for name, target in (("nginx", f"http://127.0.0.1:{nginx_port}/metrics.gz"), ("exporter", url)):
            key = f"{name} c={concurrency} gzip"
            load[key] = bench.hey(target, concurrency, args.load_seconds, False, extra=raw)
            print(f"  {key:24} {load[key]['rps']:8.1f} req/s", flush=True)
    report["embedded"] = {"lifted_budget": args.embedded_lifted, "customers": args.customers, "customer_recipes": args.customer_recipes,
                          "customer_jobs_per_minute": args.customer_jobs_per_minute,
                          "interval_s": interval, "startup": startup, "steady": steady, "first_activity": first,
                          "peak_rss_kib": bench.rss_kib(exp.pid, "VmHWM"), "rss_kib": bench.rss_kib(exp.pid, "VmRSS"),
                          "exposition_gzip_bytes": len(gz), "load": load}
    procs.stop_all()
    procs.procs.clear()
