#!/usr/bin/env bash
# Benchmarks workato_exporter at Workato's limits (see BENCHMARKS.md).
#   bash bench/run.sh            the full run: 5,000 recipes, about 4 minutes
#   bash bench/run.sh --short    small sizes, a few seconds (CI runs this)
# Needs hey, nginx and prometheus-pushgateway (Debian packages).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
exec python3 bench/run.py "$@"
