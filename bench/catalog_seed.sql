-- Seeds the catalog benchmark: 2,000 verified farms (40 % organic) in the
-- Essonne and neighbouring départements, 100,000 active offers, and one
-- canteen at Saint-Michel-sur-Orge whose "local" is 50 km. Deterministic
-- (setseed). Run once on a migrated database: bash bench/catalog.sh does.
SELECT setseed(0.42);

CREATE TEMP TABLE bench_communes AS
SELECT row_number() OVER (ORDER BY insee) AS n, insee
  FROM communes WHERE departement_code IN ('91', '45', '77', '78', '28');

CREATE TEMP TABLE bench_farms AS
SELECT i AS n, gen_random_uuid() AS id, 'Ferme ' || i AS name,
       (SELECT insee FROM bench_communes
         WHERE n = 1 + (i * 7919) % (SELECT count(*) FROM bench_communes)) AS commune_insee,
       47.8 + random() * 1.2 AS latitude, 1.3 + random() * 1.8 AS longitude,
       random() < 0.4 AS organic
  FROM generate_series(1, 2000) AS i;

INSERT INTO organisations (id, kind, name, siret, commune_insee, address, latitude, longitude, status, productions)
SELECT id, 'farm', name, lpad((90000000000000 + n)::text, 14, '0'), commune_insee, 'bench',
       latitude, longitude, 'verified', '{FRUITS_ET_LEGUMES}'
  FROM bench_farms;

INSERT INTO farm_certifications (organisation_id, label, certificate_number, certifying_body)
SELECT id, 'BIO', 'FR-BIO-BENCH-' || n, 'bench' FROM bench_farms WHERE organic;

CREATE TEMP TABLE bench_products (n int, name text, folded text, family text) ;
INSERT INTO bench_products VALUES
 (1, 'Carotte', 'carotte', 'FRUITS_ET_LEGUMES'), (2, 'Pomme', 'pomme', 'FRUITS_ET_LEGUMES'),
 (3, 'Poireau', 'poireau', 'FRUITS_ET_LEGUMES'), (4, 'Pomme de terre', 'pomme de terre', 'FRUITS_ET_LEGUMES'),
 (5, 'Courgette', 'courgette', 'FRUITS_ET_LEGUMES'), (6, 'Salade', 'salade', 'FRUITS_ET_LEGUMES'),
 (7, 'Tomate', 'tomate', 'FRUITS_ET_LEGUMES'), (8, 'Oignon', 'oignon', 'FRUITS_ET_LEGUMES'),
 (9, 'Betterave', 'betterave', 'FRUITS_ET_LEGUMES'), (10, 'Poire', 'poire', 'FRUITS_ET_LEGUMES'),
 (11, 'Fraise', 'fraise', 'FRUITS_ET_LEGUMES'), (12, 'Chou', 'chou', 'FRUITS_ET_LEGUMES'),
 (13, 'Yaourt nature', 'yaourt nature', 'PRODUITS_LAITIERS'), (14, 'Lait entier', 'lait entier', 'PRODUITS_LAITIERS'),
 (15, 'Fromage blanc', 'fromage blanc', 'PRODUITS_LAITIERS'), (16, 'Œufs', 'oeufs', 'PRODUITS_LAITIERS'),
 (17, 'Pain de campagne', 'pain de campagne', 'BOULANGERIE'), (18, 'Farine de blé', 'farine de ble', 'AUTRES'),
 (19, 'Lentilles', 'lentilles', 'AUTRES'), (20, 'Miel', 'miel', 'AUTRES'),
 (21, 'Poulet fermier', 'poulet fermier', 'VIANDES_VOLAILLES'), (22, 'Bœuf haché', 'boeuf hache', 'VIANDES_VOLAILLES'),
 (23, 'Jus de pomme', 'jus de pomme', 'BOISSONS'), (24, 'Pâté', 'pate', 'CHARCUTERIE'),
 (25, 'Carottes fanes', 'carottes fanes', 'FRUITS_ET_LEGUMES');

INSERT INTO offers (id, supplier_id, producer_id, producer_name, producer_commune_insee, name, search_text,
                    family, labels, origin, unit, price_cents, vat_rate, stock_available, min_order_quantity,
                    order_step, available_from, available_until, lead_time_days, delivery_weekdays, status, created_at)
SELECT gen_random_uuid(), f.id, f.id, f.name, f.commune_insee, p.name || ' ' || i, p.folded || ' ' || i,
       p.family, CASE WHEN f.organic AND random() < 0.8 THEN '{BIO}'::text[] ELSE '{}'::text[] END,
       'FRANCE', 'KGM', 50 + (random() * 950)::int, 5.5, 1000, 1, 1,
       CASE WHEN random() < 0.5 THEN NULL ELSE current_date - (random() * 100)::int END,
       CASE WHEN random() < 0.5 THEN NULL ELSE current_date + 10 + (random() * 200)::int END,
       (random() * 3)::int, '{1,2,3,4,5}', 'active', now() - (i || ' seconds')::interval
  FROM generate_series(1, 100000) AS i
  JOIN bench_farms f ON f.n = 1 + i % 2000
  JOIN bench_products p ON p.n = 1 + (i * 31) % 25;

INSERT INTO organisations (id, kind, name, siret, commune_insee, address, latitude, longitude, status)
VALUES ('00000000-0000-7000-8000-00000000ca17', 'canteen', 'Cantine bench', '99999999999999', '91570', 'bench',
        48.63, 2.30, 'verified');
INSERT INTO canteen_profiles (organisation_id, sectors, management_type, production_type, economic_model,
                              daily_meal_count, yearly_meal_count, local_definition, local_km)
VALUES ('00000000-0000-7000-8000-00000000ca17', '{education_primaire}', 'direct', 'site', 'public', 300, 42000, 'KM', 50);

ANALYZE;
