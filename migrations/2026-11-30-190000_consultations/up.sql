-- Consultations: a public buyer (a verified canteen, or an authority for a
-- group of canteens) calls for sealed answers lot by lot, scores them, and
-- awards each lot; an awarded lot becomes a contract. The rules are in
-- docs/consultations.md.
CREATE TABLE consultations (
    id              uuid PRIMARY KEY,
    buyer_id        uuid NOT NULL REFERENCES organisations (id),
    title           text NOT NULL,
    description     text NOT NULL DEFAULT '',
    procedure       text NOT NULL CHECK (procedure IN ('gre_a_gre', 'mapa', 'accord_cadre')),
    -- Months the contracts run; required (at most 4 years) for a framework agreement.
    duration_months integer CHECK (duration_months BETWEEN 1 AND 48),
    answers_due_at  timestamptz NOT NULL,
    status          text NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft', 'published', 'closed', 'awarded',
                                      'partly_awarded', 'unsuccessful', 'cancelled')),
    cancel_reason   text,
    created_by      uuid NOT NULL REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz,
    closed_at       timestamptz,
    decided_at      timestamptz,
    cancelled_at    timestamptz,
    CHECK (procedure <> 'accord_cadre' OR duration_months IS NOT NULL),
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL AND cancel_reason IS NOT NULL))
);
CREATE INDEX consultations_buyer_idx ON consultations (buyer_id, created_at DESC);
-- The suppliers' list of open consultations reads only these.
CREATE INDEX consultations_published_idx ON consultations (answers_due_at) WHERE status = 'published';

-- Award criteria, the same for every lot; weights sum to 100 (checked by the service).
CREATE TABLE consultation_criteria (
    consultation_id uuid NOT NULL REFERENCES consultations (id) ON DELETE CASCADE,
    position        smallint NOT NULL CHECK (position >= 1),
    kind            text NOT NULL
                    CHECK (kind IN ('price', 'environmental', 'direct_supply', 'quality',
                                    'freshness', 'other')),
    description     text NOT NULL,
    weight          smallint NOT NULL CHECK (weight BETWEEN 1 AND 100),
    PRIMARY KEY (consultation_id, position)
);

CREATE TABLE consultation_lots (
    id                       uuid PRIMARY KEY,
    consultation_id          uuid NOT NULL REFERENCES consultations (id) ON DELETE CASCADE,
    number                   smallint NOT NULL CHECK (number >= 1),
    description              text NOT NULL,
    family                   text NOT NULL CHECK (family IN ('VIANDES_VOLAILLES', 'CHARCUTERIE',
                                 'PRODUITS_DE_LA_MER', 'FRUITS_ET_LEGUMES', 'PRODUITS_LAITIERS',
                                 'BOULANGERIE', 'BOISSONS', 'AUTRES')),
    labels                   text[] NOT NULL DEFAULT '{}',
    unit                     text NOT NULL CHECK (unit IN ('KGM', 'GRM', 'LTR', 'H87', 'XCR', 'XBX', 'XBG', 'XPK')),
    -- A firm quantity, or (framework agreements) an estimated range and a maximum amount.
    quantity                 numeric(14, 3) CHECK (quantity > 0),
    quantity_min             numeric(14, 3) CHECK (quantity_min >= 0),
    quantity_max             numeric(14, 3) CHECK (quantity_max > 0),
    max_amount_ht_cents      bigint CHECK (max_amount_ht_cents > 0),
    estimated_amount_ht_cents bigint NOT NULL CHECK (estimated_amount_ht_cents > 0),
    delivery_dates           date[] NOT NULL DEFAULT '{}',
    delivery_weekdays        smallint[] NOT NULL DEFAULT '{}',
    delivery_from            date,
    delivery_until           date,
    status                   text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'awarded', 'unsuccessful')),
    awarded_answer_id        uuid,
    rationale                text,
    decided_by               uuid REFERENCES users (id),
    decided_at               timestamptz,
    UNIQUE (consultation_id, number),
    CHECK ((quantity IS NULL) = (quantity_max IS NOT NULL)),
    CHECK (quantity_min IS NULL OR quantity_min <= quantity_max),
    CHECK (delivery_until IS NULL OR delivery_from <= delivery_until),
    CHECK ((status = 'awarded') = (awarded_answer_id IS NOT NULL)),
    CHECK ((status = 'open') = (decided_at IS NULL))
);
CREATE INDEX consultation_lots_family_idx ON consultation_lots (family, consultation_id);

-- A decided lot is final: its status, award and rationale never change
-- again (the service decides with a conditional UPDATE; this holds it for
-- every other writer too).
CREATE FUNCTION consultation_lots_final() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'lot % of consultation % is already %', OLD.number, OLD.consultation_id, OLD.status
        USING ERRCODE = 'check_violation', CONSTRAINT = 'consultation_lots_final';
END
$$;

CREATE TRIGGER consultation_lots_final
    BEFORE UPDATE ON consultation_lots
    FOR EACH ROW
    WHEN (OLD.status <> 'open')
    EXECUTE FUNCTION consultation_lots_final();

