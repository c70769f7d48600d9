//! Folding aggregated cells into indicators, and their CSV forms.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use super::queries::{Cell, Purchase};
use super::rules::{Target, percent, target};
use crate::codes::TargetName;
use crate::error::ApiResult;
use crate::http::negotiate::{csv_table, csv_text};

/// A canteen's purchases over a period, in cents HT, and their shares.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Indicators {
    pub total_ht_cents: i64,
    /// Each line counts once: BIO > SIQO > other EGalim > externalities.
    pub bio_cents: i64,
    pub siqo_cents: i64,
    pub other_egalim_cents: i64,
    pub externalities_cents: i64,
    /// The four above together.
    pub egalim_cents: i64,
    /// `VIANDES_VOLAILLES` and `PRODUITS_DE_LA_MER`.
    pub meat_and_fish_cents: i64,
    pub meat_and_fish_egalim_cents: i64,
    pub france_cents: i64,
    /// Bought from the farm, or through one distributor naming a farm of the platform.
    pub short_circuit_cents: i64,
    /// Local under the canteen's own definition.
    pub local_cents: i64,
    /// Lines whose locality cannot be told (PAT; KM without locations).
    pub local_unknown_cents: i64,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = Option<String>, example = "12.5")]
    pub bio_percent: Option<Decimal>,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = Option<String>, example = "37.4")]
    pub egalim_percent: Option<Decimal>,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = Option<String>)]
    pub meat_and_fish_egalim_percent: Option<Decimal>,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = Option<String>)]
    pub france_percent: Option<Decimal>,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = Option<String>)]
    pub short_circuit_percent: Option<Decimal>,
    /// Null when no line's locality can be told.
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", value_type = Option<String>)]
    pub local_percent: Option<Decimal>,
}

impl Indicators {
    fn add(&mut self, cell: &Cell) {
        self.total_ht_cents += cell.total;
        match cell.category.as_str() {
            "bio" => self.bio_cents += cell.total,
            "siqo" => self.siqo_cents += cell.total,
            "other" => self.other_egalim_cents += cell.total,
            "externalities" => self.externalities_cents += cell.total,
            _ => {}
        }
        let egalim = cell.category != "none";
        if egalim {
            self.egalim_cents += cell.total;
        }
        if matches!(
            cell.family.as_str(),
            "VIANDES_VOLAILLES" | "PRODUITS_DE_LA_MER"
        ) {
            self.meat_and_fish_cents += cell.total;
            if egalim {
                self.meat_and_fish_egalim_cents += cell.total;
            }
        }
        self.france_cents += cell.france;
        self.short_circuit_cents += cell.short_circuit;
        self.local_cents += cell.local;
        self.local_unknown_cents += cell.local_unknown;
    }

    fn with_shares(mut self) -> Self {
        let total = self.total_ht_cents;
        self.bio_percent = percent(self.bio_cents, total);
        self.egalim_percent = percent(self.egalim_cents, total);
        self.meat_and_fish_egalim_percent =
            percent(self.meat_and_fish_egalim_cents, self.meat_and_fish_cents);
        self.france_percent = percent(self.france_cents, total);
        self.short_circuit_percent = percent(self.short_circuit_cents, total);
        self.local_percent = (self.local_unknown_cents < total)
            .then(|| percent(self.local_cents, total))
            .flatten();
        self
    }

