DROP TABLE opendata_payment_delays;
DROP INDEX invoice_follow_up_paid_idx;
ALTER TABLE contracts DROP COLUMN payment_days;
