//! The sums a build starts from, made in one pass over the staged lines
//! summed per supplier and buyer: every cell and total of `supply_stats`
//! with who is behind each cell, and the microdata classes of every cell.
//! One pass in memory replaces a query per aggregate, each of which read
//! the lines again; memory grows with cells × suppliers × buyers, never with
//! the number of lines.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use uuid::Uuid;

use super::disclosure::{
    Contributions, Contributor, Item, Key, Level, MEASURES, MicroClass, Side, Status,
};
use super::package::UNIT_KINDS;

/// What one supplier sold one buyer in a cell, for one supplier kind and one
/// unit kind.
pub struct Pair {
    pub key: Key,
    pub supplier_kind: String,
    pub unit_kind: String,
    pub supplier: Uuid,
    pub buyer: Uuid,
    pub value_cents: i64,
    pub quantity: Decimal,
    pub lines: i64,
}

/// Exact sums: value in cents, and quantity per unit kind.
#[derive(Debug, Default, Clone, Copy)]
struct Sums {
    value: i64,
    quantities: [Decimal; 3],
}

impl Sums {
    fn add(&mut self, other: &Sums) {
        self.value += other.value;
        for (sum, q) in self.quantities.iter_mut().zip(other.quantities) {
            *sum += q;
        }
    }

    /// As the disclosure arithmetic reads them (converted once, after the
    /// exact sums, so the order of the lines changes nothing).
    fn measures(&self) -> [f64; MEASURES] {
        let [kg, l, pieces] = self.quantities.map(|q| q.to_f64().unwrap_or_default());
        [self.value as f64, kg, l, pieces]
    }
}

#[derive(Default)]
struct Cell {
    sums: Sums,
    suppliers: HashMap<Uuid, Sums>,
    buyers: HashMap<Uuid, Sums>,
}

/// A microdata class inside a cell: a generalisation level, and the
/// supplier kind and unit kind it shows (`None` where shown as `*`).
type ClassKey = (usize, i16, Option<u8>, Option<u8>);

#[derive(Default)]
struct Class {
    rows: i64,
    value: i64,
    suppliers: HashMap<Uuid, i64>,
    buyers: HashMap<Uuid, i64>,
}

/// A total's sums and the distinct units of its cells.
#[derive(Default)]
struct Total {
    sums: Sums,
    suppliers: HashSet<Uuid>,
    buyers: HashSet<Uuid>,
}

/// The running sums of a build.
#[derive(Default)]
pub struct Aggregates {
    cells: Vec<(Key, Cell)>,
    cell_index: HashMap<Key, usize>,
    supplier_kinds: Vec<String>,
    classes: HashMap<ClassKey, Class>,
}

impl Aggregates {
    /// Counts one pair in its cell and in its cell's three classes.
    pub fn add(&mut self, pair: Pair) -> Result<(), String> {
        let unit_kind = UNIT_KINDS
            .iter()
            .position(|k| *k == pair.unit_kind)
            .ok_or_else(|| format!("unknown unit kind {:?}", pair.unit_kind))?;
        let supplier_kind = match self
            .supplier_kinds
            .iter()
            .position(|k| *k == pair.supplier_kind)
        {
            Some(i) => i,
            None => {
                self.supplier_kinds.push(pair.supplier_kind);
                self.supplier_kinds.len() - 1
            }
        };
        let supplier_kind = u8::try_from(supplier_kind).map_err(|_| "too many supplier kinds")?;
        let cell = match self.cell_index.get(&pair.key) {
            Some(&i) => i,
            None => {
                self.cell_index.insert(pair.key.clone(), self.cells.len());
                self.cells.push((pair.key, Cell::default()));
                self.cells.len() - 1
            }
        };
        let mut sums = Sums {
            value: pair.value_cents,
            ..Sums::default()
        };
        sums.quantities[unit_kind] = pair.quantity;

        let entry = &mut self.cells[cell].1;
        entry.sums.add(&sums);
        entry.suppliers.entry(pair.supplier).or_default().add(&sums);
        entry.buyers.entry(pair.buyer).or_default().add(&sums);

        let unit_kind = unit_kind as u8;
        for key in [
            (cell, 0, Some(supplier_kind), Some(unit_kind)),
            (cell, 1, None, Some(unit_kind)),
            (cell, 2, None, None),
        ] {
            let class = self.classes.entry(key).or_default();
            class.rows += pair.lines;
            class.value += pair.value_cents;
            *class.suppliers.entry(pair.supplier).or_default() += pair.value_cents;
            *class.buyers.entry(pair.buyer).or_default() += pair.value_cents;
        }
        Ok(())
    }

