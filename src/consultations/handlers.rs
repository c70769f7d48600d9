//! HTTP handlers of consultations: thin, over `service`.

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, put, web};
use uuid::Uuid;

use super::dto::*;
use super::queries;
use super::service;
use crate::AppState;
use crate::accounts::access;
use crate::auth::extract::AuthUser;
use crate::auth::policy::{self, OrgAction};
use crate::error::{ApiResult, Problem};
use crate::http::extract::{Json, Query};
use crate::http::large_json;
use crate::http::pagination::{self, KeysetQuery};

const PROBLEM: &str = "application/problem+json";

/// Create a consultation as a draft (members of a verified canteen or
/// authority). A *gré à gré* that would take a canteen's purchases of a
/// family past 60,000 € HT this year is created with a warning.
#[utoipa::path(
    tag = "consultations",
    operation_id = "create_consultation",
    security(("bearer" = [])),
    request_body = NewConsultation,
    responses(
        (status = 201, description = "The draft; the buyer's feed has `consultation.drafted`", body = Consultation,
            headers(("Location" = String, description = "The consultation"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not a member of a verified canteen or authority", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Invalid (`validation-failed`, by field); a geographic preference among the criteria (`local-preference-forbidden`); price without an environmental criterion (`price-only-criteria`)", body = Problem, content_type = PROBLEM,
            example = json!({"type": "https://sesame.example/problems/local-preference-forbidden", "title": "A geographic preference is not a lawful award criterion", "status": 422, "detail": "criteria[1].kind: a geographic or local preference is not a lawful award criterion (code de la commande publique R2111-7; CJCE 3 June 1992, C-360/89); reward direct supply with at most one intermediary (`direct_supply`, R2152-7) or environmental performance (`environmental`) instead"})),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[post("/consultations")]
pub async fn create_consultation(
    state: web::Data<AppState>,
    user: AuthUser,
    Json(body): Json<NewConsultation>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let created = service::create(&mut conn, &user, body).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/consultations/{}", created.id),
        ))
        .json(created))
}

