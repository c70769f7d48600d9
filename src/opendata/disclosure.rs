//! Statistical disclosure control, without I/O: which cells and totals of
//! `supply_stats` may be published, and how coarse each published cell's
//! microdata must be.
//!
//! The table: cells keyed by month × family × label group × origin class ×
//! buyer sector category, with totals by month, by family, by label group
//! and a grand total. A unit is a supplier (farm or distributor) and, on the
//! other side, a buyer (canteen).
//!
//! The table is the full grid: every combination of the period's months and
//! the published categories is a row, traded in or not, so that a row's
//! presence says nothing. Only values are published: a quantity next to a
//! value, with the catalog's public prices, would be a second equation on
//! who sold what.
//!
//! 1. Primary suppression: every cell and total needs `min_units` distinct
//!    suppliers and buyers, no supplier nor buyer above `dominance` % of its
//!    value, and no coalition of two of them able to estimate a third one's
//!    part to within `p` % (the p % rule; so three units are never enough).
//!    An empty cell fails the frequency rule like any small one.
//! 2. Secondary suppression: an attacker knows every published number, that
//!    each suppressed one is ≥ 0, and the table's sums. For every primary
//!    item, the values that attacker cannot exclude must reach at least
//!    `100 − dominance` % above and below the truth. Proof is either partners: other suppressed cells
//!    of the same month, family and label group holding that share together
//!    (mass moves between them without changing any total), or a linear
//!    programme over the whole table (max and min of the item given all
//!    published equalities). While an item is not proven, the cheapest
//!    helpful published item is suppressed too, nearest first. Every hidden
//!    cell that was traded in keeps a hidden partner in its block, so that
//!    the attacker can never prove it is not zero (that a trade took place).
//! 3. Microdata: rows only for published cells (so they tell nothing about a
//!    suppressed one), generalised cell by cell until every class of rows
//!    sharing all published categories has `k` rows and passes the same two
//!    rules; suppressed when even the cell as one class does not. A row
//!    shows its value as a band, never with a quantity: every supplier of a
//!    class sold in that band, so no public price singles one of them out.

use std::collections::{BTreeMap, HashMap};

use microlp::{ComparisonOp, OptimizationDirection, Problem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The rules' parameters. The defaults are those of the French statistical
/// secrecy; lowering them needs an explicit flag, recorded in the release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Distinct suppliers, and distinct buyers, behind every published number.
    #[schema(minimum = 1, example = 3)]
    pub min_units: u32,
    /// No supplier nor buyer may weigh more than this share of a published
    /// value, in percent.
    #[schema(minimum = 50, maximum = 99, example = 85)]
    pub dominance_percent: u32,
    /// Rows sharing every published category of the microdata.
    #[schema(minimum = 1, example = 5)]
    pub k: u32,
    /// The p % rule: no two units together may estimate a third one's part
    /// of a published value to within this percent (0: no such rule).
    #[serde(default = "default_p_percent")]
    #[schema(minimum = 0, maximum = 50, example = 15)]
    pub p_percent: u32,
}

fn default_p_percent() -> u32 {
    15
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            min_units: 3,
            dominance_percent: 85,
            k: 5,
            p_percent: default_p_percent(),
        }
    }
}

impl Thresholds {
    /// Does any parameter protect less than the defaults?
    pub fn below_defaults(&self) -> bool {
        let d = Self::default();
        self.min_units < d.min_units
            || self.dominance_percent > d.dominance_percent
            || self.k < d.k
            || self.p_percent < d.p_percent
    }

    /// Checks the ranges; `None` when they make sense.
    pub fn invalid(&self) -> Option<(&'static str, &'static str)> {
        if self.min_units < 1 {
            Some(("thresholds.min_units", "must be at least 1"))
        } else if !(50..=99).contains(&self.dominance_percent) {
            Some(("thresholds.dominance_percent", "must be between 50 and 99"))
        } else if self.k < 1 {
            Some(("thresholds.k", "must be at least 1"))
        } else if self.p_percent > 50 {
            Some((
                "thresholds.p_percent",
                "must be between 0 (no p % rule) and 50",
            ))
        } else {
            None
        }
    }

    /// How far from the truth a suppressed value must stay open: the share
    /// the dominance rule leaves to the others (15 % by default).
    fn protection(&self) -> f64 {
        f64::from(100 - self.dominance_percent) / 100.0
    }

    /// Do these contributions pass the frequency, dominance and p % rules?
    pub fn passes(&self, units: &Contributions) -> bool {
        let total = units.value_cents as f64;
        let top = |parts: [i64; 3]| parts.map(|p| p as f64);
        units.suppliers >= i64::from(self.min_units)
            && units.buyers >= i64::from(self.min_units)
            && self.shares_pass(total, top(units.top_suppliers))
            && self.shares_pass(total, top(units.top_buyers))
    }

    /// The dominance and p % rules on one side of `total`, given its three
    /// largest parts (largest first). The worst coalition of two is the
    /// second and third largest estimating the largest: what they cannot
    /// see is everything but the three of them, and it must exceed `p` % of
    /// the largest. A number with exactly three units therefore never
    /// passes: two of them would get the third one's part exactly.
    fn shares_pass(&self, total: f64, top: [f64; 3]) -> bool {
        if total <= 0.0 {
            return true;
        }
        let [first, second, third] = top;
        let dominated = first * 100.0 > total * f64::from(self.dominance_percent);
        let hidden_from_coalition = total - first - second - third;
        let estimated = hidden_from_coalition * 100.0 < first * f64::from(self.p_percent);
        !dominated && !estimated
    }
}