    /// The three legal targets (EGalim 50 %, BIO 20 %, meat and fish 60 %).
    pub fn targets(&self) -> Vec<Target> {
        vec![
            target(
                TargetName::Egalim,
                50,
                self.egalim_cents,
                self.total_ht_cents,
            ),
            target(TargetName::Bio, 20, self.bio_cents, self.total_ht_cents),
            target(
                TargetName::MeatAndFish,
                60,
                self.meat_and_fish_egalim_cents,
                self.meat_and_fish_cents,
            ),
        ]
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FamilyIndicators {
    pub family: crate::codes::ProductFamily,
    pub indicators: Indicators,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MonthIndicators {
    #[schema(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$", example = "2026-03")]
    pub month: String,
    pub indicators: Indicators,
}

/// Totals, by family and by month.
pub fn fold(
    cells: &[Cell],
) -> ApiResult<(Indicators, Vec<FamilyIndicators>, Vec<MonthIndicators>)> {
    let mut total = Indicators::default();
    let mut families: BTreeMap<&str, Indicators> = BTreeMap::new();
    let mut months: BTreeMap<&str, Indicators> = BTreeMap::new();
    for cell in cells {
        total.add(cell);
        families.entry(&cell.family).or_default().add(cell);
        months.entry(&cell.month).or_default().add(cell);
    }
    let by_family = families
        .into_iter()
        .map(|(family, i)| {
            Ok(FamilyIndicators {
                family: crate::codes::from_db(family)?,
                indicators: i.with_shares(),
            })
        })
        .collect::<ApiResult<_>>()?;
    let by_month = months
        .into_iter()
        .map(|(month, i)| MonthIndicators {
            month: month.to_owned(),
            indicators: i.with_shares(),
        })
        .collect();
    Ok((total.with_shares(), by_family, by_month))
}

const AMOUNT_COLUMNS: [&str; 12] = [
    "total_ht_cents",
    "bio_cents",
    "siqo_cents",
    "other_egalim_cents",
    "externalities_cents",
    "egalim_cents",
    "meat_and_fish_cents",
    "meat_and_fish_egalim_cents",
    "france_cents",
    "short_circuit_cents",
    "local_cents",
    "local_unknown_cents",
];

fn amounts(i: &Indicators) -> [i64; 12] {
    [
        i.total_ht_cents,
        i.bio_cents,
        i.siqo_cents,
        i.other_egalim_cents,
        i.externalities_cents,
        i.egalim_cents,
        i.meat_and_fish_cents,
        i.meat_and_fish_egalim_cents,
        i.france_cents,
        i.short_circuit_cents,
        i.local_cents,
        i.local_unknown_cents,
    ]
}

/// One row per scope (`total`, `family`, `month`) and key.
pub fn csv(
    total: &Indicators,
    families: &[FamilyIndicators],
    months: &[MonthIndicators],
) -> ApiResult<Vec<u8>> {
    let mut header = vec!["scope", "key"];
    header.extend(AMOUNT_COLUMNS);
    let row = |scope: &str, key: &str, i: &Indicators| {
        let mut record = vec![scope.to_owned(), key.to_owned()];
        record.extend(amounts(i).iter().map(i64::to_string));
        record
    };
    let rows = std::iter::once(row("total", "", total))
        .chain(
            families
                .iter()
                .map(|f| row("family", f.family.as_str(), &f.indicators)),
        )
        .chain(months.iter().map(|m| row("month", &m.month, &m.indicators)));
    csv_table(&header, rows)
}

/// ma-cantine's purchase import (`achats_siret`): its columns, in its order,
/// one row per counted line; amounts in euros with a decimal point.
pub fn ma_cantine_csv(
    siret: &str,
    definition: &str,
    km: Option<i32>,
    purchases: &[Purchase],
) -> ApiResult<Vec<u8>> {
    let header = [
        "siret",
        "description",
        "fournisseur",
        "date",
        "prix_ht",
        "famille_produits",
        "categories_egalim",
        "origine",
        "est_circuit_court",
        "est_local",
        "definition_local",
        "definition_local_km",
    ];
    let yes = |flag: bool| if flag { "OUI" } else { "" }.to_owned();
    csv_table(
        &header,
        purchases.iter().map(|p| {
            let local = p.local == Some(true);
            vec![
                siret.to_owned(),
                csv_text(&p.product_name).into_owned(),
                csv_text(&p.supplier).into_owned(),
                p.date.to_string(),
                crate::orders::money::euros(p.total_ht_cents),
                p.family.clone(),
                p.labels.join(","),
                p.origin.clone(),
                yes(p.short_circuit),
                yes(local),
                if local {
                    definition.to_owned()
                } else {
                    String::new()
                },
                match km {
                    Some(km) if local && definition == "KM" => km.to_string(),
                    _ => String::new(),
                },
            ]
        }),
    )
}
