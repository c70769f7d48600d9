-- The rows one statement writes (invoices::service::issue), for the next
-- pair of bench_pairs: the supplier's counter, the invoice with its
-- parties and totals, its lines (the pair's received lines of the month),
-- the orders it claims, its follow-up and the two feed events. pgbench -M
-- extended, -D from=… -D to=… -D admin=…; bash bench/invoices.sh runs it.
SELECT nextval('bench_pair_seq') AS p \gset
SELECT supplier_id AS s, buyer_id AS b, gen_random_uuid() AS inv FROM bench_pairs WHERE n = :p \gset
BEGIN;
INSERT INTO invoice_counters AS c (supplier_id, series, year, last_number, last_issue_date)
VALUES (:s::uuid, 'F', extract(year FROM current_date)::int2, 1, current_date)
ON CONFLICT (supplier_id, series, year) DO UPDATE
   SET last_number = c.last_number + 1,
       last_issue_date = GREATEST(c.last_issue_date, EXCLUDED.last_issue_date)
RETURNING last_number AS num;
WITH lines AS (
  SELECT l.vat_rate, l.total_ht_cents FROM orders o JOIN order_lines l ON l.order_id = o.id
   WHERE o.supplier_id = :s::uuid AND o.buyer_id = :b::uuid AND o.status IN ('received', 'disputed')
     AND o.delivery_date BETWEEN :from::date AND :to::date
     AND coalesce(l.quantity_delivered, l.quantity_ordered) > 0),
rates AS (SELECT sum(total_ht_cents) AS base, round(sum(total_ht_cents) * vat_rate / 100)::int8 AS vat
            FROM lines GROUP BY vat_rate)
INSERT INTO invoices (id, supplier_id, buyer_id, number, type_code, issue_date, delivery_date,
                      period_start, period_end, due_date, seller, buyer, public_buyer,
                      late_rate_points, net_cents, vat_cents, gross_cents, issued_by, mandate_id)
SELECT :inv::uuid, :s::uuid, :b::uuid,
       'F-' || extract(year FROM current_date) || '-' || lpad(c.last_number::text, 6, '0'), 380,
       current_date, :to::date, :from::date, :to::date, current_date + 30,
       jsonb_build_object('name', s.name, 'siret', s.siret, 'siren', s.siren, 'vat_number', p.vat_number,
                          'iban', p.iban, 'address', jsonb_build_object('line', s.address, 'city', sc.name,
                          'postcode', NULL, 'country', 'FR')),
       jsonb_build_object('name', b.name, 'siret', b.siret, 'siren', b.siren, 'vat_number', NULL,
                          'iban', NULL, 'address', jsonb_build_object('line', b.address, 'city', bc.name,
                          'postcode', NULL, 'country', 'FR')),
       true, 8, t.net, t.vat, t.net + t.vat, :admin::uuid,
       (SELECT id FROM billing_mandates WHERE supplier_id = :s::uuid AND revoked_at IS NULL)
  FROM invoice_counters c, organisations s JOIN communes sc ON sc.insee = s.commune_insee,
       organisations b JOIN communes bc ON bc.insee = b.commune_insee,
       invoicing_profiles p,
       (SELECT sum(base)::int8 AS net, sum(vat)::int8 AS vat FROM rates) t
 WHERE c.supplier_id = :s::uuid AND c.series = 'F' AND c.year = extract(year FROM current_date)
   AND s.id = :s::uuid AND b.id = :b::uuid AND p.organisation_id = :s::uuid;
INSERT INTO invoice_lines (invoice_id, line_no, order_id, order_line_no, description, labels,
                           origin, unit, quantity, unit_price_cents, vat_rate, net_cents)
SELECT :inv::uuid, row_number() OVER (ORDER BY l.order_id, l.line_no), l.order_id, l.line_no,
       l.product_name, l.labels, l.origin, l.unit, coalesce(l.quantity_delivered, l.quantity_ordered),
       l.unit_price_cents, l.vat_rate, l.total_ht_cents
  FROM orders o JOIN order_lines l ON l.order_id = o.id
 WHERE o.supplier_id = :s::uuid AND o.buyer_id = :b::uuid AND o.status IN ('received', 'disputed')
   AND o.delivery_date BETWEEN :from::date AND :to::date
   AND coalesce(l.quantity_delivered, l.quantity_ordered) > 0;
INSERT INTO invoiced_orders (order_id, invoice_id)
SELECT o.id, :inv::uuid FROM orders o
 WHERE o.supplier_id = :s::uuid AND o.buyer_id = :b::uuid AND o.status IN ('received', 'disputed')
   AND o.delivery_date BETWEEN :from::date AND :to::date;
INSERT INTO invoice_follow_up (invoice_id, status) VALUES (:inv::uuid, 'issued');
INSERT INTO domain_events (organisation_id, event_type, subject_id, payload)
SELECT x, 'invoice.issued', :inv::uuid, jsonb_build_object('invoice_id', :inv::uuid, 'type_code', 380)
  FROM unnest(ARRAY[:s::uuid, :b::uuid]) x;
END;
