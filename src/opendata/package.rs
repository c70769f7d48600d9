//! The data package: `datapackage.json` (Frictionless Data Package with a
//! Table Schema per resource) and the resources' bytes, CSV or JSON, page by
//! page so that no file is ever held whole in memory.

use std::borrow::Cow;

use chrono::SecondsFormat;
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use serde_json::{Value, json};
use uuid::Uuid;

use super::queries::{self, PaymentDelayRow, ReleaseRow, SupplyStatRow};
use crate::codes::ProductFamily;

pub const LABEL_GROUPS: &[&str] = crate::codes::LabelGroup::CODES;
pub const ORIGIN_CLASSES: &[&str] = crate::codes::OriginClass::CODES;
pub const SECTOR_CATEGORIES: [&str; 6] = [
    "administration",
    "entreprise",
    "education",
    "sante",
    "social",
    "loisir",
];
pub const SUPPLIER_KINDS: [&str; 2] = ["farm", "distributor"];
pub const UNIT_KINDS: [&str; 3] = ["kg", "l", "piece"];
/// The bands a microdata row's value HT falls in: its code, and the first
/// amount in cents above the band (none for the last). Each band's upper
/// bound is at least twice its lower one, so that any price up to the
/// lower bound fits the band with some quantity (docs/opendata.md).
pub const VALUE_BANDS: [(&str, Option<i64>); 8] = [
    ("0-50", Some(5_000)),
    ("50-100", Some(10_000)),
    ("100-200", Some(20_000)),
    ("200-500", Some(50_000)),
    ("500-1000", Some(100_000)),
    ("1000-2000", Some(200_000)),
    ("2000-5000", Some(500_000)),
    ("5000+", None),
];
pub const LEVELS: [&str; 6] = [
    "cell",
    "month",
    "family",
    "label_group",
    "month_family",
    "total",
];
/// Rows fetched and encoded at a time while streaming, and rows of a stored
/// page of `transactions` (the pages migration and its CHECK count 10,000).
pub const PAGE_ROWS: i64 = 10_000;

pub use crate::codes::ReleaseResource as Resource;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

/// One downloadable file of a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct File {
    pub resource: Resource,
    pub format: Format,
}

impl File {
    pub const ALL: [File; 6] = [
        File {
            resource: Resource::SupplyStats,
            format: Format::Csv,
        },
        File {
            resource: Resource::SupplyStats,
            format: Format::Json,
        },
        File {
            resource: Resource::Transactions,
            format: Format::Csv,
        },
        File {
            resource: Resource::Transactions,
            format: Format::Json,
        },
        File {
            resource: Resource::PaymentDelays,
            format: Format::Csv,
        },
        File {
            resource: Resource::PaymentDelays,
            format: Format::Json,
        },
    ];

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    pub fn name(self) -> &'static str {
        match (self.resource, self.format) {
            (Resource::SupplyStats, Format::Csv) => "supply_stats.csv",
            (Resource::SupplyStats, Format::Json) => "supply_stats.json",
            (Resource::Transactions, Format::Csv) => "transactions.csv",
            (Resource::Transactions, Format::Json) => "transactions.json",
            (Resource::PaymentDelays, Format::Csv) => "payment_delays.csv",
            (Resource::PaymentDelays, Format::Json) => "payment_delays.json",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self.format {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
        }
    }

    /// What comes before the rows: the CSV header, or the JSON array's start.
    pub fn head(self) -> Vec<u8> {
        match self.format {
            Format::Csv => {
                let mut line = self.columns().join(",");
                line.push('\n');
                line.into_bytes()
            }
            Format::Json => b"[".to_vec(),
        }
    }

