"""Prints the floor of the open data build's microdata: one COPY of a single
SELECT over the staged lines (od_lines) giving the rows the release holds,
each published cell's generalisation level written in.

The service gets the same rows in two statements, the first (od_micro)
while its protection runs; composing those two into one would make the
floor slower than the single SELECT a person would write, so the floor is
that single SELECT, built from the two statements' bound parameters.

Usage: python3 bench/opendata_floor.py MICRO.sql INSERT.sql > floor.sql
(each file written by bench/extract_sql.py).
"""

import re
import sys

CELL = ("month", "family", "label_group", "origin_class", "sector_category")


def arrays(sql):
    """The literal arrays given to the statement's unnest(...)."""
    inner = re.search(r"unnest\((.*?)\)\s+AS", sql, re.S).group(1)
    found = re.findall(r"'\{([^']*)\}'", inner)
    if any('"' in a for a in found):
        sys.exit("opendata_floor: quoted array elements are not expected in cell codes")
    return [a.split(",") if a else [] for a in found]


micro = open(sys.argv[1]).read()
final = open(sys.argv[2]).read()
*micro_keys, micro_levels = arrays(micro)
levels = dict(zip(zip(*micro_keys), micro_levels))
published = [cell for cell in zip(*arrays(final)) if cell in levels]
territory = re.search(r"'(\d{9})'::text", final).group(1)

columns = [",".join(cell[i] for cell in published) for i in range(len(CELL))]
level_column = ",".join(levels[cell] for cell in published)
unnest = ", ".join(f"'{{{c}}}'::text[]" for c in columns) + f", '{{{level_column}}}'::smallint[]"
print(
    "COPY (SELECT row_number() OVER (ORDER BY month, sector_category, supplier_kind, origin_class, "
    "family, label_group, unit_kind, quantity, value_ht_eur) AS seq, * FROM ("
    f" SELECT li.month, li.sector_category, '{territory}'::text AS buyer_territory,"
    " CASE WHEN lv.level >= 1 THEN '*' ELSE li.supplier_kind END AS supplier_kind,"
    " li.origin_class, li.family, li.label_group,"
    " CASE WHEN lv.level >= 2 THEN '*' ELSE li.unit_kind END AS unit_kind,"
    " CASE WHEN lv.level >= 2 THEN NULL ELSE round(li.quantity, 1) END AS quantity,"
    " round(li.value / 100.0)::bigint AS value_ht_eur"
    f" FROM od_lines li JOIN unnest({unnest}) AS lv({', '.join(CELL)}, level)"
    f" USING ({', '.join(CELL)})) t) TO STDOUT (FORMAT csv);"
)
