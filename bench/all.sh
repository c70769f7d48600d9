#!/usr/bin/env bash
# Every benchmark, one after the other, each measuring the service and the
# floor under it in the same run and rewriting its section of
# docs/benchmarks.md; then a summary of their last lines at the top. Tools
# missing here are installed (see bench/lib.sh).
#
# Usage: bash bench/all.sh [seconds per measurement, default 15]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
summary=target/bench-summary
: >"$summary"
for bench in communes catalog checkout egalim opendata login consultations standing invoices; do
  echo "== $bench"
  # opendata takes a number of runs, standing nothing, the others seconds
  # per measurement.
  case "$bench" in
    opendata) args=3 ;;
    standing) args= ;;
    *) args=${1:-15} ;;
  esac
  bash "bench/$bench.sh" $args | tee "target/bench-$bench.out"
  tail -1 "target/bench-$bench.out" >>"$summary"
done
bash bench/summary.sh "$summary"
