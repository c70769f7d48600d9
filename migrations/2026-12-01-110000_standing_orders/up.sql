-- Standing orders: a canteen's weekly template, placed as ordinary orders
-- a set number of days ahead, skipping closures and public holidays. The
-- rules are in docs/contracts.md § Standing orders.

-- Days a canteen does not take deliveries: school holidays, kitchen
-- works. Set by the canteen or by the authority of its territory.
CREATE TABLE closures (
    id          uuid PRIMARY KEY,
    canteen_id  uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    starts_on   date NOT NULL,
    ends_on     date NOT NULL,
    reason      text NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
    -- the canteen, or its authority
    set_by      uuid NOT NULL REFERENCES organisations (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (starts_on <= ends_on AND ends_on - starts_on <= 366)
);
CREATE INDEX closures_canteen_idx ON closures (canteen_id, ends_on);

CREATE TABLE standing_orders (
    id               uuid PRIMARY KEY,
    buyer_id         uuid NOT NULL REFERENCES organisations (id),
    delivery_site_id uuid NOT NULL REFERENCES organisations (id),
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    note             text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    starts_on        date NOT NULL,
    ends_on          date,
    -- each delivery is placed this many days before it
    days_ahead       smallint NOT NULL CHECK (days_ahead BETWEEN 1 AND 42),
    status           text NOT NULL CHECK (status IN ('active', 'paused', 'ended')),
    -- the member on whose behalf its orders are placed
    created_by       uuid NOT NULL REFERENCES users (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_on IS NULL OR starts_on <= ends_on)
);
CREATE INDEX standing_orders_buyer_idx ON standing_orders (buyer_id);
CREATE INDEX standing_orders_active_idx ON standing_orders (id) WHERE status = 'active';

CREATE TABLE standing_order_lines (
    standing_order_id uuid NOT NULL REFERENCES standing_orders (id) ON DELETE CASCADE,
    line_no           smallint NOT NULL CHECK (line_no BETWEEN 0 AND 699),
    -- ISO weekday of the delivery, 1 = Monday
    weekday           smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    offer_id          uuid REFERENCES offers (id),
    contract_id       uuid REFERENCES contracts (id),
    contract_line_no  smallint,
    quantity          numeric(14, 3) NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (standing_order_id, line_no),
    CHECK ((contract_id IS NULL) = (contract_line_no IS NULL)
           AND (offer_id IS NOT NULL OR contract_id IS NOT NULL))
);

-- What became of each delivery date: placed once, ever (the key), or
-- skipped, changed before it was placed, failed, or missed.
CREATE TABLE standing_order_occurrences (
    standing_order_id uuid NOT NULL REFERENCES standing_orders (id) ON DELETE CASCADE,
    delivery_date     date NOT NULL,
    status            text NOT NULL
        CHECK (status IN ('changed', 'skipped', 'placed', 'failed', 'missed')),
    -- the day's lines when changed: [{offer_id?, contract_line?, quantity}]
    lines             jsonb,
    checkout_id       uuid,
    -- lines left out or the refusal, as problem documents
    problems          jsonb NOT NULL DEFAULT '[]',
    decided_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (standing_order_id, delivery_date),
    CHECK (status <> 'changed' OR lines IS NOT NULL)
);

-- The time-driven jobs: when each last ran, and its failures.
CREATE TABLE jobs (
    name          text PRIMARY KEY,
    last_run_at   timestamptz,
    last_error    text,
    runs          bigint NOT NULL DEFAULT 0,
    failures      bigint NOT NULL DEFAULT 0
);
