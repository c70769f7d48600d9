//! A supplier's catalog as CSV (farmers keep spreadsheets): parsing into the
//! same `NewOffer` as the JSON API, collecting every problem of every row.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::dto::{NewOffer, Package, ProducerInput};
use crate::accounts::dto::DeliveryArea;
use crate::error::{ApiError, FieldError};

/// The format, as documented in the OpenAPI document.
pub const FORMAT: &str = "UTF-8 CSV, comma-separated, with a header row; columns in any order. \
Required: name, family, origin, unit, price_cents, vat_rate, stock, min_order_quantity, order_step, \
delivery_weekdays. Optional: description, labels, producer_organisation_id, producer_name, \
producer_commune_insee, package_net_quantity, package_net_unit, available_from, available_until, \
lead_time_days, delivery_area, status. Lists use `;`: labels `BIO;HVE`, delivery_weekdays `2;4` \
(ISO, 1 = Monday), delivery_area `commune:91103;epci:200057859;departement:91`. stock is a quantity \
or `on_demand`. Decimals use a point. Dates are YYYY-MM-DD. Codes as in the JSON API. At most 5000 rows.";

const REQUIRED: [&str; 10] = [
    "name",
    "family",
    "origin",
    "unit",
    "price_cents",
    "vat_rate",
    "stock",
    "min_order_quantity",
    "order_step",
    "delivery_weekdays",
];
const OPTIONAL: [&str; 12] = [
    "description",
    "labels",
    "producer_organisation_id",
    "producer_name",
    "producer_commune_insee",
    "package_net_quantity",
    "package_net_unit",
    "available_from",
    "available_until",
    "lead_time_days",
    "delivery_area",
    "status",
];
const MAX_ROWS: usize = 5000;

#[derive(Serialize, ToSchema)]
pub struct Imported {
    pub imported: usize,
    pub at: DateTime<Utc>,
}

pub struct Parsed {
    /// Offers with their row number (data rows count from 1).
    pub offers: Vec<(usize, NewOffer)>,
    pub errors: Vec<FieldError>,
}

struct Row<'a> {
    index: usize,
    cells: HashMap<&'a str, &'a str>,
    errors: Vec<FieldError>,
}

impl Row<'_> {
    fn raw(&self, column: &str) -> Option<&str> {
        self.cells
            .get(column)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn fail(&mut self, column: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(
            format!("rows[{}].{column}", self.index),
            message,
        ));
    }

    fn required<T: FromStr>(&mut self, column: &str) -> Option<T>
    where
        T::Err: std::fmt::Display,
    {
        match self.raw(column).map(str::to_owned) {
            None => {
                self.fail(column, "is required");
                None
            }
            Some(value) => self.parse(column, &value),
        }
    }

    fn optional<T: FromStr>(&mut self, column: &str) -> Option<T>
    where
        T::Err: std::fmt::Display,
    {
        let value = self.raw(column)?.to_owned();
        self.parse(column, &value)
    }

    fn parse<T: FromStr>(&mut self, column: &str, value: &str) -> Option<T>
    where
        T::Err: std::fmt::Display,
    {
        match value.parse() {
            Ok(v) => Some(v),
            Err(e) => {
                self.fail(column, format!("`{value}`: {e}"));
                None
            }
        }
    }

    /// A decimal cell, under the same strict rule as decimals in JSON.
    fn decimal(&mut self, column: &str, value: &str) -> Option<Decimal> {
        match crate::http::decimal::parse(value) {
            Ok(v) => Some(v),
            Err(_) => {
                self.fail(
                    column,
                    format!(
                        "`{value}` is not a decimal: write digits with an optional fraction \
                         after a point, such as 12 or 2.375 (at most 28 digits)"
                    ),
                );
                None
            }
        }
    }

    fn required_decimal(&mut self, column: &str) -> Option<Decimal> {
        match self.raw(column).map(str::to_owned) {
            None => {
                self.fail(column, "is required");
                None
            }
            Some(value) => self.decimal(column, &value),
        }
    }

    fn optional_decimal(&mut self, column: &str) -> Option<Decimal> {
        let value = self.raw(column)?.to_owned();
        self.decimal(column, &value)
    }

    fn list<T: FromStr>(&mut self, column: &str) -> Vec<T>
    where
        T::Err: std::fmt::Display,
    {
        let Some(value) = self.raw(column).map(str::to_owned) else {
            return Vec::new();
        };
        value
            .split(';')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .filter_map(|v| self.parse(column, v))
            .collect()
    }
}

