#!/usr/bin/env bash
# Measures, in one run, checkouts of a 3-line basket from 3 suppliers by 32
# concurrent canteens against pgbench -M prepared running the same
# transaction's SQL at the same concurrency, then the p99 open-loop at 80 %
# of the service's maximum rate. Rewrites its section of docs/benchmarks.md.
#
# Usage: bash bench/checkout.sh [seconds per measurement, default 15]
# Needs: wrk, pgbench, psql, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

BENCH=checkout
DURATION=${1:-15}
CONNECTIONS=32
PORT=18082
DATA_DIR=target/bench-checkout
URL="http://127.0.0.1:$PORT"
PASSWORD="un mot de passe assez long pour le banc 2026"
TOKENS=target/bench-checkout-tokens
need wrk wrk
need pgbench postgresql-client
need psql postgresql-client

cargo build --release --quiet
export SESAME_BIND=127.0.0.1:$PORT SESAME_DATA_DIR=$DATA_DIR SESAME_DB_POOL_SIZE=$CONNECTIONS SESAME_LOG=warn
unset DATABASE_URL
start
if [ "$(psql -tA "$(db_url)" -c "SELECT count(*) FROM organisations WHERE name LIKE 'Cantine du banc %'")" -eq 0 ]; then
  echo "bench: seeding 3 farms, 300 offers, 32 canteens"
  echo "$PASSWORD" | DATABASE_URL=$(db_url) ./target/release/sesame admin create-user \
    --email bench-template@sesame.test --password-stdin >/dev/null
  psql -q -v ON_ERROR_STOP=1 -v template=bench-template@sesame.test "$(db_url)" -f bench/checkout_seed.sql
fi
# Each measurement starts from the same orders-free state.
reset() {
  psql -q "$(db_url)" -c "TRUNCATE orders, order_lines, order_events, domain_events, idempotency_keys" \
       -c "UPDATE offers SET stock_available = 1000000000, stock_reserved = 0 WHERE name LIKE 'Produit %'" \
       -c "VACUUM ANALYZE offers"
}
reset

# One session per canteen owner; pgbench finds the same sessions in bench_sessions.
: >"$TOKENS"
for c in $(seq 1 32); do
  curl -sf -X POST "$URL/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\": \"bench-$c@sesame.test\", \"password\": \"$PASSWORD\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])' >>"$TOKENS"
done
psql -q "$(db_url)" <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench_sessions;
CREATE TABLE bench_sessions AS
SELECT DISTINCT ON (u.email) substring(u.email FROM 'bench-(\d+)@')::int AS n, s.id
  FROM sessions s JOIN users u ON u.id = s.user_id
 WHERE u.email LIKE 'bench-%@sesame.test' AND s.revoked_at IS NULL
 ORDER BY u.email, s.created_at DESC;
ALTER TABLE bench_sessions ADD PRIMARY KEY (n);
SQL

