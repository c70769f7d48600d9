"""An automated attacker against Sésame's open data releases.

Usage: attack.py TRUTH.json PACKAGE_DIR [PACKAGE_DIR ...]

TRUTH.json holds the raw delivered lines behind the releases (who sold, who
bought, what, where, for how much, from which offer at which price), the
territory, the public catalog and the public directory. The published
packages are attacked with the public part only; the private part (the
lines) is used to tell whether an attack succeeded and to check that every
published number is right. A JSON report goes to stdout; the exit status is
1 when anything is found, 0 otherwise.

Threat model: what the attacker knows
--------------------------------------
- Every release given on the command line (supply_stats.csv: the full grid
  of cells month x family x label_group x origin_class x sector_category and
  its totals by month, family, label_group, month x family and overall, with
  suppliers and buyers counts; transactions.csv: one row per delivered line
  of a published cell, supplier kind, unit kind and value band possibly
  generalised to `*`).
- Everything public in Sésame: the catalog with every offer ever listed
  (supplier, supplier kind, family, labels, origin, producer commune and so
  its EPCI, departement and region, unit sold or package net unit, minimum
  order quantity, order step) and every price each offer ever had (the
  distinct unit prices of its order lines, each public when ordered, plus its
  current price); the directory (the territory's organisations, their kind,
  the canteens' sector); the communes.
- Contributors (suppliers or buyers) may collude in pairs and then know
  their own contributions exactly.

Checks (each finding goes to a list; the report also counts what was checked)
-----------------------------------------------------------------------------
1. mismatches: every published number (value, suppliers, buyers) equals the
   truth, classified here independently of the service; the grid is
   complete (every combination of the period's months, the families of the
   descriptor, label groups, origin classes and sector categories, and every
   total, exactly once); suppressed rows carry no number; microdata rows are
   exactly the delivered lines of their published cells generalised as the
   rows show, and there are none for suppressed cells.
2. Tables (linear programming, scipy HiGHS): for each suppressed number the
   minimum and maximum it can take given every published number of every
   release and values >= 0. Hidden cells without any line are unknowns too,
   except the cells that the catalog and directory prove empty (no offer
   ever in that family x label group x origin class, or no canteen of the
   territory in that sector category): those are fixed to 0. Breaches:
   `pinned`, a unit's contribution pinned within +-15 %; `underprotected`,
   a suppressed number failing the rules (under 3 suppliers or buyers, a
   unit above 85 %, or the p % rule: value - top three < 15 % of the top
   one, on either side) whose range does not reach 15 % above and below.
   The cells of one month x family x label_group block enter exactly the
   same published equations, so the programme is solved over block sums,
   which is exact: a cell can take all of its block's sum, and can be 0 when
   another unknown cell of its block can take the rest.
3. `existence`: a suppressed cell traded in whose minimum is above 0.5
   cent proves a trade in that month, family, label group, origin and
   sector (which, with the directory, may name both sides).
4. `coalition`: for every published number and every residual (a published
   total minus its published cells, the exact sum of its hidden cells), for
   each unit u on each side, the two largest other units of that side pool
   what they know: value - x_u - x_a - x_b < 15 % of x_u is a breach (a
   residual failing the rules is also `underprotected`). For a suppressed
   number within [lo, hi], the same coalition estimates x_u as
   [lo - x_a - x_b, hi - x_a - x_b] (what is left once they subtract their
   own parts); a breach when that is within +-15 % of x_u. On a number known
   exactly (lo = hi = V) this is the published check above.
   Suppressed numbers whose range does not reach 15 % above and below are
   also listed under `not_open` (information, not a finding by itself: the
   service promises that room), with whether they would pass the coalition
   check if they were published.
5. Microdata, within each package and across packages, grouping rows by
   every subset of the published categories: `singled_out`, a group whose
   rows come from fewer than 3 suppliers or 3 buyers; `microdata` breaches,
   a unit whose value the group's band range (sum of lower bounds, sum of
   upper bounds; [0, inf) for `*` and `5000+` without upper bound) pins
   within +-15 %, alone or once the two other units of its side with the
   widest bands have removed their own rows; k, the smallest class over the
   quasi-identifiers, must be >= 5.
6. `attribution`: for each distinct microdata row (class), the candidate
   suppliers are every supplier with an offer (any status, any time) whose
   family, label group, origin class, supplier kind and unit kind (unless
   `*`) match the row; a candidate fits when some quantity on the offer's
   order grid (minimum + k x step, k >= 0) at one of its public prices gives
   a line value within the row's band, give or take 0.50 EUR for rounding
   (any value when the band is `*`). Exactly one fitting supplier names the
   supplier of the row: a breach (whether the attribution is right is
   counted too).
"""

