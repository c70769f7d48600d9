//! HTTP handlers: a canteen's EGalim indicators and ma-cantine export, an
//! authority's statistics and progress.

use actix_web::{HttpResponse, get, web};
use chrono::{Datelike, NaiveDate};
use uuid::Uuid;

use super::dto::*;
use super::indicators::{self, Indicators};
use super::queries::{self, Canteen};
use super::rules::{percent, target};
use crate::AppState;
use crate::accounts::access;
use crate::auth::extract::AuthUser;
use crate::auth::policy::{self, OrgAction};
use crate::codes::{OrganisationKind, OrganisationStatus, TargetName, from_db};
use crate::db::{DbConn, Work};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::extract::Query;
use crate::http::negotiate::{csv_response, csv_table, csv_text};
use crate::invoices;

const PROBLEM: &str = "application/problem+json";
/// The longest period a request may cover.
const MAX_DAYS: i64 = 3 * 366;
/// An indicators request runs at most two aggregates, each bounded by
/// [`queries::AGGREGATE_SETTINGS`]' 60 s, and a few short queries.
const AGGREGATES: Work = Work::Long(std::time::Duration::from_secs(125));

/// The period asked: a year, a range, or the current year in Paris.
async fn period(
    conn: &mut DbConn,
    year: Option<i32>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> ApiResult<Period> {
    let bad = |field: &str, message: &str| Err(ApiError::invalid_parameter(field, message));
    match (year, from, to) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            bad("year", "give either year, or from and to")
        }
        (Some(y), None, None) if !(2000..=2100).contains(&y) => {
            bad("year", "must be between 2000 and 2100")
        }
        (Some(y), None, None) => Ok(Period {
            from: NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or_default(),
            to: NaiveDate::from_ymd_opt(y, 12, 31).unwrap_or_default(),
        }),
        (None, Some(from), Some(to)) if to < from => bad("to", "is before from"),
        (None, Some(from), Some(to)) if (to - from).num_days() > MAX_DAYS => {
            bad("to", "periods are at most three years")
        }
        (None, Some(from), Some(to)) => Ok(Period { from, to }),
        (None, Some(_), None) => bad("to", "is required with from"),
        (None, None, Some(_)) => bad("from", "is required with to"),
        (None, None, None) => {
            let y = crate::clock::today_in_paris(conn).await?.year();
            Ok(Period {
                from: NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or_default(),
                to: NaiveDate::from_ymd_opt(y, 12, 31).unwrap_or_default(),
            })
        }
    }
}

/// The canteen, if `user` may read its purchases: its members, the
/// administrators, and the authority speaking for its EPCI; 404 otherwise.
async fn readable_canteen(conn: &mut DbConn, user: &AuthUser, id: Uuid) -> ApiResult<Canteen> {
    let not_found = || ApiError::not_found("no canteen with this id");
    let canteen = queries::canteen(conn, id).await?.ok_or_else(not_found)?;
    let org = access(conn, id, Some(user)).await?;
    if policy::authorize(user, &org, OrgAction::ReadPrivate).is_ok() {
        return Ok(canteen);
    }
    match &canteen.epci {
        Some(epci) if queries::speaks_for(conn, user.id, epci).await? => Ok(canteen),
        _ => Err(not_found()),
    }
}

/// A canteen's EGalim indicators over a year or a date range: totals, the
/// three legal targets with what is missing, by product family and by month.
#[utoipa::path(
    tag = "egalim",
    operation_id = "canteen_indicators",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The canteen"), PeriodQuery),
    responses(
        (status = 200, description = "The indicators", body = CanteenIndicators),
        (status = 400, description = "A parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such canteen visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/canteens/{id}/egalim")]
pub async fn canteen_indicators(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<PeriodQuery>,
) -> ApiResult<HttpResponse> {
    canteen_indicators_as(state, user, id.into_inner(), query, false).await
}