/// A consultation: its buyer's members, the delivered canteens' members,
/// verified suppliers once published, administrators. No answer's price
/// appears before the deadline, nor their number.
#[utoipa::path(
    tag = "consultations",
    operation_id = "get_consultation",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The consultation")),
    responses(
        (status = 200, description = "The consultation, its status as the server's clock has it", body = Consultation),
        (status = 400, description = "Malformed id", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such consultation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/consultations/{id}")]
pub async fn get_consultation(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<Consultation>> {
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        service::get(&mut conn, &user, id.into_inner()).await?,
    ))
}

/// Publish a draft (the buyer's members): the deadline must leave the
/// procedure's minimum time; the suppliers who can serve a lot (family,
/// verified, delivering every site) get `consultation.alert` in their feed.
#[utoipa::path(
    tag = "consultations",
    operation_id = "publish_consultation",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The consultation")),
    responses(
        (status = 200, description = "Published", body = Consultation),
        (status = 400, description = "Malformed id", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not the buyer", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such consultation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 409, description = "Not a draft", body = Problem, content_type = PROBLEM),
        (status = 422, description = "The deadline is now too near for the procedure", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[post("/consultations/{id}/publish")]
pub async fn publish_consultation(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<Consultation>> {
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        service::publish(&mut conn, &user, id.into_inner()).await?,
    ))
}

/// Cancel a consultation not yet decided, with the reason (the buyer's
/// members). Answers of a consultation cancelled before its deadline stay
/// sealed for ever.
#[utoipa::path(
    tag = "consultations",
    operation_id = "cancel_consultation",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The consultation")),
    request_body = CancelConsultation,
    responses(
        (status = 200, description = "Cancelled; the buyer, canteens and bidders get `consultation.cancelled`", body = Consultation),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not the buyer", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such consultation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 409, description = "Already decided or cancelled", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Reason missing or too long", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[post("/consultations/{id}/cancel")]
pub async fn cancel_consultation(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Json(body): Json<CancelConsultation>,
) -> ApiResult<web::Json<Consultation>> {
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        service::cancel(&mut conn, &user, id.into_inner(), &body.reason).await?,
    ))
}

/// The consultations a canteen or authority runs, or is delivered by,
/// newest first (its members).
#[utoipa::path(
    tag = "consultations",
    operation_id = "list_consultations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "A canteen or authority"), ConsultationQuery),
    responses(
        (status = 200, description = "Its consultations", body = ConsultationList),
        (status = 400, description = "Invalid parameter", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/organisations/{id}/consultations")]
pub async fn list_consultations(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<ConsultationQuery>,
) -> ApiResult<web::Json<ConsultationList>> {
    let id = id.into_inner();
    let page = pagination::keyset(query.limit, query.cursor)?;
    let mut conn = state.pool.get().await?;
    let org = access(&mut conn, id, Some(&user)).await?;
    policy::authorize(&user, &org, OrgAction::ReadPrivate)?;
    let rows = queries::list_for_buyer(&mut conn, id, query.status.map(|s| s.as_str()), page)
        .await?
        .ok_or_else(pagination::unknown_cursor)?;
    Ok(web::Json(service::summaries(rows, page)?))
}

/// The consultations open to a supplier: published, before their deadline,
/// with a lot it can serve (a family it produces or offers, every site in
/// its delivery area); the nearest deadline first.
#[utoipa::path(
    tag = "consultations",
    operation_id = "list_open_consultations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "A verified farm or distributor"), KeysetQuery),
    responses(
        (status = 200, description = "The consultations it may answer", body = ConsultationList),
        (status = 400, description = "Malformed id or invalid parameter", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not a member of a verified farm or distributor", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/organisations/{id}/open-consultations")]
pub async fn list_open_consultations(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<KeysetQuery>,
) -> ApiResult<web::Json<ConsultationList>> {
    let id = id.into_inner();
    let page = query.keyset()?;
    let mut conn = state.pool.get().await?;
    let org = access(&mut conn, id, Some(&user)).await?;
    policy::authorize(&user, &org, OrgAction::AnswerConsultations)?;
    let rows = queries::open_for_supplier(&mut conn, id, page)
        .await?
        .ok_or_else(pagination::unknown_cursor)?;
    Ok(web::Json(service::summaries(rows, page)?))
}

/// Submit or revise the supplier's sealed answer to a lot, until the
/// deadline (members of a verified farm or distributor). The answer counts
/// if its statement reached the database before the deadline; the receipt
/// proves what was sent and when.
#[utoipa::path(
    tag = "consultations",
    operation_id = "submit_answer",
    security(("bearer" = [])),
    params(
        ("supplier_id" = Uuid, Path, description = "The answering farm or distributor"),
        ("id" = Uuid, Path, description = "The consultation"),
        ("number" = i16, Path, description = "The lot's number"),
    ),
    request_body = AnswerRequest,
    responses(
        (status = 200, description = "Received; keep the receipt", body = AnswerReceipt),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not a member of a verified farm or distributor", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such consultation or lot visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 409, description = "The deadline has passed, or the consultation is not open (`consultation-closed`)", body = Problem, content_type = PROBLEM,
            example = json!({"type": "https://sesame.example/problems/consultation-closed", "title": "The consultation no longer takes answers", "status": 409, "detail": "answers closed at the deadline, 2026-12-28T12:00:00Z: nothing was recorded"})),
        (status = 422, description = "Invalid, by field: labels the producer is not certified for, a label the lot asks for missing, …", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[put("/organisations/{supplier_id}/consultations/{id}/lots/{number}/answer")]
pub async fn submit_answer(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid, i16)>,
    Json(body): Json<AnswerRequest>,
) -> ApiResult<web::Json<AnswerReceipt>> {
    let (supplier, id, number) = path.into_inner();
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        service::answer(&mut conn, &user, supplier, id, number, body).await?,
    ))
}

/// The supplier's own answers to a consultation, with every receipt and,
/// once a lot is decided, the outcome: its rank, its score, the winner's
/// (its members).
#[utoipa::path(
    tag = "consultations",
    operation_id = "list_own_answers",
    security(("bearer" = [])),
    params(
        ("supplier_id" = Uuid, Path, description = "The farm or distributor"),
        ("id" = Uuid, Path, description = "The consultation"),
    ),
    responses(
        (status = 200, description = "Its answers", body = OwnAnswers),
        (status = 400, description = "Malformed id", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation or consultation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/organisations/{supplier_id}/consultations/{id}/answers")]
pub async fn list_own_answers(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<web::Json<OwnAnswers>> {
    let (supplier, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        service::own_answers(&mut conn, &user, supplier, id).await?,
    ))
}

/// The evaluation (the buyer's members, from the deadline on): every
/// answer per lot with its marks, score and rank. Before the deadline:
/// `answers-sealed`, which tells nothing of the answers.
#[utoipa::path(
    tag = "consultations",
    operation_id = "get_evaluation",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The consultation")),
    responses(
        (status = 200, description = "Answers scored and ranked per lot", body = Evaluation),
        (status = 400, description = "Malformed id", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not the buyer", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such consultation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 409, description = "Before the deadline, or cancelled before it (`answers-sealed`)", body = Problem, content_type = PROBLEM,
            example = json!({"type": "https://sesame.example/problems/answers-sealed", "title": "Answers are sealed until the deadline", "status": 409, "detail": "answers stay sealed until the deadline, 2026-12-28T12:00:00Z"})),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/consultations/{id}/evaluation")]
pub async fn get_evaluation(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let evaluation = service::evaluation(&mut conn, &user, id.into_inner()).await?;
    drop(conn);
    // About 900 bytes an answer.
    let answers: usize = evaluation.lots.iter().map(|l| l.answers.len()).sum();
    large_json(&evaluation, 1024 * (answers + 1))
}

/// Mark an answer on the criteria other than price, each with its written
/// justification (the buyer's members, after the deadline, while its lot
/// is undecided); marks given again replace the earlier ones.
#[utoipa::path(
    tag = "consultations",
    operation_id = "mark_answer",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The consultation"),
        ("answer_id" = Uuid, Path, description = "The answer"),
    ),
    request_body = ScoreRequest,
    responses(
        (status = 200, description = "The evaluation with the new marks", body = Evaluation),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not the buyer", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such consultation or answer visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 409, description = "Before the deadline (`answers-sealed`), or the lot is decided (`lot-decided`)", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Invalid marks, by field (a justification is required)", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[put("/consultations/{id}/answers/{answer_id}/marks")]
pub async fn mark_answer(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
    Json(body): Json<ScoreRequest>,
) -> ApiResult<web::Json<Evaluation>> {
    let (id, answer) = path.into_inner();
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        service::mark(&mut conn, &user, id, answer, body).await?,
    ))
}

/// Award a lot to its best-ranked answer, with the rationale (the buyer's
/// members, once every answer of the lot is marked). The award is final:
/// it makes the contract, and every bidder learns its rank, its score and
/// the winner's. Of concurrent decisions on one lot, exactly one wins.
#[utoipa::path(
    tag = "consultations",
    operation_id = "award_lot",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The consultation"),
        ("number" = i16, Path, description = "The lot's number"),
    ),
    request_body = AwardRequest,
    responses(
        (status = 200, description = "Awarded; `contract.created` and `consultation.outcome` in the feeds", body = LotDecision),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not the buyer", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such consultation or lot visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 409, description = "Before the deadline (`answers-sealed`), already decided (`lot-decided`), or answers not all marked (`conflict`)", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Not the lot's best-ranked answer, or no rationale", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[post("/consultations/{id}/lots/{number}/award")]
pub async fn award_lot(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, i16)>,
    Json(body): Json<AwardRequest>,
) -> ApiResult<web::Json<LotDecision>> {
    let (id, number) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let award = Some((body.answer_id, body.valid_from));
    Ok(web::Json(
        service::decide(&mut conn, &user, id, number, award, &body.rationale).await?,
    ))
}

/// Declare a lot unsuccessful, with the rationale (the buyer's members,
/// after the deadline). Final.
#[utoipa::path(
    tag = "consultations",
    operation_id = "declare_lot_unsuccessful",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The consultation"),
        ("number" = i16, Path, description = "The lot's number"),
    ),
    request_body = UnsuccessfulRequest,
    responses(
        (status = 200, description = "Declared unsuccessful", body = LotDecision),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not the buyer", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such consultation or lot visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 409, description = "Before the deadline (`answers-sealed`) or already decided (`lot-decided`)", body = Problem, content_type = PROBLEM),
        (status = 422, description = "No rationale", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[post("/consultations/{id}/lots/{number}/unsuccessful")]
pub async fn declare_lot_unsuccessful(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, i16)>,
    Json(body): Json<UnsuccessfulRequest>,
) -> ApiResult<web::Json<LotDecision>> {
    let (id, number) = path.into_inner();
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        service::decide(&mut conn, &user, id, number, None, &body.rationale).await?,
    ))
}

/// A canteen's purchases of a year per product family (orders, and its
/// share of contracts' values) against the thresholds of 60,000, 90,000
/// and 216,000 € HT: its members and the authority of its territory.
#[utoipa::path(
    tag = "consultations",
    operation_id = "get_purchase_thresholds",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The canteen"), YearQuery),
    responses(
        (status = 200, description = "Per family", body = PurchaseThresholds),
        (status = 400, description = "Invalid parameter", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such canteen visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/organisations/{id}/purchase-thresholds")]
pub async fn get_purchase_thresholds(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<YearQuery>,
) -> ApiResult<web::Json<PurchaseThresholds>> {
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        service::thresholds(&mut conn, &user, id.into_inner(), query.year).await?,
    ))
}
