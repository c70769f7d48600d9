//! HTTP handlers of invoicing: thin, over `service`.

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, put, web};
use uuid::Uuid;

use super::dto::*;
use super::{cii, print, service};
use crate::AppState;
use crate::auth::extract::AuthUser;
use crate::error::{ApiResult, Problem};
use crate::http::extract::{Json, Query};

const PROBLEM: &str = "application/problem+json";

/// An organisation's invoicing profile (its members).
#[utoipa::path(
    tag = "invoices",
    operation_id = "get_invoicing_profile",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The organisation")),
    responses(
        (status = 200, description = "Its profile (defaults when never set)", body = InvoicingProfile),
        (status = 400, description = "Malformed id", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/organisations/{id}/invoicing-profile")]
pub async fn get_profile(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<InvoicingProfile>> {
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        service::read_profile(&mut conn, &user, id.into_inner()).await?,
    ))
}

/// Sets the invoicing profile (owners): a seller's VAT number, IBAN and
/// payment days; a public buyer's billing SIRET, service code and what its
/// Chorus Pro record requires.
#[utoipa::path(
    tag = "invoices",
    operation_id = "put_invoicing_profile",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The organisation")),
    request_body = InvoicingProfile,
    responses(
        (status = 200, description = "The profile as stored", body = InvoicingProfile),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an owner", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 415, description = "Not JSON", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Invalid; every field at once", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[put("/organisations/{id}/invoicing-profile")]
pub async fn put_profile(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Json(body): Json<InvoicingProfile>,
) -> ApiResult<web::Json<InvoicingProfile>> {
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        service::save_profile(&mut conn, &user, id.into_inner(), body).await?,
    ))
}

