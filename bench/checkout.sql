-- pgbench's side of the checkout benchmark: the statements the service runs
-- for one 3-line basket from 3 suppliers (captured with log_statement=all),
-- with the same shapes, bound as parameters. bench/checkout.sh runs it with
-- -M prepared. Ids are computed from numbers as bench/checkout_seed.sql
-- made them; bench_sessions maps a canteen number to its logged-in session.
\set c random(1, 32)
\set o1 random(1, 100)
\set o2 random(101, 200)
\set o3 random(201, 300)
\set q1 random(1, 20)
\set q2 random(1, 20)
\set q3 random(1, 20)
\set k random(1, 281474976710655)
-- the access token's session (AuthUser)
SELECT users.id, users.email, users.is_admin FROM sessions INNER JOIN users ON sessions.user_id = users.id
 WHERE sessions.id = (SELECT id FROM bench_sessions WHERE n = :c) AND sessions.user_id = ('00000000-0000-7003-8000-' || lpad(:c::text, 12, '0'))::uuid
   AND sessions.revoked_at IS NULL AND users.disabled_at IS NULL LIMIT 1;
-- the buyer and the caller's role (accounts::access)
SELECT organisations.kind, organisations.status, memberships.role
  FROM organisations LEFT OUTER JOIN memberships ON memberships.organisation_id = organisations.id
   AND memberships.user_id = ('00000000-0000-7003-8000-' || lpad(:c::text, 12, '0'))::uuid
 WHERE organisations.id = ('00000000-0000-7002-8000-' || lpad(:c::text, 12, '0'))::uuid LIMIT 1;
BEGIN;
SELECT pg_try_advisory_xact_lock(hashtextextended(('00000000-0000-7002-8000-' || lpad(:c::text, 12, '0')) || ' ' || gen_random_uuid()::text, 0)),
       date(timezone('Europe/Paris', CURRENT_TIMESTAMP));
SELECT request_hash, response FROM idempotency_keys
 WHERE buyer_id = ('00000000-0000-7002-8000-' || lpad(:c::text, 12, '0'))::uuid AND key = gen_random_uuid()::text LIMIT 1;
SELECT o.id, o.supplier_id, s.status AS supplier_status, o.producer_id, o.producer_name, o.producer_commune_insee,
       c.name AS producer_commune, o.name, o.family, o.labels, o.origin, o.unit, o.package_net_quantity,
       o.package_net_unit, o.price_cents, o.vat_rate, o.stock_available, o.min_order_quantity, o.order_step,
       o.available_from, o.available_until, o.lead_time_days, o.delivery_weekdays, o.area_communes, o.area_epcis,
       o.area_departements, o.status
  FROM offers o JOIN organisations s ON s.id = o.supplier_id JOIN communes c ON c.insee = o.producer_commune_insee
 WHERE o.id = ANY(ARRAY[('00000000-0000-7001-8000-' || lpad(:o1::text, 12, '0'))::uuid,
                        ('00000000-0000-7001-8000-' || lpad(:o2::text, 12, '0'))::uuid,
                        ('00000000-0000-7001-8000-' || lpad(:o3::text, 12, '0'))::uuid])
 ORDER BY o.id FOR UPDATE OF o;
SELECT organisations.id, organisations.name, organisations.kind, organisations.status, organisations.siret,
       organisations.address, organisations.commune_insee, communes.epci_siren, communes.departement_code,
       canteen_profiles.central_kitchen_siret
  FROM organisations INNER JOIN communes ON organisations.commune_insee = communes.insee
  LEFT OUTER JOIN canteen_profiles ON canteen_profiles.organisation_id = organisations.id
 WHERE organisations.id = ANY(ARRAY['00000000-0000-7000-8000-000000000001'::uuid, '00000000-0000-7000-8000-000000000002',
                                    '00000000-0000-7000-8000-000000000003',
                                    ('00000000-0000-7002-8000-' || lpad(:c::text, 12, '0'))::uuid,
                                    ('00000000-0000-7002-8000-' || lpad(:c::text, 12, '0'))::uuid]);
UPDATE offers SET stock_available = stock_available - :q1 * 0.5, stock_reserved = stock_reserved + :q1 * 0.5
 WHERE id = ('00000000-0000-7001-8000-' || lpad(:o1::text, 12, '0'))::uuid AND status = 'active' AND stock_available >= :q1 * 0.5;
UPDATE offers SET stock_available = stock_available - :q2 * 0.5, stock_reserved = stock_reserved + :q2 * 0.5
 WHERE id = ('00000000-0000-7001-8000-' || lpad(:o2::text, 12, '0'))::uuid AND status = 'active' AND stock_available >= :q2 * 0.5;
UPDATE offers SET stock_available = stock_available - :q3 * 0.5, stock_reserved = stock_reserved + :q3 * 0.5
 WHERE id = ('00000000-0000-7001-8000-' || lpad(:o3::text, 12, '0'))::uuid AND status = 'active' AND stock_available >= :q3 * 0.5;
-- one order per supplier (ids made from :k), its line, its event, the feed, the key
INSERT INTO orders (id, checkout_id, buyer_id, supplier_id, delivery_site_id, delivery_date, note, status,
                    total_ht_cents, total_vat_cents, total_ttc_cents, placed_by, created_at, updated_at)
