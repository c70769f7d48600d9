#!/usr/bin/env bash
# What the login throttle costs a login: a whole login (Argon2id verify,
# the throttle's two statements, a new session) measured through the
# service with one client, against pgbench running the throttle's two
# statements alone (bench/login_throttle.sql) on the same cluster, in one
# run. Rewrites its section of docs/benchmarks.md.
#
# Usage: bash bench/login_throttle.sh [seconds per measurement, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

BENCH=login_throttle
DURATION=${1:-10}
PORT=18085
DATA_DIR=target/bench-login
URL="http://127.0.0.1:$PORT"
BENCH_MODE=demo
need wrk wrk
need pgbench postgresql-contrib

cargo build --release --quiet
export SESAME_BIND=127.0.0.1:$PORT SESAME_DATA_DIR=$DATA_DIR SESAME_LOG=warn
unset DATABASE_URL
start
DB="postgres://sesame:$(cat "$DATA_DIR/pg-password")@127.0.0.1:$(cat "$DATA_DIR/port")/sesame"

: >target/bench-login-throttle-runs
for run in $(seq "$RUNS"); do
  login_ms=$(wrk -t1 -c1 -d"${DURATION}s" --latency -s bench/login.lua "$URL/api/v1/auth/login" \
    | awk '/^    Latency/ {v=$2; if (v ~ /ms$/) {sub(/ms/, "", v)} else if (v ~ /us$/) {sub(/us/, "", v); v/=1000} else {sub(/s/, "", v); v*=1000}; print v}')
  throttle_ms=$(pgbench -n -c1 -T"$DURATION" -f bench/login_throttle.sql "$DB" 2>/dev/null \
    | awk '/latency average/ {print $4}')
  echo "$login_ms $throttle_ms" >>target/bench-login-throttle-runs
done
stop
read -r login_ms throttle_ms <<<"$(median_line target/bench-login-throttle-runs)"
share=$(echo "scale=1; 100 * $throttle_ms / $login_ms" | bc)

write_section login_throttle <<MD
## What the login throttle costs a login

Measured by \`bash bench/login_throttle.sh\` on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD);
median of $RUNS runs of ${DURATION} s, one client each.

| | per login |
|---|---|
| a whole successful login through the service (Argon2id verify, throttle, session) | ${login_ms} ms |
| the throttle's two statements alone (pgbench, \`bench/login_throttle.sql\`) | ${throttle_ms} ms |
| the throttle's share of a login | ${share} % |

The throttle is one statement before the password is checked (is the pair known, the
address's failures, this attempt counted) and one after (forget the pair's count and
mark it known, or count the address's failure), both on primary keys.
MD
echo "bench: login ${login_ms} ms, throttle ${throttle_ms} ms (${share} %)"
