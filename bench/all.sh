#!/usr/bin/env bash
# Every benchmark, one after the other, each measuring the service and the
# floor under it in the same run and rewriting its section of
# docs/benchmarks.md. Tools missing here are installed (see bench/lib.sh).
#
# Usage: bash bench/all.sh [seconds per measurement, default 15]
set -euo pipefail
cd "$(dirname "$0")/.."
for bench in communes catalog checkout egalim opendata login; do
  echo "== $bench"
  # opendata takes a number of runs, the others seconds per measurement.
  if [ "$bench" = opendata ]; then bash bench/opendata.sh 3; else bash "bench/$bench.sh" "${1:-15}"; fi
done
