//! The sums a build starts from, made in one pass over the staged lines
//! summed per supplier and buyer: every cell and total of `supply_stats`
//! with who is behind each cell (the full grid, empty cells included), and
//! the microdata classes of every cell.
//! One pass in memory replaces a query per aggregate, each of which read
//! the lines again; memory grows with cells × suppliers × buyers, never with
//! the number of lines.

use std::collections::{BTreeMap, HashMap, HashSet};

use uuid::Uuid;

use super::disclosure::{
    Contributions, Contributor, Item, Key, Level, MicroClass, Side, Status, top_three,
};
use super::package::{
    LABEL_GROUPS, ORIGIN_CLASSES, SECTOR_CATEGORIES, SUPPLIER_KINDS, UNIT_KINDS, VALUE_BANDS,
};

/// A cell as staged: the month, then the positions of its family, label
/// group, origin class and sector category. Compared and hashed without a
/// string, row after row; the cell's [`Key`] is made once.
pub type CellCode = (chrono::NaiveDate, i16, i16, i16, i16);

/// What one supplier sold one buyer in a cell, for one supplier kind, one
/// unit kind and one value band of the lines.
pub struct Pair {
    pub cell: CellCode,
    /// Positions in [`SUPPLIER_KINDS`], [`UNIT_KINDS`], [`VALUE_BANDS`].
    pub supplier_kind: usize,
    pub unit_kind: usize,
    pub value_band: usize,
    pub supplier: Uuid,
    pub buyer: Uuid,
    pub value_cents: i64,
    pub lines: i64,
}

/// A supplier or buyer, by its arrival order in the build (4 bytes where
/// its id takes 16: a year of a territory has many classes and cells).
type Unit = u32;

#[derive(Default)]
struct Cell {
    value: i64,
    lines: i64,
    suppliers: HashMap<Unit, i64>,
    buyers: HashMap<Unit, i64>,
}

/// A microdata class inside a cell: a generalisation level, and the
/// supplier kind, unit kind and value band it shows (`None` where shown as
/// `*`).
type ClassKey = (usize, i16, Option<u8>, Option<u8>, Option<u8>);

#[derive(Default)]
struct Class {
    rows: i64,
    value: i64,
    suppliers: HashMap<Unit, i64>,
    buyers: HashMap<Unit, i64>,
}

/// A total's value and the distinct units of its cells.
#[derive(Default)]
struct Total {
    value: i64,
    suppliers: HashSet<Unit>,
    buyers: HashSet<Unit>,
}

/// The running sums of a build.
#[derive(Default)]
pub struct Aggregates {
    cells: Vec<(Key, Cell)>,
    cell_index: HashMap<CellCode, usize>,
    classes: HashMap<ClassKey, Class>,
    units: HashMap<Uuid, Unit>,
}

impl Aggregates {
    /// Counts one pair in its cell and in its cell's classes; `key` names
    /// the cell the first time it is seen.
    pub fn add(
        &mut self,
        pair: Pair,
        key: impl FnOnce() -> Result<Key, String>,
    ) -> Result<(), String> {
        if pair.supplier_kind >= SUPPLIER_KINDS.len()
            || pair.unit_kind >= UNIT_KINDS.len()
            || pair.value_band >= VALUE_BANDS.len()
        {
            return Err(format!(
                "a pair outside the codes: supplier kind {}, unit kind {}, value band {}",
                pair.supplier_kind, pair.unit_kind, pair.value_band
            ));
        }
        let (supplier, buyer) = (self.unit(pair.supplier), self.unit(pair.buyer));
        let cell = match self.cell_index.get(&pair.cell) {
            Some(&i) => i,
            None => {
                self.cell_index.insert(pair.cell, self.cells.len());
                self.cells.push((key()?, Cell::default()));
                self.cells.len() - 1
            }
        };
        let entry = &mut self.cells[cell].1;
        entry.value += pair.value_cents;
        entry.lines += pair.lines;
        *entry.suppliers.entry(supplier).or_default() += pair.value_cents;
        *entry.buyers.entry(buyer).or_default() += pair.value_cents;

        // Level 3, the whole cell as one class, is the cell itself.
        let (supplier_kind, unit_kind, band) = (
            pair.supplier_kind as u8,
            pair.unit_kind as u8,
            pair.value_band as u8,
        );
        for key in [
            (cell, 0, Some(supplier_kind), Some(unit_kind), Some(band)),
            (cell, 1, None, Some(unit_kind), Some(band)),
            (cell, 2, None, None, Some(band)),
        ] {
            let class = self.classes.entry(key).or_default();
            class.rows += pair.lines;
            class.value += pair.value_cents;
            *class.suppliers.entry(supplier).or_default() += pair.value_cents;
            *class.buyers.entry(buyer).or_default() += pair.value_cents;
        }
        Ok(())
    }