    pub fn tail(self) -> &'static [u8] {
        match self.format {
            Format::Csv => b"",
            Format::Json => b"]\n",
        }
    }

    fn columns(self) -> Vec<&'static str> {
        fields(self.resource).iter().map(|f| f.name).collect()
    }

    /// The next page of rows after `after`, encoded; the key of its last
    /// row (a `supply_stats` or `payment_delays` seq, a `transactions`
    /// page), or `None` once the
    /// rows are exhausted. `first` says no row came before.
    pub async fn page(
        self,
        conn: &mut AsyncPgConnection,
        release: Uuid,
        after: i64,
        first: bool,
    ) -> QueryResult<Option<(Vec<u8>, i64)>> {
        match self.resource {
            Resource::SupplyStats => {
                let rows = queries::supply_stats_page(conn, release, after, PAGE_ROWS).await?;
                let Some(last) = rows.last().map(|r| i64::from(r.seq)) else {
                    return Ok(None);
                };
                let capacity = rows.len() * 160;
                Ok(Some((
                    self.encode(rows.into_iter().map(supply_stat_cells), first, capacity),
                    last,
                )))
            }
            Resource::PaymentDelays => {
                let rows = queries::payment_delays_page(conn, release, after, PAGE_ROWS).await?;
                let Some(last) = rows.last().map(|r| i64::from(r.seq)) else {
                    return Ok(None);
                };
                let capacity = rows.len() * 80;
                Ok(Some((
                    self.encode(rows.into_iter().map(payment_delay_cells), first, capacity),
                    last,
                )))
            }
            // Frozen as CSV lines: the CSV is sent as stored, JSON transcoded.
            Resource::Transactions => {
                let Some((page, csv)) = queries::transactions_page(conn, release, after).await?
                else {
                    return Ok(None);
                };
                let bytes = match self.format {
                    Format::Csv => csv.into_bytes(),
                    Format::Json => self.transcode(&csv, first),
                };
                Ok(Some((bytes, i64::from(page))))
            }
        }
    }

    /// A stored page of `transactions` CSV lines as JSON objects.
    fn transcode(self, csv: &str, first: bool) -> Vec<u8> {
        let columns = self.columns();
        let rows = csv.lines().map(|line| {
            columns
                .iter()
                .zip(line.split(','))
                .map(|(_, value)| transaction_cell(value))
                .collect()
        });
        // A JSON row is about 3.5 times its CSV line.
        self.encode(rows, first, csv.len() * 4)
    }

    fn encode<'a>(
        self,
        rows: impl Iterator<Item = Vec<Cell<'a>>>,
        first: bool,
        capacity: usize,
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(capacity);
        let columns = self.columns();
        for (i, row) in rows.enumerate() {
            match self.format {
                Format::Csv => write_csv_row(&mut out, &row),
                Format::Json => {
                    if !(first && i == 0) {
                        out.push(b',');
                    }
                    out.push(b'\n');
                    write_json_row(&mut out, &columns, &row);
                }
            }
        }
        out
    }
}

/// A value of the package: every text cell is one of our codes (no free
/// text), so no quoting nor formula defusing is ever needed.
enum Cell<'a> {
    Text(Cow<'a, str>),
    Number(Cow<'a, str>),
    Empty,
}

fn text(value: Option<String>) -> Cell<'static> {
    value
        .filter(|v| !v.is_empty())
        .map_or(Cell::Empty, |v| Cell::Text(v.into()))
}

fn number(value: Option<impl ToString>) -> Cell<'static> {
    value.map_or(Cell::Empty, |v| Cell::Number(v.to_string().into()))
}

fn supply_stat_cells(r: SupplyStatRow) -> Vec<Cell<'static>> {
    vec![
        Cell::Text(r.level.into()),
        text(r.month),
        text(r.family),
        text(r.label_group),
        text(r.origin_class),
        text(r.sector_category),
        number(r.value_ht_cents.map(crate::orders::money::euros)),
        number(r.suppliers),
        number(r.buyers),
        Cell::Text(r.status.into()),
    ]
}

fn payment_delay_cells(r: PaymentDelayRow) -> Vec<Cell<'static>> {
    vec![
        Cell::Text(r.month.into()),
        Cell::Text(r.sector_category.into()),
        number(r.invoices),
        number(r.median_days),
        Cell::Text(r.status.into()),
    ]
}

/// A value of a frozen `transactions` line: every column is a code.
fn transaction_cell(value: &str) -> Cell<'_> {
    if value.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(value.into())
    }
}

fn write_csv_row(out: &mut Vec<u8>, row: &[Cell]) {
    for (i, cell) in row.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match cell {
            Cell::Text(v) | Cell::Number(v) => out.extend_from_slice(v.as_bytes()),
            Cell::Empty => {}
        }
    }
    out.push(b'\n');
}

fn write_json_row(out: &mut Vec<u8>, columns: &[&str], row: &[Cell]) {
    out.push(b'{');
    for (i, (name, cell)) in columns.iter().zip(row).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        match cell {
            Cell::Text(v) => {
                out.push(b'"');
                out.extend_from_slice(v.as_bytes());
                out.push(b'"');
            }
            Cell::Number(v) => out.extend_from_slice(v.as_bytes()),
            Cell::Empty => out.extend_from_slice(b"null"),
        }
    }
    out.push(b'}');
}