/// The same indicators as a spreadsheet: one row per scope (`total`, `family`, `month`) and key.
#[utoipa::path(
    tag = "egalim",
    operation_id = "canteen_indicators_csv",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The canteen"), PeriodQuery),
    responses(
        (status = 200, description = "The indicators, as CSV: one row per scope and key", content_type = "text/csv", body = String,
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"…\"`")),
            example = "scope,key,total_ht_cents,bio_cents,siqo_cents,other_egalim_cents,externalities_cents,egalim_cents,meat_and_fish_cents,meat_and_fish_egalim_cents,france_cents,short_circuit_cents,local_cents,local_unknown_cents\ntotal,,1250000,250000,60000,90000,0,400000,300000,150000,1100000,500000,450000,0\n"),
        (status = 400, description = "A parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such canteen visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/canteens/{id}/egalim.csv")]
pub async fn canteen_indicators_csv(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<PeriodQuery>,
) -> ApiResult<HttpResponse> {
    canteen_indicators_as(state, user, id.into_inner(), query, true).await
}

/// `canteen_indicators` and `canteen_indicators_csv`: the same figures, as JSON or as CSV.
async fn canteen_indicators_as(
    state: web::Data<AppState>,
    user: AuthUser,
    id: Uuid,
    query: PeriodQuery,
    csv: bool,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get_for(AGGREGATES).await?;
    let period = period(&mut conn, query.year, query.from, query.to).await?;
    let canteen = readable_canteen(&mut conn, &user, id).await?;
    let cells = queries::canteen_cells(&mut conn, &canteen, period.from, period.to).await?;
    let (totals, by_family, by_month) = indicators::fold(&cells)?;
    if csv {
        let body = indicators::csv(&totals, &by_family, &by_month)?;
        return Ok(csv_response(
            &format!("egalim-{}-{}-{}.csv", canteen.siret, period.from, period.to),
            body,
        ));
    }
    Ok(HttpResponse::Ok().json(CanteenIndicators {
        targets: totals.targets(),
        canteen: CanteenRef {
            id: canteen.id,
            name: canteen.name,
            siret: canteen.siret,
        },
        period,
        local_definition: from_db(&canteen.definition)?,
        local_km: canteen.km,
        totals,
        by_family,
        by_month,
    }))
}

/// A canteen's purchases of a year (or range) as ma-cantine's purchase
/// import file (`achats_siret` schema): one row per delivered line.
#[utoipa::path(
    tag = "egalim",
    operation_id = "ma_cantine_purchases",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The canteen"), PeriodQuery),
    responses(
        (status = 200, description = "ma-cantine's CSV", content_type = "text/csv", body = String,
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"…\"`")),
            example = "siret,description,fournisseur,date,prix_ht,famille_produits,categories_egalim,origine,est_circuit_court,est_local,definition_local,definition_local_km\n21910570000015,Carottes,Ferme de l'Envol,2026-03-10,45.00,FRUITS_ET_LEGUMES,BIO,FRANCE,OUI,OUI,DEPARTEMENT,\n"),
        (status = 400, description = "A parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such canteen visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/canteens/{id}/ma-cantine-purchases")]
pub async fn ma_cantine_purchases(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<PeriodQuery>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get_for(AGGREGATES).await?;
    let period = period(&mut conn, query.year, query.from, query.to).await?;
    let canteen = readable_canteen(&mut conn, &user, id.into_inner()).await?;
    let purchases = queries::purchases(&mut conn, &canteen, period.from, period.to).await?;
    let body =
        indicators::ma_cantine_csv(&canteen.siret, &canteen.definition, canteen.km, &purchases)?;
    Ok(csv_response(
        &format!("achats-{}-{}-{}.csv", canteen.siret, period.from, period.to),
        body,
    ))
}

