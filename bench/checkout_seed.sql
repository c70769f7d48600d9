-- Seeds the checkout benchmark: 3 verified farms with 100 offers each (a
-- stock no benchmark exhausts), and 32 verified canteens, each with one
-- owner whose password hash is copied from :'template' (a user made by
-- `sesame admin create-user`). Ids are made from numbers so that wrk's
-- script and pgbench's compute the same ones. bash bench/checkout.sh runs it.

INSERT INTO organisations (id, kind, name, siret, commune_insee, address, status, productions)
SELECT ('00000000-0000-7000-8000-' || lpad(f::text, 12, '0'))::uuid, 'farm', 'Ferme du banc ' || f,
       lpad((91000000000000 + f)::text, 14, '0'), (ARRAY['91103', '91376', '91021'])[f], 'bench',
       'verified', '{FRUITS_ET_LEGUMES}'
  FROM generate_series(1, 3) AS f;

INSERT INTO offers (id, supplier_id, producer_id, producer_name, producer_commune_insee, name,
                    search_text, family, origin, unit, price_cents, vat_rate, stock_available,
                    min_order_quantity, order_step, lead_time_days, delivery_weekdays)
SELECT ('00000000-0000-7001-8000-' || lpad(n::text, 12, '0'))::uuid,
       ('00000000-0000-7000-8000-' || lpad((1 + (n - 1) / 100)::text, 12, '0'))::uuid,
       ('00000000-0000-7000-8000-' || lpad((1 + (n - 1) / 100)::text, 12, '0'))::uuid,
       'Ferme du banc ' || (1 + (n - 1) / 100), (ARRAY['91103', '91376', '91021'])[1 + (n - 1) / 100],
       'Produit ' || n, 'produit ' || n, 'FRUITS_ET_LEGUMES', 'FRANCE', 'KGM',
       100 + (n * 37) % 900, CASE WHEN n % 10 = 0 THEN 20 ELSE 5.5 END, 1000000000,
       0.5, 0.5, 0, '{1,2,3,4,5,6,7}'
  FROM generate_series(1, 300) AS n;

INSERT INTO organisations (id, kind, name, siret, commune_insee, address, status)
SELECT ('00000000-0000-7002-8000-' || lpad(c::text, 12, '0'))::uuid, 'canteen', 'Cantine du banc ' || c,
       lpad((92000000000000 + c)::text, 14, '0'), '91570', 'bench', 'verified'
  FROM generate_series(1, 32) AS c;

INSERT INTO canteen_profiles (organisation_id, sectors, management_type, production_type, economic_model,
                              daily_meal_count, yearly_meal_count, local_definition)
SELECT ('00000000-0000-7002-8000-' || lpad(c::text, 12, '0'))::uuid, '{education_primaire}', 'direct',
       'site', 'public', 300, 42000, 'DEPARTEMENT'
  FROM generate_series(1, 32) AS c;

INSERT INTO users (id, email, display_name, password_hash)
SELECT ('00000000-0000-7003-8000-' || lpad(c::text, 12, '0'))::uuid, 'bench-' || c || '@sesame.test',
       'Bench ' || c, (SELECT password_hash FROM users WHERE email = :'template')
  FROM generate_series(1, 32) AS c;

INSERT INTO memberships (organisation_id, user_id, role)
SELECT ('00000000-0000-7002-8000-' || lpad(c::text, 12, '0'))::uuid,
       ('00000000-0000-7003-8000-' || lpad(c::text, 12, '0'))::uuid, 'owner'
  FROM generate_series(1, 32) AS c;
