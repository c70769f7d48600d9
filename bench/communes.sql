-- The statement diesel sends for GET /api/v1/communes/{insee} (geo::queries::find_commune).
SELECT communes.insee, communes.name, communes.population, departements.code, departements.name,
       regions.code, regions.name, epcis.siren, epcis.name
  FROM (communes INNER JOIN (departements INNER JOIN regions ON departements.region_code = regions.code)
        ON communes.departement_code = departements.code)
  LEFT OUTER JOIN epcis ON communes.epci_siren = epcis.siren
 WHERE communes.insee = '91103'
 LIMIT 1;
