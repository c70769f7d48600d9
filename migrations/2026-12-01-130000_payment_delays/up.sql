-- A contract may shorten the supplier's payment terms (never lengthen them
-- beyond the 30 days the law allows for perishable food).
ALTER TABLE contracts ADD COLUMN payment_days smallint CHECK (payment_days BETWEEN 0 AND 30);

-- Finding the invoices paid in a period (authority statistics, open data).
CREATE INDEX invoice_follow_up_paid_idx ON invoice_follow_up (paid_on) WHERE paid_on IS NOT NULL;

-- A release's payment delays: per month and sector of canteens, invoices
-- paid and the median days from issue to payment, under statistical secrecy.
CREATE TABLE opendata_payment_delays (
    release_id       uuid NOT NULL REFERENCES opendata_releases (id) ON DELETE CASCADE,
    seq              integer NOT NULL,
    month            text NOT NULL,
    sector_category  text NOT NULL,
    invoices         integer,
    median_days      numeric(6, 1),
    status           text NOT NULL CHECK (status IN ('published', 'suppressed')),
    PRIMARY KEY (release_id, seq),
    CHECK ((status = 'published') = (invoices IS NOT NULL AND median_days IS NOT NULL))
);
