-- What suppliers (farms, distributors) sell: one row per offer.

CREATE TABLE offers (
    id                     uuid PRIMARY KEY,
    supplier_id            uuid NOT NULL REFERENCES organisations (id),
    -- Traceability: the farm that produced it, on the platform (producer_id)
    -- or named with its commune when it is not.
    producer_id            uuid REFERENCES organisations (id),
    producer_name          text NOT NULL CHECK (length(btrim(producer_name)) BETWEEN 1 AND 200),
    producer_commune_insee text NOT NULL REFERENCES communes (insee),
    name                   text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    description            text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    -- accent-free, lower-case name and description (the service folds them)
    search_text            text NOT NULL,
    search                 tsvector GENERATED ALWAYS AS (to_tsvector('french', search_text)) STORED,
    family                 text NOT NULL CHECK (family IN ('VIANDES_VOLAILLES', 'CHARCUTERIE', 'PRODUITS_DE_LA_MER',
                               'FRUITS_ET_LEGUMES', 'PRODUITS_LAITIERS', 'BOULANGERIE', 'BOISSONS', 'AUTRES')),
    labels                 text[] NOT NULL DEFAULT '{}' CHECK (labels <@ '{BIO,LABEL_ROUGE,AOCAOP,IGP,STG,HVE,PECHE_DURABLE,RUP,FERMIER,COMMERCE_EQUITABLE,EXTERNALITES,PERFORMANCE}'::text[]),
    origin                 text NOT NULL CHECK (origin IN ('FRANCE', 'EUROPE')),
    -- UN/ECE Rec. 20 (KGM, GRM, LTR, H87) or a package (Rec. 21: XCR crate,
    -- XBX box, XBG bag, XPK package) with its net content
    unit                   text NOT NULL CHECK (unit IN ('KGM', 'GRM', 'LTR', 'H87', 'XCR', 'XBX', 'XBG', 'XPK')),
    package_net_quantity   numeric(14, 3) CHECK (package_net_quantity > 0),
    package_net_unit       text CHECK (package_net_unit IN ('KGM', 'GRM', 'LTR', 'H87')),
    price_cents            bigint NOT NULL CHECK (price_cents >= 0),
    vat_rate               numeric(3, 1) NOT NULL CHECK (vat_rate IN (5.5, 10, 20)),
    -- NULL: produced on demand, not limited
    stock_available        numeric(14, 3) CHECK (stock_available >= 0),
    -- held by open orders
    stock_reserved         numeric(14, 3) NOT NULL DEFAULT 0 CHECK (stock_reserved >= 0),
    min_order_quantity     numeric(14, 3) NOT NULL CHECK (min_order_quantity > 0),
    order_step             numeric(14, 3) NOT NULL CHECK (order_step > 0),
    available_from         date,
    available_until        date,
    lead_time_days         integer NOT NULL DEFAULT 0 CHECK (lead_time_days BETWEEN 0 AND 365),
    -- ISO weekdays, 1 = Monday
    delivery_weekdays      smallint[] NOT NULL CHECK (cardinality(delivery_weekdays) BETWEEN 1 AND 7
                               AND delivery_weekdays <@ '{1,2,3,4,5,6,7}'::smallint[]),
    -- empty: delivers anywhere
    area_communes          text[] NOT NULL DEFAULT '{}',
    area_epcis             text[] NOT NULL DEFAULT '{}',
    area_departements      text[] NOT NULL DEFAULT '{}',
    status                 text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'archived')),
    -- optimistic concurrency: the ETag
    version                integer NOT NULL DEFAULT 1,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CHECK (available_until IS NULL OR available_from IS NULL OR available_until >= available_from),
    CHECK ((unit LIKE 'X%') = (package_net_quantity IS NOT NULL AND package_net_unit IS NOT NULL))
);

CREATE INDEX offers_supplier_id_idx ON offers (supplier_id);
CREATE INDEX offers_producer_id_idx ON offers (producer_id);
CREATE INDEX offers_search_idx ON offers USING gin (search);
CREATE INDEX offers_labels_idx ON offers USING gin (labels);
CREATE INDEX offers_active_family_idx ON offers (family, price_cents) WHERE status = 'active';
CREATE INDEX offers_producer_commune_idx ON offers (producer_commune_insee);
