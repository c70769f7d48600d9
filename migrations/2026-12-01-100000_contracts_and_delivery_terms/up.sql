-- Delivery terms per supplier, contracts agreed directly with price lines,
-- and order lines bought under a contract. The rules are in
-- docs/contracts.md.

-- When and where a supplier delivers, and from what amount. A supplier
-- without terms delivers on its offers' days, anywhere its offers reach,
-- with no minimum and no cut-off beyond its offers' lead times.
CREATE TABLE delivery_terms (
    supplier_id        uuid PRIMARY KEY REFERENCES organisations (id) ON DELETE CASCADE,
    -- ISO weekdays, 1 = Monday
    delivery_weekdays  smallint[] NOT NULL
        CHECK (cardinality(delivery_weekdays) BETWEEN 1 AND 7
               AND delivery_weekdays <@ '{1,2,3,4,5,6,7}'::smallint[]),
    -- An order for day D closes at cutoff_time (Paris) of D - cutoff_days.
    cutoff_days        smallint NOT NULL CHECK (cutoff_days BETWEEN 0 AND 14),
    cutoff_time        time NOT NULL,
    -- The minimum HT amount of one delivery (franco de port).
    min_order_ht_cents bigint NOT NULL DEFAULT 0 CHECK (min_order_ht_cents BETWEEN 0 AND 100000000),
    -- Where it delivers: none of the three means anywhere.
    zone_communes      text[] NOT NULL DEFAULT '{}',
    zone_epcis         text[] NOT NULL DEFAULT '{}',
    zone_departements  text[] NOT NULL DEFAULT '{}',
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Contracts are awarded lots or agreed directly between a supplier and a
-- buyer (a canteen or an authority for its canteens). A direct contract is
-- proposed by one party and becomes active when the other accepts it.
ALTER TABLE contracts
    ALTER COLUMN consultation_id DROP NOT NULL,
    ALTER COLUMN lot_id DROP NOT NULL,
    ALTER COLUMN answer_id DROP NOT NULL,
    -- the buyer's engagement or purchase-order number, carried to invoices
    ADD COLUMN buyer_reference text CHECK (length(buyer_reference) BETWEEN 1 AND 50),
    ADD COLUMN proposed_by uuid REFERENCES organisations (id),
    ADD COLUMN accepted_at timestamptz,
    ADD COLUMN ended_at timestamptz,
    ADD COLUMN termination_reason text CHECK (length(termination_reason) BETWEEN 1 AND 2000),
    DROP CONSTRAINT contracts_status_check,
    ADD CONSTRAINT contracts_status_check
        CHECK (status IN ('proposed', 'active', 'declined', 'expired', 'terminated')),
    ADD CONSTRAINT contracts_origin_check
        CHECK ((consultation_id IS NULL) = (lot_id IS NULL)
               AND (lot_id IS NULL) = (answer_id IS NULL)
               AND (lot_id IS NOT NULL OR proposed_by IS NOT NULL)),
    ADD CONSTRAINT contracts_termination_check
        CHECK ((status = 'terminated') = (termination_reason IS NOT NULL)),
    -- An awarded lot has a quantity or a maximum; a direct contract may
    -- have a maximum, never a quantity.
    DROP CONSTRAINT contracts_check1,
    ADD CONSTRAINT contracts_amount_check
        CHECK (CASE WHEN lot_id IS NOT NULL
                    THEN (quantity IS NULL) = (max_amount_ht_cents IS NOT NULL)
                    ELSE quantity IS NULL END),
    ADD CONSTRAINT contracts_max_check CHECK (max_amount_ht_cents > 0);
ALTER TABLE contracts ALTER COLUMN status DROP DEFAULT;
CREATE INDEX contracts_active_until_idx ON contracts (valid_until) WHERE status = 'active';

-- What a contract sells, at what price. An awarded lot has one line (the
-- lot at the awarded price); a direct contract up to 100.
CREATE TABLE contract_lines (
    contract_id            uuid NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,
    line_no                smallint NOT NULL CHECK (line_no BETWEEN 0 AND 99),
    -- The supplier's offer it prices, or none for a described product.
    offer_id               uuid REFERENCES offers (id),
    description            text NOT NULL CHECK (length(description) BETWEEN 1 AND 300),
    family                 text NOT NULL,
    labels                 text[] NOT NULL DEFAULT '{}',
    origin                 text NOT NULL,
    producer_id            uuid REFERENCES organisations (id),
    producer_name          text NOT NULL,
    producer_commune_insee text NOT NULL REFERENCES communes (insee),
    unit                   text NOT NULL,
    unit_price_cents       bigint NOT NULL CHECK (unit_price_cents BETWEEN 0 AND 100000000),
    vat_rate               numeric(3, 1) NOT NULL,
    -- Volume tiers: from tier_min_quantities[i] up, tier_prices_cents[i].
    tier_min_quantities    numeric(14, 3)[] NOT NULL DEFAULT '{}',
    tier_prices_cents      bigint[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (contract_id, line_no),
    CHECK (cardinality(tier_min_quantities) = cardinality(tier_prices_cents)),
    CHECK (cardinality(tier_min_quantities) <= 10)
);
CREATE INDEX contract_lines_offer_idx ON contract_lines (offer_id) WHERE offer_id IS NOT NULL;

-- The line of each awarded contract: the lot at the awarded price.
INSERT INTO contract_lines (contract_id, line_no, description, family, labels, origin,
                            producer_id, producer_name, producer_commune_insee, unit,
                            unit_price_cents, vat_rate)
SELECT k.id, 0, k.description, k.family, a.labels, a.origin, a.producer_id, a.producer_name,
       coalesce(p.commune_insee, s.commune_insee), k.unit, k.unit_price_cents, a.vat_rate
  FROM contracts k
  JOIN consultation_answers a ON a.id = k.answer_id
  JOIN organisations s ON s.id = k.supplier_id
  LEFT JOIN organisations p ON p.id = a.producer_id;

-- An order line bought under a contract: the contract's line and price.
-- Lines of described products have no offer.
ALTER TABLE order_lines
    ALTER COLUMN offer_id DROP NOT NULL,
    ADD COLUMN contract_id uuid REFERENCES contracts (id),
    ADD COLUMN contract_line_no smallint,
    ADD CONSTRAINT order_lines_source_check
        CHECK ((contract_id IS NULL) = (contract_line_no IS NULL)
               AND (offer_id IS NOT NULL OR contract_id IS NOT NULL));
CREATE INDEX order_lines_contract_idx ON order_lines (contract_id) WHERE contract_id IS NOT NULL;
