//! A supplier's picking list, as JSON and as CSV.

use chrono::NaiveDate;
use uuid::Uuid;

use super::dto::{DeliverySite, PickingList, PickingProduct, PickingSite};
use super::queries::PickingRow;
use crate::codes::from_db;
use crate::error::ApiResult;
use crate::http::negotiate::{csv_table, csv_text};

/// Rows come sorted by product then site: products are runs of rows.
pub fn list(supplier: Uuid, date: NaiveDate, rows: Vec<PickingRow>) -> ApiResult<PickingList> {
    let mut products: Vec<PickingProduct> = Vec::new();
    for row in rows {
        let site = PickingSite {
            delivery_site: DeliverySite {
                id: row.site_id,
                name: row.site_name,
                address: row.site_address,
                commune_insee: row.site_commune_insee,
            },
            quantity: row.quantity.normalize(),
            order_ids: row.order_ids,
        };
        match products.last_mut() {
            Some(p) if p.offer_id == row.offer_id && p.product_name == row.product_name => {
                p.total_quantity = (p.total_quantity + site.quantity).normalize();
                p.sites.push(site);
            }
            _ => products.push(PickingProduct {
                offer_id: row.offer_id,
                product_name: row.product_name,
                unit: from_db(&row.unit)?,
                total_quantity: site.quantity,
                sites: vec![site],
            }),
        }
    }
    Ok(PickingList {
        supplier_id: supplier,
        delivery_date: date,
        products,
    })
}

/// One line per product and delivery site, for a spreadsheet.
pub fn csv(date: NaiveDate, rows: &[PickingRow]) -> ApiResult<Vec<u8>> {
    let header = [
        "delivery_date",
        "offer_id",
        "product_name",
        "unit",
        "quantity",
        "site_id",
        "site_name",
        "site_address",
        "site_commune_insee",
        "order_ids",
    ];
    csv_table(
        &header,
        rows.iter().map(|row| {
            let orders: Vec<String> = row.order_ids.iter().map(Uuid::to_string).collect();
            vec![
                date.to_string(),
                row.offer_id.map(|o| o.to_string()).unwrap_or_default(),
                csv_text(&row.product_name).into_owned(),
                row.unit.clone(),
                row.quantity.normalize().to_string(),
                row.site_id.to_string(),
                csv_text(&row.site_name).into_owned(),
                csv_text(&row.site_address).into_owned(),
                row.site_commune_insee.clone(),
                orders.join(" "),
            ]
        }),
    )
}
