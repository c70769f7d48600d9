//! The demonstration's invoicing:
//! - every farm and distributor has an invoicing profile: the VAT number of
//!   its SIREN and a (fictitious, well-formed) IBAN, 30 days;
//! - public canteens bill to their own SIRET; their Chorus Pro record asks
//!   for a service code, which they set to `RESTAURATION`;
//! - every supplier has issued its monthly statements of the last three
//!   closed months, through the service, as its owner would have, and the
//!   canteens have paid them, each at its own pace.

use chrono::{Datelike, Days, NaiveDate};
use diesel::prelude::*;
use diesel::sql_types::{Date, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::extract::AuthUser;
use crate::invoices::dto::{IssueRequest, PaymentRequest, StatementRequest};
use crate::invoices::queries::{ProfileRow, save_profile};
use crate::invoices::rules::vat_number_of;
use crate::invoices::service::{issue_on, record_payment_on};

/// A French IBAN for a made-up account number: check digits computed so
/// that the IBAN is well-formed (ISO 13616); the bank is fictitious.
fn iban(account: u64) -> String {
    let bban = format!("3000600001{account:011}00");
    // BBAN, then "FR00" as digits (F = 15, R = 27): the check digits are 98 - that mod 97.
    let remainder = format!("{bban}152700")
        .bytes()
        .fold(0u64, |acc, b| (acc * 10 + u64::from(b - b'0')) % 97);
    format!("FR{:02}{bban}", 98 - remainder)
}

#[derive(QueryableByName)]
struct Org {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    siren: String,
    #[diesel(sql_type = Text)]
    kind: String,
}

#[derive(QueryableByName)]
struct Buyer {
    #[diesel(sql_type = SqlUuid)]
    buyer_id: Uuid,
}

#[derive(QueryableByName)]
struct Owner {
    #[diesel(sql_type = SqlUuid)]
    organisation_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
}

pub async fn seed(conn: &mut AsyncPgConnection, today: NaiveDate) -> anyhow::Result<()> {
    let orgs: Vec<Org> = diesel::sql_query(
        "SELECT o.id, o.siren, o.kind FROM organisations o \
           LEFT JOIN canteen_profiles c ON c.organisation_id = o.id \
          WHERE o.kind IN ('farm', 'distributor') OR c.economic_model = 'public' \
          ORDER BY o.id",
    )
    .load(conn)
    .await?;
    for (n, org) in (0u64..).zip(&orgs) {
        let seller = org.kind != "canteen";
        save_profile(
            conn,
            &ProfileRow {
                organisation_id: org.id,
                vat_number: if seller {
                    vat_number_of(&org.siren)
                } else {
                    None
                },
                iban: seller.then(|| iban(10_000 + n)),
                payment_days: 30,
                billing_siret: None,
                service_code: (!seller).then(|| "RESTAURATION".to_owned()),
                chorus_requires: if seller { "none" } else { "service_code" }.to_owned(),
            },
        )
        .await?;
    }

    statements(conn, today).await
}

/// The supplier's owner, acting as the service would know them.
fn acting(user_id: Uuid) -> AuthUser {
    AuthUser {
        id: user_id,
        session_id: Uuid::nil(),
        email: String::new(),
        is_admin: false,
    }
}

/// How many closed months the demonstration has invoiced.
const INVOICED_MONTHS: u32 = 3;

/// Every supplier's monthly statements of the last closed months, one per
/// canteen it delivered, issued through the service by its owner on the 5th
/// of the next month (today at the latest) in date order; each canteen pays
/// at its own pace (12 to 42 days, a few days either way), and what would
/// be paid after today is still unpaid.
async fn statements(conn: &mut AsyncPgConnection, today: NaiveDate) -> anyhow::Result<()> {
    let owners: Vec<Owner> = diesel::sql_query(
        "SELECT DISTINCT ON (o.id) o.id AS organisation_id, m.user_id \
           FROM organisations o JOIN memberships m ON m.organisation_id = o.id \
          WHERE o.kind IN ('farm', 'distributor') AND m.role = 'owner' \
          ORDER BY o.id, m.user_id",
    )
    .load(conn)
    .await?;
    let first = today.with_day(1).unwrap_or(today);
    let mut rng = super::Rng::new(0x1a7e_f00d);
    let mut paid = Vec::new();
    for back in (1..=INVOICED_MONTHS).rev() {
        let Some(from) = first.checked_sub_months(chrono::Months::new(back)) else {
            continue;
        };
        let to = from
            .checked_add_months(chrono::Months::new(1))
            .map_or(from, |next| next - Days::new(1));
        let issued_on = (to + Days::new(5)).min(today);
        for owner in &owners {
            let buyers: Vec<Buyer> = diesel::sql_query(
                "SELECT DISTINCT buyer_id FROM orders \
                  WHERE supplier_id = $1 AND status IN ('received', 'disputed') \
                    AND delivery_date BETWEEN $2 AND $3 ORDER BY buyer_id",
            )
            .bind::<SqlUuid, _>(owner.organisation_id)
            .bind::<Date, _>(from)
            .bind::<Date, _>(to)
            .load(conn)
            .await?;
            let user = acting(owner.user_id);
            for buyer in buyers {
                let body = IssueRequest {
                    orders: None,
                    statement: Some(StatementRequest {
                        buyer_id: buyer.buyer_id,
                        from,
                        to,
                    }),
                    engagement_number: Some(format!(
                        "EJ-{}-{:04}",
                        from.year(),
                        from.month() * 100
                    )),
                };
                let id = issue_on(conn, &user, owner.organisation_id, body, issued_on)
                    .await
                    .map_err(|e| anyhow::anyhow!("demo statement: {e}"))?;
                let invoice = crate::invoices::queries::find(conn, id)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("demo statement {id} not found"))?;
                // The canteen's pace, the same every month, and this month's slack.
                let pace = 12 + buyer.buyer_id.as_u128() % 31;
                let days = (pace as u64 + rng.below(9)).saturating_sub(4);
                let paid_on = invoice.issue_date + Days::new(days);
                if paid_on <= today {
                    paid.push((owner.user_id, id, invoice.gross_cents, paid_on));
                }
            }
        }
    }
    // Payments in the order they came in.
    paid.sort_by_key(|p| p.3);
    for (user, invoice, amount_cents, paid_on) in paid {
        let body = PaymentRequest {
            amount_cents,
            paid_on,
        };
        record_payment_on(conn, &acting(user), invoice, body, paid_on)
            .await
            .map_err(|e| anyhow::anyhow!("demo payment: {e}"))?;
    }
    crate::invoices::service::mark_overdue(conn)
        .await
        .map_err(|e| anyhow::anyhow!("demo overdue invoices: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_ibans_are_well_formed() {
        for n in [0, 1, 10_042, 99_999_999] {
            let iban = iban(n);
            assert!(crate::invoices::rules::iban_is_valid(&iban), "{iban}");
            assert_eq!(iban.len(), 27);
        }
    }
}
