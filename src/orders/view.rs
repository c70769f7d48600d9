//! Orders as the API shows them, assembled from their rows.

use std::collections::HashMap;

use uuid::Uuid;

use super::dto::*;
use super::lifecycle::buyer_cancel_until;
use super::money::totals;
use super::queries::{self, EventRow, LineRow, OrderRow, Party};
use crate::catalog::dto::Package;
use crate::codes::{Label, PriceSource, from_db};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult};

pub fn href(id: Uuid) -> String {
    format!("/api/v1/orders/{id}")
}

fn line(row: LineRow) -> ApiResult<OrderLine> {
    Ok(OrderLine {
        line_no: row.line_no,
        offer_id: row.offer_id,
        price_source: if row.contract_id.is_some() {
            PriceSource::Contract
        } else {
            PriceSource::Catalog
        },
        contract_line: row
            .contract_id
            .zip(row.contract_line_no)
            .map(|(contract_id, line_no)| ContractLineRef {
                contract_id,
                line_no,
            }),
        product_name: row.product_name,
        family: from_db(&row.family)?,
        labels: row
            .labels
            .iter()
            .map(|l| from_db::<Label>(l))
            .collect::<ApiResult<_>>()?,
        origin: from_db(&row.origin)?,
        producer: LineProducer {
            organisation_id: row.producer_id,
            name: row.producer_name,
            commune_insee: row.producer_commune_insee,
            commune: row.producer_commune,
        },
        unit: from_db(&row.unit)?,
        package: match (row.package_net_quantity, row.package_net_unit) {
            (Some(net_quantity), Some(unit)) => Some(Package {
                net_quantity: net_quantity.normalize(),
                net_unit: from_db(&unit)?,
            }),
            _ => None,
        },
        unit_price_cents: row.unit_price_cents,
        vat_rate: row.vat_rate.normalize(),
        quantity_ordered: row.quantity_ordered.normalize(),
        quantity_delivered: row.quantity_delivered.map(|q| q.normalize()),
        total_ht_cents: row.total_ht_cents,
        dispute_reason: row.dispute_reason,
    })
}

fn event(row: EventRow) -> ApiResult<OrderEvent> {
    Ok(OrderEvent {
        at: row.at,
        from: row.from_status.as_deref().map(from_db).transpose()?,
        to: from_db(&row.to_status)?,
        actor_user_id: row.actor_user_id,
        actor_organisation_id: row.actor_organisation_id,
        reason: row.reason,
    })
}

/// One order from its row, lines, events and the organisations it names.
pub fn assemble(
    order: OrderRow,
    lines: Vec<LineRow>,
    events: Vec<EventRow>,
    parties: &HashMap<Uuid, Party>,
) -> ApiResult<Order> {
    let party = |id: &Uuid| {
        parties
            .get(id)
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("order names unknown party {id}")))
    };
    let (buyer, supplier, site) = (
        party(&order.buyer_id)?,
        party(&order.supplier_id)?,
        party(&order.delivery_site_id)?,
    );
    let totals = totals(lines.iter().map(|l| (l.vat_rate, l.total_ht_cents)));
    Ok(Order {
        id: order.id,
        href: href(order.id),
        checkout_id: order.checkout_id,
        status: from_db(&order.status)?,
        buyer: OrganisationRef {
            id: buyer.id,
            name: buyer.name.clone(),
        },
        supplier: SupplierRef {
            id: supplier.id,
            name: supplier.name.clone(),
            kind: from_db(&supplier.kind)?,
        },
        delivery_site: DeliverySite {
            id: site.id,
            name: site.name.clone(),
            address: site.address.clone(),
            commune_insee: site.commune_insee.clone(),
        },
        delivery_date: order.delivery_date,
        buyer_cancel_until: buyer_cancel_until(order.delivery_date),
        note: order.note,
        lines: lines.into_iter().map(line).collect::<ApiResult<_>>()?,
        totals,
        events: events.into_iter().map(event).collect::<ApiResult<_>>()?,
        created_at: order.created_at,
        updated_at: order.updated_at,
    })
}

/// Orders read from the database, in the order given; events only when
/// asked (a single order's page).
pub async fn load(
    conn: &mut DbConn,
    orders: Vec<OrderRow>,
    with_events: bool,
) -> ApiResult<Vec<Order>> {
    let ids: Vec<Uuid> = orders.iter().map(|o| o.id).collect();
    let mut lines: HashMap<Uuid, Vec<LineRow>> = HashMap::new();
    for l in queries::lines_of(conn, &ids).await? {
        lines.entry(l.order_id).or_default().push(l);
    }
    let mut party_ids: Vec<Uuid> = orders
        .iter()
        .flat_map(|o| [o.buyer_id, o.supplier_id, o.delivery_site_id])
        .collect();
    party_ids.sort_unstable();
    party_ids.dedup();
    let parties = queries::parties(conn, &party_ids).await?;
    let mut views = Vec::with_capacity(orders.len());
    for order in orders {
        let events = if with_events {
            queries::events_of(conn, order.id).await?
        } else {
            Vec::new()
        };
        let order_lines = lines.remove(&order.id).unwrap_or_default();
        views.push(assemble(order, order_lines, events, &parties)?);
    }
    Ok(views)
}
