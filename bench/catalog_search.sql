-- What the service runs for
--   GET /api/v1/offers?q=:q&family=FRUITS_ET_LEGUMES&labels_any=BIO&available_on=:day&local_to=:canteen&local=yes
-- (catalog::queries::canteen_place, the statement built by catalog::search::plan, then
-- catalog::queries::load for the page), as three statements.
SELECT canteen_profiles.local_definition, canteen_profiles.local_km, communes.insee, communes.epci_siren,
       departements.code, departements.region_code, organisations.latitude, organisations.longitude
  FROM canteen_profiles
  JOIN organisations ON organisations.id = canteen_profiles.organisation_id
  JOIN communes ON communes.insee = organisations.commune_insee
  JOIN departements ON departements.code = communes.departement_code
 WHERE canteen_profiles.organisation_id = :canteen AND organisations.status = 'verified'
 LIMIT 1;
WITH hits AS (
  SELECT o.id,
         CASE WHEN p.latitude IS NULL OR p.longitude IS NULL THEN 'unknown'
              WHEN 2 * 6371 * asin(sqrt(power(sin(radians(p.latitude - 48.63) / 2), 2)
                   + cos(radians(48.63)) * cos(radians(p.latitude))
                   * power(sin(radians(p.longitude - 2.30) / 2), 2))) <= 50
              THEN 'yes' ELSE 'no' END AS local,
         o.price_cents, o.name, o.created_at
    FROM offers o
    JOIN organisations s ON s.id = o.supplier_id
    JOIN communes c ON c.insee = o.producer_commune_insee
    JOIN departements d ON d.code = c.departement_code
    LEFT JOIN organisations p ON p.id = o.producer_id
   WHERE o.status = 'active' AND s.status = 'verified'
     AND o.search @@ plainto_tsquery('french', :q)
     AND o.family = 'FRUITS_ET_LEGUMES'
     AND o.labels && '{BIO}'::text[]
     AND (o.available_from IS NULL OR o.available_from <= :day::date)
     AND (o.available_until IS NULL OR o.available_until >= :day::date)
     AND :day::date >= current_date + o.lead_time_days
     AND extract(isodow FROM :day::date)::smallint = ANY (o.delivery_weekdays)
     AND (CASE WHEN p.latitude IS NULL OR p.longitude IS NULL THEN 'unknown'
              WHEN 2 * 6371 * asin(sqrt(power(sin(radians(p.latitude - 48.63) / 2), 2)
                   + cos(radians(48.63)) * cos(radians(p.latitude))
                   * power(sin(radians(p.longitude - 2.30) / 2), 2))) <= 50
              THEN 'yes' ELSE 'no' END) = 'yes'
   ORDER BY o.created_at DESC, o.id DESC
   LIMIT 51)
SELECT offers.*, organisations.name, organisations.kind, organisations.status, communes.name,
       departements.code, departements.region_code, communes.epci_siren
  FROM offers
  JOIN organisations ON organisations.id = offers.supplier_id
  JOIN communes ON communes.insee = offers.producer_commune_insee
  JOIN departements ON departements.code = communes.departement_code
 WHERE offers.id IN (SELECT id FROM hits);