/// The authority's EPCI, if `user` may read its figures: members of a
/// verified authority (and administrators).
async fn readable_authority(conn: &mut DbConn, user: &AuthUser, id: Uuid) -> ApiResult<String> {
    let org = access(conn, id, Some(user)).await?;
    policy::authorize(user, &org, OrgAction::ReadPrivate)?;
    if org.kind != OrganisationKind::Authority {
        return Err(ApiError::not_found("no authority with this id"));
    }
    if org.status != OrganisationStatus::Verified {
        return Err(ApiError::Forbidden(
            "only verified authorities read statistics; ask the platform administrators".into(),
        ));
    }
    queries::authority_epci(conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no authority with this id"))
}

/// What the canteens located in the authority's EPCI bought, by month,
/// product family, label group and where the producing farm is: value HT,
/// quantities per unit, distinct suppliers and buyers.
#[utoipa::path(
    tag = "egalim",
    operation_id = "territory_statistics",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The authority"), PeriodQuery),
    responses(
        (status = 200, description = "The statistics", body = TerritoryStatistics),
        (status = 400, description = "A parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "The authority is not verified", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such authority visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/authorities/{id}/statistics")]
pub async fn territory_statistics(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<PeriodQuery>,
) -> ApiResult<HttpResponse> {
    territory_statistics_as(state, user, id.into_inner(), query, false).await
}

/// The same statistics as a spreadsheet: one row per cell; `quantities` as `UNIT=quantity` pairs separated by spaces.
#[utoipa::path(
    tag = "egalim",
    operation_id = "territory_statistics_csv",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The authority"), PeriodQuery),
    responses(
        (status = 200, description = "The statistics, as CSV: one row per cell", content_type = "text/csv", body = String,
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"…\"`")),
            example = "month,family,label_group,origin_class,value_ht_cents,quantities,suppliers,buyers,lines\n2026-03,FRUITS_ET_LEGUMES,bio,departement,125000,KGM=620.5,4,12,40\n"),
        (status = 400, description = "A parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "The authority is not verified", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such authority visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/authorities/{id}/statistics.csv")]
pub async fn territory_statistics_csv(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<PeriodQuery>,
) -> ApiResult<HttpResponse> {
    territory_statistics_as(state, user, id.into_inner(), query, true).await
}

/// `territory_statistics` and `territory_statistics_csv`: the same figures, as JSON or as CSV.
async fn territory_statistics_as(
    state: web::Data<AppState>,
    user: AuthUser,
    id: Uuid,
    query: PeriodQuery,
    csv: bool,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get_for(AGGREGATES).await?;
    let period = period(&mut conn, query.year, query.from, query.to).await?;
    let epci = readable_authority(&mut conn, &user, id).await?;
    let cells = queries::territory_cells(&mut conn, &epci, period.from, period.to).await?;
    if csv {
        let header = [
            "month",
            "family",
            "label_group",
            "origin_class",
            "value_ht_cents",
            "quantities",
            "suppliers",
            "buyers",
            "lines",
        ];
        let body = csv_table(
            &header,
            cells.iter().map(|c| {
                let quantities = c
                    .quantities
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(unit, q)| format!("{unit}={}", q.as_str().unwrap_or_default()))
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_default();
                vec![
                    c.month.clone(),
                    c.family.clone(),
                    c.label_group.clone(),
                    c.origin_class.clone(),
                    c.value_ht_cents.to_string(),
                    quantities,
                    c.suppliers.to_string(),
                    c.buyers.to_string(),
                    c.lines.to_string(),
                ]
            }),
        )?;
        return Ok(csv_response(
            &format!("statistics-{epci}-{}-{}.csv", period.from, period.to),
            body,
        ));
    }
    let cells = cells
        .into_iter()
        .map(|c| {
            Ok(SupplyCell {
                family: from_db(&c.family)?,
                month: c.month,
                label_group: from_db(&c.label_group)?,
                origin_class: from_db(&c.origin_class)?,
                value_ht_cents: c.value_ht_cents,
                quantities: c.quantities,
                suppliers: c.suppliers,
                buyers: c.buyers,
                lines: c.lines,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(TerritoryStatistics {
        authority_id: id,
        total_ht_cents: cells.iter().map(|c| c.value_ht_cents).sum(),
        epci,
        period,
        cells,
    }))
}

/// The territory's progress: organic or local share (goal 50 %), organic
/// farms of the territory supplying its canteens (goal configurable, 100 by
/// default), and the EGalim targets of all its canteens, together and one
/// by one.
#[utoipa::path(
    tag = "egalim",
    operation_id = "territory_progress",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The authority"), ProgressQuery),
    responses(
        (status = 200, description = "The progress", body = Progress),
        (status = 400, description = "A parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "The authority is not verified", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such authority visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/authorities/{id}/progress")]
pub async fn territory_progress(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<ProgressQuery>,
) -> ApiResult<HttpResponse> {
    territory_progress_as(state, user, id.into_inner(), query, false).await
}

/// The same progress as a spreadsheet: one row per canteen.
#[utoipa::path(
    tag = "egalim",
    operation_id = "territory_progress_csv",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The authority"), ProgressQuery),
    responses(
        (status = 200, description = "The progress, as CSV: one row per canteen", content_type = "text/csv", body = String,
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"…\"`")),
            example = "canteen_id,name,total_ht_cents,egalim_cents,bio_cents,meat_and_fish_cents,meat_and_fish_egalim_cents,egalim_met,bio_met,meat_and_fish_met\n"),
        (status = 400, description = "A parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "The authority is not verified", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such authority visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/authorities/{id}/progress.csv")]
