-- Seeds the standing-orders benchmark: 20 verified farms with 50 offers
-- each (produced on demand, delivered Monday to Friday with a day's notice)
-- and delivery terms (orders close the day before at 12:00), and 1,000
-- verified canteens, each with a standing order of 10 lines on Mondays
-- from five farms, placed 14 days ahead, set up by their member (one
-- user, a member of every canteen). Ids are made from numbers.
-- bash bench/standing.sh runs it.

INSERT INTO organisations (id, kind, name, siret, commune_insee, address, status, productions)
SELECT ('00000000-0000-7200-8000-' || lpad(f::text, 12, '0'))::uuid, 'farm',
       'Ferme du banc ' || f, lpad((92000000000000 + f)::text, 14, '0'), '91103', 'bench',
       'verified', '{FRUITS_ET_LEGUMES}'
  FROM generate_series(1, 20) AS f;

INSERT INTO offers (id, supplier_id, producer_id, producer_name, producer_commune_insee, name,
                    search_text, family, origin, unit, price_cents, vat_rate, stock_available,
                    min_order_quantity, order_step, lead_time_days, delivery_weekdays)
SELECT ('00000000-0000-7201-' || lpad(f::text, 4, '0') || '-' || lpad(o::text, 12, '0'))::uuid,
       ('00000000-0000-7200-8000-' || lpad(f::text, 12, '0'))::uuid,
       ('00000000-0000-7200-8000-' || lpad(f::text, 12, '0'))::uuid,
       'Ferme du banc ' || f, '91103', 'Légume ' || o, 'legume ' || o, 'FRUITS_ET_LEGUMES',
       'FRANCE', 'KGM', 150 + o, 5.5, NULL, 1, 1, 1, '{1,2,3,4,5}'
  FROM generate_series(1, 20) AS f, generate_series(1, 50) AS o;

INSERT INTO delivery_terms (supplier_id, delivery_weekdays, cutoff_days, cutoff_time,
                            min_order_ht_cents)
SELECT id, '{1,2,3,4,5}', 1, '12:00', 3000 FROM organisations WHERE kind = 'farm';

INSERT INTO users (id, email, display_name, password_hash)
VALUES ('00000000-0000-7203-8000-000000000001', 'bench-canteens@sesame.test', 'Bench canteens',
        (SELECT password_hash FROM users WHERE email = :'template'));

INSERT INTO organisations (id, kind, name, siret, commune_insee, address, status)
SELECT ('00000000-0000-7202-8000-' || lpad(c::text, 12, '0'))::uuid, 'canteen',
       'Cantine du banc ' || c, lpad((94000000000000 + c)::text, 14, '0'),
       (ARRAY['91570', '91103', '91376', '91021', '91201'])[1 + c % 5], 'bench', 'verified'
  FROM generate_series(1, 1000) AS c;

INSERT INTO memberships (organisation_id, user_id, role)
SELECT id, '00000000-0000-7203-8000-000000000001', 'owner'
  FROM organisations WHERE kind = 'canteen';

INSERT INTO standing_orders (id, buyer_id, delivery_site_id, name, starts_on, days_ahead,
                             status, created_by, created_at)
SELECT ('00000000-0000-7204-8000-' || lpad(c::text, 12, '0'))::uuid,
       ('00000000-0000-7202-8000-' || lpad(c::text, 12, '0'))::uuid,
       ('00000000-0000-7202-8000-' || lpad(c::text, 12, '0'))::uuid,
       'Semaine du banc', (now() AT TIME ZONE 'Europe/Paris')::date, 14, 'active',
       '00000000-0000-7203-8000-000000000001', now() - interval '1 day'
  FROM generate_series(1, 1000) AS c;

-- Line l of canteen c: farm 1 + (c + l / 2) % 20 (five farms, two lines
-- each), offer 1 + (c * 7 + l) % 50.
INSERT INTO standing_order_lines (standing_order_id, line_no, weekday, offer_id, quantity)
SELECT ('00000000-0000-7204-8000-' || lpad(c::text, 12, '0'))::uuid, l, 1,
       ('00000000-0000-7201-' || lpad((1 + (c + l / 2) % 20)::text, 4, '0') || '-'
        || lpad((1 + (c * 7 + l) % 50)::text, 12, '0'))::uuid,
       10
  FROM generate_series(1, 1000) AS c, generate_series(0, 9) AS l;

VACUUM ANALYZE;
