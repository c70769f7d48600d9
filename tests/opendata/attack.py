"""An automated attacker against Sésame's open data releases.

Usage: attack.py TRUTH.json PACKAGE_DIR [PACKAGE_DIR ...]

TRUTH.json holds the raw delivered lines behind the releases (who sold, who
bought, what, where, for how much) and the territory; the attacker itself
only reads the published packages. It combines every published cell, total
and microdata row of all the packages given, and reports:

- breaches: a supplier's or buyer's value in a cell, total, sum of the
  hidden cells of a published total, or group of microdata rows that the
  attacker can pin to within +-15 %, that is every value it cannot exclude
  lies within 15 % of that unit's true contribution (linear programming
  over the tables, interval arithmetic over rows);
- underprotected: a number failing the rules (under 3 suppliers or buyers, or
  one above 85 %) whose possible values do not reach 15 % above and below;
- singled_out: a group of microdata rows selectable by published categories
  whose rows all come from fewer than 3 suppliers or 3 buyers;
- k: the smallest class of microdata rows over the quasi-identifiers;
- mismatches: published numbers that disagree with the truth (the check
  would be meaningless otherwise).

Classification of the truth lines is written here independently of the
service. Exit status 1 when anything is found; a JSON summary on stdout.
"""

import csv
import itertools
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import lil_matrix

PROTECTION = 0.15
DOMINANCE = 0.85
MIN_UNITS = 3
K = 5
CELL = ("month", "family", "label_group", "origin_class", "sector_category")
TOTALS = {"month": ("month",), "family": ("family",), "label_group": ("label_group",), "total": ()}
CATEGORIES = ("month", "sector_category", "buyer_territory", "supplier_kind", "origin_class",
              "family", "label_group", "unit_kind")
QUASI_IDENTIFIERS = ("month", "sector_category", "buyer_territory", "supplier_kind",
                     "origin_class", "family")
SIQO = {"LABEL_ROUGE", "AOCAOP", "IGP", "STG"}
OTHER = {"HVE", "PECHE_DURABLE", "RUP", "FERMIER", "COMMERCE_EQUITABLE", "EXTERNALITES", "PERFORMANCE"}


def classify(line, territory):
    labels = set(line["labels"])
    if "BIO" in labels:
        label_group = "bio"
    elif labels & SIQO:
        label_group = "siqo"
    elif labels & OTHER:
        label_group = "other"
    else:
        label_group = "none"
    if line["origin"] == "EUROPE":
        origin = "europe"
    elif line["producer_epci"] == territory["epci"]:
        origin = "epci"
    elif line["producer_departement"] in territory["departements"]:
        origin = "departement"
    elif line["producer_region"] in territory["regions"]:
        origin = "region"
    else:
        origin = "france"
    sector = line["sector"]
    category = "loisir" if sector.startswith("autres") else sector.split("_")[0]
    unit = {"KGM": "kg", "GRM": "kg", "LTR": "l"}.get(line["unit"], "piece")
    return {
        "month": line["month"], "family": line["family"], "label_group": label_group,
        "origin_class": origin, "sector_category": category, "supplier_kind": line["supplier_kind"],
        "unit_kind": unit, "buyer_territory": territory["epci"],
        "supplier": line["supplier_id"], "buyer": line["buyer_id"], "value": line["value_cents"],
    }


def counted(line, territory):
    return (line["status"] in ("delivered", "received", "disputed") and not line["disputed"]
            and line["buyer_epci"] == territory["epci"] and line["buyer_status"] == "verified")


def cents(text):
    return round(float(text) * 100)


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

    def fails_rules(self):
        top = max(list(self.suppliers.values()) + list(self.buyers.values()), default=0)
        return (len(self.suppliers) < MIN_UNITS or len(self.buyers) < MIN_UNITS
                or top > DOMINANCE * self.value)

    def contributions(self):
        yield from (("supplier", u, v) for u, v in self.suppliers.items())
        yield from (("buyer", u, v) for u, v in self.buyers.items())


def pinned(low, high, contribution):
    """Can the attacker tell this unit's value to within 15 %?"""
    return contribution > 0 and low >= (1 - PROTECTION) * contribution - 0.5 \
        and high <= (1 + PROTECTION) * contribution + 0.5


