-- Prepares bench/invoices.sh on the 1,000,000-line data set: every farm and
-- distributor gets an invoicing profile (the VAT number of its SIREN, an
-- IBAN) and gives the platform a billing mandate (accepted by one of its
-- members); bench_pairs lists, numbered, the (supplier, canteen) pairs with
-- received orders delivered in the month :from .. :to.
INSERT INTO invoicing_profiles (organisation_id, vat_number, iban, payment_days)
SELECT id, 'FR' || lpad(((12 + 3 * (siren::bigint % 97)) % 97)::text, 2, '0') || siren,
       'FR7630006000011234567890189', 30
  FROM organisations WHERE kind IN ('farm', 'distributor')
ON CONFLICT (organisation_id) DO UPDATE SET vat_number = EXCLUDED.vat_number, iban = EXCLUDED.iban;

INSERT INTO billing_mandates (id, supplier_id, scope, starts_on, accepted_by)
SELECT gen_random_uuid(), o.id, 'invoices_and_credit_notes', current_date - 1,
       coalesce((SELECT m.user_id FROM memberships m WHERE m.organisation_id = o.id
                  ORDER BY m.user_id LIMIT 1),
                (SELECT id FROM users WHERE is_admin ORDER BY id LIMIT 1))
  FROM organisations o
 WHERE o.kind IN ('farm', 'distributor')
   AND NOT EXISTS (SELECT 1 FROM billing_mandates b WHERE b.supplier_id = o.id AND b.revoked_at IS NULL);

DROP TABLE IF EXISTS bench_pairs;
CREATE TABLE bench_pairs AS
SELECT row_number() OVER (ORDER BY supplier_id, buyer_id) AS n, supplier_id, buyer_id
  FROM (SELECT DISTINCT supplier_id, buyer_id FROM orders
         WHERE status IN ('received', 'disputed')
           AND delivery_date BETWEEN :'from' AND :'to') p;
CREATE UNIQUE INDEX ON bench_pairs (n);
DROP SEQUENCE IF EXISTS bench_pair_seq;
CREATE SEQUENCE bench_pair_seq;
