-- Login and registration throttling shared by every instance (see
-- src/auth/throttle.rs). Keys are SHA-256 hashes: no email or address here.
CREATE TABLE login_counters (
    key          bytea PRIMARY KEY,
    window_start timestamptz NOT NULL,
    count        integer NOT NULL CHECK (count > 0)
);
CREATE INDEX login_counters_window_idx ON login_counters (window_start);

-- (account, client block) pairs that logged in: their owners are known there.
CREATE TABLE login_known_pairs (
    key          bytea PRIMARY KEY,
    last_success timestamptz NOT NULL
);