import csv
import itertools
import json
import math
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix

PROTECTION = 0.15
DOMINANCE = 0.85
P_PERCENT = 0.15
MIN_UNITS = 3
K = 5
HALF_CENT = 0.5
ROUNDING_CENTS = 50
LIST_LIMIT = 20

COLUMNS = ("month", "family", "label_group", "origin_class", "sector_category")
LEVELS = {
    "cell": COLUMNS,
    "month": ("month",),
    "family": ("family",),
    "label_group": ("label_group",),
    "month_family": ("month", "family"),
    "total": (),
}
LABEL_GROUPS = ("bio", "siqo", "other", "none")
ORIGIN_CLASSES = ("epci", "departement", "region", "france", "europe")
SECTOR_CATEGORIES = ("administration", "entreprise", "education", "sante", "social", "loisir")
BANDS = {"0-50": (0, 5000), "50-100": (5000, 10000), "100-200": (10000, 20000),
         "200-500": (20000, 50000), "500-1000": (50000, 100000),
         "1000-2000": (100000, 200000), "2000-5000": (200000, 500000), "5000+": (500000, None)}
CATEGORIES = ("month", "sector_category", "buyer_territory", "supplier_kind", "origin_class",
              "family", "label_group", "unit_kind", "value_band")
QUASI_IDENTIFIERS = ("month", "sector_category", "buyer_territory", "supplier_kind",
                     "origin_class", "family")
# Generalisation levels of a published cell's rows: which columns are `*`.
SHAPES = ((False, False, False), (True, False, False), (True, True, False), (True, True, True))
GENERALISED = ("supplier_kind", "unit_kind", "value_band")
SIQO = {"LABEL_ROUGE", "AOCAOP", "IGP", "STG"}
OTHER = {"HVE", "PECHE_DURABLE", "RUP", "FERMIER", "COMMERCE_EQUITABLE", "EXTERNALITES", "PERFORMANCE"}


# --- Classification, written independently of the service ------------------

def label_group(labels):
    labels = set(labels or ())
    if "BIO" in labels:
        return "bio"
    if labels & SIQO:
        return "siqo"
    if labels & OTHER:
        return "other"
    return "none"


def origin_class(thing, territory):
    if thing["origin"] == "EUROPE":
        return "europe"
    if thing["producer_epci"] == territory["epci"]:
        return "epci"
    if thing["producer_departement"] in territory["departements"]:
        return "departement"
    if thing["producer_region"] in territory["regions"]:
        return "region"
    return "france"


def sector_category(sector):
    if not sector:
        return None
    return "loisir" if sector.startswith("autres") else sector.split("_")[0]


def unit_kind(unit):
    return {"KGM": "kg", "GRM": "kg", "LTR": "l"}.get(unit, "piece")


def value_band(cents):
    for band, (low, high) in BANDS.items():
        if cents >= low and (high is None or cents < high):
            return band
    return "0-50"  # negative values do not exist


def classify(line, territory):
    return {
        "month": line["month"], "family": line["family"], "label_group": label_group(line["labels"]),
        "origin_class": origin_class(line, territory), "sector_category": sector_category(line["sector"]),
        "supplier_kind": line["supplier_kind"], "unit_kind": unit_kind(line["unit"]),
        "buyer_territory": territory["epci"], "value_band": value_band(line["value_cents"]),
        "supplier": line["supplier_id"], "buyer": line["buyer_id"], "value": line["value_cents"],
        "offer": line.get("offer_id"),
    }


def counted(line, territory):
    return (line["status"] in ("delivered", "received", "disputed") and not line["disputed"]
            and line["buyer_epci"] == territory["epci"] and line["buyer_status"] == "verified")


