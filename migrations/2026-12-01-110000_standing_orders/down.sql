DROP TABLE jobs;
DROP TABLE standing_order_occurrences;
DROP TABLE standing_order_lines;
DROP TABLE standing_orders;
DROP TABLE closures;
