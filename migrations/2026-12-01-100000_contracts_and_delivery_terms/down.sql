DROP INDEX order_lines_contract_idx;
DELETE FROM order_lines WHERE offer_id IS NULL;
ALTER TABLE order_lines
    DROP CONSTRAINT order_lines_source_check,
    DROP COLUMN contract_line_no,
    DROP COLUMN contract_id,
    ALTER COLUMN offer_id SET NOT NULL;
DROP TABLE contract_lines;
DROP INDEX contracts_active_until_idx;
DELETE FROM contracts WHERE lot_id IS NULL;
UPDATE contracts SET status = 'active';
ALTER TABLE contracts
    DROP CONSTRAINT contracts_max_check,
    DROP CONSTRAINT contracts_amount_check,
    ADD CONSTRAINT contracts_check1 CHECK ((quantity IS NULL) = (max_amount_ht_cents IS NOT NULL)),
    DROP CONSTRAINT contracts_termination_check,
    DROP CONSTRAINT contracts_origin_check,
    DROP CONSTRAINT contracts_status_check,
    ADD CONSTRAINT contracts_status_check CHECK (status IN ('active')),
    ALTER COLUMN status SET DEFAULT 'active',
    DROP COLUMN termination_reason,
    DROP COLUMN ended_at,
    DROP COLUMN accepted_at,
    DROP COLUMN proposed_by,
    DROP COLUMN buyer_reference,
    ALTER COLUMN consultation_id SET NOT NULL,
    ALTER COLUMN lot_id SET NOT NULL,
    ALTER COLUMN answer_id SET NOT NULL;
DROP TABLE delivery_terms;