day=$(date -d "next tuesday + 7 days" +%F)
export BENCH_TOKENS=$TOKENS BENCH_DAY=$day
# Service and floor alternate, three times each; the table shows the medians.
median() { tr ' ' '\n' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
runs_rps=(); runs_tps=(); runs_p99=(); created=0; lines=0; http_errors=0; pg_failed=0
for run in 1 2 3; do
  reset
  wrk_out=$(wrk -t2 -c$CONNECTIONS -d"${DURATION}s" --latency -s bench/checkout.lua "$URL")
  runs_rps+=("$(awk '/Requests\/sec/ {print $2}' <<<"$wrk_out")")
  runs_p99+=("$(awk '$1=="99%" {print $2}' <<<"$wrk_out")")
  http_errors=$((http_errors + $(awk '/Non-2xx/ {print $5}' <<<"$wrk_out" | grep . || echo 0)))
  created=$((created + $(psql -tA "$(db_url)" -c "SELECT count(DISTINCT checkout_id) FROM orders")))
  lines=$((lines + $(psql -tA "$(db_url)" -c "SELECT count(*) FROM order_lines")))
  reset
  pg_out=$(pgbench -n -M prepared -c $CONNECTIONS -j 2 -T "$DURATION" -f bench/checkout.sql "$(db_url)" 2>&1)
  runs_tps+=("$(awk '/^tps/ {print $3; exit}' <<<"$pg_out")")
  pg_failed=$((pg_failed + $(awk '/failed transactions/ {print $5; exit}' <<<"$pg_out")))
done
http_rps=$(echo "${runs_rps[@]}" | median)
pg_tps=$(echo "${runs_tps[@]}" | median)
http_p99=${runs_p99[1]}
ratio=$(echo "scale=3; $http_rps / $pg_tps" | bc | xargs printf "%.2f")

rate=$(printf "%.0f" "$(echo "$http_rps * 0.8" | bc)")
reset
open=$(python3 bench/open_loop.py "$URL" "$rate" "$DURATION" $CONNECTIONS "$TOKENS" "$day")
open_p50=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["p50_ms"])' "$open")
open_p99=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["p99_ms"])' "$open")
open_errors=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["errors"])' "$open")
stop

write_section checkout <<MD
## Checkout: \`POST /api/v1/orders\`, a 3-line basket from 3 suppliers

Measured by \`bash bench/checkout.sh\` on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD).
Machine: $(machine).
Data: \`bench/checkout_seed.sql\`, 3 verified farms with 100 offers each and 32 verified
canteens, each with its owner logged in. Every request is a new basket (its own
Idempotency-Key) of one random offer of each farm, 0.5 to 10 kg each, from a random
canteen: 3 orders, 3 stock reservations, 3 lines, 3 events, 6 feed entries and the key.

| what | throughput | latency |
|---|---|---|
| Sésame over HTTP (wrk + \`bench/checkout.lua\`, $CONNECTIONS connections, ${DURATION} s, closed loop; median of ${runs_rps[*]}) | $(printf "%.0f" "$http_rps") checkouts/s ($created baskets, $lines lines written over the runs; non-201: $http_errors) | p99 of the 2nd run $http_p99 |
| floor: pgbench -M prepared, the same transaction's SQL (\`bench/checkout.sql\`), $CONNECTIONS clients, ${DURATION} s; median of ${runs_tps[*]} | $(printf "%.0f" "$pg_tps") tx/s (failed: $pg_failed) | |
| **ratio service / floor** (target ≥ 0.5) | **$ratio** | |
| open loop at 80 % of the service's maximum ($rate checkouts/s, \`bench/open_loop.py\`, latency from each request's due time) | non-201: $open_errors | p50 $open_p50 ms, p99 $open_p99 ms |

The floor replays what the service sends for one checkout, captured with
\`log_statement = all\`: the session check, the buyer's access, then in one transaction the
Idempotency-Key lock and look-up, the offers locked in id order, the parties, three
conditional stock updates, the inserts (orders, lines, events, feed, key) and the purge of
expired keys. The service adds HTTP, JSON, argon2-free JWT checks, the pool, diesel, the
validation and the SHA-256 of the body; hand-written statements are prepared once per
connection (\`db::Prepared\`), but multi-row inserts, which diesel cannot cache, are
prepared on each use, where pgbench -M prepared parses them once.

\`\`\`sh
BENCH_TOKENS=tokens BENCH_DAY=$day wrk -t2 -c$CONNECTIONS -d${DURATION}s --latency -s bench/checkout.lua http://127.0.0.1:$PORT
pgbench -n -M prepared -c $CONNECTIONS -j 2 -T $DURATION -f bench/checkout.sql "\$DATABASE_URL"
python3 bench/open_loop.py http://127.0.0.1:$PORT $rate $DURATION $CONNECTIONS tokens $day
\`\`\`
MD
echo "checkout: service $http_rps/s, floor $pg_tps tx/s, ratio $ratio; open-loop p99 $open_p99 ms"
