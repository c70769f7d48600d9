-- The withdrawn releases cannot come back; the columns do, empty.
ALTER TABLE opendata_supply_stats
    ADD COLUMN quantity_kg numeric(16, 3),
    ADD COLUMN quantity_l numeric(16, 3),
    ADD COLUMN quantity_pieces numeric(16, 3);
