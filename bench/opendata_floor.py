"""Prints the floor of the open data build's microdata: COPY, as CSV to
STDOUT, of the very SELECT the service writes a release's microdata from
(the `rows` of its statement over the staged lines, captured from
PostgreSQL's log with its parameters written in). The service goes on to
freeze those rows as pages and to measure k; the floor only reads them.

Usage: python3 bench/opendata_floor.py WRITE.sql > floor.sql
(WRITE.sql written by bench/extract_sql.py).
"""

import re
import sys

write = open(sys.argv[1]).read()
rows, found, _ = write.partition(", pages AS (")
if not found or not rows.startswith("WITH rows AS ("):
    sys.exit("opendata_floor: expected the service's WITH rows AS (…), pages AS (…) statement")
territory = re.search(r"concat_ws\(',', month, sector_category, '(\d{9})'::text", write).group(1)
print(
    f"COPY ({rows} SELECT seq, month, sector_category, '{territory}' AS buyer_territory, supplier_kind, "
    "origin_class, family, label_group, unit_kind, value_band FROM rows) TO STDOUT (FORMAT csv);"
)
