#!/usr/bin/env bash
# Measures a supplier's list of open consultations
# (GET /api/v1/organisations/{id}/open-consultations) with 20,000
# consultations in the database, and the evaluation of a 5-lot consultation
# with 500 answers (GET /api/v1/consultations/{id}/evaluation), each against
# pgbench running the same SQL (bench/consultations.sql,
# bench/consultations_evaluation.sql) at the same concurrency, and records
# the list's query plan. Rewrites its section of docs/benchmarks.md.
#
# Usage: bash bench/consultations.sh [seconds per measurement, default 15]
# PROFILE=1 also draws docs/profiles/consultations-evaluation.svg (bench/lib.sh: flame).
# Needs: wrk, pgbench, psql, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

BENCH=consultations
DURATION=${1:-15}
CONNECTIONS=32
PORT=18086
DATA_DIR=target/bench-consultations
URL="http://127.0.0.1:$PORT"
SUPPLIER=00000000-0000-7100-8000-000000000001
EVALUATED=00000000-0000-7107-8000-000000000001
PASSWORD="bench password for the consultations list"
need wrk wrk
need pgbench postgresql-client
need psql postgresql-client

cargo build --release --quiet
export SESAME_BIND=127.0.0.1:$PORT SESAME_DATA_DIR=$DATA_DIR SESAME_DB_POOL_SIZE=$CONNECTIONS SESAME_LOG=warn
unset DATABASE_URL
start
if [ "$(psql -tA "$(db_url)" -c 'SELECT count(*) FROM consultations')" -lt 20000 ]; then
  echo "bench: seeding 20,000 consultations"
  echo "$PASSWORD" | DATABASE_URL=$(db_url) ./target/release/sesame admin create-user \
    --email bench-template@sesame.test --password-stdin >/dev/null
  psql -q -v ON_ERROR_STOP=1 -v template=bench-template@sesame.test "$(db_url)" -f bench/consultations_seed.sql
