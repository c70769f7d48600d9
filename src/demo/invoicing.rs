//! The demonstration's invoicing:
//! - every farm and distributor has an invoicing profile: the VAT number of
//!   its SIREN and a (fictitious, well-formed) IBAN, 30 days;
//! - public canteens bill to their own SIRET; their Chorus Pro record asks
//!   for a service code, which they set to `RESTAURATION`;
//! - Ferme de l'Envol has issued last month's statement to each canteen it
//!   delivered, through the service, as its owner would have.

use chrono::{Datelike, Days, NaiveDate};
use diesel::prelude::*;
use diesel::sql_types::{Date, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::extract::AuthUser;
use crate::invoices::dto::{IssueRequest, StatementRequest};
use crate::invoices::queries::{ProfileRow, save_profile};
use crate::invoices::rules::vat_number_of;

const DEMO_FARM: &str = "contact@ferme-de-l-envol.demo";

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

    // Last month's statements of the demo farm, one per canteen it delivered.
    let Some(owner) = diesel::sql_query(
        "SELECT m.organisation_id, m.user_id FROM memberships m JOIN users u ON u.id = m.user_id \
          WHERE u.email = $1 AND m.role = 'owner'",
    )
    .bind::<Text, _>(DEMO_FARM)
    .get_result::<Owner>(conn)
    .await
    .optional()?
    else {
        return Ok(());
    };
    let first = today.with_day(1).unwrap_or(today);
    let (from, to) = (
        first
            .checked_sub_months(chrono::Months::new(1))
            .unwrap_or(first),
        first - Days::new(1),
    );
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
    let user = AuthUser {
        id: owner.user_id,
        session_id: Uuid::nil(),
        email: DEMO_FARM.to_owned(),
        is_admin: false,
    };
    for buyer in buyers {
        let body = IssueRequest {
            orders: None,
            statement: Some(StatementRequest {
                buyer_id: buyer.buyer_id,
                from,
                to,
            }),
            engagement_number: Some(format!("EJ-{}-{:04}", from.year(), from.month() * 100)),
        };
        crate::invoices::service::issue(conn, &user, owner.organisation_id, body)
            .await
            .map_err(|e| anyhow::anyhow!("demo statement: {e}"))?;
    }
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