def main():
    truth = json.loads(Path(sys.argv[1]).read_text())
    territory = truth["territory"]
    lines = [classify(l, territory) for l in truth["lines"] if counted(l, territory)]
    packages = [Path(p) for p in sys.argv[2:]]
    report = {"packages": len(packages), "lines": len(lines), "items": 0, "suppressed": 0,
              "linear_programmes": 0, "microdata_rows": 0, "groups_checked": 0, "k": None,
              "breaches": [], "underprotected": [], "singled_out": [], "mismatches": []}

    # Every published number of every package: the attacker's knowledge.
    items = []  # (package, level, key, published value in cents or None)
    rows = []   # microdata rows with their package
    months = {}
    for index, package in enumerate(packages):
        with open(package / "supply_stats.csv", newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                level = r["level"]
                fields = CELL if level == "cell" else TOTALS[level]
                key = tuple(r[c] for c in fields)
                value = cents(r["value_ht"]) if r["status"] == "published" else None
                if r["status"] == "published" and r["value_ht"] == "":
                    report["mismatches"].append(f"published row without value: {r}")
                if r["status"] == "suppressed" and r["value_ht"] != "":
                    report["mismatches"].append(f"suppressed row with a value: {r}")
                items.append((index, level, key, value))
                if level == "cell":
                    months[key[0]] = index
        with open(package / "transactions.csv", newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                r["package"] = index
                rows.append(r)
    report["items"] = len(items)
    report["microdata_rows"] = len(rows)

    # The truth behind each published row of supply_stats.
    truth_units = defaultdict(Units)
    for line in lines:
        index = months.get(line["month"])
        if index is None:
            continue
        truth_units[(index, "cell", tuple(line[c] for c in CELL))].add(line)
        for level, fields in TOTALS.items():
            truth_units[(index, level, tuple(line[c] for c in fields))].add(line)
    for (index, level, key, value) in items:
        units = truth_units.get((index, level, key))
        if units is None:
            report["mismatches"].append(f"{level} {key} has no delivered line")
        elif value is not None and value != units.value:
            report["mismatches"].append(f"{level} {key}: published {value}, truth {units.value}")
    if len(truth_units) != len(items):
        report["mismatches"].append(f"{len(truth_units)} numbers in the truth, {len(items)} published")

    # The tables as a linear system: one variable per suppressed cell, one
    # equation per published total; microdata rows give lower bounds.
    hidden = [i for i, it in enumerate(items) if it[1] == "cell" and it[3] is None]
    report["suppressed"] = sum(1 for it in items if it[3] is None)
    var = {i: n for n, i in enumerate(hidden)}
    cells_of = defaultdict(list)
    for i, (index, level, key, value) in enumerate(items):
        if level != "cell":
            continue
        for total, fields in TOTALS.items():
            cells_of[(index, total, tuple(key[CELL.index(c)] for c in fields))].append(i)
    equations, rhs = [], []
    for (index, level, key, value) in items:
        if level == "cell" or value is None:
            continue
        members = cells_of[(index, level, key)]
        terms = [var[i] for i in members if i in var]
        known = sum(items[i][3] for i in members if i not in var)
        if terms:
            equations.append(terms)
            rhs.append(value - known)
    lower = np.zeros(len(hidden))
    hidden_by_key = {items[i][:3]: var[i] for i in hidden}
    for r in rows:
        n = hidden_by_key.get((r["package"], "cell", tuple(r[c] for c in CELL)))
        if n is not None:
            lower[n] += max(0, int(r["value_ht_eur"]) * 100 - 50)
    a_eq = lil_matrix((len(equations), len(hidden)))
    for row, terms in enumerate(equations):
        for t in terms:
            a_eq[row, t] = 1.0
    a_eq = a_eq.tocsr()
    bounds = [(lower[n], None) for n in range(len(hidden))]

    def extreme(objective, sense):
        report["linear_programmes"] += 1
        result = linprog(sense * objective, A_eq=a_eq if equations else None,
                         b_eq=np.array(rhs) if equations else None, bounds=bounds, method="highs")
        if result.status == 3:  # unbounded
            return float("inf") if sense < 0 else 0.0
        if result.status != 0:
            raise SystemExit(f"linear programme failed: {result.message}")
        return sense * result.fun

    for i, (index, level, key, value) in enumerate(items):
        units = truth_units.get((index, level, key))
        if units is None:
            continue
        if value is not None:
            low = high = value
        else:
            objective = np.zeros(len(hidden))
            constant = 0
            members = [i] if level == "cell" else cells_of[(index, level, key)]
            for m in members:
                if m in var:
                    objective[var[m]] = 1.0
                else:
                    constant += items[m][3]
            high = constant + extreme(objective, -1.0)
            if high > (1 + PROTECTION) * units.value + 0.5:
                low = 0.0  # wide open above: no unit can be pinned
            else:
                low = constant + extreme(objective, 1.0)
            if units.fails_rules() and not (high >= (1 + PROTECTION) * units.value - 0.5
                                            and low <= (1 - PROTECTION) * units.value + 0.5):
                report["underprotected"].append({"level": level, "key": key, "value": units.value,
                                                 "low": low, "high": high})
        for side, unit, contribution in units.contributions():
            if pinned(low, high, contribution):
                report["breaches"].append({"level": level, "key": key, "side": side,
                                           "unit": unit, "contribution": contribution,
                                           "low": low, "high": high})

    # A published total minus its published cells: the exact sum of its
    # hidden cells, which must not be one unit's either.
    for (index, level, key, value) in items:
        if level == "cell" or value is None:
            continue
        members = cells_of[(index, level, key)]
        hidden_members = [m for m in members if m in var]
        if not hidden_members:
            continue
        residual = value - sum(items[m][3] for m in members if m not in var)
        units = Units()
        for m in hidden_members:
            cell_units = truth_units.get(items[m][:3])
            if cell_units is None:
                continue
            units.value += cell_units.value
            for u, v in cell_units.suppliers.items():
                units.suppliers[u] += v
            for u, v in cell_units.buyers.items():
                units.buyers[u] += v
        report["residuals_checked"] = report.get("residuals_checked", 0) + 1
        for side, unit, contribution in units.contributions():
            if pinned(residual, residual, contribution):
                report["breaches"].append({"residual_of": [level, key], "side": side, "unit": unit,
                                           "contribution": contribution, "value": residual})

    # Microdata: the truth lines in their published form.
    shapes = {}
    for r in rows:
        cell = (r["package"],) + tuple(r[c] for c in CELL)
        shape = (r["supplier_kind"] == "*", r["unit_kind"] == "*")
        if shapes.setdefault(cell, shape) != shape:
            report["mismatches"].append(f"rows of cell {cell} generalised differently")
    published_lines = []
    per_cell = defaultdict(int)
    for line in lines:
        index = months.get(line["month"])
        cell = (index,) + tuple(line[c] for c in CELL)
        if index is None or cell not in shapes:
            continue
        hide_kind, hide_unit = shapes[cell]
        shown = dict(line, package=index)
        if hide_kind:
            shown["supplier_kind"] = "*"
        if hide_unit:
            shown["unit_kind"] = "*"
        published_lines.append(shown)
        per_cell[cell] += 1
    row_count = defaultdict(int)
    for r in rows:
        row_count[(r["package"],) + tuple(r[c] for c in CELL)] += 1
    if row_count != per_cell:
        report["mismatches"].append("microdata rows do not match the delivered lines of their cells")
    published_cells = {(it[0],) + it[2] for it in items if it[1] == "cell" and it[3] is not None}
    for cell in row_count:
        if cell not in published_cells:
            report["mismatches"].append(f"microdata rows for the suppressed cell {cell}")

    classes = defaultdict(int)
    for r in rows:
        classes[(r["package"],) + tuple(r[c] for c in QUASI_IDENTIFIERS)] += 1
    report["k"] = min(classes.values(), default=None)

    # Every group of rows an attacker can select by published categories,
    # within a package and across them.
    for across in (False, True):
        for size in range(1, len(CATEGORIES) + 1):
            for columns in itertools.combinations(CATEGORIES, size):
                def group(x):
                    return ((None if across else x["package"]),) + tuple(x[c] for c in columns)
                sums, counts = defaultdict(int), defaultdict(int)
                for r in rows:
                    g = group(r)
                    sums[g] += int(r["value_ht_eur"]) * 100
                    counts[g] += 1
                units = defaultdict(Units)
                for line in published_lines:
                    units[group(line)].add(line)
                for g, u in units.items():
                    report["groups_checked"] += 1
                    if len(u.suppliers) < MIN_UNITS or len(u.buyers) < MIN_UNITS:
                        report["singled_out"].append({"columns": columns, "group": g,
                                                      "suppliers": len(u.suppliers),
                                                      "buyers": len(u.buyers)})
                    slack = 50 * counts[g]
                    for side, unit, contribution in u.contributions():
                        if pinned(sums[g] - slack, sums[g] + slack, contribution):
                            report["breaches"].append({"columns": columns, "group": g, "side": side,
                                                       "unit": unit, "contribution": contribution,
                                                       "low": sums[g] - slack, "high": sums[g] + slack})
    if report["k"] is not None and report["k"] < K:
        report["singled_out"].append({"k": report["k"]})

    found = report["breaches"] or report["underprotected"] or report["singled_out"] or report["mismatches"]
    for name in ("breaches", "underprotected", "singled_out", "mismatches"):
        report[name + "_count"] = len(report[name])
        report[name] = report[name][:20]
    print(json.dumps(report, default=str))
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