    /// The cells and totals of `supply_stats` (cells with their
    /// contributors), and the microdata classes.
    pub fn finish(self) -> (Vec<Item>, Vec<MicroClass>) {
        // Units become small indexes in a fixed order: the same data gives
        // the same contributors, hence the same release.
        let units: BTreeSet<Uuid> = self
            .cells
            .iter()
            .flat_map(|(_, c)| c.suppliers.keys().chain(c.buyers.keys()))
            .copied()
            .collect();
        let unit_index: HashMap<Uuid, u32> = units.into_iter().zip(0u32..).collect();

        let mut totals: BTreeMap<(Level, Key), Total> = BTreeMap::new();
        let mut items = Vec::with_capacity(self.cells.len());
        let unit_index = &unit_index;
        for (key, cell) in &self.cells {
            for total in key.totals() {
                let total = totals.entry(total).or_default();
                total.sums.add(&cell.sums);
                total.suppliers.extend(cell.suppliers.keys().copied());
                total.buyers.extend(cell.buyers.keys().copied());
            }
            let mut contributors: Vec<Contributor> = [
                (Side::Supplier, &cell.suppliers),
                (Side::Buyer, &cell.buyers),
            ]
            .into_iter()
            .flat_map(|(side, units)| {
                units.iter().map(move |(unit, sums)| Contributor {
                    side,
                    unit: unit_index[unit],
                    measures: sums.measures(),
                })
            })
            .collect();
            contributors.sort_by_key(|c| (c.side, c.unit));
            items.push(item(
                Level::Cell,
                key.clone(),
                &cell.sums,
                cell.suppliers.len(),
                cell.buyers.len(),
                contributors,
            ));
        }
        for ((level, key), total) in totals {
            items.push(item(
                level,
                key,
                &total.sums,
                total.suppliers.len(),
                total.buyers.len(),
                Vec::new(),
            ));
        }

        let classes = self
            .classes
            .into_iter()
            .map(|((cell, level, _, _), class)| {
                let top = |units: &HashMap<Uuid, i64>| units.values().copied().max().unwrap_or(0);
                MicroClass {
                    cell: self.cells[cell].0.clone(),
                    level,
                    rows: class.rows,
                    units: Contributions {
                        value_cents: class.value,
                        suppliers: class.suppliers.len() as i64,
                        buyers: class.buyers.len() as i64,
                        top_supplier_cents: top(&class.suppliers),
                        top_buyer_cents: top(&class.buyers),
                    },
                }
            })
            .collect();
        (items, classes)
    }
}

fn item(
    level: Level,
    key: Key,
    sums: &Sums,
    suppliers: usize,
    buyers: usize,
    contributors: Vec<Contributor>,
) -> Item {
    Item {
        level,
        key,
        value_cents: sums.value,
        suppliers: suppliers as i64,
        buyers: buyers as i64,
        measures: sums.measures(),
        quantities: sums.quantities,
        contributors,
        status: Status::Published,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(family: &str, supplier: u128, buyer: u128, kind: &str, value: i64, qty: i64) -> Pair {
        Pair {
            key: Key {
                month: "2026-03".into(),
                family: family.into(),
                label_group: "bio".into(),
                origin_class: "local".into(),
                sector_category: "education".into(),
            },
            supplier_kind: "farm".into(),
            unit_kind: kind.into(),
            supplier: Uuid::from_u128(supplier),
            buyer: Uuid::from_u128(1000 + buyer),
            value_cents: value,
            quantity: Decimal::from(qty),
            lines: 2,
        }
    }

    #[test]
    fn sums_cells_totals_and_classes_and_counts_each_unit_once() {
        let mut sums = Aggregates::default();
        for p in [
            pair("fruits_legumes", 1, 1, "kg", 100, 10),
            pair("fruits_legumes", 1, 2, "kg", 50, 5),
            pair("fruits_legumes", 2, 1, "piece", 30, 6),
            pair("produits_laitiers", 1, 3, "l", 20, 4),
        ] {
            sums.add(p).expect("known unit kinds");
        }
        let (items, classes) = sums.finish();
        let get = |level: Level, family: &str| {
            items
                .iter()
                .find(|i| i.level == level && i.key.family == family)
                .expect("item present")
        };
        let fruit = get(Level::Cell, "fruits_legumes");
        assert_eq!(
            (fruit.value_cents, fruit.suppliers, fruit.buyers),
            (180, 2, 2)
        );
        assert_eq!(fruit.quantities, [15.into(), 0.into(), 6.into()]);
        let supplier_one = fruit
            .contributors
            .iter()
            .find(|c| c.side == Side::Supplier && c.measures[0] == 150.0);
        assert!(supplier_one.is_some(), "{:?}", fruit.contributors);
        assert_eq!(fruit.contributors.len(), 4);

        let total = get(Level::Total, "");
        assert_eq!(
            (total.value_cents, total.suppliers, total.buyers),
            (200, 2, 3)
        );
        assert!(total.contributors.is_empty());
        assert_eq!(get(Level::Family, "produits_laitiers").value_cents, 20);

        let whole_fruit_cell = classes
            .iter()
            .find(|c| c.cell == fruit.key && c.level == 2)
            .expect("level 2 class");
        assert_eq!(whole_fruit_cell.rows, 6);
        assert_eq!(whole_fruit_cell.units.top_supplier_cents, 150);
        assert_eq!(whole_fruit_cell.units.top_buyer_cents, 130);
        // Level 1 splits the fruit cell by unit kind.
        assert_eq!(
            classes
                .iter()
                .filter(|c| c.cell == fruit.key && c.level == 1)
                .count(),
            2
        );
    }

    #[test]
    fn an_unknown_unit_kind_is_an_error_not_a_guess() {
        let mut sums = Aggregates::default();
        assert!(sums.add(pair("fruits_legumes", 1, 1, "box", 1, 1)).is_err());
    }
}
