-- What the standing-orders job runs to place one day of one canteen's
-- standing order (standing::service::place_day and the checkout it calls:
-- orders::checkout::place_nested), statement for statement, as logged by
-- PostgreSQL for `sesame run-jobs` on bench/standing_seed.sql: the claim,
-- the member's check, the checkout in a savepoint (key, contract lines,
-- offers locked, parties, delivery terms, the year's purchases, 5 orders,
-- 10 lines, 5 events, 10 feed events, the key stored and old keys pruned),
-- the day settled and told. A random canteen; a random Monday from 2030
-- (so that each transaction claims a new day); ids from a random number.
-- Keep in step with those functions. bash bench/standing.sh runs it.
\set c random(1, 1000)
\set r random(1, 281474976710655)
\set day random(0, 100000)
\set f0 1 + (:c + 0) % 20
\set f1 1 + (:c + 1) % 20
\set f2 1 + (:c + 2) % 20
\set f3 1 + (:c + 3) % 20
\set f4 1 + (:c + 4) % 20
\set o0 1 + (:c * 7 + 0) % 50
\set o1 1 + (:c * 7 + 1) % 50
\set o2 1 + (:c * 7 + 2) % 50
\set o3 1 + (:c * 7 + 3) % 50
\set o4 1 + (:c * 7 + 4) % 50
\set o5 1 + (:c * 7 + 5) % 50
\set o6 1 + (:c * 7 + 6) % 50
\set o7 1 + (:c * 7 + 7) % 50
\set o8 1 + (:c * 7 + 8) % 50
\set o9 1 + (:c * 7 + 9) % 50
BEGIN;
INSERT INTO standing_order_occurrences (standing_order_id, delivery_date, status)
VALUES (('00000000-0000-7204-8000-' || lpad(:c::text, 12, '0'))::uuid, ('2030-01-07'::date + 7 * :day), 'placed')
ON CONFLICT (standing_order_id, delivery_date) DO UPDATE SET status = 'placed', decided_at = now()
 WHERE standing_order_occurrences.status = 'changed' RETURNING lines;
