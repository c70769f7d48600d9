#!/usr/bin/env bash
# Measures issuing a month's statements (the month with the most received
# lines), one per supplier and canteen, for every canteen of the 1,000,000-line data set (`sesame seed`, shared
# with bench/egalim.sh), by the platform under each supplier's billing
# mandate, over HTTP with 2 clients (bench/invoices_issue.py), against
# pgbench writing the same rows with 2 clients (bench/invoices.sql). Then
# the CII XML of a 50-line invoice, renders per second over HTTP (wrk),
# against the same invoice as JSON. Rewrites its section of docs/benchmarks.md.
#
# Usage: bash bench/invoices.sh [seconds for the rendering, default 15]
# Needs: pgbench, psql, wrk, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

BENCH=invoices
DURATION=${1:-15}
LINES=${LINES:-1000000}
PORT=18089
DATA_DIR=$(lines_data_dir)
URL="http://127.0.0.1:$PORT"
BENCH_MODE=demo
PASSWORD="Sésame démo en Cœur d'Essonne"
need pgbench postgresql-client
need psql postgresql-client
need wrk wrk

cargo build --release --quiet
export SESAME_BIND=127.0.0.1:$PORT SESAME_DATA_DIR=$DATA_DIR SESAME_LOG=warn
unset DATABASE_URL
seed_once
start
q() { psql -tA "$(db_url)" -c "$1"; }
# The month with the most received lines: its statements are the largest.
from=$(q "SELECT date_trunc('month', o.delivery_date)::date FROM orders o JOIN order_lines l ON l.order_id = o.id
          WHERE o.status IN ('received', 'disputed') GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
to=$(date -d "$from +1 month -1 day" +%F)
psql -q -v ON_ERROR_STOP=1 -v from="$from" -v to="$to" "$(db_url)" -f bench/invoices_seed.sql
admin=$(q "SELECT id FROM users WHERE email = 'admin@sesame.demo'")
pairs=$(q "SELECT count(*) FROM bench_pairs")
token=$(curl -sf -X POST "$URL/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"email\": \"admin@sesame.demo\", \"password\": \"$PASSWORD\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

reset() {
  psql -q "$(db_url)" <<'SQL'
SET client_min_messages = warning;
-- Issued invoices never change: only a session with triggers off (the
-- benchmark's own reset) may remove them.
SET session_replication_role = replica;
TRUNCATE invoices, invoice_lines, invoiced_orders, invoice_follow_up, invoice_payments,
         invoice_counters;
DELETE FROM domain_events WHERE event_type LIKE 'invoice.%';
SET session_replication_role = origin;
ALTER SEQUENCE bench_pair_seq RESTART;
VACUUM ANALYZE;
SQL
}
: >target/bench-invoices-service; : >target/bench-invoices-pg
for run in $(seq "$RUNS"); do
  reset
  q "SELECT supplier_id || ' ' || buyer_id FROM bench_pairs ORDER BY n" |
    python3 bench/invoices_issue.py "$URL" "$token" "$from" "$to" 2 >target/bench-invoices-run
  read -r issued seconds invoiced_lines <target/bench-invoices-run
  [ "$issued" -eq "$pairs" ] || { echo "bench: $issued statements, not $pairs" >&2; exit 1; }
  echo "$(echo "scale=2; $issued / $seconds" | bc) $seconds $invoiced_lines" >>target/bench-invoices-service
  reset
  pgbench -n -M extended -c 2 -j 2 -t $(( (pairs + 1) / 2 )) -D from="$from" -D to="$to" \
    -D admin="$admin" -f bench/invoices.sql "$(db_url)" 2>&1 | awk '/^tps/ {print $3; exit}' \
    >>target/bench-invoices-pg
  floor_lines=$(q "SELECT count(*) FROM invoice_lines")
  [ "$floor_lines" -eq "$invoiced_lines" ] ||
    { echo "bench: pgbench wrote $floor_lines lines, the service $invoiced_lines" >&2; exit 1; }
done
read -r service_rate service_seconds invoiced_lines <<<"$(median_line target/bench-invoices-service)"
pg_tps=$(median <target/bench-invoices-pg)
ratio=$(echo "scale=3; $service_rate / $pg_tps" | bc | xargs printf "%.2f")

# Rendering: an invoice of exactly 50 lines, for orders of a pair delivered
# before that month (so none is invoiced yet).
read -r supplier orders <<<"$(q "
  WITH per_order AS (
    SELECT o.supplier_id, o.buyer_id, o.id,
           sum(count(*)) OVER (PARTITION BY o.supplier_id, o.buyer_id ORDER BY o.delivery_date, o.id) AS upto
      FROM orders o JOIN order_lines l ON l.order_id = o.id
     WHERE o.status IN ('received', 'disputed') AND o.delivery_date < '$from'
       AND coalesce(l.quantity_delivered, l.quantity_ordered) > 0
     GROUP BY o.supplier_id, o.buyer_id, o.id, o.delivery_date),
  hit AS (SELECT supplier_id, buyer_id FROM per_order WHERE upto = 50
           ORDER BY supplier_id, buyer_id LIMIT 1)
  SELECT p.supplier_id, json_agg(p.id)
    FROM per_order p JOIN hit USING (supplier_id, buyer_id) WHERE p.upto <= 50 GROUP BY 1" | tr '|' ' ')"
read -r invoice invoice_lines <<<"$(curl -sf -X POST "$URL/api/v1/organisations/$supplier/invoices" \
  -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "{\"orders\": $orders}" |
  python3 -c 'import json,sys; i = json.load(sys.stdin); print(i["id"], len(i["lines"]))')"
[ "$invoice_lines" -eq 50 ] || { echo "bench: the invoice to render has $invoice_lines lines, not 50" >&2; exit 1; }
wrk_rate() {
  wrk -t2 -c2 -d"${DURATION}s" -H "Authorization: Bearer $token" "$URL$1" | awk '/^Requests\/sec/ {print $2}'
}
xml_rate=$(wrk_rate "/api/v1/invoices/$invoice/cii.xml")
json_rate=$(wrk_rate "/api/v1/invoices/$invoice")
render_ratio=$(echo "scale=3; $xml_rate / $json_rate" | bc | xargs printf "%.2f")
stop

write_section invoices <<MD
## Invoices: a month of statements over 1000000 delivered lines, and CII XML

Median of $RUNS alternating runs, measured by \`bash bench/invoices.sh\` on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD).
Machine: $(machine).
Data: \`sesame seed --lines $LINES --seed 7\` (shared with the EGalim benchmark); every farm and
distributor has an invoicing profile and a billing mandate (\`bench/invoices_seed.sql\`).
The month with the most received lines ($from to $to) holds $pairs (supplier, canteen) pairs with received orders: one
statement each, $invoiced_lines invoice lines in all, issued by the platform under the
mandates through \`POST /api/v1/organisations/{id}/invoices\` with 2 clients
(\`bench/invoices_issue.py\`). Floor: \`bench/invoices.sql\`, the rows one statement writes
(counter, invoice, lines, claimed orders, follow-up, feed events) under
\`pgbench -M extended -c 2\`, as many transactions as statements.

| | statements/s | seconds for the month |
|---|---|---|
| service (HTTP, 2 clients) | $service_rate | $service_seconds |
| same rows (pgbench, 2 clients) | $pg_tps | — |
| ratio (target ≥ 0.5) | $ratio | |

Rendering one invoice of $invoice_lines lines (wrk, 2 connections, ${DURATION} s): \`GET
/api/v1/invoices/{id}/cii.xml\` $xml_rate/s, against the same document as JSON
(\`GET /api/v1/invoices/{id}\`) $json_rate/s: ratio $render_ratio.
MD
echo "invoices: statements ratio $ratio ($service_rate/s vs $pg_tps tps, $pairs statements); CII XML of $invoice_lines lines $xml_rate/s (JSON $json_rate/s)"
