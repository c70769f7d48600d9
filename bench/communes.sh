#!/usr/bin/env bash
# Measures, in one run, GET /api/v1/communes/{insee} against the floor under it
# (pgbench -M prepared running the same SELECT at the same concurrency), the
# cold start to ready with an initialised private cluster, and the idle memory.
# Rewrites docs/benchmarks.md with the figures.
#
# Usage: bash bench/communes.sh [seconds per measurement, default 15]
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${1:-15}
CONNECTIONS=32
PORT=18080
DATA_DIR=target/bench-data
URL="http://127.0.0.1:$PORT"

need() { command -v "$1" >/dev/null || { echo "bench: $1 is missing (Debian: apt-get install $2)" >&2; exit 1; }; }
need wrk wrk
need pgbench postgresql-client
need curl curl

cargo build --release --quiet
# The same number of database connections as pgbench's clients; default (info)
# logging, one access-log line per request, written to target/bench-service.log.
export SESAME_BIND=127.0.0.1:$PORT SESAME_DATA_DIR=$DATA_DIR SESAME_DB_POOL_SIZE=$CONNECTIONS
unset DATABASE_URL

pid=
stop() { if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=; fi; }
trap stop EXIT
# Starts the service in the background and sets $startup to the seconds it
# took until /readyz answered 200.
start() {
  local t0; t0=$(date +%s.%N)
  ./target/release/sesame serve >>target/bench-service.log 2>&1 & pid=$!
  until curl -sf -o /dev/null "$URL/readyz"; do
    kill -0 "$pid" 2>/dev/null || { echo "bench: the service died; see target/bench-service.log" >&2; exit 1; }
    sleep 0.02
  done
  startup=$(echo "$(date +%s.%N) - $t0" | bc)
}

# The first start initialises the cluster and loads the geography: not measured.
start
stop
start
cold_start=$(printf "%.2f" "$startup")
sleep 1
idle_rss_kib=$(ps -o rss= -p "$pid" | tr -d ' ')

db_url="postgres://sesame:$(cat $DATA_DIR/pg-password)@127.0.0.1:$(cat $DATA_DIR/port)/sesame"

wrk_out=$(wrk -t2 -c$CONNECTIONS -d${DURATION}s --latency "$URL/api/v1/communes/91103")
http_rps=$(awk '/Requests\/sec/ {print $2}' <<<"$wrk_out")
http_p50=$(awk '$1=="50%" {print $2}' <<<"$wrk_out")
http_p99=$(awk '$1=="99%" {print $2}' <<<"$wrk_out")

pg_out=$(pgbench -n -M prepared -c $CONNECTIONS -j 2 -T "$DURATION" -f bench/communes.sql "$db_url" 2>&1)
pg_tps=$(awk '/^tps/ {print $3; exit}' <<<"$pg_out")
pg_latency=$(awk '/^latency average/ {print $4 " " $5}' <<<"$pg_out")
ratio=$(echo "scale=3; $http_rps / $pg_tps" | bc | xargs printf "%.2f")
http_rps=$(printf "%.0f" "$http_rps")
pg_tps=$(printf "%.0f" "$pg_tps")

loaded_rss_kib=$(ps -o rss= -p "$pid" | tr -d ' ')
stop

cores=$(nproc)
memory=$(free -h | awk '/^Mem:/ {print $2}')
cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
pg_version=$(pgbench --version | awk '{print $3}')
server_version=$(ls "$DATA_DIR/pgdata/PG_VERSION" >/dev/null && cat "$DATA_DIR/pgdata/PG_VERSION")
wrk_version=$( (wrk -v 2>&1 || true) | awk 'NR==1 {print $2}')
rustc_version=$(rustc --version | awk '{print $2}')

cat > docs/benchmarks.md <<MD
# Benchmarks

Rewritten by \`bash bench/communes.sh\` ($(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD)).
Absolute figures on a shared machine mean little; the ratio to the floor measured in
the same run is what to watch.

Machine: $cores cores ($cpu), $memory memory. The load generator, the service and
PostgreSQL share these cores. Versions: rustc $rustc_version, PostgreSQL server $server_version
(private cluster, default settings), pgbench $pg_version, wrk $wrk_version.

## Single-row read: \`GET /api/v1/communes/{insee}\`

| what | throughput | latency |
|---|---|---|
| Sésame over HTTP (wrk, $CONNECTIONS connections, ${DURATION} s) | $http_rps req/s | p50 $http_p50, p99 $http_p99 |
| floor: pgbench -M prepared, same SELECT, $CONNECTIONS clients, ${DURATION} s | $pg_tps tx/s | average $pg_latency |
| **ratio service / floor** | **$ratio** | |

The floor runs \`bench/communes.sql\`, the statement diesel sends for this endpoint,
as a prepared statement. The service adds HTTP parsing, routing, the request-id/log/
metrics middleware (with the default \`info\` access log, one line per request),
the connection pool, diesel and JSON encoding. Its pool has
$CONNECTIONS connections, like pgbench's $CONNECTIONS clients.

## Start and memory

| what | figure |
|---|---|
| cold start to ready (\`sesame serve\` until \`/readyz\` answers 200, private cluster already initialised, PostgreSQL started by Sésame) | $cold_start s |
| resident memory, idle after start | $((idle_rss_kib / 1024)) MiB |
| resident memory after the load above | $((loaded_rss_kib / 1024)) MiB |

## Commands

\`\`\`sh
bash bench/communes.sh            # all of the above, ${DURATION} s per measurement
wrk -t2 -c$CONNECTIONS -d${DURATION}s --latency http://127.0.0.1:$PORT/api/v1/communes/91103
pgbench -n -M prepared -c $CONNECTIONS -j 2 -T $DURATION -f bench/communes.sql "\$DATABASE_URL"
\`\`\`
MD
cat docs/benchmarks.md
