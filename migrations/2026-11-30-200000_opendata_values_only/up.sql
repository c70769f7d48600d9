-- supply_stats publishes values only: with the catalog's public prices, a
-- quantity next to a value is a second equation on who sold what.
--
-- Releases built by the earlier method are withdrawn: their microdata carry
-- a quantity and a value per line, from which a public price names the
-- supplier, and their tables list only the cells traded in. Their months
-- may be published again under the current method.
DELETE FROM opendata_releases;

ALTER TABLE opendata_supply_stats
    DROP COLUMN quantity_kg,
    DROP COLUMN quantity_l,
    DROP COLUMN quantity_pieces;
