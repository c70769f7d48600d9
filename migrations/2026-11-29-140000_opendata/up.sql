-- Open data releases: what an authority published, frozen. A release keeps
-- its rows, so every download gives the same bytes until a new release.

CREATE TABLE opendata_releases (
    id                  uuid PRIMARY KEY,
    epci_siren          text NOT NULL REFERENCES epcis (siren),
    -- 1, 2, … per EPCI, in publishing order
    version             integer NOT NULL CHECK (version >= 1),
    -- whole months; releases of one EPCI never overlap (see src/opendata)
    period_from         date NOT NULL,
    period_to           date NOT NULL,
    created_at          timestamptz NOT NULL,
    published_by        uuid REFERENCES users (id),
    -- the disclosure-control parameters used and what they did
    disclosure          jsonb NOT NULL,
    UNIQUE (epci_siren, version),
    CHECK (period_from <= period_to)
);

-- supply_stats: one row per cell, month, family, label group and the total.
CREATE TABLE opendata_supply_stats (
    release_id          uuid NOT NULL REFERENCES opendata_releases (id) ON DELETE CASCADE,
    seq                 integer NOT NULL,
    level               text NOT NULL,
    month               text,
    family              text,
    label_group         text,
    origin_class        text,
    sector_category     text,
    -- null when suppressed
    value_ht_cents      bigint,
    quantity_kg         numeric(16, 3),
    quantity_l          numeric(16, 3),
    quantity_pieces     numeric(16, 3),
    suppliers           integer,
    buyers              integer,
    status              text NOT NULL CHECK (status IN ('published', 'suppressed')),
    PRIMARY KEY (release_id, seq)
);

-- transactions: anonymised microdata, one row per published delivered line.
CREATE TABLE opendata_transactions (
    release_id          uuid NOT NULL REFERENCES opendata_releases (id) ON DELETE CASCADE,
    seq                 bigint NOT NULL,
    month               text NOT NULL,
    sector_category     text NOT NULL,
    buyer_territory     text NOT NULL,
    supplier_kind       text NOT NULL,
    origin_class        text NOT NULL,
    family              text NOT NULL,
    label_group         text NOT NULL,
    unit_kind           text NOT NULL,
    quantity            numeric(16, 1),
    value_ht_eur        bigint NOT NULL,
    PRIMARY KEY (release_id, seq)
);