    fn unit(&mut self, id: Uuid) -> Unit {
        let next = self.units.len() as Unit;
        *self.units.entry(id).or_insert(next)
    }

    /// The full grid of `supply_stats` over `months` and the given
    /// `families` (every cell and total, traded in or not, each cell with
    /// its contributors), and the microdata classes.
    pub fn finish(mut self, months: &[String], families: &[&str]) -> (Vec<Item>, Vec<MicroClass>) {
        let traded: HashSet<Key> = self.cells.iter().map(|(key, _)| key.clone()).collect();
        for month in months {
            for family in families {
                for label_group in LABEL_GROUPS {
                    for origin_class in ORIGIN_CLASSES {
                        for sector_category in SECTOR_CATEGORIES {
                            let key = Key {
                                month: month.clone(),
                                family: (*family).to_owned(),
                                label_group: (*label_group).to_owned(),
                                origin_class: (*origin_class).to_owned(),
                                sector_category: sector_category.to_owned(),
                            };
                            if !traded.contains(&key) {
                                self.cells.push((key, Cell::default()));
                            }
                        }
                    }
                }
            }
        }
        // Units are numbered in the order of their ids, not of their
        // arrival: the same data gives the same contributors.
        let mut by_id: Vec<(Uuid, Unit)> = self.units.iter().map(|(&id, &u)| (id, u)).collect();
        by_id.sort_unstable();
        let mut unit_index = vec![0; by_id.len()];
        for (rank, (_, unit)) in by_id.into_iter().enumerate() {
            unit_index[unit as usize] = rank as u32;
        }

        let mut totals: BTreeMap<(Level, Key), Total> = BTreeMap::new();
        let mut items = Vec::with_capacity(self.cells.len());
        let unit_index = &unit_index;
        for (key, cell) in &self.cells {
            for total in key.totals() {
                let total = totals.entry(total).or_default();
                total.value += cell.value;
                total.suppliers.extend(cell.suppliers.keys().copied());
                total.buyers.extend(cell.buyers.keys().copied());
            }
            let mut contributors: Vec<Contributor> = [
                (Side::Supplier, &cell.suppliers),
                (Side::Buyer, &cell.buyers),
            ]
            .into_iter()
            .flat_map(|(side, units)| {
                units.iter().map(move |(&unit, &value_cents)| Contributor {
                    side,
                    unit: unit_index[unit as usize],
                    value_cents,
                })
            })
            .collect();
            contributors.sort_by_key(|c| (c.side, c.unit));
            items.push(item(
                Level::Cell,
                key.clone(),
                cell.value,
                cell.suppliers.len(),
                cell.buyers.len(),
                contributors,
            ));
        }
        for ((level, key), total) in totals {
            items.push(item(
                level,
                key,
                total.value,
                total.suppliers.len(),
                total.buyers.len(),
                Vec::new(),
            ));
        }

        let top = |units: &HashMap<Unit, i64>| top_three(units.values().copied());
        let class = |cell: &Key,
                     level: i16,
                     supplier_kind: Option<u8>,
                     rows: i64,
                     value_cents: i64,
                     suppliers: &HashMap<Unit, i64>,
                     buyers: &HashMap<Unit, i64>| MicroClass {
            cell: cell.clone(),
            level,
            supplier_kind,
            rows,
            units: Contributions {
                value_cents,
                suppliers: suppliers.len() as i64,
                buyers: buyers.len() as i64,
                top_suppliers: top(suppliers),
                top_buyers: top(buyers),
            },
        };
        let whole_cells = self
            .cells
            .iter()
            .filter(|(_, cell)| cell.lines > 0)
            .map(|(key, c)| class(key, 3, None, c.lines, c.value, &c.suppliers, &c.buyers));
        let classes = self
            .classes
            .iter()
            .map(|(&(cell, level, supplier_kind, _, _), c)| {
                class(
                    &self.cells[cell].0,
                    level,
                    supplier_kind,
                    c.rows,
                    c.value,
                    &c.suppliers,
                    &c.buyers,
                )
            })
            .chain(whole_cells)
            .collect();
        (items, classes)
    }
}