VALUES (('00000001-0000-7000-8000-' || lpad(to_hex(:k::bigint), 12, '0'))::uuid, ('00000000-0000-7000-8000-' || lpad(to_hex(:k::bigint), 12, '0'))::uuid,
        ('00000000-0000-7002-8000-' || lpad(:c::text, 12, '0'))::uuid, '00000000-0000-7000-8000-000000000001',
        ('00000000-0000-7002-8000-' || lpad(:c::text, 12, '0'))::uuid, current_date + 7, '', 'submitted', 1000, 55, 1055,
        ('00000000-0000-7003-8000-' || lpad(:c::text, 12, '0'))::uuid, now(), now()),
       (('00000002-0000-7000-8000-' || lpad(to_hex(:k::bigint), 12, '0'))::uuid, ('00000000-0000-7000-8000-' || lpad(to_hex(:k::bigint), 12, '0'))::uuid,
        ('00000000-0000-7002-8000-' || lpad(:c::text, 12, '0'))::uuid, '00000000-0000-7000-8000-000000000002',
        ('00000000-0000-7002-8000-' || lpad(:c::text, 12, '0'))::uuid, current_date + 7, '', 'submitted', 1000, 55, 1055,
        ('00000000-0000-7003-8000-' || lpad(:c::text, 12, '0'))::uuid, now(), now()),
       (('00000003-0000-7000-8000-' || lpad(to_hex(:k::bigint), 12, '0'))::uuid, ('00000000-0000-7000-8000-' || lpad(to_hex(:k::bigint), 12, '0'))::uuid,
        ('00000000-0000-7002-8000-' || lpad(:c::text, 12, '0'))::uuid, '00000000-0000-7000-8000-000000000003',
        ('00000000-0000-7002-8000-' || lpad(:c::text, 12, '0'))::uuid, current_date + 7, '', 'submitted', 1000, 55, 1055,
        ('00000000-0000-7003-8000-' || lpad(:c::text, 12, '0'))::uuid, now(), now());
INSERT INTO order_lines (order_id, line_no, offer_id, product_name, family, labels, origin, producer_id, producer_name,
                         producer_commune_insee, producer_commune, unit, unit_price_cents, vat_rate, quantity_ordered,
                         stock_held, total_ht_cents)
VALUES (('00000001-0000-7000-8000-' || lpad(to_hex(:k::bigint), 12, '0'))::uuid, 0, ('00000000-0000-7001-8000-' || lpad(:o1::text, 12, '0'))::uuid,
        'Produit', 'FRUITS_ET_LEGUMES', '{}', 'FRANCE', '00000000-0000-7000-8000-000000000001', 'Ferme du banc 1', '91103',
        'Brétigny-sur-Orge', 'KGM', 500, 5.5, :q1 * 0.5, :q1 * 0.5, 250 * :q1),
       (('00000002-0000-7000-8000-' || lpad(to_hex(:k::bigint), 12, '0'))::uuid, 0, ('00000000-0000-7001-8000-' || lpad(:o2::text, 12, '0'))::uuid,
        'Produit', 'FRUITS_ET_LEGUMES', '{}', 'FRANCE', '00000000-0000-7000-8000-000000000002', 'Ferme du banc 2', '91376',
        'Marolles-en-Hurepoix', 'KGM', 500, 5.5, :q2 * 0.5, :q2 * 0.5, 250 * :q2),
       (('00000003-0000-7000-8000-' || lpad(to_hex(:k::bigint), 12, '0'))::uuid, 0, ('00000000-0000-7001-8000-' || lpad(:o3::text, 12, '0'))::uuid,
        'Produit', 'FRUITS_ET_LEGUMES', '{}', 'FRANCE', '00000000-0000-7000-8000-000000000003', 'Ferme du banc 3', '91021',
        'Arpajon', 'KGM', 500, 5.5, :q3 * 0.5, :q3 * 0.5, 250 * :q3);
INSERT INTO order_events (id, order_id, actor_user_id, actor_organisation_id, to_status, at)
SELECT gen_random_uuid(), ('0000000' || f || '-0000-7000-8000-' || lpad(to_hex(:k::bigint), 12, '0'))::uuid,
       ('00000000-0000-7003-8000-' || lpad(:c::text, 12, '0'))::uuid,
       ('00000000-0000-7002-8000-' || lpad(:c::text, 12, '0'))::uuid, 'submitted', now()
  FROM generate_series(1, 3) AS f;
INSERT INTO domain_events (organisation_id, event_type, subject_id, payload, at)
SELECT CASE WHEN side = 1 THEN ('00000000-0000-7002-8000-' || lpad(:c::text, 12, '0'))::uuid
            ELSE ('00000000-0000-7000-8000-' || lpad(f::text, 12, '0'))::uuid END,
       'order.submitted', ('0000000' || f || '-0000-7000-8000-' || lpad(to_hex(:k::bigint), 12, '0'))::uuid,
       jsonb_build_object('order_id', f, 'status', 'submitted', 'padding', repeat('x', 400)), now()
  FROM generate_series(1, 3) AS f, generate_series(1, 2) AS side;
INSERT INTO idempotency_keys (buyer_id, key, request_hash, response)
VALUES (('00000000-0000-7002-8000-' || lpad(:c::text, 12, '0'))::uuid, 'k' || :k::bigint, sha256(:k::bigint::text::bytea),
        jsonb_build_object('orders', repeat('x', 4500)));
DELETE FROM idempotency_keys WHERE buyer_id = ('00000000-0000-7002-8000-' || lpad(:c::text, 12, '0'))::uuid
   AND created_at < CURRENT_TIMESTAMP - interval '7 days';
COMMIT;
