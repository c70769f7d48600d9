-- Orders: a canteen's basket becomes one order per supplier. Each line keeps
-- a snapshot of what was bought, so later edits of the offer never change it.

CREATE TABLE orders (
    id                  uuid PRIMARY KEY,
    -- the orders made by one checkout share it
    checkout_id         uuid NOT NULL,
    buyer_id            uuid NOT NULL REFERENCES organisations (id),
    supplier_id         uuid NOT NULL REFERENCES organisations (id),
    -- the buyer itself or one of its satellite canteens
    delivery_site_id    uuid NOT NULL REFERENCES organisations (id),
    delivery_date       date NOT NULL,
    note                text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    status              text NOT NULL CHECK (status IN
                            ('submitted', 'accepted', 'rejected', 'cancelled', 'delivered', 'received', 'disputed')),
    -- integer cents: HT = Σ lines, VAT = Σ per rate, TTC = HT + VAT
    total_ht_cents      bigint NOT NULL CHECK (total_ht_cents >= 0),
    total_vat_cents     bigint NOT NULL CHECK (total_vat_cents >= 0),
    total_ttc_cents     bigint NOT NULL CHECK (total_ttc_cents = total_ht_cents + total_vat_cents),
    placed_by           uuid NOT NULL REFERENCES users (id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (buyer_id <> supplier_id)
);
-- ids are UUID v7 (time-ordered): listing by id desc is listing by age
CREATE INDEX orders_buyer_idx ON orders (buyer_id, id DESC);
CREATE INDEX orders_supplier_idx ON orders (supplier_id, id DESC);
CREATE INDEX orders_supplier_delivery_idx ON orders (supplier_id, delivery_date) WHERE status = 'accepted';
CREATE INDEX orders_checkout_idx ON orders (checkout_id);

CREATE TABLE order_lines (
    order_id               uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    -- position in the order, from 0
    line_no                smallint NOT NULL CHECK (line_no >= 0),
    offer_id               uuid NOT NULL REFERENCES offers (id),
    -- snapshot of the offer when it was bought
    product_name           text NOT NULL,
    family                 text NOT NULL,
    labels                 text[] NOT NULL,
    origin                 text NOT NULL,
    producer_id            uuid REFERENCES organisations (id),
    producer_name          text NOT NULL,
    producer_commune_insee text NOT NULL REFERENCES communes (insee),
    producer_commune       text NOT NULL,
    unit                   text NOT NULL,
    package_net_quantity   numeric(14, 3),
    package_net_unit       text,
    unit_price_cents       bigint NOT NULL CHECK (unit_price_cents >= 0),
    vat_rate               numeric(3, 1) NOT NULL,
    quantity_ordered       numeric(14, 3) NOT NULL CHECK (quantity_ordered > 0),
    -- set on delivery; may differ from the ordered quantity (short, real weight)
    quantity_delivered     numeric(14, 3) CHECK (quantity_delivered >= 0),
    -- what the line holds of the offer's stock: 0 for on-demand offers and
    -- once the order is closed (released, or delivered)
    stock_held             numeric(14, 3) NOT NULL CHECK (stock_held >= 0),
    -- on the delivered quantity once delivered, else on the ordered one
    total_ht_cents         bigint NOT NULL CHECK (total_ht_cents >= 0),
    dispute_reason         text CHECK (length(dispute_reason) BETWEEN 1 AND 2000),
    PRIMARY KEY (order_id, line_no)
);
CREATE INDEX order_lines_offer_idx ON order_lines (offer_id);

-- Every change of status: who, when, from what to what, and why.
CREATE TABLE order_events (
    id              uuid PRIMARY KEY,
    order_id        uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    actor_user_id   uuid NOT NULL REFERENCES users (id),
    actor_organisation_id uuid NOT NULL REFERENCES organisations (id),
    from_status     text,
    to_status       text NOT NULL,
    reason          text CHECK (length(reason) BETWEEN 1 AND 2000),
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_events_order_idx ON order_events (order_id, at);

-- A checkout's Idempotency-Key: claimed in the checkout's transaction, so it
-- exists only if the orders do. Kept 7 days (at least the promised 24 h).
CREATE TABLE idempotency_keys (
    buyer_id        uuid NOT NULL REFERENCES organisations (id),
    key             text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    -- SHA-256 of the canonical request: same key, other body → 422
    request_hash    bytea NOT NULL CHECK (length(request_hash) = 32),
    response        jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (buyer_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (buyer_id, created_at);

-- The integration feed (an outbox): one row per event and organisation
-- concerned, written in the transaction of the change it reports. Readers
-- page by (tx, seq) and only see transactions older than every running one,
-- so an event committed late can never fall behind a cursor.
CREATE TABLE domain_events (
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    tx              xid8 NOT NULL DEFAULT pg_current_xact_id(),
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    event_type      text NOT NULL,
    subject_id      uuid NOT NULL,
    payload         jsonb NOT NULL,
    at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seq)
);
CREATE INDEX domain_events_feed_idx ON domain_events (organisation_id, tx, seq);
