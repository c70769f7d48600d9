-- Seeds the consultations benchmark: 100 verified canteens in the 91 and
-- 20,000 consultations of one to three lots each (a quarter published with a
-- deadline ahead, the rest closed, awarded, cancelled or drafts), and the
-- supplier whose open consultations are listed: a verified farm growing
-- fruit and vegetables, with an offer delivering the 91, whose owner's
-- password hash is copied from :'template' (a user made by `sesame admin
-- create-user`). Ids are made from numbers. bash bench/consultations.sh runs it.

INSERT INTO organisations (id, kind, name, siret, commune_insee, address, status, productions)
VALUES ('00000000-0000-7100-8000-000000000001', 'farm', 'Ferme du banc des consultations',
        '91000000000101', '91103', 'bench', 'verified', '{FRUITS_ET_LEGUMES}');

INSERT INTO offers (id, supplier_id, producer_id, producer_name, producer_commune_insee, name,
                    search_text, family, origin, unit, price_cents, vat_rate, stock_available,
                    min_order_quantity, order_step, lead_time_days, delivery_weekdays,
                    area_departements)
VALUES ('00000000-0000-7101-8000-000000000001', '00000000-0000-7100-8000-000000000001',
        '00000000-0000-7100-8000-000000000001', 'Ferme du banc des consultations', '91103',
        'Carottes', 'carottes', 'FRUITS_ET_LEGUMES', 'FRANCE', 'KGM', 180, 5.5, 100000,
        1, 1, 2, '{1,2,3,4,5}', '{91}');

INSERT INTO users (id, email, display_name, password_hash)
VALUES ('00000000-0000-7103-8000-000000000001', 'bench-supplier@sesame.test', 'Bench supplier',
        (SELECT password_hash FROM users WHERE email = :'template'));

INSERT INTO memberships (organisation_id, user_id, role)
VALUES ('00000000-0000-7100-8000-000000000001', '00000000-0000-7103-8000-000000000001', 'owner');

INSERT INTO organisations (id, kind, name, siret, commune_insee, address, status)
SELECT ('00000000-0000-7102-8000-' || lpad(c::text, 12, '0'))::uuid, 'canteen',
       'Cantine des consultations ' || c, lpad((93000000000000 + c)::text, 14, '0'),
       (ARRAY['91570', '91103', '91376', '91021', '91201'])[1 + c % 5], 'bench', 'verified'
  FROM generate_series(1, 100) AS c;

INSERT INTO consultations (id, buyer_id, title, procedure, duration_months, answers_due_at, status, created_by,
                           created_at, published_at, closed_at, decided_at, cancelled_at,
                           cancel_reason)
SELECT ('00000000-0000-7104-8000-' || lpad(n::text, 12, '0'))::uuid,
       ('00000000-0000-7102-8000-' || lpad((1 + n % 100)::text, 12, '0'))::uuid,
       'Consultation ' || n, (ARRAY['mapa', 'gre_a_gre', 'mapa', 'accord_cadre'])[1 + n % 4],
       CASE WHEN n % 4 = 3 THEN 12 END,
       CASE WHEN n % 4 = 0 THEN now() + (1 + n % 40) * interval '1 day'
            ELSE now() - (1 + n % 300) * interval '1 day' END,
       CASE n % 4 WHEN 0 THEN 'published'
                  WHEN 1 THEN (ARRAY['awarded', 'closed', 'unsuccessful', 'partly_awarded'])[1 + n % 7 % 4]
                  WHEN 2 THEN 'cancelled' ELSE 'draft' END,
       '00000000-0000-7103-8000-000000000001',
       now() - interval '400 days', now() - interval '399 days', NULL, NULL,
       CASE WHEN n % 4 = 2 THEN now() - interval '1 day' END,
       CASE WHEN n % 4 = 2 THEN 'bench' END
  FROM generate_series(1, 20000) AS n;

INSERT INTO consultation_criteria (consultation_id, position, kind, description, weight)
SELECT c.id, p.position, p.kind, p.kind, p.weight
  FROM consultations c,
       (VALUES (1, 'price', 60), (2, 'environmental', 40)) AS p(position, kind, weight);

INSERT INTO consultation_lots (id, consultation_id, number, description, family, unit, quantity,
                               quantity_min, quantity_max, max_amount_ht_cents,
                               estimated_amount_ht_cents, delivery_weekdays, delivery_from,
                               delivery_until)
SELECT ('00000000-0000-7105-' || lpad(l::text, 4, '0') || '-' || lpad(n::text, 12, '0'))::uuid,
       ('00000000-0000-7104-8000-' || lpad(n::text, 12, '0'))::uuid, l, 'Lot ' || l,
       (ARRAY['FRUITS_ET_LEGUMES', 'PRODUITS_LAITIERS', 'VIANDES_VOLAILLES', 'BOULANGERIE',
              'PRODUITS_DE_LA_MER'])[1 + (n * 7 + l) % 5],
       'KGM',
       CASE WHEN n % 4 = 3 THEN NULL ELSE 500 END,
       CASE WHEN n % 4 = 3 THEN 1000 END, CASE WHEN n % 4 = 3 THEN 5000 END,
       CASE WHEN n % 4 = 3 THEN 1000000 END, 100000, '{2,4}', current_date, current_date + 90
  FROM generate_series(1, 20000) AS n, generate_series(1, 3) AS l
 WHERE l <= 1 + n % 3;