fn item(
    level: Level,
    key: Key,
    value_cents: i64,
    suppliers: usize,
    buyers: usize,
    contributors: Vec<Contributor>,
) -> Item {
    Item {
        level,
        key,
        value_cents,
        suppliers: suppliers as i64,
        buyers: buyers as i64,
        contributors,
        status: Status::Published,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(family: &str) -> Key {
        Key {
            month: "2026-03".into(),
            family: family.into(),
            label_group: "bio".into(),
            origin_class: "epci".into(),
            sector_category: "education".into(),
        }
    }

    fn pair(
        family: &str,
        supplier: u128,
        buyer: u128,
        kind: &str,
        value: i64,
        band: usize,
    ) -> Pair {
        let month = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        Pair {
            cell: (month, i16::from(family != "FRUITS_ET_LEGUMES"), 1, 1, 3),
            supplier_kind: 0,
            unit_kind: UNIT_KINDS.iter().position(|k| *k == kind).unwrap_or(99),
            value_band: band,
            supplier: Uuid::from_u128(supplier),
            buyer: Uuid::from_u128(1000 + buyer),
            value_cents: value,
            lines: 2,
        }
    }

    #[test]
    fn sums_the_full_grid_totals_and_classes_and_counts_each_unit_once() {
        let mut sums = Aggregates::default();
        for p in [
            pair("FRUITS_ET_LEGUMES", 1, 1, "kg", 100, 0),
            pair("FRUITS_ET_LEGUMES", 1, 2, "kg", 50, 0),
            pair("FRUITS_ET_LEGUMES", 2, 1, "piece", 30, 1),
            pair("PRODUITS_LAITIERS", 1, 3, "l", 20, 0),
        ] {
            let family = match p.cell.1 {
                0 => "FRUITS_ET_LEGUMES",
                _ => "PRODUITS_LAITIERS",
            };
            sums.add(p, || Ok(key(family))).expect("known codes");
        }
        let months = ["2026-03".to_owned(), "2026-04".to_owned()];
        let families = ["FRUITS_ET_LEGUMES", "PRODUITS_LAITIERS", "BOISSONS"];
        let (items, classes) = sums.finish(&months, &families);
        let get = |level: Level, month: &str, family: &str| {
            items
                .iter()
                .find(|i| i.level == level && i.key.month == month && i.key.family == family)
                .expect("item present")
        };
        let cell = |month: &str, family: &str| {
            items
                .iter()
                .find(|i| {
                    i.level == Level::Cell
                        && i.key.month == month
                        && i.key.family == family
                        && i.key.origin_class == "epci"
                        && i.key.sector_category == "education"
                        && i.key.label_group == "bio"
                })
                .expect("cell present")
        };
        let fruit = cell("2026-03", "FRUITS_ET_LEGUMES");
        assert_eq!(
            (fruit.value_cents, fruit.suppliers, fruit.buyers),
            (180, 2, 2)
        );
        let supplier_one = fruit
            .contributors
            .iter()
            .find(|c| c.side == Side::Supplier && c.value_cents == 150);
        assert!(supplier_one.is_some(), "{:?}", fruit.contributors);
        assert_eq!(fruit.contributors.len(), 4);

        // The full grid: every month, family, label group, origin class and
        // sector category, traded in or not; empty cells have no one behind.
        let cells = items.iter().filter(|i| i.level == Level::Cell).count();
        assert_eq!(
            cells,
            2 * 3 * LABEL_GROUPS.len() * ORIGIN_CLASSES.len() * SECTOR_CATEGORIES.len()
        );
        let empty = cell("2026-04", "BOISSONS");
        assert_eq!((empty.value_cents, empty.suppliers), (0, 0));
        assert!(empty.contributors.is_empty());
        assert_eq!(
            get(Level::MonthFamily, "2026-04", "BOISSONS").value_cents,
            0
        );
        assert_eq!(
            get(Level::MonthFamily, "2026-03", "FRUITS_ET_LEGUMES").value_cents,
            180
        );

        let total = get(Level::Total, "", "");
        assert_eq!(
            (total.value_cents, total.suppliers, total.buyers),
            (200, 2, 3)
        );
        assert!(total.contributors.is_empty());
        assert_eq!(get(Level::Family, "", "PRODUITS_LAITIERS").value_cents, 20);

        let whole_fruit_cell = classes
            .iter()
            .find(|c| c.cell == fruit.key && c.level == 3)
            .expect("level 3 class");
        assert_eq!(whole_fruit_cell.rows, 6);
        assert_eq!(whole_fruit_cell.units.top_suppliers, [150, 30, 0]);
        assert_eq!(whole_fruit_cell.units.top_buyers, [130, 50, 0]);
        // Level 1 splits the fruit cell by unit kind and band, level 2 by
        // band only.
        let at = |level| {
            classes
                .iter()
                .filter(|c| c.cell == fruit.key && c.level == level)
                .count()
        };
        assert_eq!((at(1), at(2)), (2, 2));
    }

    #[test]
    fn an_unknown_unit_kind_or_band_is_an_error_not_a_guess() {
        let mut sums = Aggregates::default();
        let named = || Ok(key("FRUITS_ET_LEGUMES"));
        let unknown_unit = pair("FRUITS_ET_LEGUMES", 1, 1, "box", 1, 0);
        assert!(sums.add(unknown_unit, named).is_err());
        let unknown_band = pair("FRUITS_ET_LEGUMES", 1, 1, "kg", 1, 99);
        assert!(sums.add(unknown_band, named).is_err());
    }
}