fi
token=$(curl -sf -X POST "$URL/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"email\": \"bench-supplier@sesame.test\", \"password\": \"$PASSWORD\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
buyer_token=$(curl -sf -X POST "$URL/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"email\": \"bench-buyer@sesame.test\", \"password\": \"$PASSWORD\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
evaluation="/api/v1/consultations/$EVALUATED/evaluation"
ranked=$(curl -sf -H "Authorization: Bearer $buyer_token" "$URL$evaluation" | python3 -c 'import json,sys; print(sum(len(l["answers"]) for l in json.load(sys.stdin)["lots"]))')
[ "$ranked" -eq 500 ] || { echo "bench: the evaluation ranks $ranked answers, not 500; the seed is wrong" >&2; exit 1; }
path="/api/v1/organisations/$SUPPLIER/open-consultations"
listed=$(curl -sf -H "Authorization: Bearer $token" "$URL$path" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
[ "$listed" -gt 0 ] || { echo "bench: the supplier sees no open consultation; the seed is wrong" >&2; exit 1; }

floor() {
  pgbench -n -M "$1" -c $CONNECTIONS -j 2 -T "$DURATION" -D supplier=$SUPPLIER \
    -f bench/consultations.sql "$(db_url)" 2>&1 | awk '/^tps/ {print $3; exit}'
}
evaluation_floor() {
  pgbench -n -M "$1" -c $CONNECTIONS -j 2 -T "$DURATION" -D consultation=$EVALUATED \
    -f bench/consultations_evaluation.sql "$(db_url)" 2>&1 | awk '/^tps/ {print $3; exit}'
}
: >target/bench-consultations-http; : >target/bench-consultations-eval-http
for mode in extended prepared; do
  : >target/bench-consultations-pg-$mode; : >target/bench-consultations-eval-pg-$mode
done
for run in $(seq "$RUNS"); do
  wrk_out=$(wrk -t2 -c$CONNECTIONS -d"${DURATION}s" --latency -H "Authorization: Bearer $token" "$URL$path")
  echo "$(awk '/Requests\/sec/ {print $2}' <<<"$wrk_out") $(awk '$1=="99%" {print $2}' <<<"$wrk_out")" >>target/bench-consultations-http
  floor extended >>target/bench-consultations-pg-extended
  floor prepared >>target/bench-consultations-pg-prepared
  wrk_out=$(wrk -t2 -c$CONNECTIONS -d"${DURATION}s" --latency -H "Authorization: Bearer $buyer_token" "$URL$evaluation")
  echo "$(awk '/Requests\/sec/ {print $2}' <<<"$wrk_out") $(awk '$1=="99%" {print $2}' <<<"$wrk_out")" >>target/bench-consultations-eval-http
  evaluation_floor extended >>target/bench-consultations-eval-pg-extended
  evaluation_floor prepared >>target/bench-consultations-eval-pg-prepared
done
# "median (min–max over the runs)" of the ratio of each run's service to its floor.
ratios() {
  paste -d' ' "$1" "$2" | awk '{printf "%.3f\n", $1 / $3}' | sort -g |
    awk '{r[NR] = $1} END {printf "%.2f (%.2f–%.2f)", r[int((NR + 1) / 2)], r[1], r[NR]}'
}
read -r http_rps http_p99 <<<"$(median_line target/bench-consultations-http)"
read -r eval_rps eval_p99 <<<"$(median_line target/bench-consultations-eval-http)"
for mode in extended prepared; do
  declare "pg_tps_$mode=$(median <target/bench-consultations-pg-$mode)"
  declare "ratio_$mode=$(ratios target/bench-consultations-http target/bench-consultations-pg-$mode)"
  declare "eval_pg_tps_$mode=$(median <target/bench-consultations-eval-pg-$mode)"
  declare "eval_ratio_$mode=$(ratios target/bench-consultations-eval-http target/bench-consultations-eval-pg-$mode)"
done
plan=$(psql -tA "$(db_url)" <<SQL
EXPLAIN (COSTS OFF) $(sed -n '/^SELECT c.id/,$p' bench/consultations.sql | sed "s/:supplier/'$SUPPLIER'/g")
SQL
)
flame consultations-evaluation wrk -t2 -c$CONNECTIONS -d10s -H "Authorization: Bearer $buyer_token" "$URL$evaluation"
stop

write_section consultations <<MD
## Consultations: a supplier's open list among 20,000, and an evaluation of 500 answers

Median of $RUNS alternating runs, measured by \`bash bench/consultations.sh\` on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD).
Machine: $(machine).
Data: \`bench/consultations_seed.sql\`, 100 canteens, 20,000 consultations of one to three
lots (a quarter published with a deadline ahead), one farm with an offer delivering the 91;
it sees $listed open consultations (\`GET /api/v1/organisations/{id}/open-consultations\`, its
first page of 50). And one closed consultation of 5 lots with 100 farms answering each (500
answers, every one marked), evaluated by its buyer (\`GET /api/v1/consultations/{id}/evaluation\`:
scores and ranks computed per request). Floors: \`bench/consultations.sql\` and
\`bench/consultations_evaluation.sql\` (the session, policy and data statements), $CONNECTIONS
clients, under \`pgbench -M extended\` (each statement parsed and planned every time) and
\`-M prepared\` (parsed and planned once per connection, as the service does since it
prepares these statements once per connection: \`db::Prepared\`). Ratios: the median of
the runs' ratios, with the lowest and highest in brackets.

Last measured:

| | requests/s | p99 |
|---|---|---|
| open list: service (wrk, $CONNECTIONS connections) | $http_rps | $http_p99 |
| open list: same SQL (pgbench -M extended / -M prepared) | $pg_tps_extended / $pg_tps_prepared | — |
| open list: ratio to extended / to prepared (target ≥ 0.6) | $ratio_extended / $ratio_prepared | |
| evaluation: service (wrk, $CONNECTIONS connections) | $eval_rps | $eval_p99 |
| evaluation: same SQL (pgbench -M extended / -M prepared) | $eval_pg_tps_extended / $eval_pg_tps_prepared | — |
| evaluation: ratio to extended / to prepared (target ≥ 0.6) | $eval_ratio_extended / $eval_ratio_prepared | |

Plan of the list:

\`\`\`
$plan
\`\`\`
MD
echo "consultations: open list $http_rps req/s, ratio $ratio_extended to extended, $ratio_prepared to prepared; evaluation $eval_rps req/s, ratio $eval_ratio_extended to extended, $eval_ratio_prepared to prepared"
