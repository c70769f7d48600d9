-- Emails identify accounts in one form: NFKC, lower case (the service
-- writes nothing else). Rows written before are brought to that form; two
-- accounts that would then share an address are reported by name, and the
-- migration stops, rather than one of them being lost or left unreachable.
DO $$
DECLARE
    collisions text;
BEGIN
    SELECT string_agg(format('%s: accounts %s', normalised, ids), '; ')
      INTO collisions
      FROM (SELECT lower(normalize(email, NFKC)) AS normalised,
                   string_agg(id::text, ', ' ORDER BY created_at) AS ids
              FROM users
             GROUP BY 1
            HAVING count(*) > 1) c;
    IF collisions IS NOT NULL THEN
        RAISE EXCEPTION 'accounts whose emails are the same once normalised (NFKC, lower case): %', collisions
            USING HINT = 'give each of these accounts a distinct address (UPDATE users SET email = ... WHERE id = ...), then run `sesame migrate` again';
    END IF;
END
$$;
UPDATE users SET email = lower(normalize(email, NFKC)) WHERE email <> lower(normalize(email, NFKC));
UPDATE invitations SET email = lower(normalize(email, NFKC)) WHERE email <> lower(normalize(email, NFKC));
ALTER TABLE users ADD CONSTRAINT users_email_nfkc CHECK (email = normalize(email, NFKC));
ALTER TABLE invitations ADD CONSTRAINT invitations_email_nfkc CHECK (email = normalize(email, NFKC));
