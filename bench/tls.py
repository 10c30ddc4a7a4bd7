#!/usr/bin/env python3
"""Scrape throughput over TLS with basic auth (--web.config.file) against
nginx serving the same bytes over TLS, on this machine. See BENCHMARKS.md.

    cargo build --release && python3 bench/tls.py [--recipes N] [--seconds S]

Needs hey, nginx, openssl and htpasswd (Debian: apache2-utils). The
certificates, the bcrypt hash (cost 10) and nginx's configuration are made
in a temporary folder; everything listens on loopback and stops at the end.
"""

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402  (the helpers of bench/run.py)

PASSWORD = "bench-scrape-pass"


def certificates(tmp):
    def sh(*args):
        subprocess.run(args, cwd=tmp, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    sh("openssl", "req", "-x509", *ec, "-days", "2", "-subj", "/CN=bench CA", "-keyout", "ca.key", "-out", "ca.pem")
    sh("openssl", "req", *ec, "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr")
    with open(os.path.join(tmp, "server.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    sh("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
       "-days", "2", "-extfile", "server.ext", "-out", "server.pem")
    hashed = subprocess.run(["htpasswd", "-inBC", "10", "bench"], input=PASSWORD + "\n", capture_output=True, text=True,
                            check=True).stdout.strip().split(":", 1)[1]
    with open(os.path.join(tmp, "web.yml"), "w") as f:
        f.write(f"tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n"
                f"basic_auth_users:\n  bench: {hashed}\n")


def nginx_tls(procs, port, root, tmp, workers):
    conf = os.path.join(tmp, "nginx-tls.conf")
    with open(conf, "w") as f:
        f.write(f"""daemon off;
worker_processes {workers};
pid {tmp}/nginx-tls.pid;
error_log {tmp}/nginx-tls-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fcgi;
  uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  sendfile on;
  default_type text/plain;
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {tmp}/server.pem;
    ssl_certificate_key {tmp}/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    root {root};
  }}
}}
""")
    return procs.start([shutil.which("nginx") or "/usr/sbin/nginx", "-c", conf, "-p", tmp])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", type=int, default=5000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--nginx-workers", type=int, default=1, help="1, as bench/run.py; the exporter uses every core")
    parser.add_argument("--json", help="write the report here as JSON")
    args = parser.parse_args()
    for tool in ("hey", "nginx", "openssl", "htpasswd"):
        if not (shutil.which(tool) or os.path.exists(f"/usr/sbin/{tool}")):
            sys.exit(f"bench: {tool} is missing; apt-get install hey nginx-light openssl apache2-utils")
    tmp = tempfile.mkdtemp(prefix="workato-bench-tls-")
    os.chmod(tmp, 0o755)
    procs = bench.Processes()
    report = {"recipes": args.recipes, "seconds": args.seconds, "nginx_workers": args.nginx_workers, "machine": {"cpus": os.cpu_count()}}
    try:
        certificates(tmp)
        # nginx's workers run as nobody when started by root.
        os.chmod(os.path.join(tmp, "server.key"), 0o644)
        sim_port, exp_port, nginx_port = bench.free_port(), bench.free_port(), bench.free_port()
        sim_args = argparse.Namespace(recipes=args.recipes, connections=min(1000, args.recipes // 5),
                                      endpoints=min(500, args.recipes // 10), jobs_per_minute=120)
        bench.simulate(procs, sim_port, sim_args, rate_limit=60000)
        bench.wait_for(f"http://127.0.0.1:{sim_port}/sim/stats")
        # Ready first in clear text, for the bytes nginx serves; then over TLS.
        plain = bench.exporter(procs, exp_port, sim_port, ["--workato.requests-per-minute", "60000"],
                               os.path.join(tmp, "exporter-plain.log"))
        bench.wait_for(f"http://127.0.0.1:{exp_port}/readyz", deadline=300)
        text = bench.get(f"http://127.0.0.1:{exp_port}/metrics")[1]
        procs.stop(plain)
        www = os.path.join(tmp, "www")
        os.makedirs(www, mode=0o755, exist_ok=True)
        with open(os.path.join(www, "metrics"), "wb") as f:
            f.write(text)
        os.chmod(os.path.join(www, "metrics"), 0o644)
        report["exposition_bytes"] = len(text)
        bench.exporter(procs, exp_port, sim_port, ["--workato.requests-per-minute", "60000", "--web.config.file",
                                                    os.path.join(tmp, "web.yml")], os.path.join(tmp, "exporter.log"))
        nginx_tls(procs, nginx_port, www, tmp, args.nginx_workers)
        exporter_url = f"https://127.0.0.1:{exp_port}/metrics"
        nginx_url = f"https://127.0.0.1:{nginx_port}/metrics"
        for url, auth in ((exporter_url, True), (nginx_url, False)):
            wait_tls(url, auth)
        load = {}
        for concurrency in (1, 8):
            for name, url in (("exporter tls+basic", exporter_url), ("nginx tls", nginx_url)):
                key = f"{name} c={concurrency}"
                load[key] = hey_tls(url, concurrency, args.seconds, name.startswith("exporter"))
                r = load[key]
                print(f"  {key:26} {r['rps']:9.1f} req/s  p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms",
                      flush=True)
            ratio = load[f"exporter tls+basic c={concurrency}"]["rps"] / load[f"nginx tls c={concurrency}"]["rps"]
            report[f"ratio c={concurrency}"] = round(ratio, 2)
            print(f"  exporter / nginx at c={concurrency}: {ratio:.2f}x", flush=True)
        report["load"] = load
    finally:
        procs.stop_all()
    print(json.dumps(report, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    shutil.rmtree(tmp, ignore_errors=True)


def hey_tls(url, concurrency, seconds, auth):
    """hey over TLS (it does not verify certificates), keep-alive as Prometheus does."""
    # -host: hey sends its Host header (with the port) as SNI, which rustls refuses.
    extra = ["-host", "localhost"]
    if auth:
        # As a header: this hey drops -a when -host is given.
        token = base64.b64encode(f"bench:{PASSWORD}".encode()).decode()
        extra += ["-H", f"Authorization: Basic {token}"]
    return bench.hey(url, concurrency, seconds, compress=False, extra=extra)


def wait_tls(url, auth):
    command = ["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", url]
    if auth:
        command[1:1] = ["-u", f"bench:{PASSWORD}"]
    for _ in range(200):
        if subprocess.run(command, capture_output=True, text=True).stdout == "200":
            return
        bench.time.sleep(0.05)
    sys.exit(f"bench: {url} did not answer 200 over TLS")


if __name__ == "__main__":
    main()