/// The three largest of `parts`, largest first (zeros when fewer).
pub fn top_three(parts: impl Iterator<Item = i64>) -> [i64; 3] {
    let mut top = [0i64; 3];
    for part in parts {
        if part > top[2] {
            top[2] = part;
            top.sort_unstable_by(|a, b| b.cmp(a));
        }
    }
    top
}

/// Who is behind a number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Contributions {
    pub value_cents: i64,
    pub suppliers: i64,
    pub buyers: i64,
    /// The three largest suppliers' parts of the value, largest first.
    pub top_suppliers: [i64; 3],
    pub top_buyers: [i64; 3],
}

/// A row of `supply_stats`: a cell or one of the totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Cell,
    Month,
    Family,
    LabelGroup,
    MonthFamily,
    Total,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cell => "cell",
            Self::Month => "month",
            Self::Family => "family",
            Self::LabelGroup => "label_group",
            Self::MonthFamily => "month_family",
            Self::Total => "total",
        }
    }

    /// The block dimension a total sums along, for the totals that have one.
    fn dimension(self) -> Option<usize> {
        match self {
            Self::Month => Some(0),
            Self::Family => Some(1),
            Self::LabelGroup => Some(2),
            Self::Cell | Self::MonthFamily | Self::Total => None,
        }
    }
}

/// The categories of a row; empty where a total sums over them.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub month: String,
    pub family: String,
    pub label_group: String,
    pub origin_class: String,
    pub sector_category: String,
}

impl Key {
    /// Month, family and label group: cells of one block can trade value
    /// without changing any published total.
    fn block(&self) -> [&str; 3] {
        [&self.month, &self.family, &self.label_group]
    }

    /// The totals a cell counts in: its month's, family's, label group's,
    /// its month and family's, and the grand total.
    pub(super) fn totals(&self) -> [(Level, Key); 5] {
        [
            (
                Level::Month,
                Key {
                    month: self.month.clone(),
                    ..Key::default()
                },
            ),
            (
                Level::Family,
                Key {
                    family: self.family.clone(),
                    ..Key::default()
                },
            ),
            (
                Level::LabelGroup,
                Key {
                    label_group: self.label_group.clone(),
                    ..Key::default()
                },
            ),
            (
                Level::MonthFamily,
                Key {
                    month: self.month.clone(),
                    family: self.family.clone(),
                    ..Key::default()
                },
            ),
            (Level::Total, Key::default()),
        ]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Published,
    /// Fails a rule itself.
    Primary,
    /// Hidden to protect a primary one.
    Secondary,
}

#[derive(Debug, Clone)]
pub struct Item {
    pub level: Level,
    pub key: Key,
    pub value_cents: i64,
    /// Distinct suppliers and buyers, as published.
    pub suppliers: i64,
    pub buyers: i64,
    /// Who is behind a cell, its value by supplier and by buyer (empty for
    /// totals: theirs are their cells'; empty for a cell no one traded in).
    pub contributors: Vec<Contributor>,
    pub status: Status,
}

/// One supplier's or buyer's part of a cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Contributor {
    pub side: Side,
    /// An index standing for the organisation.
    pub unit: u32,
    pub value_cents: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    Supplier,
    Buyer,
}

impl Thresholds {
    /// The frequency, dominance and p % rules over everyone behind a set of
    /// cells.
    pub fn pass_together<'a>(&self, contributors: impl Iterator<Item = &'a Contributor>) -> bool {
        let mut per_unit: HashMap<(Side, u32), i64> = HashMap::new();
        for c in contributors {
            *per_unit.entry((c.side, c.unit)).or_default() += c.value_cents;
        }
        let side = |side: Side| {
            let parts = per_unit
                .iter()
                .filter(move |((s, _), _)| *s == side)
                .map(|(_, &v)| v);
            (
                parts.clone().count() as i64,
                parts.clone().sum::<i64>(),
                top_three(parts),
            )
        };
        let (suppliers, value_cents, top_suppliers) = side(Side::Supplier);
        let (buyers, _, top_buyers) = side(Side::Buyer);
        self.passes(&Contributions {
            value_cents,
            suppliers,
            buyers,
            top_suppliers,
            top_buyers,
        })
    }
}

impl Item {
    fn suppressed(&self) -> bool {
        self.status != Status::Published
    }
}

/// What the protection did, for the release's metadata.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SuppressionCounts {
    pub cells: usize,
    pub cells_primary: usize,
    pub cells_secondary: usize,
    pub totals: usize,
    pub totals_primary: usize,
    pub totals_secondary: usize,
}

/// The table with its sums, ready to be protected.
pub struct Table {
    pub items: Vec<Item>,
    thresholds: Thresholds,
    /// For each total, the cells it sums.
    members: BTreeMap<usize, Vec<usize>>,
    /// For each cell, the totals containing it.
    totals_of: BTreeMap<usize, Vec<usize>>,
    /// The cells of each month × family × label group block, and for each
    /// item the block it is a cell of.
    blocks: Vec<Vec<usize>>,
    block_of: Vec<Option<usize>>,
}

