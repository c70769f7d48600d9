#!/usr/bin/env bash
# Measures the standing-orders job placing one week of standing orders for
# 1,000 canteens × 10 lines (one Monday each: 1,000 checkouts of 10 lines
# from five farms, 10,000 order lines), run by `sesame run-jobs`, against
# pgbench running the same transactions' statements (bench/standing.sql)
# one after another, as the job does (one instance runs it at a time).
# Rewrites its section of docs/benchmarks.md.
#
# Usage: bash bench/standing.sh
# Needs: pgbench, psql, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

BENCH=standing
PORT=18087
DATA_DIR=target/bench-standing
URL="http://127.0.0.1:$PORT"
need pgbench postgresql-client
need psql postgresql-client

cargo build --release --quiet
# The service keeps the private cluster up; its own job waits an hour.
export SESAME_BIND=127.0.0.1:$PORT SESAME_DATA_DIR=$DATA_DIR SESAME_LOG=warn \
  SESAME_JOBS_PERIOD_SECONDS=3600
unset DATABASE_URL
start
if [ "$(psql -tA "$(db_url)" -c 'SELECT count(*) FROM standing_orders')" -lt 1000 ]; then
  echo "bench: seeding 1,000 canteens' standing orders"
  echo "bench password for standing orders" | DATABASE_URL=$(db_url) ./target/release/sesame admin \
    create-user --email bench-standing-template@sesame.test --password-stdin >/dev/null
  psql -q -v ON_ERROR_STOP=1 -v template=bench-standing-template@sesame.test "$(db_url)" \
    -f bench/standing_seed.sql
fi
# One week: the next Monday only is due.
psql -q "$(db_url)" -c "UPDATE standing_orders SET days_ahead = 7, starts_on = (now() AT TIME ZONE 'Europe/Paris')::date"
# The service ran the job once as it started (and holds its lock while it
# runs); the next run is an hour away. Wait for that first run to end.
until [ "$(psql -tA "$(db_url)" -c "SELECT count(*) FROM jobs WHERE name = 'standing_orders' AND last_run_at > pg_postmaster_start_time()")" = 1 ] &&
  [ "$(psql -tA "$(db_url)" -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" = 0 ]; do
  sleep 0.5
done

reset() {
  psql -q "$(db_url)" <<'SQL'
SET client_min_messages = warning;
TRUNCATE orders, standing_order_occurrences, idempotency_keys, domain_events CASCADE;
VACUUM ANALYZE;
SQL
}
floor() {
  # As many transactions as the job's checkouts, one after another.
  pgbench -n -M extended -c 1 -j 1 -t 1000 -f bench/standing.sql "$(db_url)" 2>&1 |
    awk '/^tps/ {print $3; exit}'
}
: >target/bench-standing-job; : >target/bench-standing-pg
for run in $(seq "$RUNS"); do
  reset
  out=$(SESAME_LOG=warn ./target/release/sesame run-jobs)
  echo "$out" >&2
  placed=$(sed -E 's/.* ([0-9]+) placed.*/\1/' <<<"$out")
  seconds=$(sed -E 's/.* in ([0-9.]+) s$/\1/' <<<"$out")
  [ "$placed" -eq 1000 ] || { echo "bench: the job placed $placed days, not 1,000: $out" >&2; exit 1; }
  echo "$(echo "scale=2; $placed / $seconds" | bc) $seconds" >>target/bench-standing-job
  reset
  floor >>target/bench-standing-pg
done
lines=$(psql -tA "$(db_url)" -c 'SELECT count(*) FROM order_lines')
read -r job_rate job_seconds <<<"$(median_line target/bench-standing-job)"
pg_tps=$(median <target/bench-standing-pg)
ratio=$(echo "scale=3; $job_rate / $pg_tps" | bc | xargs printf "%.2f")
stop

write_section standing <<MD
## Standing orders: one week for 1,000 canteens × 10 lines

Median of $RUNS alternating runs, measured by \`bash bench/standing.sh\` on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD).
Machine: $(machine).
Data: \`bench/standing_seed.sql\`, 20 farms with 50 offers each (on demand, delivery terms
with a 30 € minimum and a cut-off the day before), 1,000 canteens each with a standing order
of 10 lines from five farms for Mondays: one week is 1,000 days due, each checked out as one
basket of 10 lines (5 orders), 5,000 orders and 10,000 order lines. The job
(\`sesame run-jobs\`) places them one after another, as one instance does.
Floor: \`bench/standing.sql\`, the statements of one day's placement (claim, membership,
the checkout's key, contract lines, offers locked, parties, delivery terms, year's purchases,
orders, lines, events, feed, key stored, the day settled and told), 1,000 transactions under
\`pgbench -M extended -c 1\`.

Last measured:

| | days placed/s | seconds for the week |
|---|---|---|
| job (\`sesame run-jobs\`) | $job_rate | $job_seconds |
| same SQL (pgbench, 1 client) | $pg_tps | — |
| ratio (target ≥ 0.5) | $ratio | |
MD
echo "standing: $job_rate days/s vs $pg_tps tps (ratio $ratio; $lines order lines in the last floor run)"
