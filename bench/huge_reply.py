#!/usr/bin/env python3
"""Peak RSS of the exporter when every Workato endpoint answers 1 GiB.

  python3 bench/huge_reply.py           (cargo build --release first)

A loopback server answers every request with a chunked 1 GiB body; the
exporter polls it every second for 20 s, every collector at once. The reply
cap (16 MiB) must keep the peak RSS under 100 MB.
"""

import http.server
import os
import socketserver
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402

GIB = 1 << 30


class Huge(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        chunk = b" " * (1 << 20)
        try:
            for _ in range(GIB // len(chunk)):
                self.wfile.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass  # the exporter hung up at its cap

    def log_message(self, *args):
        pass


def main():
    if not os.path.exists(run.BIN):
        sys.exit(f"huge_reply: {run.BIN} is missing; cargo build --release first")
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Huge)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    exporter = subprocess.Popen(
        [run.BIN, "--workato.base-url", f"http://127.0.0.1:{port}", "--web.listen-address", "127.0.0.1:0",
         "--poll.interval", "1s", "--log.level", "error"],
        env={**os.environ, "WORKATO_API_TOKEN": "huge"}, stderr=subprocess.DEVNULL)
    try:
        time.sleep(20)
        peak = run.rss_kib(exporter.pid, "VmHWM")
    finally:
        exporter.terminate()
        exporter.wait()
    print(f"peak RSS after 20 s of 1 GiB replies on every endpoint: {peak / 1024:.1f} MiB")
    if peak > 100 * 1000:
        sys.exit("huge_reply: peak RSS over 100 MB")


if __name__ == "__main__":
    main()