impl Table {
    /// Builds the table's structure from its rows (cells and totals in any
    /// order) and applies the primary rules.
    pub fn new(mut items: Vec<Item>, thresholds: Thresholds) -> Self {
        items.sort_by(|a, b| (a.level, &a.key).cmp(&(b.level, &b.key)));
        let index: HashMap<(Level, Key), usize> = items
            .iter()
            .enumerate()
            .map(|(i, item)| ((item.level, item.key.clone()), i))
            .collect();
        // Ordered maps: the linear programmes get their equations in the same
        // order on every run, so the same data always gives the same release.
        let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        let mut totals_of: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, item) in items.iter().enumerate() {
            if item.level != Level::Cell {
                continue;
            }

            for total in item.key.totals() {
                if let Some(&t) = index.get(&total) {
                    members.entry(t).or_default().push(i);
                    totals_of.entry(i).or_default().push(t);
                }
            }
        }
        let mut blocks: Vec<Vec<usize>> = Vec::new();
        let mut block_of = vec![None; items.len()];
        let mut block_index: HashMap<[&str; 3], usize> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            if item.level == Level::Cell {
                let b = *block_index.entry(item.key.block()).or_insert_with(|| {
                    blocks.push(Vec::new());
                    blocks.len() - 1
                });
                blocks[b].push(i);
                block_of[i] = Some(b);
            }
        }
        let mut table = Self {
            items,
            thresholds,
            members,
            totals_of,
            blocks,
            block_of,
        };
        for i in 0..table.items.len() {
            let cells = table.cells_of(i);
            let passes = table.thresholds.pass_together(
                cells
                    .iter()
                    .flat_map(|&c| table.items[c].contributors.iter()),
            );
            table.items[i].status = if passes {
                Status::Published
            } else {
                Status::Primary
            };
        }
        table
    }

    /// The cells an item sums: itself for a cell.
    fn cells_of(&self, i: usize) -> Vec<usize> {
        match self.items[i].level {
            Level::Cell => vec![i],
            _ => self.members.get(&i).cloned().unwrap_or_default(),
        }
    }

    /// Secondary suppression until every primary item is proven protected.
    pub fn protect(&mut self) {
        let primaries: Vec<usize> = (0..self.items.len())
            .filter(|&i| self.items[i].status == Status::Primary)
            .collect();
        // Suppressing more only widens what the attacker cannot exclude, so an
        // item proven once stays proven while the next ones are handled.
        for x in primaries {
            while self.exposed(x) {
                match self.next_suppression(x) {
                    Some(c) => self.items[c].status = Status::Secondary,
                    None => break,
                }
            }
        }
        // Each step only hides more; stop when neither has more to hide.
        loop {
            let residuals = self.protect_residuals();
            if !self.protect_existence() && !residuals {
                break;
            }
        }
    }

    /// A hidden cell someone traded in, alone hidden in its block, could be
    /// proven above zero (a trade between a sector and the farms of an
    /// origin, say). With a second hidden cell in its block, any amount can
    /// move to that one without changing a total, so zero stays possible.
    /// Hides the smallest published cell of such a block; tells whether it
    /// hid anything.
    fn protect_existence(&mut self) -> bool {
        let mut hid = false;
        for b in 0..self.blocks.len() {
            let cells = &self.blocks[b];
            let hidden = cells.iter().filter(|&&c| self.items[c].suppressed());
            let traded = hidden
                .clone()
                .any(|&c| !self.items[c].contributors.is_empty());
            if !traded || hidden.count() >= 2 {
                continue;
            }
            let smallest = cells
                .iter()
                .copied()
                .filter(|&c| !self.items[c].suppressed())
                .min_by_key(|&c| (self.items[c].value_cents, c));
            if let Some(c) = smallest {
                self.items[c].status = Status::Secondary;
                hid = true;
            }
        }
        hid
    }

    /// A published total minus its published cells is the exact sum of its
    /// hidden cells: that sum must pass the rules like any published number
    /// (two hidden cells of one farm must not add up to its sales). Hides
    /// one more cell of the total, the one with the most units, until it
    /// does; tells whether it hid anything.
    fn protect_residuals(&mut self) -> bool {
        let mut hid = false;
        let mut totals: Vec<usize> = self.members.keys().copied().collect();
        totals.sort_unstable();
        let mut queue = totals.clone();
        while let Some(t) = queue.pop() {
            if self.items[t].suppressed() {
                continue;
            }
            let cells = self.members.get(&t).cloned().unwrap_or_default();
            let mut behind = cells
                .iter()
                .filter(|&&c| self.items[c].suppressed())
                .flat_map(|&c| self.items[c].contributors.iter())
                .peekable();
            // A residual of zero (only empty cells hidden) is no one's value.
            if behind.peek().is_none() || self.thresholds.pass_together(behind) {
                continue;
            }
            let next = cells
                .iter()
                .copied()
                .filter(|&c| !self.items[c].suppressed())
                .max_by_key(|&c| {
                    let item = &self.items[c];
                    (
                        item.suppliers.min(item.buyers),
                        -item.value_cents,
                        std::cmp::Reverse(c),
                    )
                });
            let Some(c) = next else { continue };
            self.items[c].status = Status::Secondary;
            hid = true;
            // Its totals' hidden sums changed: check them again, this one too.
            queue.extend(self.totals_of.get(&c).cloned().unwrap_or_default());
        }
        hid
    }

    /// The cells left published, whose microdata may be released.
    pub fn published_cells(&self) -> impl Iterator<Item = &Key> {
        self.items
            .iter()
            .filter(|i| i.level == Level::Cell && i.status == Status::Published)
            .map(|i| &i.key)
    }

    /// The share of the grand total's value in published rows of `level`
    /// (0 for a period without value).
    pub fn published_share(&self, level: Level) -> f64 {
        let of_level = self.items.iter().filter(|i| i.level == level);
        let all: i64 = of_level.clone().map(|i| i.value_cents).sum();
        let shown: i64 = of_level
            .filter(|i| i.status == Status::Published)
            .map(|i| i.value_cents)
            .sum();
        if all == 0 {
            0.0
        } else {
            shown as f64 / all as f64
        }
    }

    pub fn counts(&self) -> SuppressionCounts {
        let mut counts = SuppressionCounts::default();
        for item in &self.items {
            let cell = item.level == Level::Cell;
            match (cell, item.status) {
                (_, Status::Published) => {}
                (true, Status::Primary) => counts.cells_primary += 1,
                (true, Status::Secondary) => counts.cells_secondary += 1,
                (false, Status::Primary) => counts.totals_primary += 1,
                (false, Status::Secondary) => counts.totals_secondary += 1,
            }
            if cell {
                counts.cells += 1;
            } else {
                counts.totals += 1;
            }
        }
        counts
    }

    /// Could an attacker pin `x`'s value to within the protection?
    fn exposed(&self, x: usize) -> bool {
        let p = self.thresholds.protection();
        let truth = self.items[x].value_cents as f64;
        if truth <= 0.0 || self.has_partners(x) {
            return false;
        }
        // Half a cent of slack for the solver's floating point; the second
        // programme only when the first leaves room.
        self.bound(x, OptimizationDirection::Maximize) < truth * (1.0 + p) - 0.5
            || self.bound(x, OptimizationDirection::Minimize) > truth * (1.0 - p) + 0.5
    }

    /// Suppressed cells of the same block holding enough value together:
    /// moving value between them and `x` keeps every total, so `x` may be
    /// anywhere from 0 to its value plus theirs. A proof without a linear
    /// programme (which would find the same room, more slowly).
    fn has_partners(&self, x: usize) -> bool {
        let item = &self.items[x];
        if item.level != Level::Cell {
            return false;
        }
        let needed = item.value_cents as f64 * self.thresholds.protection();
        let held: i64 = self.block_of[x]
            .map(|b| self.blocks[b].as_slice())
            .unwrap_or_default()
            .iter()
            .filter(|&&i| i != x && self.items[i].suppressed())
            .map(|&i| self.items[i].value_cents)
            .sum();
        held > 0 && held as f64 >= needed
    }

    /// The least and greatest values of item `x` consistent with every
    /// published number and with values ≥ 0.
    #[cfg(test)]
    fn bounds(&self, x: usize) -> (f64, f64) {
        (
            self.bound(x, OptimizationDirection::Minimize),
            self.bound(x, OptimizationDirection::Maximize),
        )
    }

    /// The greatest (`Maximize`) or least (`Minimize`) value of item `x`
    /// consistent with every published number and values ≥ 0; a programme
    /// the solver cannot finish counts as not proven. Hidden cells no one
    /// traded in are taken as known zeros: an attacker who knew that would
    /// only have less room, so the bounds hold for every attacker.
    fn bound(&self, x: usize, direction: OptimizationDirection) -> f64 {
        let value = |i: usize| self.items[i].value_cents as f64;
        let hidden: Vec<usize> = (0..self.items.len())
            .filter(|&i| {
                let item = &self.items[i];
                item.level == Level::Cell && item.suppressed() && !item.contributors.is_empty()
            })
            .collect();
        let (target, constant): (Vec<usize>, f64) = match self.items[x].level {
            Level::Cell => (vec![x], 0.0),
            _ => {
                let cells = self.members.get(&x).map(Vec::as_slice).unwrap_or_default();
                let shown = cells
                    .iter()
                    .filter(|&&c| !self.items[c].suppressed())
                    .map(|&c| value(c))
                    .sum();
                (
                    cells
                        .iter()
                        .copied()
                        .filter(|&c| self.items[c].suppressed())
                        .collect(),
                    shown,
                )
            }
        };
        let targets: std::collections::HashSet<usize> = target.iter().copied().collect();
        let solve = |direction| {
            let mut problem = Problem::new(direction);
            let vars: HashMap<usize, microlp::Variable> = hidden
                .iter()
                .map(|&c| {
                    let weight = if targets.contains(&c) { 1.0 } else { 0.0 };
                    (c, problem.add_var(weight, (0.0, f64::INFINITY)))
                })
                .collect();
            for (&total, cells) in &self.members {
                if self.items[total].suppressed() {
                    continue;
                }
                let mut rest = value(total);
                let mut terms = Vec::new();
                for &c in cells {
                    match vars.get(&c) {
                        Some(&v) => terms.push((v, 1.0)),
                        None => rest -= value(c),
                    }
                }
                if !terms.is_empty() {
                    // Within a millionth: the solver's floating point must
                    // not turn an exact equality into "infeasible" (hence
                    // "not proven", and cells hidden for nothing).
                    let tolerance = 1e-6 * (1.0 + value(total).abs());
                    problem.add_constraint(terms.as_slice(), ComparisonOp::Ge, rest - tolerance);
                    problem.add_constraint(terms.as_slice(), ComparisonOp::Le, rest + tolerance);
                }
            }
            // The solver may panic on a degenerate programme: count that as
            // "not proven", which only suppresses more.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| problem.solve()))
                .map_err(|_| ())
                .and_then(|r| match r {
                    Ok(microlp::SolveOutcome::Solution(solution)) => Ok(solution.objective()),
                    Err(microlp::Error::Unbounded) => Ok(f64::INFINITY),
                    Ok(microlp::SolveOutcome::Interrupted(_)) | Err(_) => Err(()),
                })
        };
        if target.is_empty() {
            return constant;
        }
        let unproven = match direction {
            OptimizationDirection::Maximize => f64::NEG_INFINITY,
            OptimizationDirection::Minimize => f64::INFINITY,
        };
        constant + solve(direction).unwrap_or(unproven)
    }

    /// The next item to suppress for `x`: the nearest helpful published
    /// one, preferring one holding enough value and then the smallest value
    /// (least information lost).
    fn next_suppression(&self, x: usize) -> Option<usize> {
        let item = &self.items[x];
        let needed = item.value_cents as f64 * self.thresholds.protection();
        let published = |i: &usize| !self.items[*i].suppressed() && *i != x;
        let all = || (0..self.items.len()).filter(published);
        let cells = || all().filter(|&i| self.items[i].level == Level::Cell);
        let shared = |i: usize| {
            let (a, b) = (self.items[i].key.block(), item.key.block());
            (0..3).filter(|&d| a[d] == b[d]).count()
        };
        let tiers: Vec<Vec<usize>> = match item.level {
            Level::Cell => vec![
                cells().filter(|&i| shared(i) == 3).collect(),
                cells().filter(|&i| shared(i) == 2).collect(),
                self.totals_of
                    .get(&x)
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(published)
                    .collect(),
                cells().filter(|&i| shared(i) == 1).collect(),
                all().collect(),
            ],
            // A month and family: its month's and family's totals first, so
            // that value can move to the same family in other months (or
            // other families of the month) without hiding more of the
            // month × family rows; then those rows, sharing a month or a
            // family.
            Level::MonthFamily => {
                let key = &item.key;
                let mine = self.members.get(&x).cloned().unwrap_or_default();
                vec![
                    all()
                        .filter(|&i| {
                            let other = &self.items[i];
                            other.level == Level::Month
                                || (other.level == Level::Family && other.key.family == key.family)
                        })
                        .collect(),
                    all()
                        .filter(|&i| {
                            let other = &self.items[i];
                            other.level == Level::MonthFamily
                                && (other.key.month == key.month || other.key.family == key.family)
                        })
                        .collect(),
                    mine.iter().copied().filter(published).collect(),
                    all()
                        .filter(|&i| self.items[i].level != Level::Cell)
                        .collect(),
                    all().collect(),
                ]
            }
            // A month's or a family's total is the sum of its month × family
            // totals, and the grand total minus the other months' or
            // families'. Value can leave it only for a month × family total
            // of another month (family) whose own total is hidden too: that
            // pair first, the hidden total's rows before a new total.
            Level::Month | Level::Family => {
                let along = |key: &Key| match item.level {
                    Level::Month => key.month.clone(),
                    _ => key.family.clone(),
                };
                let own = along(&item.key);
                let total_of = |value: &str| {
                    (0..self.items.len()).find(|&i| {
                        self.items[i].level == item.level && along(&self.items[i].key) == value
                    })
                };
                let hidden_total =
                    |value: &str| total_of(value).is_some_and(|t| self.items[t].suppressed());
                let mine = self.members.get(&x).cloned().unwrap_or_default();
                vec![
                    all()
                        .filter(|&i| {
                            let other = &self.items[i];
                            other.level == Level::MonthFamily
                                && along(&other.key) != own
                                && hidden_total(&along(&other.key))
                        })
                        .collect(),
                    all()
                        .filter(|&i| self.items[i].level == item.level)
                        .collect(),
                    all()
                        .filter(|&i| self.items[i].level != Level::Cell)
                        .collect(),
                    mine.iter().copied().filter(published).collect(),
                    all().collect(),
                ]
            }
            // Another total: first the other totals (whose sums and
            // differences give it), or hiding cells would never free it.
            _ => {
                let mine = self.members.get(&x).cloned().unwrap_or_default();
                vec![
                    all()
                        .filter(|&i| self.items[i].level != Level::Cell)
                        .collect(),
                    self.trading_partners(x, &mine)
                        .into_iter()
                        .filter(published)
                        .collect(),
                    mine.iter().copied().filter(published).collect(),
                    all().collect(),
                ]
            }
        };
        tiers.into_iter().find_map(|tier| {
            let enough = tier
                .iter()
                .copied()
                .filter(|&i| self.items[i].value_cents as f64 >= needed)
                .min_by_key(|&i| (self.items[i].value_cents, i));
            enough.or_else(|| {
                tier.iter()
                    .copied()
                    .max_by_key(|&i| (self.items[i].value_cents, std::cmp::Reverse(i)))
            })
        })
    }

    /// For a total `x` along one dimension: cells of the other suppressed
    /// totals of that dimension which agree with a suppressed cell of `x` on
    /// the two other block dimensions. Hiding one lets value move between
    /// `x` and that total without changing any other published sum.
    fn trading_partners(&self, x: usize, mine: &[usize]) -> Vec<usize> {
        let Some(d) = self.items[x].level.dimension() else {
            return Vec::new();
        };
        let others = |key: &Key| {
            let b = key.block();
            [0, 1, 2]
                .into_iter()
                .filter(|&i| i != d)
                .map(|i| b[i].to_owned())
                .collect::<Vec<_>>()
        };
        let wanted: Vec<Vec<String>> = mine
            .iter()
            .filter(|&&c| self.items[c].suppressed())
            .map(|&c| others(&self.items[c].key))
            .collect();
        self.members
            .iter()
            .filter(|&(&t, _)| t != x && self.items[t].level == self.items[x].level)
            .filter(|&(&t, _)| self.items[t].suppressed())
            .flat_map(|(_, cells)| cells.iter().copied())
            .filter(|&c| wanted.contains(&others(&self.items[c].key)))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    }
}