/// A field of a resource's Table Schema.
struct Field {
    name: &'static str,
    schema: fn(&ReleaseRow) -> Value,
}

/// A category's codes, and `*` where the microdata generalise it.
fn generalisable(codes: &[&'static str]) -> Vec<&'static str> {
    codes.iter().copied().chain(["*"]).collect()
}

fn enumeration(values: &[&str], required: bool, description: &str) -> Value {
    json!({"type": "string", "description": description,
           "constraints": {"required": required, "enum": values}})
}

/// A number that is never negative: a value or a quantity.
fn amount(description: &str) -> Value {
    json!({"type": "number", "description": description, "constraints": {"minimum": 0}})
}

fn fields(resource: Resource) -> &'static [Field] {
    match resource {
        Resource::SupplyStats => &SUPPLY_STATS_FIELDS,
        Resource::Transactions => &TRANSACTIONS_FIELDS,
        Resource::PaymentDelays => &PAYMENT_DELAYS_FIELDS,
    }
}

pub(super) fn families() -> Vec<&'static str> {
    ProductFamily::ALL.iter().map(|f| f.as_str()).collect()
}

fn min_units(release: &ReleaseRow) -> u64 {
    release.disclosure["thresholds"]["min_units"]
        .as_u64()
        .unwrap_or(3)
}

const SUPPLY_STATS_FIELDS: [Field; 10] = [
    Field {
        name: "level",
        schema: |_| {
            enumeration(
                &LEVELS,
                true,
                "What the row counts: a cell, the total of a month, of a product family, of a label group, of a month and product family, or the grand total",
            )
        },
    },
    Field {
        name: "month",
        schema: |_| {
            json!({"type": "yearmonth", "format": "default",
        "description": "Month of delivery (cells, month and month_family totals)"})
        },
    },
    Field {
        name: "family",
        schema: |_| {
            enumeration(
                &families(),
                false,
                "Product family, as ma-cantine codes it (cells, family and month_family totals)",
            )
        },
    },
    Field {
        name: "label_group",
        schema: |_| {
            enumeration(
                LABEL_GROUPS,
                false,
                "EGalim category, each line counted once: bio, siqo (Label Rouge, AOC/AOP, IGP, STG), other EGalim labels and externalities, none",
            )
        },
    },
    Field {
        name: "origin_class",
        schema: |_| {
            enumeration(
                ORIGIN_CLASSES,
                false,
                "Where the producing farm is, from the territory: in the EPCI, its département, its region, elsewhere in France, Europe",
            )
        },
    },
    Field {
        name: "sector_category",
        schema: |_| {
            enumeration(
                &SECTOR_CATEGORIES,
                false,
                "Category of the buying canteen's main sector (ma-cantine's grouping; loisir includes autres)",
            )
        },
    },
    Field {
        name: "value_ht",
        schema: |_| {
            amount("Value of the delivered lines, excluding VAT, in euros; empty when suppressed")
        },
    },
    Field {
        name: "suppliers",
        schema: |r| {
            json!({"type": "integer", "description":
        "Distinct suppliers (farms and distributors); empty when suppressed", "constraints": {"minimum": min_units(r)}})
        },
    },
    Field {
        name: "buyers",
        schema: |r| {
            json!({"type": "integer", "description":
        "Distinct buying canteens; empty when suppressed", "constraints": {"minimum": min_units(r)}})
        },
    },
    Field {
        name: "status",
        schema: |_| {
            enumeration(
                &["published", "suppressed"],
                true,
                "suppressed: hidden by the statistical secrecy (no or too few units, one dominant unit, two units that would know a third's part, or to protect another hidden number); never zero",
            )
        },
    },
];

