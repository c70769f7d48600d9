//! The demonstration's consultations, one at each stage: awarded (with its
//! contracts), partly awarded, unsuccessful, cancelled, closed and waiting
//! for its evaluation, open for answers, a draft; and a group of canteens'
//! framework agreement run by the agglomeration, awarded, whose contract is
//! published as DECP. Written directly, with the receipts and marks the
//! service would have made.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::consultations::queries::{self, NewConsultationRow, NewLotRow};
use crate::consultations::receipt;
use crate::schema::{consultation_answer_receipts, consultation_answers, consultation_scores};

/// Where a demo consultation ends.
#[derive(Clone, Copy, PartialEq)]
enum Stage {
    Draft,
    Open,
    Closed,
    Cancelled,
    /// Each lot awarded (`true`) or unsuccessful (`false`).
    Decided(&'static [bool]),
}

struct LotSpec {
    description: &'static str,
    family: &'static str,
    unit: &'static str,
    quantity: i64,
    estimate_cents: i64,
    /// Unit prices HT of the answers, one per supplier of the family.
    prices: &'static [i64],
}

struct Spec {
    title: &'static str,
    procedure: &'static str,
    /// Days from today to the deadline (negative: past).
    deadline_days: i64,
    stage: Stage,
    lots: &'static [LotSpec],
}

const CARROTS: LotSpec = LotSpec {
    description: "Carottes lavées, calibre moyen",
    family: "FRUITS_ET_LEGUMES",
    unit: "KGM",
    quantity: 600,
    estimate_cents: 120_000,
    prices: &[185, 198, 210],
};
const APPLES: LotSpec = LotSpec {
    description: "Pommes de saison, calibre 70-75",
    family: "FRUITS_ET_LEGUMES",
    unit: "KGM",
    quantity: 900,
    estimate_cents: 220_000,
    prices: &[240, 229],
};
const YOGHURTS: LotSpec = LotSpec {
    description: "Yaourts nature au lait entier, pot de 125 g",
    family: "PRODUITS_LAITIERS",
    unit: "H87",
    quantity: 8000,
    estimate_cents: 320_000,
    prices: &[38, 41],
};
const BREAD: LotSpec = LotSpec {
    description: "Pain de campagne au levain, 400 g",
    family: "BOULANGERIE",
    unit: "H87",
    quantity: 1500,
    estimate_cents: 330_000,
    prices: &[],
};

const SPECS: [Spec; 7] = [
    Spec {
        title: "Légumes et laitages du premier trimestre",
        procedure: "mapa",
        deadline_days: -150,
        stage: Stage::Decided(&[true, true]),
        lots: &[CARROTS, YOGHURTS],
    },
    Spec {
        title: "Fruits et pain pour le printemps",
        procedure: "mapa",
        deadline_days: -90,
        stage: Stage::Decided(&[true, false]),
        lots: &[APPLES, BREAD],
    },
    Spec {
        title: "Pain de la semaine du goût",
        procedure: "gre_a_gre",
        deadline_days: -40,
        stage: Stage::Decided(&[false]),
        lots: &[BREAD],
    },
    Spec {
        title: "Laitages de l'été (besoin regroupé)",
        procedure: "mapa",
        deadline_days: -25,
        stage: Stage::Cancelled,
        lots: &[YOGHURTS],
    },
    Spec {
        title: "Légumes d'automne",
        procedure: "mapa",
        deadline_days: -2,
        stage: Stage::Closed,
        lots: &[CARROTS],
    },
    Spec {
        title: "Pommes et carottes de l'hiver",
        procedure: "mapa",
        deadline_days: 21,
        stage: Stage::Open,
        lots: &[APPLES, CARROTS],
    },
    Spec {
        title: "Yaourts du second semestre",
        procedure: "mapa",
        deadline_days: 40,
        stage: Stage::Draft,
        lots: &[YOGHURTS],
    },
];

#[derive(QueryableByName)]
struct Org {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
}

async fn org_named(conn: &mut AsyncPgConnection, name: &str) -> QueryResult<Org> {
    diesel::sql_query(
        "SELECT o.id, m.user_id FROM organisations o \
           JOIN memberships m ON m.organisation_id = o.id \
          WHERE o.name = $1 ORDER BY m.created_at, m.user_id LIMIT 1",
    )
    .bind::<Text, _>(name)
    .get_result(conn)
    .await
}

/// Verified farms producing `family`, by name.
async fn farms_of(conn: &mut AsyncPgConnection, family: &str) -> QueryResult<Vec<Org>> {
    diesel::sql_query(
        "SELECT o.id, (SELECT m.user_id FROM memberships m WHERE m.organisation_id = o.id \
                        ORDER BY m.created_at, m.user_id LIMIT 1) AS user_id \
           FROM organisations o \
          WHERE o.kind = 'farm' AND o.status = 'verified' AND $1 = ANY (o.productions) \
            AND EXISTS (SELECT 1 FROM memberships m WHERE m.organisation_id = o.id) \
          ORDER BY o.name LIMIT 3",
    )
    .bind::<Text, _>(family)
    .load(conn)
    .await
}

/// Canteens of the agglomeration's EPCI, verified, by name.
async fn canteens_of(conn: &mut AsyncPgConnection, authority: Uuid) -> QueryResult<Vec<Uuid>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let rows: Vec<Id> = diesel::sql_query(
        "SELECT c.id FROM organisations c JOIN communes m ON m.insee = c.commune_insee \
           JOIN organisations a ON a.id = $1 \
          WHERE c.kind = 'canteen' AND c.status = 'verified' AND m.epci_siren = a.authority_epci \
          ORDER BY c.name LIMIT 3",
    )
    .bind::<SqlUuid, _>(authority)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

fn lot_row(
    i: usize,
    spec: &LotSpec,
    sites: &[Uuid],
    today: NaiveDate,
    framework: bool,
) -> NewLotRow {
    let quantity = Decimal::from(spec.quantity);
    NewLotRow {
        id: Uuid::now_v7(),
        number: i16::try_from(i + 1).unwrap_or(1),
        description: spec.description.to_owned(),
        family: spec.family.to_owned(),
        labels: Vec::new(),
        unit: spec.unit.to_owned(),
        quantity: (!framework).then_some(quantity),
        quantity_min: framework.then_some(quantity * Decimal::from(20)),
        quantity_max: framework.then_some(quantity * Decimal::from(40)),
        max_amount_ht_cents: framework.then_some(spec.estimate_cents * 40),
        estimated_amount_ht_cents: if framework {
            spec.estimate_cents * 32
        } else {
            spec.estimate_cents
        },
        delivery_dates: Vec::new(),
        delivery_weekdays: vec![2, 4],
        delivery_from: Some(today),
        delivery_until: Some(today + Duration::days(90)),
        sites: sites.to_vec(),
    }
}

/// Writes one consultation at its stage.
async fn write(
    conn: &mut AsyncPgConnection,
    spec: &Spec,
    buyer: &Org,
    sites: &[Uuid],
    now: DateTime<Utc>,
    duration_months: Option<i32>,
) -> anyhow::Result<()> {
    let deadline = now + Duration::days(spec.deadline_days);
    let start = (deadline - Duration::days(25)).date_naive();
    let framework = spec.procedure == "accord_cadre";
    let row = NewConsultationRow {
        id: Uuid::now_v7(),
        buyer_id: buyer.id,
        title: spec.title.to_owned(),
        description: "Produits frais pour la restauration scolaire.".to_owned(),
        procedure: spec.procedure.to_owned(),
        duration_months,
        answers_due_at: deadline,
        created_by: buyer.user_id,
        criteria: vec![
            ("price".into(), "Prix unitaire HT".into(), 50),
            (
                "environmental".into(),
                "Emballages réutilisables, bilan carbone du transport".into(),
                30,
            ),
            (
                "direct_supply".into(),
                "Approvisionnement direct (au plus un intermédiaire)".into(),
                20,
            ),
        ],
        lots: spec
            .lots
            .iter()
            .enumerate()
            .map(|(i, lot)| lot_row(i, lot, sites, start + Duration::days(30), framework))
            .collect(),
    };
    queries::insert(conn, &row).await?;
    let id = row.id;
    let created = deadline - Duration::days(28);
    diesel::sql_query("UPDATE consultations SET created_at = $2 WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .bind::<Timestamptz, _>(created)
        .execute(conn)
        .await?;
    if spec.stage == Stage::Draft {
        return Ok(());
    }
    diesel::sql_query(
        "UPDATE consultations SET status = 'published', published_at = $2 WHERE id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Timestamptz, _>(created + Duration::days(1))
    .execute(conn)
    .await?;
    // Answers: one per farm of the family, received before the deadline.
    let mut answers: Vec<Vec<(Uuid, Uuid, i64)>> = Vec::new();
    for (lot, lot_spec) in row.lots.iter().zip(spec.lots) {
        let farms = farms_of(conn, lot_spec.family).await?;
        let mut of_lot = Vec::new();
        for (k, (farm, price)) in farms.iter().zip(lot_spec.prices).enumerate() {
            let answer = Uuid::now_v7();
            let at = (deadline - Duration::days(3)).min(now - Duration::days(1))
                + Duration::hours(i64::try_from(k).unwrap_or(0));
            let vat = Decimal::new(55, 1);
            let name: String = organisations_name(conn, farm.id).await?;
            let terms = "Livraison le mardi et le jeudi avant 8 h";
            let canonical = receipt::canonical(&receipt::Sealed {
                consultation_id: id,
                lot_number: lot.number,
                supplier_id: farm.id,
                revision: 1,
                received_at: at,
                unit_price_cents: *price,
                vat_rate: vat,
                labels: &[],
                origin: "FRANCE",
                producer_id: Some(farm.id),
                producer_name: &name,
                delivery_terms: terms,
                note: "",
            });
            let digest = receipt::digest(&canonical);
            diesel::insert_into(consultation_answers::table)
                .values((
                    consultation_answers::id.eq(answer),
                    consultation_answers::consultation_id.eq(id),
                    consultation_answers::lot_id.eq(lot.id),
                    consultation_answers::supplier_id.eq(farm.id),
                    consultation_answers::unit_price_cents.eq(price),
                    consultation_answers::vat_rate.eq(vat),
                    consultation_answers::labels.eq(Vec::<String>::new()),
                    consultation_answers::origin.eq("FRANCE"),
                    consultation_answers::producer_id.eq(Some(farm.id)),
                    consultation_answers::producer_name.eq(&name),
                    consultation_answers::intermediaries.eq(0i16),
                    consultation_answers::delivery_terms.eq(terms),
                    consultation_answers::note.eq(""),
                    consultation_answers::received_at.eq(at),
                    consultation_answers::digest.eq(&digest),
                    consultation_answers::submitted_by.eq(farm.user_id),
                ))
                .execute(conn)
                .await?;
            diesel::insert_into(consultation_answer_receipts::table)
                .values((
                    consultation_answer_receipts::answer_id.eq(answer),
                    consultation_answer_receipts::revision.eq(1),
                    consultation_answer_receipts::digest.eq(&digest),
                    consultation_answer_receipts::received_at.eq(at),
                ))
                .execute(conn)
                .await?;
            of_lot.push((answer, farm.id, *price));
        }
        answers.push(of_lot);
    }
    match spec.stage {
        Stage::Draft | Stage::Open => return Ok(()),
        Stage::Cancelled => {
            diesel::sql_query(
                "UPDATE consultations SET status = 'cancelled', cancelled_at = $2, \
                        cancel_reason = 'Le besoin a été regroupé avec celui du collège voisin.' \
                  WHERE id = $1",
            )
            .bind::<SqlUuid, _>(id)
            .bind::<Timestamptz, _>(deadline - Duration::days(5))
            .execute(conn)
            .await?;
            return Ok(());
        }
        Stage::Closed | Stage::Decided(_) => {}
    }
    diesel::sql_query(
        "UPDATE consultations SET status = 'closed', closed_at = answers_due_at WHERE id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .execute(conn)
    .await?;
    let Stage::Decided(awards) = spec.stage else {
        return Ok(());
    };
    let decided_at = deadline + Duration::days(4);
    for ((lot, of_lot), award) in row.lots.iter().zip(&answers).zip(awards) {
        // Marks: the cheapest answer packs in reusable crates (80), the others 60.
        let lowest = of_lot.iter().map(|a| a.2).min().unwrap_or(0);
        for (answer, _, price) in of_lot {
            let environment = if *price == lowest { 80 } else { 60 };
            for (position, mark, why) in [
                (2i16, environment, "Caisses consignées, tournée mutualisée"),
                (3i16, 100, "Vente directe par la ferme"),
            ] {
                diesel::insert_into(consultation_scores::table)
                    .values((
                        consultation_scores::answer_id.eq(answer),
                        consultation_scores::consultation_id.eq(id),
                        consultation_scores::position.eq(position),
                        consultation_scores::mark.eq(Decimal::from(mark)),
                        consultation_scores::justification.eq(why),
                        consultation_scores::scored_by.eq(buyer.user_id),
                    ))
                    .execute(conn)
                    .await?;
            }
        }
        // The best-ranked answer is the cheapest (price 50 %, the rest equal or better).
        let best = of_lot.iter().min_by_key(|a| a.2);
        match (award, best) {
            (true, Some((answer, _, price))) => {
                diesel::sql_query(
                    "UPDATE consultation_lots SET status = 'awarded', awarded_answer_id = $2, \
                            rationale = 'Meilleure note globale : prix et emballages réutilisables.', \
                            decided_by = $3, decided_at = $4 WHERE id = $1",
                )
                .bind::<SqlUuid, _>(lot.id)
                .bind::<SqlUuid, _>(*answer)
                .bind::<SqlUuid, _>(buyer.user_id)
                .bind::<Timestamptz, _>(decided_at)
                .execute(conn)
                .await?;
                let from = decided_at.date_naive() + Duration::days(7);
                let until = match duration_months.and_then(|m| u32::try_from(m).ok()) {
                    Some(m) => from + chrono::Months::new(m) - Duration::days(1),
                    None => from + Duration::days(90),
                };
                let amount = match lot.max_amount_ht_cents {
                    Some(max) => max,
                    None => lot
                        .quantity
                        .and_then(|q| crate::orders::money::line_cents(q, *price))
                        .unwrap_or(0),
                };
                let contract = crate::contracts::queries::insert_from_award(
                    conn, lot.id, *answer, amount, from, until,
                )
                .await?;
                diesel::sql_query("UPDATE contracts SET created_at = $2 WHERE id = $1")
                    .bind::<SqlUuid, _>(contract)
                    .bind::<Timestamptz, _>(decided_at)
                    .execute(conn)
                    .await?;
            }
            _ => {
                diesel::sql_query(
                    "UPDATE consultation_lots SET status = 'unsuccessful', \
                            rationale = 'Aucune réponse conforme.', decided_by = $2, decided_at = $3 \
                      WHERE id = $1",
                )
                .bind::<SqlUuid, _>(lot.id)
                .bind::<SqlUuid, _>(buyer.user_id)
                .bind::<Timestamptz, _>(decided_at)
                .execute(conn)
                .await?;
            }
        }
    }
    let statuses: Vec<crate::codes::LotStatus> = awards
        .iter()
        .map(|a| {
            if *a {
                crate::codes::LotStatus::Awarded
            } else {
                crate::codes::LotStatus::Unsuccessful
            }
        })
        .collect();
    let outcome = crate::consultations::lifecycle::outcome(&statuses)
        .unwrap_or(crate::codes::ConsultationStatus::Closed);
    diesel::sql_query("UPDATE consultations SET status = $2, decided_at = $3 WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .bind::<Text, _>(outcome.as_str())
        .bind::<Timestamptz, _>(decided_at)
        .execute(conn)
        .await?;
    Ok(())
}

async fn organisations_name(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<String> {
    use crate::schema::organisations;
    organisations::table
        .find(id)
        .select(organisations::name)
        .first(conn)
        .await
}

/// Seeds the consultations of the demonstration.
pub async fn seed(conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
    let now: DateTime<Utc> = queries::clock(conn).await?;
    let canteen = org_named(conn, "École élémentaire Jean Macé, Saint-Michel-sur-Orge").await?;
    for spec in &SPECS {
        write(conn, spec, &canteen, &[canteen.id], now, None).await?;
    }
    let authority = org_named(conn, "Cœur d'Essonne Agglomération").await?;
    let sites = canteens_of(conn, authority.id).await?;
    if !sites.is_empty() {
        let group = Spec {
            title: "Groupement de commandes : légumes bio des écoles",
            procedure: "accord_cadre",
            deadline_days: -120,
            stage: Stage::Decided(&[true]),
            lots: &[CARROTS],
        };
        write(conn, &group, &authority, &sites, now, Some(12)).await?;
    }
    Ok(())
}
