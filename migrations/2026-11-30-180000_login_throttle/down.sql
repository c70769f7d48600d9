DROP TABLE login_known_pairs;
DROP TABLE login_counters;