INSERT INTO consultation_lot_sites (lot_id, canteen_id)
SELECT l.id, c.buyer_id FROM consultation_lots l JOIN consultations c ON c.id = l.consultation_id;

VACUUM ANALYZE consultations;
VACUUM ANALYZE consultation_lots;
VACUUM ANALYZE consultation_lot_sites;

-- The evaluation: one closed consultation of 5 lots, 100 farms answering
-- every lot (500 answers), each marked on the environmental criterion, read
-- by the buying canteen's owner (password hash from :'template').
INSERT INTO users (id, email, display_name, password_hash)
VALUES ('00000000-0000-7103-8000-000000000002', 'bench-buyer@sesame.test', 'Bench buyer',
        (SELECT password_hash FROM users WHERE email = :'template'));
INSERT INTO memberships (organisation_id, user_id, role)
VALUES ('00000000-0000-7102-8000-000000000001', '00000000-0000-7103-8000-000000000002', 'owner');

INSERT INTO organisations (id, kind, name, siret, commune_insee, address, status, productions)
SELECT ('00000000-0000-7106-8000-' || lpad(f::text, 12, '0'))::uuid, 'farm', 'Ferme évaluée ' || f,
       lpad((94000000000000 + f)::text, 14, '0'), '91103', 'bench', 'verified', '{FRUITS_ET_LEGUMES}'
  FROM generate_series(1, 100) AS f;

INSERT INTO consultations (id, buyer_id, title, procedure, answers_due_at, status, created_by,
                           created_at, published_at, closed_at)
VALUES ('00000000-0000-7107-8000-000000000001', '00000000-0000-7102-8000-000000000001',
        'Évaluation de 500 réponses', 'mapa', now() - interval '1 day', 'closed',
        '00000000-0000-7103-8000-000000000002', now() - interval '30 days',
        now() - interval '29 days', now() - interval '1 day');
INSERT INTO consultation_criteria (consultation_id, position, kind, description, weight)
VALUES ('00000000-0000-7107-8000-000000000001', 1, 'price', 'Prix', 50),
       ('00000000-0000-7107-8000-000000000001', 2, 'environmental', 'Emballages', 30),
       ('00000000-0000-7107-8000-000000000001', 3, 'direct_supply', 'Vente directe', 20);
INSERT INTO consultation_lots (id, consultation_id, number, description, family, unit, quantity,
                               estimated_amount_ht_cents, delivery_weekdays, delivery_from,
                               delivery_until)
SELECT ('00000000-0000-7108-8000-' || lpad(l::text, 12, '0'))::uuid,
       '00000000-0000-7107-8000-000000000001', l, 'Lot ' || l, 'FRUITS_ET_LEGUMES', 'KGM', 500,
       100000, '{2,4}', current_date, current_date + 90
  FROM generate_series(1, 5) AS l;
INSERT INTO consultation_lot_sites (lot_id, canteen_id)
SELECT ('00000000-0000-7108-8000-' || lpad(l::text, 12, '0'))::uuid,
       '00000000-0000-7102-8000-000000000001'
  FROM generate_series(1, 5) AS l;
INSERT INTO consultation_answers (id, consultation_id, lot_id, supplier_id, unit_price_cents,
                                  vat_rate, origin, producer_id, producer_name, intermediaries,
                                  received_at, digest, submitted_by)
SELECT ('00000000-0000-7109-' || lpad(l::text, 4, '0') || '-' || lpad(f::text, 12, '0'))::uuid,
       '00000000-0000-7107-8000-000000000001',
       ('00000000-0000-7108-8000-' || lpad(l::text, 12, '0'))::uuid,
       ('00000000-0000-7106-8000-' || lpad(f::text, 12, '0'))::uuid,
       150 + (f * 37 + l * 11) % 100, 5.5, 'FRANCE',
       ('00000000-0000-7106-8000-' || lpad(f::text, 12, '0'))::uuid, 'Ferme évaluée ' || f, 0,
       now() - interval '2 days' + f * interval '1 second', repeat('0', 64),
       '00000000-0000-7103-8000-000000000001'
  FROM generate_series(1, 5) AS l, generate_series(1, 100) AS f;
INSERT INTO consultation_scores (answer_id, consultation_id, position, mark, justification, scored_by)
SELECT a.id, a.consultation_id, p, (a.unit_price_cents * 7 + p) % 101, 'Justifié',
       '00000000-0000-7103-8000-000000000002'
  FROM consultation_answers a, generate_series(2, 3) AS p
 WHERE a.consultation_id = '00000000-0000-7107-8000-000000000001';
VACUUM ANALYZE consultation_answers;
VACUUM ANALYZE consultation_scores;
