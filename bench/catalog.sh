#!/usr/bin/env bash
# Measures, in one run, the offer search (family + label + available_on +
# local_to + text) over 100,000 offers of 2,000 suppliers against pgbench
# -M prepared running the same SQL at the same concurrency, then the p99
# open-loop at 80 % of the service's maximum rate (oha, latency-corrected),
# and records the query plan. Rewrites its section of docs/benchmarks.md.
#
# Usage: bash bench/catalog.sh [seconds per measurement, default 15]
# Needs: wrk, pgbench, psql, curl, and oha (`cargo install oha`).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

BENCH=catalog
DURATION=${1:-15}
CONNECTIONS=32
PORT=18081
DATA_DIR=target/bench-catalog
URL="http://127.0.0.1:$PORT"
CANTEEN=00000000-0000-7000-8000-00000000ca17
need wrk wrk
need pgbench postgresql-client
need psql postgresql-client
need oha cargo:oha

cargo build --release --quiet
export SESAME_BIND=127.0.0.1:$PORT SESAME_DATA_DIR=$DATA_DIR SESAME_DB_POOL_SIZE=$CONNECTIONS SESAME_LOG=warn
unset DATABASE_URL
start
if [ "$(psql -tA "$(db_url)" -c 'SELECT count(*) FROM offers')" -lt 100000 ]; then
  echo "bench: seeding 100,000 offers"
  psql -q -v ON_ERROR_STOP=1 "$(db_url)" -f bench/catalog_seed.sql >/dev/null
fi

# A Tuesday at least a week ahead: inside most windows, past every lead time.
day=$(date -d "next tuesday + 7 days" +%F)
query="q=carotte&family=FRUITS_ET_LEGUMES&labels_any=BIO&available_on=$day&local_to=$CANTEEN&local=yes"
hits=$(curl -sf "$URL/api/v1/offers?$query&limit=50" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
[ "$hits" -gt 0 ] || { echo "bench: the search finds nothing; the seed is wrong" >&2; exit 1; }

floor() {
  pgbench -n -M "$1" -c $CONNECTIONS -j 2 -T "$DURATION" -D q=carotte -D day="$day" -D canteen=$CANTEEN \
    -f bench/catalog_search.sql "$(db_url)" 2>&1 | awk '/^tps/ {print $3; exit}'
}
# The service sends this dynamic SQL unnamed (diesel caches no statement whose
# text varies), so PostgreSQL plans it for its values each time: `-M extended`
# is that floor. `-M prepared` (one generic plan) is shown too.
: >target/bench-catalog-http; : >target/bench-catalog-pg; : >target/bench-catalog-pg-prepared
for run in $(seq "$RUNS"); do
  wrk_out=$(wrk -t2 -c$CONNECTIONS -d"${DURATION}s" --latency "$URL/api/v1/offers?$query")
  echo "$(awk '/Requests\/sec/ {print $2}' <<<"$wrk_out") $(awk '$1=="99%" {print $2}' <<<"$wrk_out")" >>target/bench-catalog-http
  floor extended >>target/bench-catalog-pg
  floor prepared >>target/bench-catalog-pg-prepared
done
read -r http_rps http_p99 <<<"$(median_line target/bench-catalog-http)"
pg_tps=$(median <target/bench-catalog-pg)
pg_prepared_tps=$(median <target/bench-catalog-pg-prepared)
ratio=$(echo "scale=3; $http_rps / $pg_tps" | bc | xargs printf "%.2f")
ratio_prepared=$(echo "scale=3; $http_rps / $pg_prepared_tps" | bc | xargs printf "%.2f")

rate=$(printf "%.0f" "$(echo "$http_rps * 0.8" | bc)")
oha_out=$(oha --no-tui -z "${DURATION}s" -q "$rate" --latency-correction -c $CONNECTIONS "$URL/api/v1/offers?$query")
open_p99=$(awk '/99.00%/ {print $3, $4; exit}' <<<"$oha_out")
open_p50=$(awk '/50.00%/ {print $3, $4; exit}' <<<"$oha_out")
open_ok=$(awk '/Success rate/ {print $3; exit}' <<<"$oha_out")

plan=$(psql -tA "$(db_url)" <<SQL
EXPLAIN (COSTS OFF) $(sed -n '/^WITH hits AS/,$p' bench/catalog_search.sql | sed "s/:q/'carotte'/g; s/:day/'$day'/g")
SQL
)
stop

write_section catalog <<MD
## Offer search over 100,000 offers: \`GET /api/v1/offers\`

Median of $RUNS alternating runs, measured by \`bash bench/catalog.sh\` on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD).
Machine: $(machine), oha $(oha --version | awk '{print $2}').
Data: \`bench/catalog_seed.sql\`, 2,000 verified farms (40 % organic) in the 91, 45, 77, 78
and 28, and 100,000 active offers. The search is
\`$query\`: family, label, delivery date, "local" for a canteen whose definition is 50 km,
and French full text, newest first, 50 per page. It returns $hits offers on the first page.

| what | throughput | latency |
|---|---|---|
| Sésame over HTTP (wrk, $CONNECTIONS connections, ${DURATION} s, closed loop) | $(printf "%.0f" "$http_rps") req/s | p99 $http_p99 |
| floor: pgbench -M extended (planned per execution, as the service's), the same three statements, $CONNECTIONS clients, ${DURATION} s | $(printf "%.0f" "$pg_tps") tx/s | |
| **ratio service / floor** (target ≥ 0.6) | **$ratio** | |
| pgbench -M prepared (one generic plan), same statements | $(printf "%.0f" "$pg_prepared_tps") tx/s | ratio $ratio_prepared |
| open loop at 80 % of the service's maximum ($rate req/s, oha, latency-corrected) | success rate $open_ok | p50 $open_p50, p99 $open_p99 |

The floor is \`bench/catalog_search.sql\`: the canteen look-up, the search statement that
\`catalog::search::plan\` builds, and the page load (here folded into the search with a
CTE), with pgbench variables as bound parameters. A generic plan is slower than one
planned for the values, hence \`-M extended\` as the honest floor. The service adds HTTP, the pool, diesel, the view building and JSON
(50 offers, about 40 KiB). Logs are at \`warn\` here.

Plan of the search statement (\`EXPLAIN\`, from this run; check it for a sequential scan
on offers when changing the query or the indexes):

\`\`\`
$plan
\`\`\`

\`\`\`sh
wrk -t2 -c$CONNECTIONS -d${DURATION}s --latency "http://127.0.0.1:$PORT/api/v1/offers?$query"
pgbench -n -M extended -c $CONNECTIONS -j 2 -T $DURATION -D q=carotte -D day=$day -D canteen=$CANTEEN -f bench/catalog_search.sql "\$DATABASE_URL"
oha --no-tui -z ${DURATION}s -q $rate --latency-correction -c $CONNECTIONS "http://127.0.0.1:$PORT/api/v1/offers?$query"
\`\`\`
MD
echo "catalog: service $http_rps req/s, floor $pg_tps tx/s, ratio $ratio; open-loop p99 $open_p99"
