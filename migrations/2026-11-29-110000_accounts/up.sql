-- People, their sessions, the organisations they act for, and memberships.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    -- normalised by the service (trimmed, lower-case); unique as stored
    email         text NOT NULL UNIQUE CHECK (email = lower(btrim(email)) AND email LIKE '_%@_%'),
    display_name  text NOT NULL CHECK (length(btrim(display_name)) BETWEEN 1 AND 100),
    password_hash text NOT NULL,
    is_admin      boolean NOT NULL DEFAULT false,
    disabled_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- A session is one login: a family of refresh tokens, each used once. Access
-- tokens name their session, so revoking it refuses them at once.
CREATE TABLE sessions (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE refresh_tokens (
    -- SHA-256 of the token: the token itself is never stored
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

CREATE TABLE organisations (
    id                  uuid PRIMARY KEY,
    kind                text NOT NULL CHECK (kind IN ('farm', 'distributor', 'canteen', 'authority')),
    name                text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    siret               text NOT NULL CHECK (siret ~ '^[0-9]{14}$'),
    siren               text NOT NULL GENERATED ALWAYS AS (left(siret, 9)) STORED,
    commune_insee       text NOT NULL REFERENCES communes (insee),
    address             text NOT NULL CHECK (length(address) <= 500),
    latitude            double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude           double precision CHECK (longitude BETWEEN -180 AND 180),
    description         text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    contact_email       text,
    contact_phone       text,
    status              text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'verified', 'suspended')),
    -- farm: product families it produces (ma-cantine codes)
    productions         text[] NOT NULL DEFAULT '{}',
    -- authority: the EPCI it speaks for
    authority_epci      text REFERENCES epcis (siren),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((latitude IS NULL) = (longitude IS NULL)),
    CHECK ((kind = 'authority') = (authority_epci IS NOT NULL)),
    CHECK (kind = 'farm' OR productions = '{}')
);
-- One live organisation per SIRET. Pending ones may share it: whoever
-- registers first must not block (or learn of) the real owner; the
-- administrator who verifies sees the clash.
CREATE UNIQUE INDEX organisations_live_siret_idx ON organisations (siret) WHERE status <> 'pending';
CREATE INDEX organisations_kind_status_idx ON organisations (kind, status);
CREATE INDEX organisations_commune_insee_idx ON organisations (commune_insee);

-- Labels a farm is certified for (EGalim list); BIO needs its certificate.
CREATE TABLE farm_certifications (
    organisation_id    uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    label              text NOT NULL CHECK (label IN ('BIO', 'LABEL_ROUGE', 'AOCAOP', 'IGP', 'STG', 'HVE',
                           'PECHE_DURABLE', 'RUP', 'FERMIER', 'COMMERCE_EQUITABLE', 'EXTERNALITES', 'PERFORMANCE')),
    certificate_number text,
    certifying_body    text,
    PRIMARY KEY (organisation_id, label),
    CHECK (label <> 'BIO' OR (certificate_number IS NOT NULL AND certifying_body IS NOT NULL))
);

-- Where a distributor delivers: communes, EPCIs or départements.
CREATE TABLE delivery_areas (
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    area_kind       text NOT NULL CHECK (area_kind IN ('commune', 'epci', 'departement')),
    code            text NOT NULL,
    PRIMARY KEY (organisation_id, area_kind, code)
);

-- The ma-cantine description of a canteen.
CREATE TABLE canteen_profiles (
    organisation_id       uuid PRIMARY KEY REFERENCES organisations (id) ON DELETE CASCADE,
    sectors               text[] NOT NULL CHECK (cardinality(sectors) BETWEEN 1 AND 3),
    management_type       text NOT NULL CHECK (management_type IN ('direct', 'conceded')),
    production_type       text NOT NULL CHECK (production_type IN
                              ('groupe', 'central', 'central_serving', 'site', 'site_cooked_elsewhere')),
    economic_model        text NOT NULL CHECK (economic_model IN ('public', 'private')),
    daily_meal_count      integer NOT NULL CHECK (daily_meal_count >= 3),
    yearly_meal_count     integer NOT NULL CHECK (yearly_meal_count >= 420 AND yearly_meal_count > daily_meal_count),
    central_kitchen_siret text CHECK (central_kitchen_siret ~ '^[0-9]{14}$'),
    local_definition      text NOT NULL CHECK (local_definition IN ('PAT', 'COMMUNE', 'DEPARTEMENT', 'REGION', 'KM')),
    local_km              integer CHECK (local_km BETWEEN 1 AND 1000),
    CHECK ((local_definition = 'KM') = (local_km IS NOT NULL))
);

CREATE TABLE memberships (
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            text NOT NULL CHECK (role IN ('owner', 'member')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, user_id)
);
CREATE INDEX memberships_user_id_idx ON memberships (user_id);

CREATE TABLE invitations (
    id              uuid PRIMARY KEY,
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    email           text NOT NULL CHECK (email = lower(btrim(email))),
    role            text NOT NULL CHECK (role IN ('owner', 'member')),
    token_hash      bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    invited_by      uuid NOT NULL REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    accepted_at     timestamptz
);
CREATE INDEX invitations_organisation_id_idx ON invitations (organisation_id);
