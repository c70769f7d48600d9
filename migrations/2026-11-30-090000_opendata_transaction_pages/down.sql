CREATE TABLE opendata_transactions (
    release_id          uuid NOT NULL REFERENCES opendata_releases (id) ON DELETE CASCADE,
    seq                 bigint NOT NULL,
    month               text NOT NULL,
    sector_category     text NOT NULL,
    buyer_territory     text NOT NULL,
    supplier_kind       text NOT NULL,
    origin_class        text NOT NULL,
    family              text NOT NULL,
    label_group         text NOT NULL,
    unit_kind           text NOT NULL,
    quantity            numeric(16, 1),
    value_ht_eur        bigint NOT NULL,
    PRIMARY KEY (release_id, seq)
);

-- seq counts on from the rows of the release's earlier pages.
INSERT INTO opendata_transactions
SELECT p.release_id, p.rows_before + l.n,
       f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], nullif(f[9], '')::numeric, f[10]::bigint
  FROM (SELECT *, coalesce(sum(rows) OVER (PARTITION BY release_id ORDER BY page
                                            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS rows_before
          FROM opendata_transaction_pages) p,
       unnest(string_to_array(rtrim(p.csv, E'\n'), E'\n')) WITH ORDINALITY AS l(line, n),
       string_to_array(l.line, ',') AS f;

DROP TABLE opendata_transaction_pages;
