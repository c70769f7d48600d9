-- Reference geography (Etalab's @etalab/decoupage-administratif), loaded by the
-- service from data/geography.json.gz; see src/geo/reference.rs.

CREATE TABLE regions (
    code text PRIMARY KEY CHECK (code ~ '^[0-9]{2,3}$'), -- 3 digits: overseas collectivities
    name text NOT NULL CHECK (name <> '')
);

CREATE TABLE departements (
    code        text PRIMARY KEY CHECK (code ~ '^([0-9]{2,3}|2[AB])$'),
    name        text NOT NULL CHECK (name <> ''),
    region_code text NOT NULL REFERENCES regions (code)
);

CREATE TABLE epcis (
    siren      text PRIMARY KEY CHECK (siren ~ '^[0-9]{9}$'),
    name       text NOT NULL CHECK (name <> ''),
    nature     text NOT NULL CHECK (nature IN ('CC', 'CA', 'CU', 'METRO', 'MET69')),
    population integer CHECK (population >= 0)
);

CREATE TABLE communes (
    insee            text PRIMARY KEY CHECK (insee ~ '^([013-9][0-9]|2[AB1-9])[0-9]{3}$'),
    name             text NOT NULL CHECK (name <> ''),
    -- lower-case, accent-free form of the name, for accent-insensitive search
    search_name      text NOT NULL,
    departement_code text NOT NULL REFERENCES departements (code),
    epci_siren       text REFERENCES epcis (siren),
    population       integer CHECK (population >= 0)
);

CREATE INDEX communes_departement_code_idx ON communes (departement_code);
CREATE INDEX communes_epci_siren_idx ON communes (epci_siren);

-- Which version of each shipped reference dataset is loaded, so that a new
-- release reloads it exactly once.
CREATE TABLE reference_datasets (
    name      text PRIMARY KEY,
    source    text NOT NULL,
    version   text NOT NULL,
    licence   text NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);