const TRANSACTIONS_FIELDS: [Field; 9] = [
    Field {
        name: "month",
        schema: |_| {
            json!({"type": "yearmonth", "format": "default",
        "description": "Month of delivery", "constraints": {"required": true}})
        },
    },
    Field {
        name: "sector_category",
        schema: |_| {
            enumeration(
                &SECTOR_CATEGORIES,
                true,
                "Category of the buying canteen's main sector",
            )
        },
    },
    Field {
        name: "buyer_territory",
        schema: |_| {
            json!({"type": "string", "description":
        "EPCI (SIREN) of the buying canteen, or its département code where coarsened",
        "constraints": {"required": true, "pattern": "^([0-9]{9}|[0-9]{2}|2A|2B|97[0-9])$"}})
        },
    },
    Field {
        name: "supplier_kind",
        schema: |_| {
            enumeration(
                &generalisable(&SUPPLIER_KINDS),
                true,
                "farm or distributor; * where generalised",
            )
        },
    },
    Field {
        name: "origin_class",
        schema: |_| {
            enumeration(
                ORIGIN_CLASSES,
                true,
                "Where the producing farm is, from the territory",
            )
        },
    },
    Field {
        name: "family",
        schema: |_| enumeration(&families(), true, "Product family (ma-cantine codes)"),
    },
    Field {
        name: "label_group",
        schema: |_| enumeration(LABEL_GROUPS, true, "EGalim category"),
    },
    Field {
        name: "unit_kind",
        schema: |_| {
            enumeration(
                &generalisable(&UNIT_KINDS),
                true,
                "How the line was sold: kg, l or piece; * where generalised",
            )
        },
    },
    Field {
        name: "value_band",
        schema: |_| {
            enumeration(
                &generalisable(&VALUE_BANDS.map(|(code, _)| code)),
                true,
                "Value of the line excluding VAT, in euros: from the first bound (included) to the second (excluded); * where generalised",
            )
        },
    },
];

const PAYMENT_DELAYS_FIELDS: [Field; 5] = [
    Field {
        name: "month",
        schema: |_| {
            json!({"type": "yearmonth", "format": "default",
        "description": "Month in which the invoices' payment was completed", "constraints": {"required": true}})
        },
    },
    Field {
        name: "sector_category",
        schema: |_| {
            enumeration(
                &SECTOR_CATEGORIES,
                true,
                "Category of the paying canteen's main sector",
            )
        },
    },
    Field {
        name: "invoices",
        schema: |r| {
            json!({"type": "integer", "description":
        "Invoices (not credit notes) whose payment was completed that month; empty when suppressed",
        "constraints": {"minimum": min_units(r)}})
        },
    },
    Field {
        name: "median_days",
        schema: |_| {
            amount(
                "Median days from the invoice's issue to its payment (the buyer's délai global de paiement); empty when suppressed",
            )
        },
    },
    Field {
        name: "status",
        schema: |_| {
            enumeration(
                &["published", "suppressed"],
                true,
                "suppressed: hidden by the statistical secrecy (no or too few canteens or suppliers, one behind most of the invoices, or two that would know a third's count)",
            )
        },
    },
];

fn table_schema(resource: Resource, release: &ReleaseRow) -> Value {
    let fields: Vec<Value> = fields(resource)
        .iter()
        .map(|f| {
            let mut schema = (f.schema)(release);
            schema["name"] = json!(f.name);
            schema
        })
        .collect();
    json!({"fields": fields, "missingValues": [""]})
}