/// Parses the file. A file that cannot be read as CSV (not UTF-8, no
/// header, too many rows) is a 400 at once; a header with missing or unknown
/// columns is a 422 naming each (`header.colour`); row problems are
/// collected, as `rows[N].column`.
pub fn parse(bytes: &[u8]) -> Result<Parsed, ApiError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        ApiError::MalformedBody(format!(
            "the CSV must be UTF-8; line {line} of the file is not"
        ))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text); // spreadsheets add a BOM
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ApiError::MalformedBody(format!("cannot read the CSV header: {e}")))?
        .clone();
    let names: Vec<&str> = headers.iter().map(str::trim).collect();
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|r| !names.contains(r))
        .collect();
    let unknown: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !REQUIRED.contains(n) && !OPTIONAL.contains(n))
        .collect();
    if !missing.is_empty() || !unknown.is_empty() {
        let mut errors: Vec<FieldError> = missing
            .iter()
            .map(|m| FieldError::new(format!("header.{m}"), "required column is missing"))
            .collect();
        errors.extend(unknown.iter().map(|u| {
            FieldError::new(
                format!("header.{u}"),
                format!(
                    "`{u}` is not a column of the import; expected one of {}",
                    REQUIRED
                        .iter()
                        .chain(&OPTIONAL)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        }));
        // The header is part of the body: a body error, not a query parameter's.
        return Err(ApiError::Validation(errors));
    }
    let mut parsed = Parsed {
        offers: Vec::new(),
        errors: Vec::new(),
    };
    for (i, record) in reader.records().enumerate() {
        let index = i + 1;
        if index > MAX_ROWS {
            return Err(ApiError::MalformedBody(format!(
                "at most {MAX_ROWS} rows per import"
            )));
        }
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                parsed.errors.push(FieldError::new(
                    format!("rows[{index}]"),
                    format!("unreadable row: {e}"),
                ));
                continue;
            }
        };
        let mut row = Row {
            index,
            cells: names.iter().copied().zip(record.iter()).collect(),
            errors: Vec::new(),
        };
        let offer = offer(&mut row);
        if let (Some(offer), true) = (offer, row.errors.is_empty()) {
            parsed.offers.push((index, offer));
        }
        parsed.errors.append(&mut row.errors);
    }
    Ok(parsed)
}

