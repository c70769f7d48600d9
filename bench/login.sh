#!/usr/bin/env bash
# Measures login throughput (Argon2id, m=19 MiB, t=2) and whether a login
# flood starves other requests: the offer search's p99 at a fixed open-loop
# rate, alone and then while logins run at full speed, in one run.
# Rewrites its section of docs/benchmarks.md.
#
# Usage: bash bench/login.sh [seconds per measurement, default 15]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

BENCH=login
DURATION=${1:-15}
PORT=18084
DATA_DIR=target/bench-login
URL="http://127.0.0.1:$PORT"
BENCH_MODE=demo
RATE=50
need wrk wrk
need oha cargo:oha

cargo build --release --quiet
export SESAME_BIND=127.0.0.1:$PORT SESAME_DATA_DIR=$DATA_DIR SESAME_LOG=warn
unset DATABASE_URL
start
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"email": "contact@ferme-de-l-envol.demo", "password": "Sésame démo en Cœur d'"'"'Essonne"}')
[ "$status" = 200 ] || { echo "bench: the demo login answers $status" >&2; exit 1; }

: >target/bench-login-runs
for run in $(seq "$RUNS"); do
  logins=$(wrk -t2 -c8 -d"${DURATION}s" -s bench/login.lua "$URL/api/v1/auth/login")
  echo "$(awk '/Requests\/sec/ {print $2}' <<<"$logins") $(awk '/Non-2xx/ {print $5}' <<<"$logins")" >>target/bench-login-runs
done
read -r login_rps login_errors <<<"$(median_line target/bench-login-runs)"

search="$URL/api/v1/offers?q=carottes&labels_any=BIO"
p99() { awk '/99.00%/ {print $3, $4; exit}' <<<"$1"; }
alone=$(oha --no-tui -z "${DURATION}s" -q $RATE --latency-correction -c 8 "$search")
wrk -t1 -c8 -d"$((DURATION + 4))s" -s bench/login.lua "$URL/api/v1/auth/login" >/dev/null & flood=$!
sleep 2
flooded=$(oha --no-tui -z "${DURATION}s" -q $RATE --latency-correction -c 8 "$search")
wait "$flood"
stop

write_section login <<MD
## Logins, and the search during a login flood

Measured by \`bash bench/login.sh\` on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD);
logins per second: median of $RUNS runs.
Machine: $(machine), oha $(oha --version | awk '{print $2}').
Data: the demonstration (\`sesame demo\`).

| what | figure |
|---|---|
| logins (wrk, 8 connections, ${DURATION} s; Argon2id m=19 MiB t=2 p=1, hashed on one thread per core but one, at nice 10) | $(printf "%.0f" "$login_rps") logins/s (non-2xx: ${login_errors:-0}) |
| offer search at $RATE req/s open loop (oha, latency-corrected), alone | p99 $(p99 "$alone") |
| the same search while logins run at full speed (8 connections) | p99 $(p99 "$flooded") |

\`\`\`sh
wrk -t2 -c8 -d${DURATION}s -s bench/login.lua http://127.0.0.1:$PORT/api/v1/auth/login
oha --no-tui -z ${DURATION}s -q $RATE --latency-correction -c 8 "http://127.0.0.1:$PORT/api/v1/offers?q=carottes&labels_any=BIO"
\`\`\`
MD
echo "login: $login_rps logins/s; search p99 alone $(p99 "$alone"), under a login flood $(p99 "$flooded")"
