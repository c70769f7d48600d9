-- transactions are frozen as CSV lines, by pages of 10,000 rows, instead of
-- one row per line: the bytes of a download are then stored once, at
-- publication, and read back as they are (JSON is transcoded from them).
-- A publication writes a page per 10,000 rows rather than a row (and a
-- foreign-key check) per line.
CREATE TABLE opendata_transaction_pages (
    release_id          uuid NOT NULL REFERENCES opendata_releases (id) ON DELETE CASCADE,
    -- 1, 2, … in the order of the file
    page                integer NOT NULL CHECK (page >= 1),
    rows                integer NOT NULL CHECK (rows BETWEEN 1 AND 10000),
    -- the page's lines of transactions.csv, each ending with a newline,
    -- without the header
    csv                 text NOT NULL,
    PRIMARY KEY (release_id, page)
);

-- Releases published before keep their bytes: their rows are written as
-- the service wrote them (an empty quantity when null).
INSERT INTO opendata_transaction_pages (release_id, page, rows, csv)
SELECT release_id, (seq - 1) / 10000 + 1, count(*),
       string_agg(concat_ws(',', month, sector_category, buyer_territory, supplier_kind, origin_class,
                            family, label_group, unit_kind, coalesce(quantity::text, ''), value_ht_eur)
                  || E'\n', '' ORDER BY seq)
  FROM opendata_transactions
 GROUP BY 1, 2;

DROP TABLE opendata_transactions;
