-- What the service runs for
--   GET /api/v1/consultations/:consultation/evaluation
-- (the access token's session; consultations::service::evaluation: the
-- closing if due, the consultation, the caller's membership of the buyer,
-- then lots, criteria, revealed answers and marks), as statements with the
-- same shapes. Keep in step with consultations::queries.
SELECT users.id, users.email, users.is_admin FROM sessions INNER JOIN users ON sessions.user_id = users.id
 WHERE sessions.user_id = '00000000-0000-7103-8000-000000000002'
   AND sessions.revoked_at IS NULL AND users.disabled_at IS NULL
 ORDER BY sessions.created_at DESC LIMIT 1;
BEGIN;
UPDATE consultations SET status = 'closed', closed_at = answers_due_at
 WHERE status = 'published' AND answers_due_at <= clock_timestamp() AND id = :consultation
RETURNING id, buyer_id, answers_due_at;
COMMIT;
SELECT c.id, c.buyer_id, b.name AS buyer_name, b.kind AS buyer_kind, c.title, c.description,
       c.procedure, c.duration_months, c.answers_due_at,
       CASE WHEN c.status = 'published' AND c.answers_due_at <= clock_timestamp() THEN 'closed'
            ELSE c.status END AS status,
       c.cancel_reason, c.created_at, c.published_at, c.decided_at, c.cancelled_at,
       CASE WHEN (c.status NOT IN ('draft', 'published') AND c.answers_due_at <= clock_timestamp()
                  AND (c.cancelled_at IS NULL OR c.cancelled_at >= c.answers_due_at))
            THEN (SELECT count(*) FROM consultation_answers a WHERE a.consultation_id = c.id) END
         AS answers_received
  FROM consultations c JOIN organisations b ON b.id = c.buyer_id
 WHERE c.id = :consultation;
SELECT EXISTS (SELECT 1 FROM memberships
                WHERE user_id = '00000000-0000-7103-8000-000000000002'
                  AND organisation_id IN ('00000000-0000-7102-8000-000000000001'));
SELECT l.id, l.number, l.description, l.family, l.labels, l.unit, l.quantity, l.quantity_min,
       l.quantity_max, l.max_amount_ht_cents, l.estimated_amount_ht_cents, l.delivery_dates,
       l.delivery_weekdays, l.delivery_from, l.delivery_until, l.status, l.rationale, l.decided_at,
       w.id AS winner_id, w.name AS winner_name, a.unit_price_cents AS winner_price_cents,
       k.id AS contract_id
  FROM consultation_lots l
  LEFT JOIN consultation_answers a ON a.id = l.awarded_answer_id AND l.status = 'awarded'
  LEFT JOIN organisations w ON w.id = a.supplier_id
  LEFT JOIN contracts k ON k.lot_id = l.id
 WHERE l.consultation_id = :consultation ORDER BY l.number;
SELECT position, kind, description, weight FROM consultation_criteria
 WHERE consultation_id = :consultation ORDER BY position;
SELECT a.id, a.lot_id, l.number AS lot_number, a.supplier_id, s.name AS supplier_name,
       a.unit_price_cents, a.vat_rate, a.labels, a.origin, a.producer_id, a.producer_name,
       a.intermediaries, a.delivery_terms, a.note, a.revision, a.received_at, a.digest
  FROM consultation_answers a
  JOIN consultation_lots l ON l.id = a.lot_id
  JOIN organisations s ON s.id = a.supplier_id
  JOIN consultations c ON c.id = a.consultation_id
 WHERE a.consultation_id = :consultation
   AND (c.status NOT IN ('draft', 'published') AND c.answers_due_at <= clock_timestamp()
        AND (c.cancelled_at IS NULL OR c.cancelled_at >= c.answers_due_at))
 ORDER BY l.number, a.received_at, a.id;
SELECT answer_id, position, (mark * 100)::int4 AS mark_hundredths, justification FROM consultation_scores
 WHERE consultation_id = :consultation;
