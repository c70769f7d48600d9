#!/usr/bin/env bash
# Measures, over 1,000,000 delivered order lines (`sesame seed`), an
# authority's full-year statistics and one canteen's indicators against the
# bare SQL aggregate over the same rows: the very statement the service
# ran, captured from PostgreSQL's log and replayed by pgbench, in one run.
# Rewrites its section of docs/benchmarks.md.
#
# Usage: bash bench/egalim.sh [seconds per measurement, default 15]
# Needs: wrk, pgbench, psql, curl, python3. LINES=N changes the volume.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

BENCH=egalim
DURATION=${1:-15}
LINES=${LINES:-1000000}
CONNECTIONS=2
PORT=18083
DATA_DIR=$(lines_data_dir)
URL="http://127.0.0.1:$PORT"
BENCH_MODE=demo
PASSWORD="Sésame démo en Cœur d'Essonne"
need wrk wrk
need pgbench postgresql-client
need psql postgresql-client

cargo build --release --quiet
export SESAME_BIND=127.0.0.1:$PORT SESAME_DATA_DIR=$DATA_DIR SESAME_LOG=warn
unset DATABASE_URL
seed_once
seed_seconds=$(printf "%.0f" "$(cat "$DATA_DIR/seeded-$LINES")")
start
q() { psql -tA "$(db_url)" -c "$1"; }
q "VACUUM ANALYZE" >/dev/null
lines=$(q "SELECT count(*) FROM order_lines")
authority=$(q "SELECT id FROM organisations WHERE kind = 'authority' AND authority_epci = '200057859'")
canteen=$(q "SELECT o.buyer_id FROM orders o GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
canteen_lines=$(q "SELECT count(*) FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE o.buyer_id = '$canteen'")
to=$(date +%F)
from=$(date -d "$to - 364 days" +%F)
login() {
  curl -sf -X POST "$URL/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\": \"$1\", \"password\": \"$PASSWORD\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
token=$(login pat@coeuressonne.demo)
statistics="/api/v1/authorities/$authority/statistics?from=$from&to=$to"
indicators="/api/v1/canteens/$canteen/egalim?from=$from&to=$to"

# The exact statements, from PostgreSQL's log.
capture() {
  local log="$DATA_DIR/pgdata/server.log" before
  before=$(wc -l <"$log")
  q "ALTER SYSTEM SET log_statement = 'all'" >/dev/null; q "SELECT pg_reload_conf()" >/dev/null
  curl -sf -H "Authorization: Bearer $token" "$URL$1" -o /dev/null
  q "ALTER SYSTEM RESET log_statement" >/dev/null; q "SELECT pg_reload_conf()" >/dev/null
  # In a transaction with the settings the service gives its aggregates.
  { echo "BEGIN;"
    echo "SET LOCAL work_mem = '64MB'; SET LOCAL statement_timeout = '60s';"
    tail -n +"$((before + 1))" "$log" | python3 bench/extract_sql.py "$2"
    echo "COMMIT;"; } >"$3"
}
capture "$statistics" "WITH base AS" target/bench-egalim-statistics.sql
capture "$indicators" "AS local_unknown" target/bench-egalim-indicators.sql

measure() { # path, sql file → "service req/s|service ms each|floor tx/s|floor ms each"
  local out rps each floor_out tps lat
  out=$(wrk -t1 -c$CONNECTIONS -d"${DURATION}s" -H "Authorization: Bearer $token" "$URL$1")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  # a request at a time per connection: its duration is connections / throughput
  each=$(echo "scale=1; $CONNECTIONS * 1000 / $rps" | bc)
  floor_out=$(pgbench -n -c $CONNECTIONS -j 1 -T "$DURATION" -f "$2" "$(db_url)" 2>&1)
  tps=$(awk '/^tps/ {print $3; exit}' <<<"$floor_out")
  lat=$(awk '/latency average/ {print $4; exit}' <<<"$floor_out")
  echo "$rps|$each|$tps|$lat"
}
: >target/bench-egalim-statistics-runs; : >target/bench-egalim-indicators-runs
for run in $(seq "$RUNS"); do
  measure "$statistics" target/bench-egalim-statistics.sql | tr '|' ' ' >>target/bench-egalim-statistics-runs
  measure "$indicators" target/bench-egalim-indicators.sql | tr '|' ' ' >>target/bench-egalim-indicators-runs
done
# The service's median run, and the floor's median on its own.
read -r s_rps s_p50 _ _ <<<"$(median_line target/bench-egalim-statistics-runs)"
read -r s_tps s_lat <<<"$(awk '{print $3, $4}' target/bench-egalim-statistics-runs | sort -g -k1,1 | sed -n "$(( (RUNS + 1) / 2 ))p")"
read -r i_rps i_p50 _ _ <<<"$(median_line target/bench-egalim-indicators-runs)"
read -r i_tps i_lat <<<"$(awk '{print $3, $4}' target/bench-egalim-indicators-runs | sort -g -k1,1 | sed -n "$(( (RUNS + 1) / 2 ))p")"
stop
s_ratio=$(echo "scale=3; $s_rps / $s_tps" | bc | xargs printf "%.2f")
i_ratio=$(echo "scale=3; $i_rps / $i_tps" | bc | xargs printf "%.2f")

write_section egalim <<MD
## EGalim over $(printf "%'d" "$lines") delivered lines: statistics and indicators

Measured by \`bash bench/egalim.sh\` on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD),
median of $RUNS alternating runs.
Machine: $(machine).
Data: \`sesame seed --lines $LINES --seed 7\` (the demonstration's territory, a year of
delivered orders; seeded in ${seed_seconds} s). Period: $from to $to.

| what | service (wrk, $CONNECTIONS connections, ${DURATION} s) | floor: the same SQL (pgbench, $CONNECTIONS clients) | ratio |
|---|---|---|---|
| authority's statistics, all the territory's canteens (\`GET $statistics\`) | $s_rps req/s, $s_p50 ms each | $s_tps tx/s, $s_lat ms each | **$s_ratio** |
| one canteen's indicators, $canteen_lines lines (\`GET /api/v1/canteens/{id}/egalim\`) | $i_rps req/s, $i_p50 ms each | $i_tps tx/s, $i_lat ms each | **$i_ratio** |

Nothing is pre-aggregated: every request aggregates the order lines it covers, so figures
are exact the moment an order changes (a delivery, a dispute). The aggregates run with
\`work_mem = 64MB\` (a year of lines is hashed in memory, not sorted on disk) and a
60 s statement timeout; the floor runs with the same settings. The floor is the statement
the service ran, captured from PostgreSQL's log (\`bench/extract_sql.py\`) and replayed
with its parameters written in; the service adds the access checks, folding the cells and
JSON.

\`\`\`sh
wrk -t1 -c$CONNECTIONS -d${DURATION}s -H "Authorization: Bearer \$TOKEN" "http://127.0.0.1:$PORT$statistics"
pgbench -n -c $CONNECTIONS -j 1 -T $DURATION -f target/bench-egalim-statistics.sql "\$DATABASE_URL"
\`\`\`
MD
echo "egalim: statistics ratio $s_ratio ($s_rps/s vs $s_tps/s), indicators ratio $i_ratio ($i_rps/s vs $i_tps/s)"