def cents(text):
    return round(float(text) * 100)


def key_of(level, thing):
    fields = LEVELS[level]
    return tuple(thing[c] if c in fields else "" for c in COLUMNS)


def months_between(first, last):
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


# --- Contributions ----------------------------------------------------------

class Units:
    """Contributions of suppliers and buyers to one number."""

    def __init__(self):
        self.value = 0
        self.suppliers = defaultdict(int)
        self.buyers = defaultdict(int)

    def add(self, line):
        self.value += line["value"]
        self.suppliers[line["supplier"]] += line["value"]
        self.buyers[line["buyer"]] += line["value"]

    def merge(self, other):
        self.value += other.value
        for u, v in other.suppliers.items():
            self.suppliers[u] += v
        for u, v in other.buyers.items():
            self.buyers[u] += v

    def sides(self):
        return (("supplier", self.suppliers), ("buyer", self.buyers))

    def fails_rules(self):
        for _, units in self.sides():
            values = sorted(units.values(), reverse=True)
            if len(values) < MIN_UNITS or values[0] > DOMINANCE * self.value:
                return True
            if self.value - sum(values[:3]) < P_PERCENT * values[0]:
                return True
        return False

    def contributions(self):
        for side, units in self.sides():
            for u, v in units.items():
                yield side, u, v


def within(low, high, x):
    """Is every value in [low, high] within 15 % of x > 0?"""
    return x > 0 and low >= (1 - PROTECTION) * x - HALF_CENT and high <= (1 + PROTECTION) * x + HALF_CENT


def exact_number_findings(where, value, units):
    """Breaches on a number known exactly: pinned, or pinned by a coalition of two."""
    found = []
    for side, contributions in units.sides():
        top = sorted(contributions.items(), key=lambda kv: -kv[1])[:3]
        for u, x in contributions.items():
            if x <= 0:
                continue
            if within(value, value, x):
                found.append(dict(where, check="pinned", side=side, unit=u, contribution=x, value=value))
                continue
            others = [v for w, v in top if w != u][:2]
            if value - x - sum(others) < P_PERCENT * x - HALF_CENT:
                found.append(dict(where, check="coalition", side=side, unit=u, contribution=x,
                                  value=value, coalition=others))
    return found


# --- The attack -------------------------------------------------------------

class Report(dict):
    def finding(self, kind, entry):
        self[kind].append(entry)


