-- What the service runs for
--   GET /api/v1/organisations/:supplier/open-consultations
-- (the access token's session, accounts::queries::access for the policy,
-- then consultations::queries::open_for_supplier), as three statements. Keep
-- in step with those functions.
SELECT users.id, users.email, users.is_admin FROM sessions INNER JOIN users ON sessions.user_id = users.id
 WHERE sessions.user_id = '00000000-0000-7103-8000-000000000001'
   AND sessions.revoked_at IS NULL AND users.disabled_at IS NULL
 ORDER BY sessions.created_at DESC LIMIT 1;
SELECT organisations.kind, organisations.status, memberships.role
  FROM organisations
  LEFT JOIN memberships ON memberships.organisation_id = organisations.id
       AND memberships.user_id = '00000000-0000-7103-8000-000000000001'
 WHERE organisations.id = :supplier
 LIMIT 1;
SELECT c.id, c.buyer_id, b.name AS buyer_name, c.title, c.procedure, c.answers_due_at,
       CASE WHEN c.status = 'published' AND c.answers_due_at <= clock_timestamp() THEN 'closed'
            ELSE c.status END AS status,
       (SELECT count(*) FROM consultation_lots l WHERE l.consultation_id = c.id) AS lots,
       ARRAY(SELECT DISTINCT l.family FROM consultation_lots l
              WHERE l.consultation_id = c.id ORDER BY 1) AS families
  FROM consultations c JOIN organisations b ON b.id = c.buyer_id
 WHERE c.status = 'published' AND c.answers_due_at > clock_timestamp()
   AND EXISTS (SELECT 1 FROM consultation_lots l, organisations s
                WHERE l.consultation_id = c.id AND s.id = :supplier
                  AND (s.kind IN ('farm', 'distributor') AND s.status = 'verified'
                  AND (l.family = ANY (s.productions) OR EXISTS (SELECT 1 FROM offers f
                       WHERE f.supplier_id = s.id AND f.status = 'active' AND f.family = l.family))
                  AND NOT EXISTS (SELECT 1 FROM consultation_lot_sites ls
                       JOIN organisations site ON site.id = ls.canteen_id
                       JOIN communes sc ON sc.insee = site.commune_insee
                      WHERE ls.lot_id = l.id
                        AND NOT EXISTS (SELECT 1 FROM delivery_areas da WHERE da.organisation_id = s.id
                              AND ((da.area_kind = 'commune' AND da.code = sc.insee)
                                OR (da.area_kind = 'epci' AND da.code = sc.epci_siren)
                                OR (da.area_kind = 'departement' AND da.code = sc.departement_code)))
                        AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.supplier_id = s.id
                              AND o.status = 'active' AND o.family = l.family
                              AND (cardinality(o.area_communes) + cardinality(o.area_epcis)
                                   + cardinality(o.area_departements) = 0
                                OR sc.insee = ANY (o.area_communes) OR sc.epci_siren = ANY (o.area_epcis)
                                OR sc.departement_code = ANY (o.area_departements))))))
   AND (NULL::uuid IS NULL OR (c.answers_due_at, c.id) >
        (SELECT x.answers_due_at, x.id FROM consultations x WHERE x.id = NULL::uuid))
 ORDER BY c.answers_due_at, c.id LIMIT 51;
