"""Reads PostgreSQL's log (log_statement = all) on stdin and prints the last
executed statement containing MARKER, with its bound parameters written in
as literals: the exact SQL the service ran, for pgbench to replay.

Usage: python3 bench/extract_sql.py MARKER < server.log > statement.sql
"""

import re
import sys

marker = sys.argv[1]
statement, parameters = None, None
pending = None
for line in sys.stdin:
    executed = re.search(r"LOG:  execute [^:]*: (.*)$", line)
    if executed:
        pending = executed.group(1)
        if marker in pending:
            statement, parameters = pending, {}
        continue
    detail = re.search(r"DETAIL:  parameters: (.*)$", line)
    if detail and pending is not None and pending == statement:
        parameters = {
            int(n): value
            for n, value in re.findall(r"\$(\d+) = ('(?:[^']|'')*'|NULL)", detail.group(1))
        }
if statement is None:
    sys.exit(f"no statement containing {marker!r} in the log")
# $10 before $1: replace the longest numbers first.
for n in sorted(parameters, reverse=True):
    statement = re.sub(rf"\${n}(?!\d)", parameters[n].replace("\\", "\\\\"), statement)
print(statement.rstrip(";") + ";")