-- Where a lot is delivered: canteens (several for a group of canteens).
CREATE TABLE consultation_lot_sites (
    lot_id      uuid NOT NULL REFERENCES consultation_lots (id) ON DELETE CASCADE,
    canteen_id  uuid NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (lot_id, canteen_id)
);
CREATE INDEX consultation_lot_sites_canteen_idx ON consultation_lot_sites (canteen_id);

-- Sealed answers: one per supplier and lot, revised in place until the
-- deadline; every revision leaves a receipt.
CREATE TABLE consultation_answers (
    id                     uuid PRIMARY KEY,
    consultation_id        uuid NOT NULL REFERENCES consultations (id),
    lot_id                 uuid NOT NULL REFERENCES consultation_lots (id),
    supplier_id            uuid NOT NULL REFERENCES organisations (id),
    unit_price_cents       bigint NOT NULL CHECK (unit_price_cents >= 0),
    vat_rate               numeric(4, 2) NOT NULL CHECK (vat_rate IN (5.5, 10, 20)),
    labels                 text[] NOT NULL DEFAULT '{}',
    origin                 text NOT NULL CHECK (origin IN ('FRANCE', 'EUROPE')),
    producer_id            uuid REFERENCES organisations (id),
    producer_name          text NOT NULL,
    intermediaries         smallint NOT NULL CHECK (intermediaries BETWEEN 0 AND 9),
    delivery_terms         text NOT NULL DEFAULT '',
    note                   text NOT NULL DEFAULT '',
    revision               integer NOT NULL DEFAULT 1 CHECK (revision >= 1),
    received_at            timestamptz NOT NULL,
    digest                 text NOT NULL,
    submitted_by           uuid NOT NULL REFERENCES users (id),
    UNIQUE (lot_id, supplier_id)
);
CREATE INDEX consultation_answers_consultation_idx ON consultation_answers (consultation_id);
CREATE INDEX consultation_answers_supplier_idx ON consultation_answers (supplier_id);
ALTER TABLE consultation_lots
    ADD FOREIGN KEY (awarded_answer_id) REFERENCES consultation_answers (id);

-- What each revision's receipt said: its SHA-256 and when it was received.
CREATE TABLE consultation_answer_receipts (
    answer_id    uuid NOT NULL REFERENCES consultation_answers (id) ON DELETE CASCADE,
    revision     integer NOT NULL,
    digest       text NOT NULL,
    received_at  timestamptz NOT NULL,
    PRIMARY KEY (answer_id, revision)
);

-- The buyer's marks (0 to 100) on the criteria other than price, each
-- with its written justification.
CREATE TABLE consultation_scores (
    answer_id        uuid NOT NULL REFERENCES consultation_answers (id) ON DELETE CASCADE,
    consultation_id  uuid NOT NULL,
    position         smallint NOT NULL,
    mark             numeric(5, 2) NOT NULL CHECK (mark BETWEEN 0 AND 100),
    justification    text NOT NULL CHECK (length(btrim(justification)) > 0),
    scored_by        uuid NOT NULL REFERENCES users (id),
    scored_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (answer_id, position),
    FOREIGN KEY (consultation_id, position) REFERENCES consultation_criteria (consultation_id, position)
);

-- Contracts: an awarded lot between its buyer (and the canteens it
-- delivers) and the winning supplier, at the awarded price.
CREATE SEQUENCE contracts_number_seq;
CREATE TABLE contracts (
    id                  uuid PRIMARY KEY,
    number              text NOT NULL UNIQUE CHECK (length(number) BETWEEN 1 AND 16),
    consultation_id     uuid NOT NULL REFERENCES consultations (id),
    lot_id              uuid NOT NULL UNIQUE REFERENCES consultation_lots (id),
    answer_id           uuid NOT NULL UNIQUE REFERENCES consultation_answers (id),
    buyer_id            uuid NOT NULL REFERENCES organisations (id),
    supplier_id         uuid NOT NULL REFERENCES organisations (id),
    family              text NOT NULL,
    description         text NOT NULL,
    unit                text NOT NULL,
    unit_price_cents    bigint NOT NULL CHECK (unit_price_cents >= 0),
    vat_rate            numeric(4, 2) NOT NULL,
    quantity            numeric(14, 3),
    max_amount_ht_cents bigint,
    -- The contract's value HT: quantity times price, or the maximum.
    amount_ht_cents     bigint NOT NULL CHECK (amount_ht_cents >= 0),
    valid_from          date NOT NULL,
    valid_until         date NOT NULL,
    status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_from <= valid_until),
    CHECK ((quantity IS NULL) = (max_amount_ht_cents IS NOT NULL))
);
CREATE INDEX contracts_buyer_idx ON contracts (buyer_id);
CREATE INDEX contracts_supplier_idx ON contracts (supplier_id);

CREATE TABLE contract_canteens (
    contract_id  uuid NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,
    canteen_id   uuid NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (contract_id, canteen_id)
);
CREATE INDEX contract_canteens_canteen_idx ON contract_canteens (canteen_id);
