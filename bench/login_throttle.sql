-- pgbench: the throttle's two statements of one successful login
-- (src/auth/throttle.rs: start, then Attempt::succeeded), for one of 1,000
-- accounts behind one address.
\set account random(1, 1000)
WITH seen AS (
    SELECT EXISTS (SELECT 1 FROM login_known_pairs
                    WHERE key = sha256(convert_to('pair' || :account, 'UTF8')) AND last_success > now() - interval '30 days') AS yes),
known AS (SELECT yes, CASE WHEN yes THEN interval '1 minute' ELSE interval '15 minutes' END AS span FROM seen),
block AS (
    SELECT coalesce((SELECT count FROM login_counters
                      WHERE key = sha256(convert_to('block', 'UTF8')) AND window_start > now() - interval '15 minutes'), 0) AS failures),
pair AS (
    INSERT INTO login_counters AS c (key, window_start, count) VALUES (sha256(convert_to('pair' || :account, 'UTF8')), now(), 1)
    ON CONFLICT (key) DO UPDATE SET
        window_start = CASE WHEN c.window_start > now() - (SELECT span FROM known)
                            THEN c.window_start ELSE now() END,
        count = CASE WHEN c.window_start > now() - (SELECT span FROM known)
                     THEN c.count + 1 ELSE 1 END
    RETURNING count, window_start)
SELECT known.yes, block.failures, pair.count, pair.window_start FROM known, block, pair;
WITH forgotten AS (DELETE FROM login_counters WHERE key = sha256(convert_to('pair' || :account, 'UTF8')))
INSERT INTO login_known_pairs (key, last_success) VALUES (sha256(convert_to('pair' || :account, 'UTF8')), now())
ON CONFLICT (key) DO UPDATE SET last_success = now();