/// `datapackage.json` of a release. Resource paths are relative, so the
/// package works as downloaded and as served.
pub fn datapackage(release: &ReleaseRow, epci_name: &str) -> Value {
    let period = format!(
        "{} – {}",
        release.period_from.format("%Y-%m"),
        release.period_to.format("%Y-%m")
    );
    let resource = |name: &str, file: File, title: &str, description: &str| {
        let (format, mediatype) = match file.format {
            Format::Csv => ("csv", "text/csv"),
            Format::Json => ("json", "application/json"),
        };
        let mut value = json!({
            "name": name, "type": "table", "path": file.name(), "title": title, "description": description,
            "format": format, "mediatype": mediatype, "encoding": "utf-8",
            "schema": table_schema(file.resource, release),
        });
        if file.format == Format::Csv {
            value["dialect"] = json!({"delimiter": ",", "quoteChar": "\"", "header": true});
        }
        value
    };
    const STATS: &str = "Delivered supply by month, product family, label group, origin and buyer sector, with totals; numbers failing the statistical secrecy are empty with status suppressed";
    const DELAYS: &str = "How fast the canteens paid their suppliers: invoices paid by month and buyer sector, with the median days from issue to payment; rows failing the statistical secrecy are empty with status suppressed";
    const MICRO: &str = "One row per delivered line of a published cell: no identifier, no name, no exact date or place, no quantity, the value as a band; rows generalised (*) or left out to keep every class of rows anonymous";
    let mut resources = vec![
        resource("supply_stats", File::ALL[0], "Supply statistics", STATS),
        resource(
            "supply_stats_json",
            File::ALL[1],
            "Supply statistics (JSON)",
            STATS,
        ),
        resource(
            "transactions",
            File::ALL[2],
            "Anonymised transactions",
            MICRO,
        ),
    ];
    // An empty JSON array is not a table a validator can read (it has no
    // header, unlike the CSV): a release without microdata rows lists the
    // CSV alone, and transactions.json still answers `[]`.
    if release.disclosure["transactions_published"].as_u64() != Some(0) {
        resources.push(resource(
            "transactions_json",
            File::ALL[3],
            "Anonymised transactions (JSON)",
            MICRO,
        ));
    }
    resources.push(resource(
        "payment_delays",
        File::ALL[4],
        "Payment delays",
        DELAYS,
    ));
    resources.push(resource(
        "payment_delays_json",
        File::ALL[5],
        "Payment delays (JSON)",
        DELAYS,
    ));
    json!({
        "name": format!("sesame-supply-{}-{}-{}", release.epci_siren,
            release.period_from.format("%Y%m"), release.period_to.format("%Y%m")),
        "title": format!("Approvisionnement de la restauration collective — {epci_name}, {period}"),
        "description": format!("What the canteens of {epci_name} received through Sésame over {period}: supply statistics, anonymised transactions and payment delays, under statistical secrecy on both the suppliers' and the buyers' side."),
        "version": format!("{}.0.0", release.version),
        "created": release.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "licenses": [{"name": "etalab-2.0", "title": "Licence Ouverte / Open Licence 2.0",
                      "path": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"}],
        "contributors": [{"title": epci_name, "role": "publisher",
                          "organization": format!("EPCI {}", release.epci_siren)}],
        "keywords": ["EGalim", "restauration collective", "circuits courts", "approvisionnement"],
        "period": {"from": release.period_from.to_string(), "to": release.period_to.to_string()},
        "disclosure_control": release.disclosure,
        "resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRANSACTIONS_JSON: File = File {
        resource: Resource::Transactions,
        format: Format::Json,
    };

    /// Two stored pages, as the build writes them, downloaded as JSON: one
    /// valid array of rows of codes.
    #[test]
    fn stored_pages_transcode_to_one_json_array() {
        let pages = [
            "2026-01,education,200057859,farm,epci,FRUITS_ET_LEGUMES,bio,kg,0-50\n\
             2026-01,sante,200057859,*,region,BOULANGERIE,none,*,*\n",
            "2026-02,social,200057859,distributor,france,AUTRES,siqo,piece,1000-2000\n",
        ];
        let mut body = TRANSACTIONS_JSON.head();
        for (i, page) in pages.iter().enumerate() {
            body.extend(TRANSACTIONS_JSON.transcode(page, i == 0));
        }
        body.extend_from_slice(TRANSACTIONS_JSON.tail());
        let rows: Vec<serde_json::Map<String, Value>> =
            serde_json::from_slice(&body).expect("one JSON array");
        assert_eq!(rows.len(), 3);
        assert_eq!(
            Value::Object(rows[0].clone()),
            json!({"month": "2026-01", "sector_category": "education", "buyer_territory": "200057859",
                   "supplier_kind": "farm", "origin_class": "epci", "family": "FRUITS_ET_LEGUMES",
                   "label_group": "bio", "unit_kind": "kg", "value_band": "0-50"})
        );
        assert_eq!(rows[1]["supplier_kind"], "*");
        assert_eq!(rows[1]["value_band"], "*");
        assert_eq!(rows[2]["month"], "2026-02");
        assert_eq!(rows[2]["value_band"], "1000-2000");
        // Every column of the CSV header on every row, in the header's order.
        let header = String::from_utf8(File::ALL[2].head()).unwrap();
        let columns: std::collections::BTreeSet<&str> = header.trim_end().split(',').collect();
        for row in &rows {
            assert_eq!(
                row.keys()
                    .map(String::as_str)
                    .collect::<std::collections::BTreeSet<_>>(),
                columns
            );
        }
        let text = String::from_utf8(body).unwrap();
        let first_keys: Vec<&str> = text
            .split(['{', ','])
            .filter_map(|part| {
                part.strip_prefix('"')?
                    .split_once("\":")
                    .map(|(key, _)| key)
            })
            .take(columns.len())
            .collect();
        assert_eq!(first_keys.join(","), header.trim_end());
    }
}