fn offer(row: &mut Row) -> Option<NewOffer> {
    let name = row.required::<String>("name");
    let family = row.required("family");
    let origin = row.required("origin");
    let unit = row.required("unit");
    let price_cents = row.required("price_cents");
    let vat_rate = row.required_decimal("vat_rate");
    let (stock, on_demand) = match row.raw("stock") {
        Some("on_demand") => (None, true),
        _ => (row.required_decimal("stock"), false),
    };
    let min_order_quantity = row.required_decimal("min_order_quantity");
    let order_step = row.required_decimal("order_step");
    let delivery_weekdays: Vec<i16> = row.list("delivery_weekdays");
    if delivery_weekdays.is_empty() && row.raw("delivery_weekdays").is_none() {
        row.fail("delivery_weekdays", "is required");
    }
    let labels = row.list("labels");
    let producer_organisation_id: Option<Uuid> = row.optional("producer_organisation_id");
    let producer_name: Option<String> = row.optional("producer_name");
    let producer_commune_insee: Option<String> = row.optional("producer_commune_insee");
    let given = (
        row.raw("package_net_quantity").is_some(),
        row.raw("package_net_unit").is_some(),
    );
    let package = match (
        row.optional_decimal("package_net_quantity"),
        row.optional("package_net_unit"),
    ) {
        (Some(net_quantity), Some(net_unit)) => Some(Package {
            net_quantity,
            net_unit,
        }),
        // Both given, one unreadable: already reported.
        _ if given == (true, true) => None,
        (None, None) if given == (false, false) => None,
        _ => {
            row.fail(
                "package_net_quantity",
                "give both the package's net quantity and its unit",
            );
            None
        }
    };
    let available_from: Option<NaiveDate> = row.optional("available_from");
    let available_until: Option<NaiveDate> = row.optional("available_until");
    let lead_time_days = row.optional("lead_time_days").unwrap_or(0);
    let mut delivery_area = Vec::new();
    for item in row
        .raw("delivery_area")
        .map(str::to_owned)
        .unwrap_or_default()
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match item
            .split_once(':')
            .and_then(|(kind, code)| Some((kind.parse().ok()?, code)))
        {
            Some((kind, code)) => delivery_area.push(DeliveryArea {
                kind,
                code: code.to_owned(),
            }),
            None => row.fail(
                "delivery_area",
                format!("`{item}` is not kind:code (commune, epci or departement)"),
            ),
        }
    }
    let status = row.optional("status");
    let description = row.raw("description").unwrap_or_default().to_owned();
    let producer = (producer_organisation_id.is_some()
        || producer_name.is_some()
        || producer_commune_insee.is_some())
    .then_some(ProducerInput {
        organisation_id: producer_organisation_id,
        name: producer_name,
        commune_insee: producer_commune_insee,
    });
    Some(NewOffer {
        name: name?,
        description,
        family: family?,
        labels,
        origin: origin?,
        producer,
        unit: unit?,
        package,
        price_cents: price_cents?,
        vat_rate: vat_rate?,
        stock,
        on_demand,
        min_order_quantity: min_order_quantity?,
        order_step: order_step?,
        available_from,
        available_until,
        lead_time_days,
        delivery_weekdays,
        delivery_area,
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "name,family,origin,unit,price_cents,vat_rate,stock,min_order_quantity,order_step,delivery_weekdays,labels";

    #[test]
    fn every_bad_row_and_field_is_reported() {
        let csv = format!(
            "{HEADER}\n\
             Carottes,FRUITS_ET_LEGUMES,FRANCE,KGM,180,5.5,400,5,5,2;4,BIO\n\
             Poireaux,LEGUMES,FRANCE,KGM,abc,5.5,400,5,5,2,\n\
             Lait,PRODUITS_LAITIERS,FRANCE,LTR,95,7,on_demand,10,1,1;9,\n"
        );
        let parsed = parse(csv.as_bytes()).unwrap();
        assert_eq!(
            parsed.offers.len(),
            2,
            "rows 1 and 3 parse; 3 fails later checks"
        );
        let fields: Vec<&str> = parsed.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["rows[2].family", "rows[2].price_cents"]);
        assert_eq!(parsed.offers[1].1.delivery_weekdays, [1, 9]);
        assert!(parsed.offers[1].1.on_demand);
    }

    #[test]
    fn decimal_cells_follow_the_json_rule() {
        let csv = format!(
            "{HEADER},package_net_quantity,package_net_unit\n\
             Carottes,FRUITS_ET_LEGUMES,FRANCE,KGM,180,5.5,12.5,1,0.5,2,,2.5,KGM\n\
             Poireaux,FRUITS_ET_LEGUMES,FRANCE,KGM,180,+5.5,1e3,1_5,\"0,5\",2,,.5,KGM\n"
        );
        let parsed = parse(csv.as_bytes()).unwrap();
        assert_eq!(parsed.offers.len(), 1);
        let first = &parsed.offers[0].1;
        assert_eq!(first.stock, Some(Decimal::new(125, 1)));
        assert_eq!(first.order_step, Decimal::new(5, 1));
        let fields: Vec<&str> = parsed.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "rows[2].vat_rate",
                "rows[2].stock",
                "rows[2].min_order_quantity",
                "rows[2].order_step",
                "rows[2].package_net_quantity"
            ]
        );
        assert!(
            parsed.errors[1]
                .message
                .starts_with("`1e3` is not a decimal"),
            "{:?}",
            parsed.errors[1]
        );
    }

    #[test]
    fn missing_and_unknown_columns_are_named() {
        let Err(ApiError::Validation(errors)) = parse(b"name,family,colour\nx,y,z\n") else {
            panic!("a bad header must be refused");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(
            fields.contains(&"header.origin") && fields.contains(&"header.colour"),
            "{fields:?}"
        );
    }
}
