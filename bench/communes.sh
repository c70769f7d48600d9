#!/usr/bin/env bash
# Measures, in one run, GET /api/v1/communes/{insee} against the floor under it
# (pgbench -M prepared running the same SELECT at the same concurrency), the
# cold start to ready with an initialised private cluster, and the idle memory.
# Rewrites its section of docs/benchmarks.md.
#
# Usage: bash bench/communes.sh [seconds per measurement, default 15]
# PROFILE=1 also draws docs/profiles/communes.svg (bench/lib.sh: flame).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

BENCH=communes
DURATION=${1:-15}
CONNECTIONS=32
PORT=18080
DATA_DIR=target/bench-data
URL="http://127.0.0.1:$PORT"
need wrk wrk
need pgbench postgresql-client
need curl curl

cargo build --release --quiet
# The same number of database connections as pgbench's clients; default (info)
# logging, one access-log line per request, written to target/bench-communes.log.
export SESAME_BIND=127.0.0.1:$PORT SESAME_DATA_DIR=$DATA_DIR SESAME_DB_POOL_SIZE=$CONNECTIONS
unset DATABASE_URL

# The first start may initialise the cluster and load the geography: not measured.
start
stop
start
cold_start=$(printf "%.2f" "$startup")
sleep 1
idle_rss_kib=$(ps -o rss= -p "$pid" | tr -d ' ')

: >target/bench-communes-http; : >target/bench-communes-pg
for run in $(seq "$RUNS"); do
  wrk_out=$(wrk -t2 -c$CONNECTIONS -d"${DURATION}s" --latency "$URL/api/v1/communes/91103")
  echo "$(awk '/Requests\/sec/ {print $2}' <<<"$wrk_out") $(awk '$1=="50%" {print $2}' <<<"$wrk_out") $(awk '$1=="99%" {print $2}' <<<"$wrk_out")" >>target/bench-communes-http
  pg_out=$(pgbench -n -M prepared -c $CONNECTIONS -j 2 -T "$DURATION" -f bench/communes.sql "$(db_url)" 2>&1)
  echo "$(awk '/^tps/ {print $3; exit}' <<<"$pg_out") $(awk '/^latency average/ {print $4 $5}' <<<"$pg_out")" >>target/bench-communes-pg
done
read -r http_rps http_p50 http_p99 <<<"$(median_line target/bench-communes-http)"
read -r pg_tps pg_latency <<<"$(median_line target/bench-communes-pg)"
ratio=$(echo "scale=3; $http_rps / $pg_tps" | bc | xargs printf "%.2f")
loaded_rss_kib=$(ps -o rss= -p "$pid" | tr -d ' ')
flame communes wrk -t2 -c$CONNECTIONS -d10s "$URL/api/v1/communes/91103"
stop

write_section communes <<MD
## Single-row read: \`GET /api/v1/communes/{insee}\`

Measured by \`bash bench/communes.sh\` on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD),
median of $RUNS alternating runs.
Machine: $(machine).

| what | throughput | latency |
|---|---|---|
| Sésame over HTTP (wrk, $CONNECTIONS connections, ${DURATION} s) | $(printf "%.0f" "$http_rps") req/s | p50 $http_p50, p99 $http_p99 |
| floor: pgbench -M prepared, same SELECT, $CONNECTIONS clients, ${DURATION} s | $(printf "%.0f" "$pg_tps") tx/s | average $pg_latency |
| **ratio service / floor** | **$ratio** | |

The floor runs \`bench/communes.sql\`, the statement diesel sends for this endpoint, as a
prepared statement. The service adds HTTP parsing, routing, the request-id/log/metrics
middleware (with the default \`info\` access log, one line per request, queued to a writer thread), the connection
pool, diesel and JSON encoding. Its pool has $CONNECTIONS connections, like pgbench's
$CONNECTIONS clients.

| start and memory | figure |
|---|---|
| cold start to ready (\`sesame serve\` until \`/readyz\` answers 200, private cluster already initialised, PostgreSQL started by Sésame) | $cold_start s |
| resident memory, idle after start | $((idle_rss_kib / 1024)) MiB |
| resident memory after the load above | $((loaded_rss_kib / 1024)) MiB |

\`\`\`sh
wrk -t2 -c$CONNECTIONS -d${DURATION}s --latency http://127.0.0.1:$PORT/api/v1/communes/91103
pgbench -n -M prepared -c $CONNECTIONS -j 2 -T $DURATION -f bench/communes.sql "\$DATABASE_URL"
\`\`\`
MD
echo "communes: service $http_rps req/s, floor $pg_tps tx/s, ratio $ratio; cold start $cold_start s"
