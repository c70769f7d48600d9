-- Supply relationships: a distributor carries a farm of the platform only
-- with the farm's consent. Requested by the distributor, accepted or refused
-- by the farm, ended by either.
CREATE TABLE supply_relationships (
    id              uuid PRIMARY KEY,
    distributor_id  uuid NOT NULL REFERENCES organisations (id),
    farm_id         uuid NOT NULL REFERENCES organisations (id),
    status          text NOT NULL CHECK (status IN ('requested', 'accepted', 'refused', 'ended')),
    note            text NOT NULL DEFAULT '',
    requested_by    uuid NOT NULL REFERENCES users (id),
    requested_at    timestamptz NOT NULL DEFAULT now(),
    decided_by      uuid REFERENCES users (id),
    decided_at      timestamptz,
    ended_by        uuid REFERENCES users (id),
    ended_at        timestamptz,
    reason          text,
    CHECK (distributor_id <> farm_id)
);
-- At most one live (requested or accepted) relationship per pair.
CREATE UNIQUE INDEX supply_relationships_live_idx
    ON supply_relationships (distributor_id, farm_id) WHERE status IN ('requested', 'accepted');
CREATE INDEX supply_relationships_farm_idx ON supply_relationships (farm_id);

-- The database's word on consent: an active offer of a distributor naming a
-- farm of the platform needs that farm verified and the relationship
-- accepted. The rows are read FOR SHARE, so a relationship ended or a farm
-- suspended concurrently (both write those rows, then pause the offers)
-- waits for this statement's transaction, or makes it fail here.
CREATE FUNCTION offers_producer_consents() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM organisations f
     WHERE f.id = NEW.producer_id AND f.kind = 'farm' AND f.status = 'verified'
       FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the producing farm % is not a verified farm', NEW.producer_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'offers_producer_consents';
    END IF;
    PERFORM 1 FROM supply_relationships r
     WHERE r.distributor_id = NEW.supplier_id AND r.farm_id = NEW.producer_id
       AND r.status = 'accepted'
       FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the farm % has not accepted to be carried by %', NEW.producer_id, NEW.supplier_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'offers_producer_consents';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER offers_producer_consents
    BEFORE INSERT OR UPDATE OF status, producer_id, supplier_id ON offers
    FOR EACH ROW
    WHEN (NEW.status = 'active' AND NEW.producer_id IS NOT NULL AND NEW.producer_id <> NEW.supplier_id)
    EXECUTE FUNCTION offers_producer_consents();

-- Offers that named a farm before consent was recorded: the farm is asked,
-- and the offer waits, paused, for its answer.
INSERT INTO supply_relationships (id, distributor_id, farm_id, status, note, requested_by)
SELECT gen_random_uuid(), pairs.supplier_id, pairs.producer_id, 'requested',
       'recorded when consent became required', owner.user_id
  FROM (SELECT DISTINCT o.supplier_id, o.producer_id
          FROM offers o
         WHERE o.producer_id IS NOT NULL AND o.producer_id <> o.supplier_id) pairs
  JOIN LATERAL (SELECT m.user_id FROM memberships m
                 WHERE m.organisation_id = pairs.supplier_id
                 ORDER BY m.role = 'owner' DESC, m.created_at LIMIT 1) owner ON true;
UPDATE offers SET status = 'paused', version = version + 1, updated_at = now()
 WHERE status = 'active' AND producer_id IS NOT NULL AND producer_id <> supplier_id;
