-- Invoices: issued by a supplier (or by the platform under its billing
-- mandate) for received orders, numbered without gaps, never changed once
-- issued; corrected by credit notes; followed until paid. The rules are in
-- docs/invoices.md.

-- What an organisation's invoices need: a seller's VAT number, IBAN and
-- payment days; a public buyer's billing SIRET and what its Chorus Pro
-- record requires.
CREATE TABLE invoicing_profiles (
    organisation_id    uuid PRIMARY KEY REFERENCES organisations (id) ON DELETE CASCADE,
    vat_number         text CHECK (vat_number ~ '^FR[0-9]{2}[0-9]{9}$'),
    iban               text CHECK (iban ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$'),
    -- days from delivery to the due date (at most 30 for perishable food)
    payment_days       smallint NOT NULL DEFAULT 30 CHECK (payment_days BETWEEN 0 AND 30),
    billing_siret      text CHECK (billing_siret ~ '^[0-9]{14}$'),
    service_code       text CHECK (length(service_code) BETWEEN 1 AND 100),
    -- Chorus Pro: none, service_code, engagement_number, both, either
    chorus_requires    text NOT NULL DEFAULT 'none'
        CHECK (chorus_requires IN ('none', 'service_code', 'engagement_number', 'both', 'either')),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- A supplier's written mandate for the platform to issue its invoices in
-- its name (CGI art. 289-I-2): who accepted it, since when, for what.
CREATE TABLE billing_mandates (
    id           uuid PRIMARY KEY,
    supplier_id  uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    scope        text NOT NULL CHECK (scope IN ('invoices', 'invoices_and_credit_notes')),
    starts_on    date NOT NULL,
    accepted_by  uuid NOT NULL REFERENCES users (id),
    accepted_at  timestamptz NOT NULL DEFAULT now(),
    revoked_by   uuid REFERENCES users (id),
    revoked_at   timestamptz,
    CHECK ((revoked_by IS NULL) = (revoked_at IS NULL))
);
CREATE UNIQUE INDEX billing_mandates_in_force_idx ON billing_mandates (supplier_id)
    WHERE revoked_at IS NULL;

-- One row per supplier, series (F invoices, A credit notes) and year: the
-- last number given and its date. Taken by an UPSERT inside the issuing
-- transaction: a rollback gives the number back, and concurrent issuers
-- queue on the row.
CREATE TABLE invoice_counters (
    supplier_id      uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    series           text NOT NULL CHECK (series IN ('F', 'A')),
    year             smallint NOT NULL,
    last_number      integer NOT NULL CHECK (last_number > 0),
    last_issue_date  date NOT NULL,
    PRIMARY KEY (supplier_id, series, year)
);

CREATE TABLE invoices (
    id                 uuid PRIMARY KEY,
    supplier_id        uuid NOT NULL REFERENCES organisations (id),
    buyer_id           uuid NOT NULL REFERENCES organisations (id),
    number             text NOT NULL CHECK (number ~ '^[FA]-[0-9]{4}-[0-9]{6,}$'),
    -- UNTDID 1001: 380 invoice, 381 credit note
    type_code          smallint NOT NULL CHECK (type_code IN (380, 381)),
    corrects           uuid REFERENCES invoices (id),
    issue_date         date NOT NULL,
    -- the last delivery invoiced (BT-72); a statement also has its period
    delivery_date      date NOT NULL,
    period_start       date,
    period_end         date,
    due_date           date,
    -- the parties as they were at issue: an invoice never changes
    seller             jsonb NOT NULL,
    buyer              jsonb NOT NULL,
    ship_to            jsonb,
    service_code       text,
    engagement_number  text,
    contract_number    text,
    public_buyer       boolean NOT NULL,
    late_rate_points   smallint NOT NULL,
    reason             text,
    net_cents          bigint NOT NULL CHECK (net_cents >= 0),
    vat_cents          bigint NOT NULL CHECK (vat_cents >= 0),
    gross_cents        bigint NOT NULL CHECK (gross_cents = net_cents + vat_cents),
    issued_by          uuid NOT NULL REFERENCES users (id),
    mandate_id         uuid REFERENCES billing_mandates (id),
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (supplier_id, number),
    CHECK ((type_code = 381) = (corrects IS NOT NULL)),
    CHECK ((type_code = 380) = (due_date IS NOT NULL)),
    CHECK ((type_code = 381) = (reason IS NOT NULL))
);
CREATE INDEX invoices_supplier_idx ON invoices (supplier_id, issue_date DESC, id DESC);
CREATE INDEX invoices_buyer_idx ON invoices (buyer_id, issue_date DESC, id DESC);
CREATE INDEX invoices_corrects_idx ON invoices (corrects) WHERE corrects IS NOT NULL;

CREATE TABLE invoice_lines (
    invoice_id        uuid NOT NULL REFERENCES invoices (id),
    line_no           smallint NOT NULL CHECK (line_no > 0),
    order_id          uuid NOT NULL REFERENCES orders (id),
    order_line_no     smallint NOT NULL,
    -- a credit note's line: the line of the invoice it corrects
    corrects_line_no  smallint,
    description       text NOT NULL,
    labels            text[] NOT NULL,
    origin            text NOT NULL,
    unit              text NOT NULL,
    quantity          numeric(14, 3) NOT NULL CHECK (quantity > 0),
    unit_price_cents  bigint NOT NULL CHECK (unit_price_cents >= 0),
    vat_rate          numeric(4, 1) NOT NULL,
    net_cents         bigint NOT NULL CHECK (net_cents >= 0),
    PRIMARY KEY (invoice_id, line_no)
);
CREATE INDEX invoice_lines_order_idx ON invoice_lines (order_id);

-- An order is invoiced once: the key refuses a second invoice.
CREATE TABLE invoiced_orders (
    order_id    uuid PRIMARY KEY REFERENCES orders (id),
    invoice_id  uuid NOT NULL REFERENCES invoices (id)
);

-- The database itself refuses to change or remove what was issued.
CREATE FUNCTION refuse_issued_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'an issued invoice never changes: issue a credit note'
        USING ERRCODE = 'S0001', TABLE = TG_TABLE_NAME;
END $$;
CREATE TRIGGER invoices_immutable BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION refuse_issued_change();
CREATE TRIGGER invoices_not_truncated BEFORE TRUNCATE ON invoices
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_issued_change();
CREATE TRIGGER invoice_lines_immutable BEFORE UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION refuse_issued_change();
CREATE TRIGGER invoice_lines_not_truncated BEFORE TRUNCATE ON invoice_lines
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_issued_change();
CREATE TRIGGER invoiced_orders_immutable BEFORE UPDATE OR DELETE ON invoiced_orders
    FOR EACH ROW EXECUTE FUNCTION refuse_issued_change();

-- The ECB's main refinancing rate, from the day it applies. Late interest
-- uses the rate in force on the first day of the half-year in which the
-- invoice fell due, plus 8 points (public buyers) or 10 (others).
CREATE TABLE ecb_rates (
    valid_from  date PRIMARY KEY,
    percent     numeric(5, 2) NOT NULL CHECK (percent BETWEEN -10 AND 100)
);
INSERT INTO ecb_rates (valid_from, percent) VALUES
    ('2024-06-12', 4.25), ('2024-09-18', 3.65), ('2024-10-23', 3.40),
    ('2024-12-18', 3.15), ('2025-02-05', 2.90), ('2025-03-12', 2.65),
    ('2025-04-23', 2.40), ('2025-06-11', 2.15);

-- Payments the supplier records against an invoice.
CREATE TABLE invoice_payments (
    id            uuid PRIMARY KEY,
    invoice_id    uuid NOT NULL REFERENCES invoices (id),
    amount_cents  bigint NOT NULL CHECK (amount_cents > 0),
    paid_on       date NOT NULL,
    recorded_by   uuid NOT NULL REFERENCES users (id),
    recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invoice_payments_invoice_idx ON invoice_payments (invoice_id);

-- Where an invoice's payment stands; the only invoice data that changes.
CREATE TABLE invoice_follow_up (
    invoice_id      uuid PRIMARY KEY REFERENCES invoices (id),
    status          text NOT NULL CHECK (status IN ('issued', 'partly_paid', 'paid')),
    paid_cents      bigint NOT NULL DEFAULT 0 CHECK (paid_cents >= 0),
    credited_cents  bigint NOT NULL DEFAULT 0 CHECK (credited_cents >= 0),
    -- set by the job runner once the due date has passed unpaid
    overdue_since   date,
    paid_on         date,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invoice_follow_up_unpaid_idx ON invoice_follow_up (invoice_id)
    WHERE status <> 'paid' AND overdue_since IS NULL;

-- What credit notes took off each order line, HT: the EGalim figures and
-- the open data count a line's delivered amount less this.
CREATE VIEW credited_order_lines AS
    SELECT l.order_id, l.order_line_no, sum(l.net_cents)::bigint AS credited_ht_cents
      FROM invoice_lines l
      JOIN invoices i ON i.id = l.invoice_id
     WHERE i.type_code = 381
     GROUP BY l.order_id, l.order_line_no;