def load_package(path, index, report):
    descriptor = json.loads((path / "datapackage.json").read_text(encoding="utf-8"))
    period = descriptor["period"]
    months = months_between(period["from"][:7], period["to"][:7])
    families = None
    for resource in descriptor["resources"]:
        if resource["name"] == "supply_stats":
            for field in resource["schema"]["fields"]:
                if field["name"] == "family":
                    families = field["constraints"]["enum"]
    expected = set()
    for m in months:
        expected.add(("month", (m, "", "", "", "")))
        for f in families:
            expected.add(("month_family", (m, f, "", "", "")))
            for lg in LABEL_GROUPS:
                for o in ORIGIN_CLASSES:
                    for s in SECTOR_CATEGORIES:
                        expected.add(("cell", (m, f, lg, o, s)))
    for f in families:
        expected.add(("family", ("", f, "", "", "")))
    for lg in LABEL_GROUPS:
        expected.add(("label_group", ("", "", lg, "", "")))
    expected.add(("total", ("", "", "", "", "")))

    items = {}  # (level, key) -> (value or None, suppliers, buyers)
    seen = Counter()
    with open(path / "supply_stats.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            level = r["level"]
            key = tuple(r[c] for c in COLUMNS)
            seen[(level, key)] += 1
            if r["status"] == "published":
                if r["value_ht"] == "" or r["suppliers"] == "" or r["buyers"] == "":
                    report.finding("mismatches", f"package {index}: published row without numbers: {r}")
                    items[(level, key)] = (None, None, None)
                    continue
                items[(level, key)] = (cents(r["value_ht"]), int(r["suppliers"]), int(r["buyers"]))
            elif r["status"] == "suppressed":
                if r["value_ht"] != "" or r["suppliers"] != "" or r["buyers"] != "":
                    report.finding("mismatches", f"package {index}: suppressed row with a number: {r}")
                items[(level, key)] = (None, None, None)
            else:
                report.finding("mismatches", f"package {index}: unknown status: {r}")
    for item, n in seen.items():
        if item not in expected:
            report.finding("mismatches", f"package {index}: row outside the grid: {item}")
        elif n > 1:
            report.finding("mismatches", f"package {index}: row {item} appears {n} times")
    for item in sorted(expected - set(seen)):
        report.finding("mismatches", f"package {index}: grid row missing: {item}")
        items[item] = (None, None, None)

    rows = []
    with open(path / "transactions.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            r["package"] = index
            rows.append(r)
    return {"months": months, "families": families, "items": items, "rows": rows}


def main():
    truth = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    territory = truth["territory"]
    lines = [classify(l, territory) for l in (truth["lines"] or []) if counted(l, territory)]
    catalog = truth.get("catalog") or []
    directory = truth.get("directory") or []
    report = Report(packages=len(sys.argv) - 2, lines=len(lines), items=0, suppressed=0,
                    cells_known_empty=0, linear_programmes=0, numbers_checked=0,
                    residuals_checked=0, microdata_rows=0, groups_checked=0, k=None,
                    rows_checked=0, rows_attributed=0, rows_attributed_right=0,
                    rows_unexplained=0, breaches=[], underprotected=[], singled_out=[],
                    mismatches=[], not_open=[])
    packages = [load_package(Path(p), i, report) for i, p in enumerate(sys.argv[2:])]
    report["items"] = sum(len(p["items"]) for p in packages)
    report["suppressed"] = sum(1 for p in packages for v in p["items"].values() if v[0] is None)
    rows = [r for p in packages for r in p["rows"]]
    report["microdata_rows"] = len(rows)

    # The truth behind every row of every package.
    covered = defaultdict(list)
    for index, p in enumerate(packages):
        for m in p["months"]:
            covered[m].append(index)
    truth_units = defaultdict(Units)      # (package, level, key)
    cell_truth = defaultdict(Units)       # key
    cell_lines = defaultdict(list)        # key
    for line in lines:
        if not covered.get(line["month"]):
            continue
        cell = key_of("cell", line)
        cell_truth[cell].add(line)
        cell_lines[cell].append(line)
        for index in covered[line["month"]]:
            for level in LEVELS:
                truth_units[(index, level, key_of(level, line))].add(line)
    for index, p in enumerate(packages):
        for (level, key), (value, suppliers, buyers) in p["items"].items():
            units = truth_units.get((index, level, key))
            if value is None:
                continue
            if units is None:
                report.finding("mismatches", f"package {index}: {level} {key} published without any line")
            elif (value, suppliers, buyers) != (units.value, len(units.suppliers), len(units.buyers)):
                report.finding("mismatches", f"package {index}: {level} {key}: published "
                               f"{(value, suppliers, buyers)}, truth "
                               f"{(units.value, len(units.suppliers), len(units.buyers))}")
        for (i, level, key) in truth_units:
            if i == index and (level, key) not in p["items"]:
                report.finding("mismatches", f"package {index}: {level} {key} traded but not in the grid")

    # What the catalog and the directory say cannot exist.
    possible = set()
    for offer in catalog:
        possible.add((offer["family"], label_group(offer["labels"]), origin_class(offer, territory)))
    sectors = {sector_category(o.get("sector")) for o in directory} - {None}

    def known_empty(cell):
        return ((catalog and (cell[1], cell[2], cell[3]) not in possible)
                or (sectors and cell[4] not in sectors))

    # Every cell once, across packages: its published value if any release
    # publishes it, else an unknown; unknowns of a block share a variable.
    published_cell = {}
    cells = set()
    for p in packages:
        for (level, key), (value, _, _) in p["items"].items():
            if level != "cell":
                continue
            cells.add(key)
            if value is not None:
                published_cell.setdefault(key, value)
    free = defaultdict(list)  # block -> unknown cells not known empty
    for cell in cells:
        if cell in published_cell:
            continue
        if known_empty(cell):
            if cell in cell_truth:
                report.finding("mismatches", f"cell {cell} traded though the catalog and directory "
                                             "say it cannot be (the truth file is inconsistent)")
            else:
                report["cells_known_empty"] += 1
                continue
        free[cell[:3]].append(cell)
    block_var = {b: n for n, b in enumerate(sorted(free))}

    def blocks_of(index, level, key):
        """Blocks (month, family, label_group) making up a number of a package."""
        fields = LEVELS[level]
        months = [key[0]] if "month" in fields else packages[index]["months"]
        families = [key[1]] if "family" in fields else packages[index]["families"]
        groups = [key[2]] if "label_group" in fields else LABEL_GROUPS
        return itertools.product(months, families, groups)

    def cells_of(index, level, key):
        if level == "cell":
            return [key]
        out = []
        for block in blocks_of(index, level, key):
            for o in ORIGIN_CLASSES:
                for s in SECTOR_CATEGORIES:
                    out.append(block + (o, s))
        return out

    def linear_form(index, level, key):
        """(variables, constant) of a number over the block variables."""
        variables = sorted({block_var[b] for b in blocks_of(index, level, key) if b in block_var})
        constant = sum(published_cell.get(c, 0) for c in cells_of(index, level, key))
        return variables, constant

    rows_eq, cols_eq, rhs = [], [], []
    for index, p in enumerate(packages):
        for (level, key), (value, _, _) in sorted(p["items"].items()):
            if level == "cell" or value is None:
                continue
            variables, constant = linear_form(index, level, key)
            if variables:
                for v in variables:
                    rows_eq.append(len(rhs))
                    cols_eq.append(v)
                rhs.append(value - constant)
            elif value != constant:
                report.finding("mismatches", f"package {index}: {level} {key} = {value} but its "
                                             f"published cells sum to {constant}")
    n_var = len(block_var)
    a_eq = csr_matrix((np.ones(len(rows_eq)), (rows_eq, cols_eq)), shape=(len(rhs), n_var))
    b_eq = np.array(rhs, dtype=float)
    cache = {}

    def extreme(variables, sense):
        """min (sense 1) or max (sense -1) of the sum of the variables."""
        key = (tuple(variables), sense)
        if key in cache:
            return cache[key]
        if not variables:
            return 0.0
        objective = np.zeros(n_var)
        objective[list(variables)] = sense
        report["linear_programmes"] += 1
        result = linprog(objective, A_eq=a_eq if len(rhs) else None, b_eq=b_eq if len(rhs) else None,
                         bounds=(0, None), method="highs")
        if result.status == 3:
            out = math.inf if sense < 0 else 0.0
        elif result.status == 2:
            raise Infeasible()
        elif result.status != 0:
            raise SystemExit(f"linear programme failed: {result.message}")
        else:
            out = sense * result.fun
        cache[key] = out
        return out

    class Infeasible(Exception):
        pass

    try:
        if n_var:
            extreme([0], -1)
        feasible = True
    except Infeasible:
        feasible = False
        report.finding("mismatches", "the published tables are inconsistent (no non-negative solution)")

    # Suppressed numbers: LP range, existence, pinning, coalitions, protection.
    for index, p in enumerate(packages) if feasible else ():
        for (level, key), (value, _, _) in sorted(p["items"].items()):
            if value is not None:
                continue
            units = truth_units.get((index, level, key))
            if units is None or units.value <= 0:
                continue  # nothing to protect (and an empty cell is protected by its block)
            if level == "cell" and key in published_cell:
                continue  # published by another release: checked as published
            report["numbers_checked"] += 1
            where = {"package": index, "level": level, "key": key, "value": units.value}
            top = max(max(units.suppliers.values()), max(units.buyers.values()))
            fails = units.fails_rules()
            if level == "cell":
                block = key[:3]
                variables = [block_var[block]] if block in block_var else []
                high = extreme(variables, -1)
                low = extreme(variables, 1) if len(free.get(block, ())) == 1 else 0.0
                if low > HALF_CENT:
                    report.finding("breaches", dict(where, check="existence", low=low, high=high))
            else:
                variables, constant = linear_form(index, level, key)
                high = constant + extreme(variables, -1)
                reachable = max((1 + PROTECTION) * top, units.value + PROTECTION * top) + HALF_CENT
                low = constant + extreme(variables, 1) if fails or high <= reachable else 0.0
            if not (high >= (1 + PROTECTION) * units.value - HALF_CENT
                    and low <= (1 - PROTECTION) * units.value + HALF_CENT):
                if fails:
                    report.finding("underprotected", dict(where, low=low, high=high))
                # Not a finding by itself (the coalition check below decides),
                # but the service promises every suppressed number this room.
                report.finding("not_open", dict(where, low=low, high=high, fails_rules=fails,
                                                safe_if_published=not exact_number_findings(
                                                    where, units.value, units)))
            for side, contributions in units.sides():
                top = sorted(contributions.items(), key=lambda kv: -kv[1])[:3]
                for unit, x in contributions.items():
                    pair = sum([v for w, v in top if w != unit][:2])
                    if within(low, high, x):
                        report.finding("breaches", dict(where, check="pinned", side=side, unit=unit,
                                                        contribution=x, low=low, high=high))
                    elif within(low - pair, high - pair, x):
                        report.finding("breaches", dict(where, check="coalition", side=side, unit=unit,
                                                        contribution=x, low=low, high=high))

    # Published numbers and residuals: exact values.
    for index, p in enumerate(packages):
        for (level, key), (value, _, _) in sorted(p["items"].items()):
            if value is None:
                continue
            units = truth_units.get((index, level, key))
            if units is None:
                continue
            report["numbers_checked"] += 1
            where = {"package": index, "level": level, "key": key}
            for entry in exact_number_findings(where, value, units):
                report.finding("breaches", entry)
            if level == "cell":
                continue
            members = cells_of(index, level, key)
            hidden = [c for c in members if c not in published_cell]
            if not hidden:
                continue
            residual = value - sum(published_cell.get(c, 0) for c in members)
            hidden_units = Units()
            for c in hidden:
                if c in cell_truth:
                    hidden_units.merge(cell_truth[c])
            report["residuals_checked"] += 1
            where = {"package": index, "residual_of": [level, key]}
            if hidden_units.value <= 0:
                continue
            for entry in exact_number_findings(where, residual, hidden_units):
                report.finding("breaches", entry)
            if hidden_units.fails_rules():
                report.finding("underprotected", dict(where, value=residual,
                                                      suppliers=len(hidden_units.suppliers),
                                                      buyers=len(hidden_units.buyers)))

    # Microdata: the truth lines in their published form.
    published_keys = {(i, key) for i, p in enumerate(packages)
                      for (level, key), v in p["items"].items() if level == "cell" and v[0] is not None}
    rows_by_cell = defaultdict(list)
    for r in rows:
        if r.get("value_band") not in BANDS and r.get("value_band") != "*":
            report.finding("mismatches", f"row with an unknown value band: {r}")
        rows_by_cell[(r["package"], tuple(r[c] for c in COLUMNS))].append(r)
    shown_lines = []  # truth lines as published, with the package
    for (index, cell), cell_rows in sorted(rows_by_cell.items()):
        if (index, cell) not in published_keys:
            report.finding("mismatches", f"package {index}: microdata rows for the suppressed cell {cell}")
        shapes = {tuple(r[c] == "*" for c in GENERALISED) for r in cell_rows}
        if len(shapes) != 1 or next(iter(shapes)) not in SHAPES:
            report.finding("mismatches", f"package {index}: rows of cell {cell} generalised as {shapes}")
        shape = next(iter(shapes))
        shown = []
        for line in cell_lines.get(cell, ()):
            s = dict(line, package=index)
            for c, hidden in zip(GENERALISED, shape):
                if hidden:
                    s[c] = "*"
            shown.append(s)
        if Counter(tuple(s[c] for c in CATEGORIES) for s in shown) != \
                Counter(tuple(r[c] for c in CATEGORIES) for r in cell_rows):
            report.finding("mismatches", f"package {index}: microdata rows of cell {cell} do not match "
                                         "its delivered lines")
        shown_lines.extend(shown)

    classes = Counter((r["package"],) + tuple(r[c] for c in QUASI_IDENTIFIERS) for r in rows)
    report["k"] = min(classes.values(), default=None)
    if report["k"] is not None and report["k"] < K:
        report.finding("singled_out", {"k": report["k"], "quasi_identifiers": QUASI_IDENTIFIERS})
    microdata_groups(shown_lines, report)
    attribution(rows, shown_lines, catalog, territory, report)

    found = any(report[name] for name in ("breaches", "underprotected", "singled_out", "mismatches"))
    for name in ("breaches", "underprotected", "singled_out", "mismatches", "not_open"):
        report[name + "_count"] = len(report[name])
        if name == "breaches":
            report["breaches_by_check"] = dict(Counter(b["check"] for b in report[name]))
        if not os.environ.get("ATTACK_FULL_LISTS"):
            report[name] = representative(report[name])
    print(json.dumps(report, default=str))
    sys.exit(1 if found else 0)


def representative(entries):
    """The first entries of each kind of finding, up to LIST_LIMIT in all."""
    kinds = defaultdict(list)
    for e in entries:
        kinds[e.get("check") if isinstance(e, dict) else None].append(e)
    out = []
    for depth in range(LIST_LIMIT):
        for kind in kinds.values():
            if depth < len(kind) and len(out) < LIST_LIMIT:
                out.append(kind[depth])
    return out


def microdata_groups(shown, report):
    """Singling out and band-sum pinning over every group of rows an attacker
    can select by published categories, within a package and across them."""
    n = len(shown)
    if not n:
        return
    codes = {}
    columns = {}
    for c in CATEGORIES + ("package",):
        values = [s[c] for s in shown]
        index = {v: i for i, v in enumerate(sorted(set(values), key=str))}
        columns[c] = np.array([index[v] for v in values], dtype=np.int64)
        codes[c] = len(index)
    low = np.array([BANDS[s["value_band"]][0] if s["value_band"] != "*" else 0 for s in shown],
                   dtype=np.float64)
    open_high = np.array([s["value_band"] == "*" or BANDS[s["value_band"]][1] is None for s in shown])
    high = np.array([0 if o else BANDS[s["value_band"]][1] for s, o in zip(shown, open_high)],
                    dtype=np.float64)
    value = np.array([s["value"] for s in shown], dtype=np.float64)
    ids = {}
    for side, field in (("supplier", "supplier"), ("buyer", "buyer")):
        names = sorted({s[field] for s in shown})
        lookup = {u: i for i, u in enumerate(names)}
        ids[side] = (np.array([lookup[s[field]] for s in shown], dtype=np.int64), names)

    for across in (False, True):
        for size in range(1, len(CATEGORIES) + 1):
            for chosen in itertools.combinations(CATEGORIES, size):
                cols = list(chosen) + ([] if across else ["package"])
                code = np.zeros(n, dtype=np.int64)
                for c in cols:
                    code = code * codes[c] + columns[c]
                groups, first, group = np.unique(code, return_index=True, return_inverse=True)
                g = len(groups)
                report["groups_checked"] += g
                g_low = np.bincount(group, low, g)
                g_high = np.bincount(group, high, g)
                g_open = np.bincount(group, open_high, g)
                distinct = {}
                for side in ("supplier", "buyer"):
                    unit, names = ids[side]
                    pair = group * len(names) + unit
                    pairs, inverse = np.unique(pair, return_inverse=True)
                    pg, pu = pairs // len(names), pairs % len(names)
                    distinct[side] = np.bincount(pg, minlength=g)
                    x = np.bincount(inverse, value, len(pairs))
                    u_low = np.bincount(inverse, low, len(pairs))
                    u_high = np.bincount(inverse, high, len(pairs))
                    u_open = np.bincount(inverse, open_high, len(pairs))
                    # Alone: the whole group's band range.
                    alone = ((g_open[pg] == 0) & (g_low[pg] >= (1 - PROTECTION) * x - HALF_CENT)
                             & (g_high[pg] <= (1 + PROTECTION) * x + HALF_CENT) & (x > 0))
                    # With the two other units of the side with the widest bands.
                    width = np.where(u_open > 0, np.inf, u_high - u_low)
                    order = np.lexsort((-u_open, -width, pg))
                    rank = np.empty(len(pairs), dtype=np.int64)
                    starts = np.searchsorted(pg[order], np.arange(g))
                    rank[order] = np.arange(len(pairs)) - starts[pg[order]]
                    top = np.full((g, 3), -1, dtype=np.int64)
                    keep = rank < 3
                    top[pg[keep], rank[keep]] = np.nonzero(keep)[0]
                    a = np.where(rank == 0, top[pg, 1], top[pg, 0])
                    b = np.where(rank <= 1, top[pg, 2], top[pg, 1])

                    def take(arr, idx):
                        return np.where(idx >= 0, arr[np.maximum(idx, 0)], 0)

                    r_low = g_low[pg] - take(u_low, a) - take(u_low, b)
                    r_high = g_high[pg] - take(u_high, a) - take(u_high, b)
                    r_open = g_open[pg] - take(u_open, a) - take(u_open, b)
                    pooled = ((r_open == 0) & (r_low >= (1 - PROTECTION) * x - HALF_CENT)
                              & (r_high <= (1 + PROTECTION) * x + HALF_CENT) & (x > 0) & ~alone)
                    for i in np.nonzero(alone | pooled)[0]:
                        report.finding("breaches", {
                            "check": "microdata", "coalition": bool(pooled[i]), "columns": chosen,
                            "across_packages": across, "group": {c: shown[first[pg[i]]][c] for c in cols},
                            "side": side, "unit": names[pu[i]], "contribution": int(x[i]),
                            "low": float(r_low[i] if pooled[i] else g_low[pg[i]]),
                            "high": float(r_high[i] if pooled[i] else g_high[pg[i]])})
                few = np.nonzero((distinct["supplier"] < MIN_UNITS) | (distinct["buyer"] < MIN_UNITS))[0]
                for gi in few:
                    report.finding("singled_out", {
                        "columns": chosen, "across_packages": across,
                        "group": {c: shown[first[gi]][c] for c in cols},
                        "suppliers": int(distinct["supplier"][gi]), "buyers": int(distinct["buyer"][gi])})


def attribution(rows, shown, catalog, territory, report):
    """Names the supplier of a microdata row from the public catalog."""
    offers = defaultdict(list)
    for offer in catalog:
        prices = sorted({int(p) for p in (offer.get("prices") or [])})
        offers[(offer["family"], label_group(offer["labels"]), origin_class(offer, territory))].append({
            "supplier": offer["supplier_id"], "kind": offer["supplier_kind"],
            "unit_kind": unit_kind(offer["unit"]), "prices": prices,
            "min": float(offer["min_order_quantity"]), "step": float(offer["order_step"])})

    def fits(offer, band):
        if band == "*":
            return True
        low, high = BANDS[band]
        low -= ROUNDING_CENTS
        high = math.inf if high is None else high + ROUNDING_CENTS
        for price in offer["prices"]:
            if price <= 0:
                if low <= 0:
                    return True
                continue
            q_low, q_high = low / price, high / price
            k = max(0, math.ceil((q_low - offer["min"]) / offer["step"] - 1e-9))
            if offer["min"] + k * offer["step"] <= q_high + 1e-9:
                return True
        return False

    truth_suppliers = defaultdict(set)
    for s in shown:
        truth_suppliers[(s["package"],) + tuple(s[c] for c in CATEGORIES)].add(s["supplier"])
    classes = Counter((r["package"],) + tuple(r[c] for c in CATEGORIES) for r in rows)
    report["rows_checked"] = len(rows)
    for cls, count in classes.items():
        row = dict(zip(("package",) + CATEGORIES, cls))
        candidates = set()
        for offer in offers.get((row["family"], row["label_group"], row["origin_class"]), ()):
            if row["supplier_kind"] != "*" and offer["kind"] != row["supplier_kind"]:
                continue
            if row["unit_kind"] != "*" and offer["unit_kind"] != row["unit_kind"]:
                continue
            if offer["supplier"] not in candidates and fits(offer, row["value_band"]):
                candidates.add(offer["supplier"])
        if not candidates:
            report["rows_unexplained"] += count
        elif len(candidates) == 1:
            supplier = next(iter(candidates))
            right = truth_suppliers.get(cls) == {supplier}
            report["rows_attributed"] += count
            report["rows_attributed_right"] += count if right else 0
            report.finding("breaches", {"check": "attribution", "row": row, "rows": count,
                                        "supplier": supplier, "right": right})


if __name__ == "__main__":
    main()
