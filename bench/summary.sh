#!/usr/bin/env bash
# Writes the summary at the top of docs/benchmarks.md from the last line of
# each benchmark's output (one per line in FILE, as bench/all.sh collects them).
#
# Usage: bash bench/summary.sh FILE
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
{
  echo "## Summary"
  echo
  echo "The last \`bash bench/all.sh\` run, on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD); each"
  echo "line leads with the service against its floor, measured in the same run (details below)."
  echo
  echo "| benchmark | result |"
  echo "|---|---|"
  sed -E 's/^([a-z]+): (.*)$/| \1 | \2 |/' "$1"
} | write_section summary
