DROP TRIGGER offers_producer_consents ON offers;
DROP FUNCTION offers_producer_consents();
DROP TABLE supply_relationships;