pub async fn territory_progress_csv(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<ProgressQuery>,
) -> ApiResult<HttpResponse> {
    territory_progress_as(state, user, id.into_inner(), query, true).await
}

/// `territory_progress` and `territory_progress_csv`: the same figures, as JSON or as CSV.
async fn territory_progress_as(
    state: web::Data<AppState>,
    user: AuthUser,
    id: Uuid,
    query: ProgressQuery,
    csv: bool,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get_for(AGGREGATES).await?;
    let period = period(&mut conn, query.year, query.from, query.to).await?;
    let epci = readable_authority(&mut conn, &user, id).await?;
    let rows = queries::territory_canteens(&mut conn, &epci, period.from, period.to).await?;
    let farms = queries::active_organic_farms(&mut conn, &epci, period.from, period.to).await?;
    let canteens: Vec<CanteenShares> = rows
        .iter()
        .map(|r| {
            let i = Indicators {
                total_ht_cents: r.total,
                egalim_cents: r.egalim,
                bio_cents: r.bio,
                meat_and_fish_cents: r.meat_fish,
                meat_and_fish_egalim_cents: r.meat_fish_egalim,
                ..Indicators::default()
            };
            CanteenShares {
                id: r.id,
                name: r.name.clone(),
                total_ht_cents: r.total,
                egalim_cents: r.egalim,
                bio_cents: r.bio,
                meat_and_fish_cents: r.meat_fish,
                meat_and_fish_egalim_cents: r.meat_fish_egalim,
                targets: i.targets(),
            }
        })
        .collect();
    if csv {
        let header = [
            "canteen_id",
            "name",
            "total_ht_cents",
            "egalim_cents",
            "bio_cents",
            "meat_and_fish_cents",
            "meat_and_fish_egalim_cents",
            "egalim_met",
            "bio_met",
            "meat_and_fish_met",
        ];
        let body = csv_table(
            &header,
            canteens.iter().map(|c| {
                let met = |k: usize| c.targets[k].met.to_string();
                vec![
                    c.id.to_string(),
                    csv_text(&c.name).into_owned(),
                    c.total_ht_cents.to_string(),
                    c.egalim_cents.to_string(),
                    c.bio_cents.to_string(),
                    c.meat_and_fish_cents.to_string(),
                    c.meat_and_fish_egalim_cents.to_string(),
                    met(0),
                    met(1),
                    met(2),
                ]
            }),
        )?;
        return Ok(csv_response(
            &format!("progress-{epci}-{}-{}.csv", period.from, period.to),
            body,
        ));
    }
    let sum = |f: fn(&queries::CanteenTotals) -> i64| rows.iter().map(f).sum::<i64>();
    let all = Indicators {
        total_ht_cents: sum(|r| r.total),
        egalim_cents: sum(|r| r.egalim),
        bio_cents: sum(|r| r.bio),
        meat_and_fish_cents: sum(|r| r.meat_fish),
        meat_and_fish_egalim_cents: sum(|r| r.meat_fish_egalim),
        ..Indicators::default()
    };
    let organic_farms_target = query.organic_farms_target.unwrap_or(100);
    Ok(HttpResponse::Ok().json(Progress {
        authority_id: id,
        epci,
        total_ht_cents: all.total_ht_cents,
        organic_or_local: target(
            TargetName::OrganicOrLocal,
            50,
            sum(|r| r.organic_or_local),
            all.total_ht_cents,
        ),
        organic_percent: percent(all.bio_cents, all.total_ht_cents),
        local_percent: percent(sum(|r| r.local), all.total_ht_cents),
        organic_farms: OrganicFarms {
            active: farms,
            target: organic_farms_target,
            met: farms >= i64::from(organic_farms_target),
        },
        all_canteens: all.targets(),
        canteens,
        period,
    }))
}