SELECT EXISTS (SELECT memberships.organisation_id, memberships.user_id, memberships.role, memberships.created_at
  FROM memberships WHERE memberships.user_id = '00000000-0000-7203-8000-000000000001'::uuid AND memberships.organisation_id = ANY(ARRAY[('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid]));
SAVEPOINT diesel_savepoint_1;
SET LOCAL lock_timeout = '1s';
SELECT pg_try_advisory_xact_lock(hashtextextended(('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid::text || ' ' || 'standing-' || ('00000000-0000-7204-8000-' || lpad(:c::text, 12, '0'))::uuid::text || '-' || (('2030-01-07'::date + 7 * :day))::text || '-0', 0)),
       date(timezone('Europe/Paris', CURRENT_TIMESTAMP));
SELECT request_hash, response FROM idempotency_keys
 WHERE buyer_id = ('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid AND key = 'standing-' || ('00000000-0000-7204-8000-' || lpad(:c::text, 12, '0'))::uuid::text || '-' || (('2030-01-07'::date + 7 * :day))::text || '-0' LIMIT 1;
SELECT cl.contract_id, cl.line_no, cl.offer_id, cl.description, cl.family, cl.labels, cl.origin,
       cl.producer_id, cl.producer_name, cl.producer_commune_insee, pc.name AS producer_commune, cl.unit,
       cl.unit_price_cents, cl.vat_rate, cl.tier_min_quantities, cl.tier_prices_cents, k.number,
       k.supplier_id,
       CASE WHEN k.status = 'active' AND k.valid_until < (now() AT TIME ZONE 'Europe/Paris')::date
            THEN 'expired' ELSE k.status END AS status,
       k.valid_from, k.valid_until, k.max_amount_ht_cents
  FROM contract_lines cl JOIN contracts k ON k.id = cl.contract_id
  JOIN communes pc ON pc.insee = cl.producer_commune_insee
 WHERE (cl.offer_id = ANY(ARRAY[('00000000-0000-7201-' || lpad(:f0::text, 4, '0') || '-' || lpad(:o0::text, 12, '0'))::uuid, ('00000000-0000-7201-' || lpad(:f0::text, 4, '0') || '-' || lpad(:o1::text, 12, '0'))::uuid, ('00000000-0000-7201-' || lpad(:f1::text, 4, '0') || '-' || lpad(:o2::text, 12, '0'))::uuid, ('00000000-0000-7201-' || lpad(:f1::text, 4, '0') || '-' || lpad(:o3::text, 12, '0'))::uuid, ('00000000-0000-7201-' || lpad(:f2::text, 4, '0') || '-' || lpad(:o4::text, 12, '0'))::uuid, ('00000000-0000-7201-' || lpad(:f2::text, 4, '0') || '-' || lpad(:o5::text, 12, '0'))::uuid, ('00000000-0000-7201-' || lpad(:f3::text, 4, '0') || '-' || lpad(:o6::text, 12, '0'))::uuid, ('00000000-0000-7201-' || lpad(:f3::text, 4, '0') || '-' || lpad(:o7::text, 12, '0'))::uuid, ('00000000-0000-7201-' || lpad(:f4::text, 4, '0') || '-' || lpad(:o8::text, 12, '0'))::uuid, ('00000000-0000-7201-' || lpad(:f4::text, 4, '0') || '-' || lpad(:o9::text, 12, '0'))::uuid])
        OR (cl.contract_id, cl.line_no) IN (SELECT * FROM unnest('{}'::uuid[], '{}'::int2[])))
   AND (k.buyer_id = ('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid
        OR EXISTS (SELECT 1 FROM contract_canteens kc WHERE kc.contract_id = k.id
                      AND kc.canteen_id IN (('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, ('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid)))
 ORDER BY cl.contract_id, cl.line_no;
SELECT o.id, o.supplier_id, s.status AS supplier_status, o.producer_id, o.producer_name,
       o.producer_commune_insee, c.name AS producer_commune, o.name, o.family, o.labels, o.origin,
       o.unit, o.package_net_quantity, o.package_net_unit, o.price_cents, o.vat_rate,
       o.stock_available, o.min_order_quantity, o.order_step, o.available_from, o.available_until,
       o.lead_time_days, o.delivery_weekdays, o.area_communes, o.area_epcis, o.area_departements,
       o.status
  FROM offers o JOIN organisations s ON s.id = o.supplier_id
  JOIN communes c ON c.insee = o.producer_commune_insee
 WHERE o.id = ANY(ARRAY[('00000000-0000-7201-' || lpad(:f0::text, 4, '0') || '-' || lpad(:o0::text, 12, '0'))::uuid, ('00000000-0000-7201-' || lpad(:f0::text, 4, '0') || '-' || lpad(:o1::text, 12, '0'))::uuid, ('00000000-0000-7201-' || lpad(:f1::text, 4, '0') || '-' || lpad(:o2::text, 12, '0'))::uuid, ('00000000-0000-7201-' || lpad(:f1::text, 4, '0') || '-' || lpad(:o3::text, 12, '0'))::uuid, ('00000000-0000-7201-' || lpad(:f2::text, 4, '0') || '-' || lpad(:o4::text, 12, '0'))::uuid, ('00000000-0000-7201-' || lpad(:f2::text, 4, '0') || '-' || lpad(:o5::text, 12, '0'))::uuid, ('00000000-0000-7201-' || lpad(:f3::text, 4, '0') || '-' || lpad(:o6::text, 12, '0'))::uuid, ('00000000-0000-7201-' || lpad(:f3::text, 4, '0') || '-' || lpad(:o7::text, 12, '0'))::uuid, ('00000000-0000-7201-' || lpad(:f4::text, 4, '0') || '-' || lpad(:o8::text, 12, '0'))::uuid, ('00000000-0000-7201-' || lpad(:f4::text, 4, '0') || '-' || lpad(:o9::text, 12, '0'))::uuid]) ORDER BY o.id FOR UPDATE OF o;
SELECT organisations.id, organisations.name, organisations.kind, organisations.status,
       organisations.siret, organisations.address, organisations.commune_insee,
       communes.epci_siren, communes.departement_code, canteen_profiles.central_kitchen_siret
  FROM organisations INNER JOIN communes ON organisations.commune_insee = communes.insee
  LEFT OUTER JOIN canteen_profiles ON canteen_profiles.organisation_id = organisations.id
 WHERE organisations.id = ANY(ARRAY[('00000000-0000-7200-8000-' || lpad(:f0::text, 12, '0'))::uuid, ('00000000-0000-7200-8000-' || lpad(:f1::text, 12, '0'))::uuid, ('00000000-0000-7200-8000-' || lpad(:f2::text, 12, '0'))::uuid, ('00000000-0000-7200-8000-' || lpad(:f3::text, 12, '0'))::uuid, ('00000000-0000-7200-8000-' || lpad(:f4::text, 12, '0'))::uuid, ('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, ('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid]);
SELECT t.supplier_id, t.delivery_weekdays, t.cutoff_days, t.cutoff_time, t.min_order_ht_cents,
       t.zone_communes, t.zone_epcis, t.zone_departements, t.updated_at,
       ((('2030-01-07'::date + 7 * :day) - t.cutoff_days) + t.cutoff_time) AT TIME ZONE 'Europe/Paris' AS cutoff_at,
       statement_timestamp() AS now
  FROM delivery_terms t WHERE t.supplier_id = ANY(ARRAY[('00000000-0000-7200-8000-' || lpad(:f0::text, 12, '0'))::uuid, ('00000000-0000-7200-8000-' || lpad(:f1::text, 12, '0'))::uuid, ('00000000-0000-7200-8000-' || lpad(:f2::text, 12, '0'))::uuid, ('00000000-0000-7200-8000-' || lpad(:f3::text, 12, '0'))::uuid, ('00000000-0000-7200-8000-' || lpad(:f4::text, 12, '0'))::uuid]);
WITH o AS (SELECT ol.family, sum(ol.total_ht_cents)::bigint AS cents
               FROM orders od JOIN order_lines ol ON ol.order_id = od.id
              WHERE od.buyer_id = ('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid AND od.status NOT IN ('rejected', 'cancelled')
                AND extract(year FROM od.delivery_date) = 2026 GROUP BY ol.family),
     k AS (SELECT k.family, sum(k.amount_ht_cents / (SELECT count(*) FROM contract_canteens x
                                                     WHERE x.contract_id = k.id))::bigint AS cents
             FROM contracts k JOIN contract_canteens kc ON kc.contract_id = k.id
            WHERE kc.canteen_id = ('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid AND extract(year FROM k.valid_from) = 2026
            GROUP BY k.family)
SELECT coalesce(o.family, k.family) AS family, coalesce(o.cents, 0) AS orders_ht_cents,
       coalesce(k.cents, 0) AS contracts_ht_cents
  FROM o FULL JOIN k ON k.family = o.family ORDER BY 1;
INSERT INTO orders (id, checkout_id, buyer_id, supplier_id, delivery_site_id, delivery_date, note,
                    status, total_ht_cents, total_vat_cents, total_ttc_cents, placed_by, created_at,
                    updated_at)
VALUES (('00000000-0000-7301-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, ('00000000-0000-7300-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, ('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, ('00000000-0000-7200-8000-' || lpad(:f0::text, 12, '0'))::uuid, ('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, ('2030-01-07'::date + 7 * :day), '', 'submitted', 3170, 174, 3344, '00000000-0000-7203-8000-000000000001'::uuid, now(), now()),
       (('00000000-0000-7302-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, ('00000000-0000-7300-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, ('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, ('00000000-0000-7200-8000-' || lpad(:f1::text, 12, '0'))::uuid, ('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, ('2030-01-07'::date + 7 * :day), '', 'submitted', 3170, 174, 3344, '00000000-0000-7203-8000-000000000001'::uuid, now(), now()),
       (('00000000-0000-7303-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, ('00000000-0000-7300-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, ('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, ('00000000-0000-7200-8000-' || lpad(:f2::text, 12, '0'))::uuid, ('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, ('2030-01-07'::date + 7 * :day), '', 'submitted', 3170, 174, 3344, '00000000-0000-7203-8000-000000000001'::uuid, now(), now()),
       (('00000000-0000-7304-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, ('00000000-0000-7300-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, ('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, ('00000000-0000-7200-8000-' || lpad(:f3::text, 12, '0'))::uuid, ('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, ('2030-01-07'::date + 7 * :day), '', 'submitted', 3170, 174, 3344, '00000000-0000-7203-8000-000000000001'::uuid, now(), now()),
       (('00000000-0000-7305-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, ('00000000-0000-7300-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, ('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, ('00000000-0000-7200-8000-' || lpad(:f4::text, 12, '0'))::uuid, ('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, ('2030-01-07'::date + 7 * :day), '', 'submitted', 3170, 174, 3344, '00000000-0000-7203-8000-000000000001'::uuid, now(), now());
INSERT INTO order_lines (order_id, line_no, offer_id, product_name, family, labels, origin,
                         producer_id, producer_name, producer_commune_insee, producer_commune, unit,
                         unit_price_cents, vat_rate, quantity_ordered, stock_held, total_ht_cents)
VALUES (('00000000-0000-7301-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, 0, ('00000000-0000-7201-' || lpad(:f0::text, 4, '0') || '-' || lpad(:o0::text, 12, '0'))::uuid, 'Légume', 'FRUITS_ET_LEGUMES', '{}', 'FRANCE', ('00000000-0000-7200-8000-' || lpad(:f0::text, 12, '0'))::uuid, 'Ferme du banc', '91103', 'Brétigny-sur-Orge', 'KGM', 158, 5.5, 10, 0, 1580),
       (('00000000-0000-7301-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, 1, ('00000000-0000-7201-' || lpad(:f0::text, 4, '0') || '-' || lpad(:o1::text, 12, '0'))::uuid, 'Légume', 'FRUITS_ET_LEGUMES', '{}', 'FRANCE', ('00000000-0000-7200-8000-' || lpad(:f0::text, 12, '0'))::uuid, 'Ferme du banc', '91103', 'Brétigny-sur-Orge', 'KGM', 158, 5.5, 10, 0, 1580),
       (('00000000-0000-7302-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, 0, ('00000000-0000-7201-' || lpad(:f1::text, 4, '0') || '-' || lpad(:o2::text, 12, '0'))::uuid, 'Légume', 'FRUITS_ET_LEGUMES', '{}', 'FRANCE', ('00000000-0000-7200-8000-' || lpad(:f1::text, 12, '0'))::uuid, 'Ferme du banc', '91103', 'Brétigny-sur-Orge', 'KGM', 158, 5.5, 10, 0, 1580),
       (('00000000-0000-7302-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, 1, ('00000000-0000-7201-' || lpad(:f1::text, 4, '0') || '-' || lpad(:o3::text, 12, '0'))::uuid, 'Légume', 'FRUITS_ET_LEGUMES', '{}', 'FRANCE', ('00000000-0000-7200-8000-' || lpad(:f1::text, 12, '0'))::uuid, 'Ferme du banc', '91103', 'Brétigny-sur-Orge', 'KGM', 158, 5.5, 10, 0, 1580),
       (('00000000-0000-7303-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, 0, ('00000000-0000-7201-' || lpad(:f2::text, 4, '0') || '-' || lpad(:o4::text, 12, '0'))::uuid, 'Légume', 'FRUITS_ET_LEGUMES', '{}', 'FRANCE', ('00000000-0000-7200-8000-' || lpad(:f2::text, 12, '0'))::uuid, 'Ferme du banc', '91103', 'Brétigny-sur-Orge', 'KGM', 158, 5.5, 10, 0, 1580),
       (('00000000-0000-7303-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, 1, ('00000000-0000-7201-' || lpad(:f2::text, 4, '0') || '-' || lpad(:o5::text, 12, '0'))::uuid, 'Légume', 'FRUITS_ET_LEGUMES', '{}', 'FRANCE', ('00000000-0000-7200-8000-' || lpad(:f2::text, 12, '0'))::uuid, 'Ferme du banc', '91103', 'Brétigny-sur-Orge', 'KGM', 158, 5.5, 10, 0, 1580),
       (('00000000-0000-7304-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, 0, ('00000000-0000-7201-' || lpad(:f3::text, 4, '0') || '-' || lpad(:o6::text, 12, '0'))::uuid, 'Légume', 'FRUITS_ET_LEGUMES', '{}', 'FRANCE', ('00000000-0000-7200-8000-' || lpad(:f3::text, 12, '0'))::uuid, 'Ferme du banc', '91103', 'Brétigny-sur-Orge', 'KGM', 158, 5.5, 10, 0, 1580),
       (('00000000-0000-7304-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, 1, ('00000000-0000-7201-' || lpad(:f3::text, 4, '0') || '-' || lpad(:o7::text, 12, '0'))::uuid, 'Légume', 'FRUITS_ET_LEGUMES', '{}', 'FRANCE', ('00000000-0000-7200-8000-' || lpad(:f3::text, 12, '0'))::uuid, 'Ferme du banc', '91103', 'Brétigny-sur-Orge', 'KGM', 158, 5.5, 10, 0, 1580),
       (('00000000-0000-7305-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, 0, ('00000000-0000-7201-' || lpad(:f4::text, 4, '0') || '-' || lpad(:o8::text, 12, '0'))::uuid, 'Légume', 'FRUITS_ET_LEGUMES', '{}', 'FRANCE', ('00000000-0000-7200-8000-' || lpad(:f4::text, 12, '0'))::uuid, 'Ferme du banc', '91103', 'Brétigny-sur-Orge', 'KGM', 158, 5.5, 10, 0, 1580),
       (('00000000-0000-7305-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, 1, ('00000000-0000-7201-' || lpad(:f4::text, 4, '0') || '-' || lpad(:o9::text, 12, '0'))::uuid, 'Légume', 'FRUITS_ET_LEGUMES', '{}', 'FRANCE', ('00000000-0000-7200-8000-' || lpad(:f4::text, 12, '0'))::uuid, 'Ferme du banc', '91103', 'Brétigny-sur-Orge', 'KGM', 158, 5.5, 10, 0, 1580);
INSERT INTO order_events (id, order_id, actor_user_id, actor_organisation_id, to_status, at)
VALUES (('00000000-0000-7311-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, ('00000000-0000-7301-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, '00000000-0000-7203-8000-000000000001'::uuid, ('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, 'submitted', now()),
       (('00000000-0000-7312-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, ('00000000-0000-7302-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, '00000000-0000-7203-8000-000000000001'::uuid, ('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, 'submitted', now()),
       (('00000000-0000-7313-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, ('00000000-0000-7303-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, '00000000-0000-7203-8000-000000000001'::uuid, ('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, 'submitted', now()),
       (('00000000-0000-7314-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, ('00000000-0000-7304-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, '00000000-0000-7203-8000-000000000001'::uuid, ('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, 'submitted', now()),
       (('00000000-0000-7315-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, ('00000000-0000-7305-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, '00000000-0000-7203-8000-000000000001'::uuid, ('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, 'submitted', now());
INSERT INTO domain_events (organisation_id, event_type, subject_id, payload, at)
VALUES (('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, 'order.submitted', ('00000000-0000-7301-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, '{"reason": null, "status": "submitted", "total_ht_cents": 3170, "total_vat_cents": 174, "total_ttc_cents": 3344, "delivery_date": "2030-01-07"}'::jsonb, now()),
       (('00000000-0000-7200-8000-' || lpad(:f0::text, 12, '0'))::uuid, 'order.submitted', ('00000000-0000-7301-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, '{"reason": null, "status": "submitted", "total_ht_cents": 3170, "total_vat_cents": 174, "total_ttc_cents": 3344, "delivery_date": "2030-01-07"}'::jsonb, now()),
       (('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, 'order.submitted', ('00000000-0000-7302-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, '{"reason": null, "status": "submitted", "total_ht_cents": 3170, "total_vat_cents": 174, "total_ttc_cents": 3344, "delivery_date": "2030-01-07"}'::jsonb, now()),
       (('00000000-0000-7200-8000-' || lpad(:f1::text, 12, '0'))::uuid, 'order.submitted', ('00000000-0000-7302-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, '{"reason": null, "status": "submitted", "total_ht_cents": 3170, "total_vat_cents": 174, "total_ttc_cents": 3344, "delivery_date": "2030-01-07"}'::jsonb, now()),
       (('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, 'order.submitted', ('00000000-0000-7303-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, '{"reason": null, "status": "submitted", "total_ht_cents": 3170, "total_vat_cents": 174, "total_ttc_cents": 3344, "delivery_date": "2030-01-07"}'::jsonb, now()),
       (('00000000-0000-7200-8000-' || lpad(:f2::text, 12, '0'))::uuid, 'order.submitted', ('00000000-0000-7303-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, '{"reason": null, "status": "submitted", "total_ht_cents": 3170, "total_vat_cents": 174, "total_ttc_cents": 3344, "delivery_date": "2030-01-07"}'::jsonb, now()),
       (('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, 'order.submitted', ('00000000-0000-7304-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, '{"reason": null, "status": "submitted", "total_ht_cents": 3170, "total_vat_cents": 174, "total_ttc_cents": 3344, "delivery_date": "2030-01-07"}'::jsonb, now()),
       (('00000000-0000-7200-8000-' || lpad(:f3::text, 12, '0'))::uuid, 'order.submitted', ('00000000-0000-7304-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, '{"reason": null, "status": "submitted", "total_ht_cents": 3170, "total_vat_cents": 174, "total_ttc_cents": 3344, "delivery_date": "2030-01-07"}'::jsonb, now()),
       (('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, 'order.submitted', ('00000000-0000-7305-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, '{"reason": null, "status": "submitted", "total_ht_cents": 3170, "total_vat_cents": 174, "total_ttc_cents": 3344, "delivery_date": "2030-01-07"}'::jsonb, now()),
       (('00000000-0000-7200-8000-' || lpad(:f4::text, 12, '0'))::uuid, 'order.submitted', ('00000000-0000-7305-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, '{"reason": null, "status": "submitted", "total_ht_cents": 3170, "total_vat_cents": 174, "total_ttc_cents": 3344, "delivery_date": "2030-01-07"}'::jsonb, now());
INSERT INTO idempotency_keys (buyer_id, key, request_hash, response)
VALUES (('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, 'standing-' || ('00000000-0000-7204-8000-' || lpad(:c::text, 12, '0'))::uuid::text || '-' || (('2030-01-07'::date + 7 * :day))::text || '-0', '\x291c96a4d3751ccf0e34c483b0609cc049e090ad3019be41d673c04999bd3028',
        (SELECT jsonb_build_object('checkout_id', ('00000000-0000-7300-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, 'orders',
                jsonb_agg(jsonb_build_object('id', o.id, 'lines', repeat('x', 2050))))
           FROM (SELECT ('00000000-0000-7301-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid AS id UNION ALL SELECT ('00000000-0000-7302-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid UNION ALL SELECT ('00000000-0000-7303-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid
                 UNION ALL SELECT ('00000000-0000-7304-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid UNION ALL SELECT ('00000000-0000-7305-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid) o));
DELETE FROM idempotency_keys WHERE buyer_id = ('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid AND created_at < now() - interval '7 days';
RELEASE SAVEPOINT diesel_savepoint_1;
UPDATE standing_order_occurrences SET status = 'placed', checkout_id = ('00000000-0000-7300-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid, problems = '[]',
       decided_at = now()
 WHERE standing_order_id = ('00000000-0000-7204-8000-' || lpad(:c::text, 12, '0'))::uuid AND delivery_date = ('2030-01-07'::date + 7 * :day);
INSERT INTO domain_events (organisation_id, event_type, subject_id, payload)
VALUES (('00000000-0000-7202-8000-' || lpad(:c::text, 12, '0'))::uuid, 'standing_order.placed', ('00000000-0000-7204-8000-' || lpad(:c::text, 12, '0'))::uuid,
        jsonb_build_object('problems', '[]'::jsonb, 'checkout_id', ('00000000-0000-7300-8000-' || lpad(to_hex(:r::int8), 12, '0'))::uuid,
                           'delivery_date', ('2030-01-07'::date + 7 * :day), 'standing_order_id', ('00000000-0000-7204-8000-' || lpad(:c::text, 12, '0'))::uuid));
COMMIT;
