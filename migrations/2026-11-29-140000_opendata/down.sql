DROP TABLE opendata_transactions;
DROP TABLE opendata_supply_stats;
DROP TABLE opendata_releases;