/// How fast the canteens of the authority's EPCI pay their suppliers, per
/// sector category and all together: invoices whose payment was completed
/// in the period, the median days from issue to payment, those paid after
/// their due date, and those fallen due in the period and still unpaid.
/// Credit notes are not counted, nor invoices settled by credit notes alone.
#[utoipa::path(
    tag = "egalim",
    operation_id = "territory_payment_delays",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The authority"), PeriodQuery),
    responses(
        (status = 200, description = "The payment delays", body = PaymentDelays),
        (status = 400, description = "A parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "The authority is not verified", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such authority visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/authorities/{id}/payment-delays")]
pub async fn territory_payment_delays(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<PeriodQuery>,
) -> ApiResult<HttpResponse> {
    territory_payment_delays_as(state, user, id.into_inner(), query, false).await
}

/// The same payment delays as a spreadsheet: one row per sector category, and `all`.
#[utoipa::path(
    tag = "egalim",
    operation_id = "territory_payment_delays_csv",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The authority"), PeriodQuery),
    responses(
        (status = 200, description = "The payment delays, as CSV: one row per group", content_type = "text/csv", body = String,
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"…\"`")),
            example = "group,canteens,invoices_paid,median_days_to_pay,paid_late,unpaid_overdue\neducation,14,150,27.5,12,3\nall,20,210,28,19,4\n"),
        (status = 400, description = "A parameter is invalid", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "The authority is not verified", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such authority visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/authorities/{id}/payment-delays.csv")]
pub async fn territory_payment_delays_csv(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<PeriodQuery>,
) -> ApiResult<HttpResponse> {
    territory_payment_delays_as(state, user, id.into_inner(), query, true).await
}

/// `territory_payment_delays` and `territory_payment_delays_csv`: the same figures, as JSON or as CSV.
async fn territory_payment_delays_as(
    state: web::Data<AppState>,
    user: AuthUser,
    id: Uuid,
    query: PeriodQuery,
    csv: bool,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let period = period(&mut conn, query.year, query.from, query.to).await?;
    let epci = readable_authority(&mut conn, &user, id).await?;
    let today = crate::clock::today_in_paris(&mut conn).await?;
    let payments = invoices::queries::territory_payments(
        &mut conn,
        &epci,
        period.from,
        period.to,
        Some(today),
    )
    .await?;
    let groups = invoices::delays::by_group(&payments);
    if csv {
        let header = [
            "group",
            "canteens",
            "invoices_paid",
            "median_days_to_pay",
            "paid_late",
            "unpaid_overdue",
        ];
        let body = csv_table(
            &header,
            groups.iter().map(|g| {
                vec![
                    g.group.clone(),
                    g.canteens.to_string(),
                    g.invoices_paid.to_string(),
                    g.median_days_to_pay
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                    g.paid_late.to_string(),
                    g.unpaid_overdue.to_string(),
                ]
            }),
        )?;
        return Ok(csv_response(
            &format!("payment-delays-{epci}-{}-{}.csv", period.from, period.to),
            body,
        ));
    }
    Ok(HttpResponse::Ok().json(PaymentDelays {
        authority_id: id,
        epci,
        period,
        groups,
    }))
}