/// One class of microdata rows at a generalisation level, with who is in it.
#[derive(Debug, Clone)]
pub struct MicroClass {
    pub cell: Key,
    /// 0: supplier kind, unit kind and value band exact; 1: supplier kind
    /// hidden; 2: unit kind hidden too; 3: value band hidden too (the whole
    /// cell is one class).
    pub level: i16,
    /// The supplier kind the class shows (its position), at level 0.
    pub supplier_kind: Option<u8>,
    pub rows: i64,
    pub units: Contributions,
}

/// k: the smallest class of microdata rows over the quasi-identifiers
/// (month, sector category, supplier kind as shown, origin class, family;
/// the territory is the same on every row), given each published cell's
/// generalisation level in `published`; `None` without rows.
pub fn smallest_class(classes: &[MicroClass], published: &HashMap<&Key, i16>) -> Option<i64> {
    let mut groups: HashMap<(&str, &str, Option<u8>, &str, &str), i64> = HashMap::new();
    for class in classes {
        let Some(&level) = published.get(&class.cell) else {
            continue;
        };
        // Level 0 shows the supplier kind: its classes, summed per kind;
        // coarser levels show `*`: the cell's rows all together.
        let counted = match level {
            0 => class.level == 0,
            _ => class.level == MICRO_LEVELS - 1,
        };
        if counted {
            let key = &class.cell;
            let kind = if level == 0 {
                class.supplier_kind
            } else {
                None
            };
            *groups
                .entry((
                    &key.month,
                    &key.sector_category,
                    kind,
                    &key.origin_class,
                    &key.family,
                ))
                .or_default() += class.rows;
        }
    }
    groups.into_values().min()
}