/// The supplier's billing mandates, the one in force first, then the
/// revoked ones, newest first (its members).
#[utoipa::path(
    tag = "invoices",
    operation_id = "list_billing_mandates",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The farm or distributor")),
    responses(
        (status = 200, description = "Its mandates (none: the supplier issues its own invoices)", body = BillingMandates),
        (status = 400, description = "Malformed id", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/organisations/{id}/billing-mandates")]
pub async fn list_mandates(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<BillingMandates>> {
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        service::mandates(&mut conn, &user, id.into_inner()).await?,
    ))
}

/// Gives the platform a billing mandate: from `starts_on`, administrators
/// may issue the supplier's invoices (and credit notes, if the scope says
/// so) in its name. The owner who calls is recorded as accepting it.
#[utoipa::path(
    tag = "invoices",
    operation_id = "grant_billing_mandate",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The farm or distributor")),
    request_body = MandateRequest,
    responses(
        (status = 201, description = "The mandate", body = BillingMandate),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an owner of a verified supplier", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 409, description = "A mandate is already in force", body = Problem, content_type = PROBLEM),
        (status = 415, description = "Not JSON", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Invalid start", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[post("/organisations/{id}/billing-mandates")]
pub async fn grant_mandate(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Json(body): Json<MandateRequest>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let mandate = service::grant_mandate(&mut conn, &user, id.into_inner(), body).await?;
    Ok(HttpResponse::Created().json(mandate))
}

/// Revokes the mandate in force (owners): from now on only the supplier issues.
#[utoipa::path(
    tag = "invoices",
    operation_id = "revoke_billing_mandate",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The farm or distributor")),
    responses(
        (status = 200, description = "The mandate, revoked", body = BillingMandate),
        (status = 400, description = "Malformed id", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an owner of a verified supplier", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller, or no mandate in force", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[post("/organisations/{id}/billing-mandates/revoke")]
pub async fn revoke_mandate(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<BillingMandate>> {
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        service::revoke_mandate(&mut conn, &user, id.into_inner()).await?,
    ))
}

/// The document, read with a connection given back before it is rendered.
async fn document(state: &AppState, user: &AuthUser, id: Uuid) -> ApiResult<Invoice> {
    let mut conn = state.pool.get().await?;
    service::read(&mut conn, user, id).await
}

fn created(invoice: Invoice) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/invoices/{}", invoice.id)))
        .json(invoice)
}

/// Issues an invoice (type 380) for received or disputed orders of one
/// buyer: the listed orders, or a statement of a period. Numbered in the
/// supplier's gapless series; never changed afterwards.
#[utoipa::path(
    tag = "invoices",
    operation_id = "issue_invoice",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The supplier (farm or distributor)")),
    request_body = IssueRequest,
    responses(
        (status = 201, description = "The invoice", body = Invoice,
            headers(("Location" = String, description = "The invoice"))),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not a member of a verified supplier, and no mandate covers the caller", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 409, description = "An order is already invoiced", body = Problem, content_type = PROBLEM),
        (status = 415, description = "Not JSON", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Orders not invoiceable, or a field the seller's profile or the buyer's Chorus Pro record requires is missing (named)", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[post("/organisations/{id}/invoices")]
pub async fn issue(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Json(body): Json<IssueRequest>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    Ok(created(
        service::issue(&mut conn, &user, id.into_inner(), body).await?,
    ))
}

/// The invoices and credit notes an organisation issued or received, newest first.
#[utoipa::path(
    tag = "invoices",
    operation_id = "list_invoices",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The organisation"), InvoiceListQuery),
    responses(
        (status = 200, description = "A page", body = InvoicePage),
        (status = 400, description = "Malformed id or parameter", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such organisation visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/organisations/{id}/invoices")]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<InvoiceListQuery>,
) -> ApiResult<web::Json<InvoicePage>> {
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        service::list(&mut conn, &user, id.into_inner(), query).await?,
    ))
}

/// An invoice or credit note, with its payment follow-up as of today
/// (the parties' members).
#[utoipa::path(
    tag = "invoices",
    operation_id = "get_invoice",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The invoice or credit note")),
    responses(
        (status = 200, description = "The document", body = Invoice),
        (status = 400, description = "Malformed id", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such document visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/invoices/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<Invoice>> {
    Ok(web::Json(document(&state, &user, id.into_inner()).await?))
}

/// The document as EN 16931 CII D16B XML: the file a supplier or its
/// platform deposits on Chorus Pro or an approved platform.
#[utoipa::path(
    tag = "invoices",
    operation_id = "get_invoice_cii",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The invoice or credit note")),
    responses(
        (status = 200, description = "CII XML", content_type = "application/xml", body = String,
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"…\"`")),),
        (status = 400, description = "Malformed id", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such document visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/invoices/{id}/cii.xml")]
pub async fn get_cii(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let invoice = document(&state, &user, id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/xml; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}.xml\"", invoice.number),
        ))
        .body(cii::render(&invoice)))
}

/// The document as a page a person can read and print (French).
#[utoipa::path(
    tag = "invoices",
    operation_id = "get_invoice_print",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The invoice or credit note")),
    responses(
        (status = 200, description = "HTML", content_type = "text/html", body = String),
        (status = 400, description = "Malformed id", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such document visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[get("/invoices/{id}/print.html")]
pub async fn get_print(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let invoice = document(&state, &user, id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(print::render(&invoice)))
}

/// Issues a credit note (type 381) on an invoice: whole, or lines by
/// quantity or price; it lowers what the invoice asks and the figures it
/// corrects.
#[utoipa::path(
    tag = "invoices",
    operation_id = "issue_credit_note",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The invoice")),
    request_body = CreditNoteRequest,
    responses(
        (status = 201, description = "The credit note", body = Invoice,
            headers(("Location" = String, description = "The credit note"))),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not the supplier, and no mandate covers the caller", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such invoice visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 409, description = "The document is a credit note", body = Problem, content_type = PROBLEM),
        (status = 415, description = "Not JSON", body = Problem, content_type = PROBLEM),
        (status = 422, description = "More than is left to credit, or invalid lines; every line at once", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[post("/invoices/{id}/credit-notes")]
pub async fn credit(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Json(body): Json<CreditNoteRequest>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    Ok(created(
        service::credit(&mut conn, &user, id.into_inner(), body).await?,
    ))
}

/// Records a payment the supplier received (its members).
#[utoipa::path(
    tag = "invoices",
    operation_id = "record_payment",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The invoice")),
    request_body = PaymentRequest,
    responses(
        (status = 200, description = "The invoice and its follow-up", body = Invoice),
        (status = 400, description = "Malformed body", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Not authenticated", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not the supplier's member", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such invoice visible to the caller", body = Problem, content_type = PROBLEM),
        (status = 409, description = "The document is a credit note", body = Problem, content_type = PROBLEM),
        (status = 415, description = "Not JSON", body = Problem, content_type = PROBLEM),
        (status = 422, description = "More than is left to pay, or a date out of range", body = Problem, content_type = PROBLEM),
        (status = 503, description = "Database unavailable", body = Problem, content_type = PROBLEM),
    ),
)]
#[post("/invoices/{id}/payments")]
pub async fn pay(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    Json(body): Json<PaymentRequest>,
) -> ApiResult<web::Json<Invoice>> {
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        service::record_payment(&mut conn, &user, id.into_inner(), body).await?,
    ))
}