/// The coarsest generalisation level; past it, rows are suppressed.
pub const MICRO_LEVELS: i16 = 4;

/// For each cell, the least generalisation level at which every class of
/// its rows passes; cells missing from the map can keep no rows. Only
/// cells the protection leaves published keep their rows
/// ([`Table::published_cells`]).
pub fn microdata_levels(classes: &[MicroClass], thresholds: &Thresholds) -> HashMap<Key, i16> {
    let mut failing: HashMap<(&Key, i16), bool> = HashMap::new();
    for class in classes {
        let bad = class.rows < i64::from(thresholds.k) || !thresholds.passes(&class.units);
        *failing.entry((&class.cell, class.level)).or_default() |= bad;
    }
    let cells: std::collections::HashSet<&Key> = classes.iter().map(|c| &c.cell).collect();
    cells
        .into_iter()
        .filter_map(|cell| {
            (0..MICRO_LEVELS)
                .find(|&level| failing.get(&(cell, level)) == Some(&false))
                .map(|level| (cell.clone(), level))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(month: &str, family: &str, label: &str, origin: &str, value: i64, units: i64) -> Item {
        Item {
            level: Level::Cell,
            key: Key {
                month: month.into(),
                family: family.into(),
                label_group: label.into(),
                origin_class: origin.into(),
                sector_category: "education".into(),
            },
            value_cents: value,
            suppliers: units,
            buyers: units,
            contributors: [Side::Supplier, Side::Buyer]
                .into_iter()
                .flat_map(|side| {
                    (0..units).map(move |u| Contributor {
                        side,
                        unit: u as u32,
                        value_cents: value / units,
                    })
                })
                .collect(),
            status: Status::Published,
        }
    }

    /// Adds the totals of `cells`, each with many contributors.
    fn with_totals(cells: Vec<Item>) -> Vec<Item> {
        let mut sums: HashMap<(Level, Key), i64> = HashMap::new();
        for c in &cells {
            for key in c.key.totals() {
                *sums.entry(key).or_default() += c.value_cents;
            }
        }
        let mut items = cells;
        for ((level, key), value) in sums {
            let mut total = cell("", "", "", "", value, 10);
            total.level = level;
            total.key = key;
            items.push(total);
        }
        items
    }

    fn first_primary(table: &Table) -> usize {
        table
            .items
            .iter()
            .position(|i| i.status == Status::Primary)
            .expect("a primary item")
    }

    /// The attacker's range for `x`'s value reaches 15 % both sides of `truth`.
    fn assert_open_by_15_percent(table: &Table, x: usize, truth: f64) {
        let (low, high) = table.bounds(x);
        assert!(
            low <= truth * 0.85 && high >= truth * 1.15,
            "[{low}, {high}]"
        );
    }

    fn status(table: &Table, month: &str, family: &str, origin: &str) -> Status {
        table
            .items
            .iter()
            .find(|i| {
                i.level == Level::Cell
                    && i.key.month == month
                    && i.key.family == family
                    && i.key.origin_class == origin
            })
            .map(|i| i.status)
            .unwrap()
    }

    #[test]
    fn primary_rules_on_both_sides() {
        let t = Thresholds::default();
        // 60 + 20 + 10 + 10: the two smaller ones' 10 hides the largest's
        // 60 from the second and third by 16.7 % (p = 15).
        let fine = Contributions {
            value_cents: 100,
            suppliers: 4,
            buyers: 4,
            top_suppliers: [60, 20, 10],
            top_buyers: [40, 30, 20],
        };
        assert!(t.passes(&fine));
        assert!(!t.passes(&Contributions {
            suppliers: 2,
            ..fine
        }));
        assert!(!t.passes(&Contributions { buyers: 2, ..fine }));
        // 86 % dominance, on either side.
        assert!(!t.passes(&Contributions {
            top_suppliers: [86, 5, 5],
            ..fine
        }));
        assert!(!t.passes(&Contributions {
            top_buyers: [86, 5, 5],
            ..fine
        }));
        // 62 + 20 + 10 + 8: two of them learn the largest's part to within
        // 8 / 62 = 12.9 %.
        assert!(!t.passes(&Contributions {
            top_suppliers: [62, 20, 10],
            ..fine
        }));
    }

    #[test]
    fn three_units_never_pass_two_of_them_would_know_the_third() {
        let t = Thresholds::default();
        let even = Contributions {
            value_cents: 300,
            suppliers: 3,
            buyers: 5,
            top_suppliers: [100, 100, 100],
            top_buyers: [60, 60, 60],
        };
        assert!(!t.passes(&even));
        assert!(t.passes(&Contributions {
            suppliers: 5,
            top_suppliers: [60, 60, 60],
            ..even
        }));
        assert_eq!(top_three([5, 9, 1, 7].into_iter()), [9, 7, 5]);
        assert_eq!(top_three([4].into_iter()), [4, 0, 0]);
    }

    #[test]
    fn a_traded_cell_keeps_a_hidden_partner_so_its_existence_stays_unproven() {
        // The lone farm's cell is the only hidden one of its block: value
        // could not move to a partner, so zero might be excluded. The
        // smallest published cell of the block is hidden with it.
        let mut cells = vec![cell("2026-01", "VIANDES_VOLAILLES", "bio", "epci", 100, 1)];
        for (origin, value) in [
            ("departement", 70_000),
            ("region", 60_000),
            ("france", 90_000),
        ] {
            cells.push(cell(
                "2026-01",
                "VIANDES_VOLAILLES",
                "bio",
                origin,
                value,
                6,
            ));
        }
        // A block whose only hidden cell no one traded in needs nothing.
        cells.push(cell("2026-01", "BOULANGERIE", "bio", "epci", 0, 0));
        cells.push(cell("2026-01", "BOULANGERIE", "bio", "france", 90_000, 6));
        let mut table = Table::new(with_totals(cells), Thresholds::default());
        assert!(table.protect_existence());
        assert_eq!(
            status(&table, "2026-01", "VIANDES_VOLAILLES", "region"),
            Status::Secondary
        );
        assert_eq!(
            status(&table, "2026-01", "VIANDES_VOLAILLES", "departement"),
            Status::Published
        );
        assert_eq!(
            status(&table, "2026-01", "BOULANGERIE", "france"),
            Status::Published
        );
        assert!(!table.protect_existence(), "nothing more to hide");
    }

    #[test]
    fn a_lone_small_cell_gets_a_partner_in_its_block() {
        let cells = vec![
            cell("2026-01", "FRUITS_ET_LEGUMES", "bio", "epci", 10_000, 1),
            cell("2026-01", "FRUITS_ET_LEGUMES", "bio", "region", 50_000, 4),
            cell("2026-01", "FRUITS_ET_LEGUMES", "bio", "france", 1_000, 4),
            cell("2026-01", "FRUITS_ET_LEGUMES", "none", "france", 80_000, 5),
            cell("2026-02", "FRUITS_ET_LEGUMES", "bio", "region", 60_000, 4),
        ];
        let mut table = Table::new(with_totals(cells), Thresholds::default());
        table.protect();
        assert_eq!(
            status(&table, "2026-01", "FRUITS_ET_LEGUMES", "epci"),
            Status::Primary
        );
        // 1,000 is below 15 % of 10,000: the partner is the 50,000 cell.
        assert_eq!(
            status(&table, "2026-01", "FRUITS_ET_LEGUMES", "region"),
            Status::Secondary
        );
        assert_eq!(
            status(&table, "2026-01", "FRUITS_ET_LEGUMES", "france"),
            Status::Published
        );
        assert!(!table.exposed(0));
    }

    #[test]
    fn a_cell_alone_in_its_block_is_protected_through_the_totals() {
        let cells = vec![
            cell("2026-01", "FRUITS_ET_LEGUMES", "bio", "epci", 10_000, 1),
            cell("2026-01", "FRUITS_ET_LEGUMES", "none", "france", 30_000, 5),
            cell("2026-01", "BOULANGERIE", "bio", "france", 20_000, 5),
            cell("2026-01", "BOULANGERIE", "none", "france", 40_000, 5),
            cell("2026-02", "FRUITS_ET_LEGUMES", "bio", "epci", 25_000, 5),
            cell("2026-02", "FRUITS_ET_LEGUMES", "none", "france", 35_000, 5),
        ];
        let mut table = Table::new(with_totals(cells), Thresholds::default());
        table.protect();
        assert_open_by_15_percent(&table, first_primary(&table), 10_000.0);
        assert!(table.counts().cells_secondary + table.counts().totals_secondary >= 1);
    }

    #[test]
    fn small_partners_protect_together() {
        // The lone farm's 10,000 needs 1,500 of room; two hidden cells of its
        // block hold 800 each: neither is enough alone, both are together.
        let cells = vec![
            cell("2026-01", "FRUITS_ET_LEGUMES", "bio", "epci", 10_000, 1),
            cell("2026-01", "FRUITS_ET_LEGUMES", "bio", "region", 800, 1),
            cell("2026-01", "FRUITS_ET_LEGUMES", "bio", "france", 800, 2),
            cell("2026-01", "FRUITS_ET_LEGUMES", "none", "france", 80_000, 5),
            cell("2026-02", "FRUITS_ET_LEGUMES", "bio", "region", 60_000, 4),
        ];
        let table = Table::new(with_totals(cells), Thresholds::default());
        assert!(table.has_partners(0));
        assert_open_by_15_percent(&table, 0, 10_000.0);
        assert!(!table.exposed(0));
    }

    #[test]
    fn a_dominated_total_is_protected_too() {
        let mut cells = vec![
            cell("2026-01", "BOISSONS", "none", "france", 5_000, 1),
            cell("2026-01", "FRUITS_ET_LEGUMES", "none", "france", 30_000, 5),
            cell("2026-01", "BOULANGERIE", "none", "france", 20_000, 5),
            cell("2026-02", "BOISSONS", "none", "france", 6_000, 1),
            cell("2026-02", "FRUITS_ET_LEGUMES", "none", "epci", 35_000, 5),
            cell("2026-02", "BOULANGERIE", "none", "france", 25_000, 5),
        ];
        // Both drinks cells, and so their family's total, come from one supplier.
        cells = with_totals(cells);
        let mut table = Table::new(cells, Thresholds::default());
        table.protect();
        let drinks = table
            .items
            .iter()
            .position(|i| i.level == Level::Family && i.key.family == "BOISSONS")
            .unwrap();
        assert_eq!(table.items[drinks].status, Status::Primary);
        let (low, high) = table.bounds(drinks);
        assert!(
            low <= 11_000.0 * 0.85 && high >= 11_000.0 * 1.15,
            "[{low}, {high}]"
        );
    }

    #[test]
    fn hidden_cells_of_one_farm_do_not_add_up_to_its_sales() {
        // Two cells of one block, both from farm 0 alone: each is the other's
        // partner, but the month's total minus its published cells would be
        // exactly that farm's sales.
        let mut cells = vec![
            cell("2026-03", "FRUITS_ET_LEGUMES", "bio", "epci", 10_000, 1),
            cell("2026-03", "FRUITS_ET_LEGUMES", "bio", "region", 8_000, 1),
            cell("2026-03", "FRUITS_ET_LEGUMES", "none", "france", 30_000, 5),
            cell("2026-03", "BOULANGERIE", "none", "france", 20_000, 5),
            // Organic bread from many farms: the label group's total passes.
            cell("2026-04", "BOULANGERIE", "bio", "france", 50_000, 6),
        ];
        for c in &mut cells[2..] {
            for contributor in &mut c.contributors {
                contributor.unit += 10;
            }
        }
        let mut table = Table::new(with_totals(cells), Thresholds::default());
        table.protect();
        // Every published total's hidden cells pass the rules together.
        let mut residuals = 0;
        for (&total, cells) in &table.members {
            let hidden: Vec<usize> = cells
                .iter()
                .copied()
                .filter(|&c| table.items[c].suppressed())
                .collect();
            if table.items[total].suppressed() || hidden.is_empty() {
                continue;
            }
            residuals += 1;
            assert!(
                table.thresholds.pass_together(
                    hidden
                        .iter()
                        .flat_map(|&c| table.items[c].contributors.iter())
                ),
                "{:?} {:?}",
                table.items[total].level,
                table.items[total].key
            );
        }
        // The two lone-farm cells are hidden, and not left as a pair.
        assert!(residuals > 0);
        assert_eq!(
            status(&table, "2026-03", "FRUITS_ET_LEGUMES", "epci"),
            Status::Primary
        );
    }

    #[test]
    fn a_residual_of_empty_cells_hides_nothing_more() {
        // Every traded cell is large and published; the empty cells of the
        // grid are hidden, and their sum (zero) is no one's value.
        let mut cells = Vec::new();
        for (month, family) in [("2026-01", "BOISSONS"), ("2026-02", "BOULANGERIE")] {
            cells.push(cell(month, family, "none", "france", 90_000, 6));
            cells.push(cell(month, family, "none", "epci", 0, 0));
        }
        let mut table = Table::new(with_totals(cells), Thresholds::default());
        table.protect();
        assert_eq!(table.counts().cells_secondary, 0);
        assert_eq!(table.counts().totals_secondary, 0);
    }

    #[test]
    fn thresholds_below_the_defaults_are_flagged() {
        assert!(!Thresholds::default().below_defaults());
        assert!(
            Thresholds {
                k: 4,
                ..Thresholds::default()
            }
            .below_defaults()
        );
        assert!(
            Thresholds {
                dominance_percent: 90,
                ..Thresholds::default()
            }
            .below_defaults()
        );
        assert!(
            Thresholds {
                p_percent: 10,
                ..Thresholds::default()
            }
            .below_defaults()
        );
        assert!(
            !Thresholds {
                min_units: 5,
                dominance_percent: 70,
                k: 10,
                p_percent: 20,
            }
            .below_defaults()
        );
    }
}
